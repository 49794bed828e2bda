"""The hall of fame's trained networks in the run folder, as plain arrays::

    networks/rank-1.npz    W0, b0, W1, b1, … (kernels (fan_in, fan_out), training dtype), x_mean,
                           x_scale (raw → standardised inputs) and, for regression, y_mean, y_scale
    networks/rank-1.json   what the arrays are: genome and its text, seed key and run seed (they
                           rebuild it: ``ga.kept.rebuild``), activation, task, sizes, class names,
                           its validation and test scores, the rule that chose it, and the digest
                           of the run's config.json (a network of another run is refused)

Written once the search has finished, before its last checkpoint (``write``); read back with
``read`` — ``np.load(allow_pickle=False)`` after each array's .npy header has been checked (no
Python objects, numbers only, the shapes the sidecar's sizes call for), the sidecar checked
against the hall of fame it belongs to. A run folder from before networks were kept has none:
that, like a damaged file, is one ``RunFolderError`` line.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import zipfile

import numpy as np

from evoinit import checks
from evoinit.data.files import npy_header
from evoinit.errors import EvoinitError, RunFolderError, one_line
from evoinit.ga.genome import Genome
from evoinit.ga.kept import RULE, Network
from evoinit.runfolder.files import (
    atomic_write,
    own_file,
    own_folder,
    read_json,
    readable,
    write_json,
)
from evoinit.runfolder.folder import RunFolder

FOLDER = "networks"
SCHEMA = 1
#: Largest weight file read back (a kept network of the search space is far smaller).
MAX_BYTES = 1 << 30
_RANK_FILE = re.compile(r"rank-([0-9]+)\.(npz|json)")


def arrays_of(net: Network) -> dict:
    """The arrays a network is stored as (``W{l}``, ``b{l}``, the scaling)."""
    d = {}
    for l, (W, b) in enumerate(zip(net.weights, net.biases)):
        d[f"W{l}"], d[f"b{l}"] = np.ascontiguousarray(W), np.ascontiguousarray(b)
    d |= {"x_mean": net.x_mean, "x_scale": net.x_scale}
    if net.task != "classification":
        d |= {"y_mean": net.y_mean, "y_scale": net.y_scale}
    return d


def config_digest(folder: RunFolder) -> str:
    """SHA-256 of the run's config.json (written once, when the run starts): ties a network to
    its run, so one left by a run this folder held before is refused."""
    path = folder / "config.json"
    readable(path)
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError as e:
        raise RunFolderError(f"cannot read {path}: {e.strerror or e}") from None


def sidecar(net: Network, run: str = "") -> dict:
    d = {"schema": SCHEMA, "run": run, "rank": net.rank, "genome": net.genome.to_json(), "text": str(net.genome),
         "key": list(net.key), "run_seed": net.run_seed, "activation": net.activation, "task": net.task,
         "n_in": net.n_in, "n_out": net.n_out, "dtype": str(np.asarray(net.weights[0]).dtype),
         "val_loss": net.val_loss, "val_error": net.val_error, "test_loss": net.test_loss,
         "test_error": net.test_error, "best_epoch": net.best_epoch, "chosen": RULE}
    return d | ({"class_names": list(net.class_names)} if net.task == "classification" else {})


def npz_bytes(arrays: dict) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def write(folder: RunFolder, networks) -> None:
    """``networks/rank-N.npz`` and ``.json`` for each kept network; rank files of an earlier run in
    this folder beyond the new ones are removed (only regular files evoinit names so)."""
    where, run = folder / FOLDER, config_digest(folder)
    own_folder(where)
    for net in networks:
        atomic_write(where / f"rank-{net.rank}.npz", npz_bytes(arrays_of(net)))
        write_json(where / f"rank-{net.rank}.json", sidecar(net, run))
    kept = {net.rank for net in networks}
    for f in where.iterdir():
        m = _RANK_FILE.fullmatch(f.name)
        if m and int(m.group(1)) not in kept and own_file(f):
            f.unlink()


# -- reading back ---------------------------------------------------------------------------------


def read(folder, rank: int = 1) -> Network:
    """Kept network ``rank`` (1 = best) of a run folder, every value checked."""
    from evoinit.runfolder import views

    folder = RunFolder(folder)
    if not folder.path.is_dir():
        raise RunFolderError(f"no run folder at {folder.path}")
    entries = views.read_hall_of_fame(folder)
    if not checks.is_int(rank) or not 1 <= rank <= len(entries):
        raise RunFolderError(f"rank must be 1..{len(entries)} (the hall of fame's size), got {rank!r}")
    npz, side = folder / FOLDER / f"rank-{rank}.npz", folder / FOLDER / f"rank-{rank}.json"
    if not npz.exists() or not side.exists():
        raise RunFolderError(f"{folder.path}: no trained network for rank {rank} ({FOLDER}/rank-{rank}.npz "
                             "and .json); the search keeps them when it finishes (a run from before evoinit "
                             "kept its networks, or not finished, has none)")
    meta = _meta(read_json(side, "network description"), side)
    genome = views.entry_genome(folder, entries, rank)
    seeds = entries[rank - 1].get("seeds") if isinstance(entries[rank - 1], dict) else None
    if (genome != meta["genome"] or not isinstance(seeds, list) or list(meta["key"]) not in seeds
            or meta.get("run") != config_digest(folder)):
        raise RunFolderError(f"{side} is not the network of hall-of-fame entry {rank} ({genome}): it belongs "
                             "to another run; run the search again to keep this run's networks")
    arrays = _arrays(npz, meta)
    reg = meta["task"] != "classification"
    n_layers = len(genome.hidden) + 1
    return Network(rank, genome, tuple(meta["key"]), meta["run_seed"], meta["task"], meta["n_in"], meta["n_out"],
                   meta["val_loss"], meta["val_error"], meta["test_loss"], meta["test_error"], meta["best_epoch"],
                   tuple(meta.get("class_names", ())),
                   tuple(arrays[f"W{l}"] for l in range(n_layers)), tuple(arrays[f"b{l}"] for l in range(n_layers)),
                   arrays["x_mean"], arrays["x_scale"], arrays.get("y_mean") if reg else None,
                   arrays.get("y_scale") if reg else None)


def _meta(d, path) -> dict:
    """The sidecar, checked: a damaged one is a ``RunFolderError`` naming what is wrong."""
    def bad(what: str):
        return RunFolderError(f"{path} is damaged ({what})")

    if not isinstance(d, dict) or d.get("schema") != SCHEMA:
        raise bad(f"not a schema-{SCHEMA} network description")
    try:
        genome = Genome.from_json(d.get("genome"))
    except (EvoinitError, KeyError, TypeError, ValueError) as e:
        raise bad(f"genome: {one_line(e, 80)}") from None
    key, task = d.get("key"), d.get("task")
    if not isinstance(key, list) or not key or not all(checks.is_int(k) for k in key):
        raise bad("no seed key")
    if task not in ("classification", "regression"):
        raise bad("no task")
    for name in ("n_in", "n_out"):
        if not checks.is_int(d.get(name)) or not 1 <= d[name] <= 10**7:
            raise bad(f"{name} is not a size")
    if not checks.is_int(d.get("run_seed")) or d["run_seed"] < 0:
        raise bad("no run seed")
    if d.get("activation") != genome.activation:
        raise bad("its activation is not its genome's")
    for name in ("val_loss", "val_error", "test_loss", "test_error"):
        v = d.get(name)
        if not (v is None or (checks.is_number(v) and (math.isfinite(v) or name.startswith("val")))):
            raise bad(f"{name} is not a number")
    if d.get("val_loss") is None or d.get("val_error") is None:
        raise bad("no validation scores")
    if d.get("best_epoch") is not None and not (checks.is_int(d["best_epoch"]) and d["best_epoch"] >= 1):
        raise bad("best_epoch is not an epoch")
    names = d.get("class_names", [])
    if task == "classification" and (not isinstance(names, list) or len(names) != d["n_out"]
                                     or not all(isinstance(n, str) and len(n) < 1000 for n in names)):
        raise bad("no class name per output")
    return d | {"genome": genome}


def _arrays(path, meta: dict) -> dict:
    """The arrays of ``path``, each header checked before it is read: numbers only (an object
    array would need pickle: refused), the shape the sizes call for."""
    genome, n_in, n_out = meta["genome"], meta["n_in"], meta["n_out"]
    sizes = (n_in, *genome.hidden, n_out)
    want = {f"W{l}": (a, b) for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:]))}
    want |= {f"b{l}": (b,) for l, b in enumerate(sizes[1:])}
    want |= {"x_mean": (n_in,), "x_scale": (n_in,)}
    if meta["task"] != "classification":
        want |= {"y_mean": (n_out,), "y_scale": (n_out,)}
    readable(path)
    if path.stat().st_size > MAX_BYTES:
        raise RunFolderError(f"{path} is larger than {MAX_BYTES >> 20} MiB: not a kept network")
    out = {}
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not isinstance(archive, np.lib.npyio.NpzFile):
                raise ValueError("a single .npy array, not an .npz archive")
            missing = sorted(set(want) - set(archive.files))
            if missing:
                raise ValueError(f"no array {', '.join(missing[:4])}")
            for name, shape in want.items():
                _check_header(archive, name, shape)
                out[name] = archive[name]
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, KeyError, NotImplementedError, RuntimeError) as e:
        raise RunFolderError(f"{path} is damaged ({one_line(e, 100) or type(e).__name__})") from None
    if not all(np.isfinite(a).all() for a in out.values()) or not (out["x_scale"] != 0).all():
        raise RunFolderError(f"{path} is damaged (values that are not finite, or a zero scale)")
    return out


def _check_header(archive, name: str, shape: tuple) -> None:
    """The .npy header of ``name`` (a few bytes, not the data): a real float array of ``shape``."""
    try:
        got, dtype = npy_header(archive, name)
    except ValueError as e:
        raise ValueError(f"array {name}: {e}") from None
    if dtype.hasobject:
        raise ValueError(f"array {name} holds Python objects, which only pickle reads (evoinit never unpickles)")
    if dtype.kind != "f":
        raise ValueError(f"array {name} holds {dtype}, not floats")
    if tuple(got) != shape:
        raise ValueError(f"array {name} has shape {tuple(got)}, not {shape}")

