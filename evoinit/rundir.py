"""The run folder: the files that are the experiment, written atomically, read defensively.

Layout (schema 1)::

    config.json         resolved settings, versions, the exact command, the dataset summary
    evaluations.jsonl   one JSON line per evaluation (bit-reproducible: no wall-clock times)
    timings.jsonl       seconds per evaluation (the one file that differs between machines)
    generations.jsonl   the population of every generation (genomes, fitness), for the report
    logbook.csv         per-generation statistics
    hall_of_fame.json   the best setups (or the Pareto front), and at the end their test scores
    checkpoint.json     everything needed to resume, rewritten atomically after each generation
    figures/            PNGs from ``evoinit report``

JSON and CSV only: opening somebody's run folder never runs their code.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

from evoinit.errors import RunFolderError

SCHEMA = 1


def _clean(obj):
    """JSON has no NaN or inf: write them as strings that read back as floats."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def dumps(obj) -> str:
    return json.dumps(_clean(obj), separators=(",", ":"), allow_nan=False)


def atomic_write(path, text: str) -> None:
    """Write ``text`` to ``path`` via a temp file in the same folder, fsync and rename."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def write_json(path, obj) -> None:
    atomic_write(path, json.dumps(_clean(obj), indent=1, allow_nan=False) + "\n")


def read_json(path, what: str = "file") -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(f"{what} {path} is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunFolderError(f"cannot read {what} {path}: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{what} {path} is damaged (not valid JSON at line {e.lineno}, "
                             f"column {e.colno})") from None


FILES = ("config.json", "evaluations.jsonl", "timings.jsonl", "generations.jsonl", "logbook.csv",
         "hall_of_fame.json", "checkpoint.json")
LOGS = ("evaluations.jsonl", "timings.jsonl", "generations.jsonl")


class RunFolder:
    """One run folder. Appends go through ``append_lines`` (flushed and fsynced per generation);
    everything else is rewritten whole and atomically, the checkpoint last, so a folder killed at
    any moment holds a consistent checkpoint and logs that are at most one generation ahead of it
    (``rewind`` cuts them back on resume, dropping a half-written last line too)."""

    def __init__(self, path):
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def holds_run(self) -> bool:
        return (self / "config.json").exists() or (self / "checkpoint.json").exists()

    def create(self, config: dict, *, overwrite: bool = False) -> None:
        """Start a new run here: refuse a folder that already holds one unless ``overwrite``."""
        if self.holds_run() and not overwrite:
            raise RunFolderError(f"{self.path} already holds a run; continue it with "
                                 f"`evoinit resume {self.path}` or pass --overwrite to replace it")
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"{self.path} exists and is not a folder")
        self.path.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            (self / name).unlink(missing_ok=True)
        for name in LOGS:
            (self / name).touch()
        write_json(self / "config.json", {"schema": SCHEMA} | config)

    def append_lines(self, name: str, rows: list) -> None:
        if not rows:
            return
        with open(self / name, "a", encoding="utf-8") as f:
            f.write("".join(dumps(r) + "\n" for r in rows))
            f.flush()
            os.fsync(f.fileno())

    def write_csv(self, name: str, rows: list[dict]) -> None:
        """Rows of dicts as CSV (columns from the first row; floats written with repr)."""
        if not rows:
            atomic_write(self / name, "")
            return
        cols = list(rows[0])
        lines = [",".join(cols)]
        for row in rows:
            lines.append(",".join(_cell(row.get(c)) for c in cols))
        atomic_write(self / name, "\n".join(lines) + "\n")

    def read_config(self) -> dict:
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path} is not a run folder (no such folder)")
        return _checked(read_json(self / "config.json", "run config"), self / "config.json")

    def read_checkpoint(self) -> dict:
        return _checked(read_json(self / "checkpoint.json", "checkpoint"), self / "checkpoint.json")

    def read_lines(self, name: str) -> list[dict]:
        """The complete JSON lines of a log; a half-written last line is ignored."""
        path = self / name
        if not path.exists():
            return []
        rows = []
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.endswith("\n"):
                    break  # cut by a kill mid-write
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    raise RunFolderError(f"{path} line {n} is damaged (not valid JSON)") from None
        return rows

    def rewind(self, name: str, keep: int) -> None:
        """Keep only the first ``keep`` complete lines of a log (atomically)."""
        path = self / name
        lines = []
        if path.exists():
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if len(lines) == keep or not line.endswith("\n"):
                        break
                    lines.append(line)
        if len(lines) < keep:
            raise RunFolderError(f"{path} has {len(lines)} complete lines but the checkpoint "
                                 f"counts {keep}: the folder is damaged")
        atomic_write(path, "".join(lines))


def _cell(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else ("nan" if math.isnan(v) else ("inf" if v > 0 else "-inf"))
    text = str(v)
    return '"' + text.replace('"', '""') + '"' if any(c in text for c in ',"\n') else text


def _checked(d, path) -> dict:
    if not isinstance(d, dict) or "schema" not in d:
        raise RunFolderError(f"{path} is not an evoinit file (no schema version)")
    if d["schema"] != SCHEMA:
        raise RunFolderError(f"{path} has schema version {d['schema']!r}; this evoinit reads "
                             f"version {SCHEMA}")
    return d
