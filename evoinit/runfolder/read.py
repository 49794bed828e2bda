"""What a run folder holds, as typed values: read once, each value checked once, here.

``rundir`` knows files (atomic writes, whole lines, schema versions); this module knows what is
in them, and ``saving`` writes it. The search's state goes out as a ``Checkpoint`` and comes back
as one; the evaluations log comes back as ``LogLine`` values holding ``Evaluation`` records; the
hall of fame, the generations log and the run's config are read and checked here for every reader
(``resume``, ``report``, ``export``, the CLI's stop message). Every check and its message live in
this module: anything missing, damaged, from another version or another search is a
``RunFolderError`` that names the file (and the line, in a log).

``restore`` turns a run folder back into the engine (``ga.engine.Search``) with its variants:
``resume`` continues it, ``report`` reads it. The writers are in ``write``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

import numpy as np

from evoinit import checks
from evoinit.errors import EvoinitError, RunFolderError, UsageError, one_line, quoted
from evoinit.ga import variants
from evoinit.ga.config import SearchConfig, current
from evoinit.ga.engine import Search
from evoinit.ga.evaluate import dataset_of
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.results import MAX_TEXT, FinalScores
from evoinit.ga.state import Checkpoint, Member
from evoinit.runfolder.folder import RunFolder

#: What a damaged value can raise when it is turned into a typed one.
_DAMAGE = (KeyError, TypeError, ValueError, IndexError, AttributeError, OverflowError, EvoinitError)


def why(e: BaseException) -> str:
    """An exception as a short parenthesis for a message about a damaged file."""
    text = one_line(e, 100)
    return f"{type(e).__name__}: {text}" if not isinstance(e, EvoinitError) else text


def _count(value) -> bool:
    return checks.is_int(value) and value >= 0


_number = checks.is_number


# -- the typed values -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LogLine:
    """One line of evaluations.jsonl: the evaluation and where it belongs (``stage`` "final" for
    the scoring of the hall of fame on test data)."""

    evaluation: Evaluation
    row: dict = field(compare=False, repr=False)   # the line as read, for the figures

    @property
    def stage(self) -> str | None:
        return self.row.get("stage")


# -- reading: the config and the dataset ------------------------------------------------------------


def read_config(folder: RunFolder, *, resumable: bool = True) -> tuple[SearchConfig, dict]:
    """The run's ``SearchConfig`` and its config.json. ``resumable``: a search on in-memory data
    is refused (it cannot be resumed)."""
    config_file = folder.read_config()
    search = config_file.get("search")
    if not isinstance(search, dict):
        raise RunFolderError(f"{folder / 'config.json'} is damaged (no search settings)")
    if search.get("dataset") is None and resumable:
        raise RunFolderError(f"{folder.path} was a search on in-memory data; it cannot be resumed")
    if "dataset" in config_file:
        dataset_block(folder, config_file)
    try:
        return SearchConfig.from_json(search), config_file
    except _DAMAGE as e:
        raise RunFolderError(f"{folder / 'config.json'} is damaged ({why(e)})") from None


def differing(mine: dict, stored) -> list[str]:
    """The keys of ``mine`` whose values ``stored`` (config.json's, any JSON) does not hold, sorted:
    what a refusal to resume names."""
    return sorted(k for k in mine if not isinstance(stored, dict) or stored.get(k) != mine[k])


def check_dataset(folder: RunFolder, config: SearchConfig, stored) -> None:
    """The dataset must be the one the run started on (``stored``: config.json's summary) — a CSV
    edited since would silently change every later evaluation."""
    now = dataset_of(config.dataset).summary()
    if isinstance(stored, dict) and "digest" not in stored:
        now.pop("digest")  # a run folder from before the digest: checked on what it recorded
    if json.loads(json.dumps(now)) != stored:
        changed = differing(now, stored)
        raise RunFolderError(f"the dataset {config.dataset.name} is not the one {folder.path} "
                             f"started on ({', '.join(changed) or 'summary'} differ from config.json); "
                             "resuming needs the same data")


def check_same_search(folder: RunFolder, config: SearchConfig) -> None:
    """Resuming with settings given: they must be the run's own (config.json's)."""
    stored = folder.read_config().get("search")
    mine = config.to_json()
    if current(stored) != mine:
        differ = differing(mine, stored)
        raise UsageError(f"{folder.path} holds a search with other settings ({', '.join(differ) or 'all'} "
                         f"differ); --resume continues it as it was: drop those options, or pass "
                         f"--overwrite to start a new search there")


def check_no_checkpoint(folder: RunFolder, config: SearchConfig, *, read_only: bool) -> None:
    """No checkpoint: the first generation never ended, which is fine (it starts over) — unless
    the logs hold more than one generation could have written: then the checkpoint is lost. A
    reader (``read_only``) has nothing to show yet."""
    first = config.population * config.repeats
    generations = len(folder.read_lines("generations.jsonl", 2))
    evaluations = len(folder.read_lines("evaluations.jsonl", first + 1))
    if generations > 1 or evaluations > first:
        raise RunFolderError(f"{folder / 'checkpoint.json'} is missing but the logs hold more than the "
                             "first generation: the folder is damaged")
    if read_only:
        raise RunFolderError(f"{folder.path} has no checkpoint yet: the search stopped before its first "
                             f"generation ended; continue it with `evoinit resume {folder.path}`")


# -- restoring the engine ----------------------------------------------------------------------------


def restore(folder: RunFolder, **kw) -> Search:
    """The search of a run folder at its last checkpoint, ready to continue (``resume``): everything
    checked before any file is touched, then the logs cut back to the checkpoint, leftover temp
    files removed, and the dataset checked to be the one the run started on. A folder killed before
    its first checkpoint starts over (nothing is lost: no generation was complete). Anything
    missing, damaged, from another version or another search is a ``RunFolderError`` naming the
    file. ``kw``: the engine's ``data``, ``n_jobs``, ``scheduler``, ``progress``."""
    from evoinit.runfolder.write import Recorder

    config, config_file = read_config(folder)
    check_dataset(folder, config, config_file.get("dataset"))
    run = Search(config, variants.of(config), recorder=Recorder(folder), **kw)
    run.settings = config_file["search"]
    if not folder.has_checkpoint():
        check_no_checkpoint(folder, config, read_only=False)
        folder.cut_back(n_evaluations=0, n_generations=0)
        return run
    state, log = read(folder, config, config_file["search"])
    run.restore(state, [line.evaluation for line in log])
    folder.cut_back(n_evaluations=state.n_evaluations, n_generations=state.generation + 1)
    return run


def view(folder: RunFolder) -> tuple[Search, list[LogLine]]:
    """The search of a run folder as its last checkpoint left it, and its evaluations log, read
    without writing anything (``report``, a running search's folder included)."""
    config, config_file = read_config(folder, resumable=False)
    run = Search(config, variants.of(config))
    run.settings = config_file["search"]
    if not folder.has_checkpoint():
        check_no_checkpoint(folder, config, read_only=True)
    state, log = read(folder, config, config_file["search"])
    run.restore(state, [line.evaluation for line in log])
    return run, log


# -- reading: the checkpoint and the evaluations log ------------------------------------------------


def read(folder: RunFolder, config: SearchConfig, stored: dict) -> tuple[Checkpoint, list[LogLine]]:
    """The last checkpoint and the evaluations log up to it, checked against ``config`` (read
    from ``stored``, config.json's search settings) and each other (every individual's
    evaluations are in the log). Nothing is written."""
    where = folder / "checkpoint.json"
    raw = folder.read_checkpoint()
    if current(raw.get("config")) != current(stored):
        raise RunFolderError(f"{where} belongs to another search than {folder / 'config.json'}")
    try:
        ck = _checkpoint(raw, config, where)
        log = read_evaluations(folder, ck.n_evaluations)
        _check_members(ck, config, {(line.evaluation.genome, line.evaluation.key) for line in log})
    except RunFolderError:
        raise
    except _DAMAGE as e:
        raise RunFolderError(f"{where} is damaged ({why(e)})") from None
    return ck, log


def _checkpoint(d: dict, config: SearchConfig, where) -> Checkpoint:
    """The checkpoint's values, each checked for its type and range."""
    n_evaluations, g, counter = d["n_evaluations"], d["generation"], d["counter"]
    for name, value in (("n_evaluations", n_evaluations), ("generation", g), ("counter", counter)):
        if not _count(value):
            raise RunFolderError(f"{where} is damaged ({name} is {value!r})")
    if g > config.generations or not isinstance(d["finished"], bool):
        raise RunFolderError(f"{where} is damaged (generation {g} of {config.generations}, "
                             f"finished {d['finished']!r})")
    logbook = d["logbook"]
    if not isinstance(logbook, list) or len(logbook) != g + 1 or not all(isinstance(r, dict) for r in logbook):
        raise RunFolderError(f"{where} is damaged (its logbook does not have {g + 1} generations)")
    for i, row in enumerate(logbook):
        _logbook_row(row, i, where)
    if len(d["population"]) != config.population:
        raise RunFolderError(f"{where} is damaged (a population of {len(d['population'])}, "
                             f"not {config.population})")
    final = d.get("final", [])
    if not isinstance(final, list) or len(final) > len(d["hall_of_fame"]):
        raise RunFolderError(f"{where} is damaged (its final scores are not a list of records)")
    final = [_final_record(record, i, where) for i, record in enumerate(final)]
    state = d["python_random"]
    python_random = (state[0], tuple(state[1]), state[2])
    random.Random().setstate(python_random)  # a damaged state fails here, not generations later
    np.random.PCG64(0).state = d["numpy_random"]
    n_obj = len(config.objectives)
    return Checkpoint(g, d["finished"], counter, n_evaluations,
                      tuple(_member(m, config, n_obj) for m in d["population"]),
                      tuple(_member(m, config, n_obj) for m in d["hall_of_fame"]),
                      tuple(logbook), tuple(final), python_random, d["numpy_random"], _extra(d, config, where))


#: The engine's keys of a checkpoint; any other is a variant's (``hooks.Shape.checked``).
_ENGINE_KEYS = {"schema", "config", "generation", "finished", "counter", "n_evaluations", "population",
                "hall_of_fame", "logbook", "final", "python_random", "numpy_random"}


#: The columns of a logbook row (``results.logbook_row``): counts, statistics, the best setup's text.
LOGBOOK_COUNTS = ("gen", "nevals", "diverged", "degenerate", "pruned", "unique")
LOGBOOK_NUMBERS = ("min", "median", "mean", "max", "std", "best_error", "error_std")


def _text(value) -> bool:
    return isinstance(value, str) and len(value) <= MAX_TEXT


def _logbook_row(row: dict, i: int, where) -> None:
    """Logbook row ``i``: only its known columns, counts as counts, statistics finite numbers or
    None, ``best`` a text of bounded length — what logbook.csv and the terminal are given."""
    bad = sorted(k for k, v in row.items() if not (
        (k in LOGBOOK_COUNTS and _count(v)) or (k in LOGBOOK_NUMBERS and (v is None or checks.is_real(v)))
        or (k == "best" and _text(v))))
    if bad or row.get("gen") != i:
        shown = ", ".join(quoted(k, 40) for k in bad[:3]) or "gen"
        raise RunFolderError(f"{where} is damaged (logbook row {i}: {shown} not a known column of "
                             "counts, numbers or the best setup)")


def _final_record(record, i: int, where) -> FinalScores:
    """Final record ``i`` (the test scores of hall-of-fame member ``i``), read by its own type:
    only its own keys (it must not overwrite the member's), a baseline whose text is its genome's,
    every statistic a finite number or None."""
    try:
        return FinalScores.from_json(record, f"final record {i}")
    except (*_DAMAGE, RecursionError) as e:
        raise RunFolderError(f"{where} is damaged (final record {i} is not the test scores of a "
                             f"hall-of-fame member: {one_line(e, 100)})") from None


def _extra(d: dict, config: SearchConfig, where) -> dict:
    """The variant's part of the checkpoint, checked by the variant (none without one)."""
    extra = {k: v for k, v in d.items() if k not in _ENGINE_KEYS}
    shape = variants.of(config).shape
    if extra and shape is None:
        raise RunFolderError(f"{where} is damaged (unknown keys {', '.join(sorted(extra))[:80]})")
    try:
        return shape.checked(extra, config) if shape is not None else {}
    except (ValueError, TypeError) as e:
        raise RunFolderError(f"{where} is damaged ({e})") from None


def _member(d: dict, config: SearchConfig, n_obj: int) -> Member:
    n_genes = config.space.n_genes
    if len(d["genes"]) != n_genes or len(d["fitness"]) != n_obj:
        raise ValueError(f"an individual with {len(d['genes'])} genes and {len(d['fitness'])} "
                         f"fitness values, not {n_genes} and {n_obj}")
    if not all(_number(v) for v in d["genes"]):
        raise ValueError(f"genes {d['genes']!r} are not all numbers")
    if not all(_number(v) for v in d["fitness"]):
        raise ValueError(f"fitness {d['fitness']!r} is not all numbers"[:120])
    keys = tuple(tuple(k) for k in d["keys"])
    if not all(all(_count(x) for x in k) for k in keys):
        raise ValueError(f"seed keys {d['keys']!r} are not lists of counts")
    return Member(tuple(d["genes"]), tuple(float(v) for v in d["fitness"]), keys)


def _check_members(ck: Checkpoint, config: SearchConfig, logged: set) -> None:
    """Every individual decodes to a genome whose evaluations are in the log."""
    for m in ck.population + ck.hall_of_fame:
        genome = config.space.decode(list(m.genes))
        for key in m.keys:
            if (genome, key) not in logged:
                raise KeyError((genome, key))


def read_evaluations(folder: RunFolder, n: int) -> list[LogLine]:
    """The first ``n`` lines of evaluations.jsonl (all must be there), numbered 0…n-1."""
    log = folder / "evaluations.jsonl"
    lines = []
    for i, row in enumerate(folder.read_lines("evaluations.jsonl", n, exact=True)):
        try:
            if row["n"] != i:
                raise ValueError(f"numbered {row['n']!r}")
            lines.append(LogLine(Evaluation.from_json(row), row))
        except _DAMAGE as exc:
            raise RunFolderError(f"{log} line {i + 1} is damaged ({why(exc)})") from None
    return lines


# -- reading: what the report and the exporters show ------------------------------------------------


#: config.json's dataset block (``Dataset.summary``): each key and the check its value passes.
_SIZES = ("train", "val", "test")
_DATASET = {
    "name": _text, "key": _text, "source": _text, "digest": _text, "test_source": _text, "test_digest": _text,
    "task": lambda v: v in ("classification", "regression"),
    "spec": lambda v: isinstance(v, dict) and _plain(v),
    "n_samples": _count, "n_classes": _count,
    "n_features": lambda v: _count(v) and v >= 1, "n_outputs": lambda v: _count(v) and v >= 1,
    "sizes": lambda v: isinstance(v, dict) and set(v) <= set(_SIZES) and all(map(_count, v.values())),
    "class_names": lambda v: isinstance(v, list) and all(map(_text, v)),
    "class_counts": lambda v: isinstance(v, dict) and set(v) <= set(_SIZES) and all(
        isinstance(c, list) and all(map(_count, c)) for c in v.values()),
}


def _plain(value, depth: int = 0) -> bool:
    """A JSON value of bounded depth whose numbers are finite and whose texts are bounded."""
    if value is None or isinstance(value, bool) or checks.is_real(value) or _text(value):
        return True
    if depth >= 4:
        return False
    if isinstance(value, list):
        return all(_plain(v, depth + 1) for v in value)
    return isinstance(value, dict) and all(_text(k) and _plain(v, depth + 1) for k, v in value.items())


def dataset_block(folder: RunFolder, config_file: dict) -> dict:
    """config.json's dataset block, checked: known keys only, sizes as counts (``Infinity`` or
    ``1e999`` is damage, not an OverflowError later), texts of bounded length."""
    ds = config_file.get("dataset")
    if not isinstance(ds, dict):
        raise RunFolderError(f"{folder / 'config.json'} is damaged (its dataset is not a record)")
    for key, value in ds.items():
        if key not in _DATASET:
            raise RunFolderError(f"{folder / 'config.json'} is damaged (unknown key {quoted(key, 40)} in "
                                 "its dataset)")
        if not _DATASET[key](value):
            raise RunFolderError(f"{folder / 'config.json'} is damaged (dataset.{key} is {quoted(value, 40)})")
    return ds


