"""What several test files share: the result files of a run folder, the CLI's environment, the
digits search the worker-loss tests compare against."""

import os
from pathlib import Path

from evoinit.config import SearchConfig
from evoinit.genome import SearchSpace
from evoinit.network import TrainSettings

RESULT_FILES = ("evaluations.jsonl", "hall_of_fame.json", "logbook.csv", "checkpoint.json",
                "generations.jsonl")
ENV = {**os.environ, "COLUMNS": "200", "OPENBLAS_NUM_THREADS": "1"}
# Populations of 0.1-0.4 s each, several per generation: a worker killed after the first result of
# a generation is still holding work (test_workers, test_dask).
DIGITS = SearchConfig(dataset="digits", population=8, generations=2, repeats=2, seed=5, hall_of_fame=3,
                      space=SearchSpace(layers=(1, 2), widths=(16, 64)), train=TrainSettings(epochs=60))


def files(folder, names=RESULT_FILES) -> dict:
    return {name: (Path(folder) / name).read_bytes() for name in names}


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a run folder's files (not its subfolders)."""
    dst.mkdir()
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).write_bytes(f.read_bytes())
    return dst
