"""The run folder: the files that are the experiment, written atomically, read defensively.

Layout (schema 1)::

    config.json         resolved settings, versions, the exact command, the dataset summary
    evaluations.jsonl   one JSON line per evaluation (bit-reproducible: no wall-clock times)
    timings.jsonl       seconds per evaluation (the one file that differs between machines)
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
