"""Lost local workers: a loky worker process killed in the middle of a generation costs a retry,
not the run; when the retry dies too, the run stops with a clear error, its last checkpoint as an
undisturbed run wrote it, and ``resume`` ends exactly where an undisturbed run ends."""

import glob
import json
import logging
import os
import signal

import pytest

from evoinit.config import SearchConfig
from evoinit.errors import WorkerError
from evoinit.genome import SearchSpace
from evoinit.network import TrainSettings
from evoinit.search import resume, search

RESULT_FILES = ("evaluations.jsonl", "hall_of_fame.json", "logbook.csv", "checkpoint.json",
                "generations.jsonl")
# Populations of 0.1-0.4 s each, several per generation: a kill after the first result of a
# generation lands while its other populations are still being trained.
CONFIG = SearchConfig(dataset="digits", population=8, generations=2, repeats=2, seed=5, hall_of_fame=3,
                      space=SearchSpace(layers=(1, 2), widths=(16, 64)), train=TrainSettings(epochs=60))


def files(folder) -> dict:
    return {name: (folder / name).read_bytes() for name in RESULT_FILES}


def loky_workers() -> list[int]:
    """PIDs of this process's loky worker processes (not its resource trackers)."""
    pids = []
    for path in glob.glob(f"/proc/{os.getpid()}/task/*/children"):
        with open(path) as f:
            pids += [int(p) for p in f.read().split()]
    workers = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if b"popen_loky_posix" in f.read():
                    workers.append(pid)
        except OSError:
            pass  # already gone
    return sorted(workers)


class Killer:
    """A progress callback that SIGKILLs one loky worker after results come back in generation 1
    (``times`` kills at most)."""

    def __init__(self, times: int):
        self.times, self.killed, self.closed = times, [], 0

    def __call__(self, p) -> None:
        if p.kind == "generation":
            self.closed += 1
        elif p.kind == "evaluated" and self.closed == 1 and len(self.killed) < self.times:
            workers = loky_workers()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                self.killed.append(workers[0])


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory):
    out = tmp_path_factory.mktemp("undisturbed") / "run"
    search(CONFIG.dataset, config=CONFIG, n_jobs=1, out=out)
    return files(out)


def test_a_killed_worker_is_retried_and_the_result_is_unchanged(tmp_path, undisturbed, caplog):
    killer = Killer(times=1)
    with caplog.at_level(logging.WARNING, logger="evoinit.backends"):
        result = search(CONFIG.dataset, config=CONFIG, n_jobs=2, out=tmp_path / "run", progress=killer)
    assert len(killer.killed) == 1
    assert any("worker process died" in r.getMessage() for r in caplog.records)  # the retry ran
    assert result.finished
    assert files(tmp_path / "run") == undisturbed


def test_a_second_crash_stops_the_run_resumably(tmp_path, undisturbed):
    out = tmp_path / "run"
    killer = Killer(times=10)   # kill again while the retry runs
    with pytest.raises(WorkerError, match=f"continue it with `evoinit resume {out}`"):
        search(CONFIG.dataset, config=CONFIG, n_jobs=2, out=out, progress=killer)
    assert len(killer.killed) >= 2
    # the checkpoint is the one an undisturbed run writes after the last finished generation
    stopped = files(out)["checkpoint.json"]
    generation = json.loads(stopped)["generation"]
    search(CONFIG.dataset, config=CONFIG, n_jobs=1, out=tmp_path / "paused", stop_after=generation)
    assert stopped == (tmp_path / "paused" / "checkpoint.json").read_bytes()
    # and resuming it finishes exactly as the undisturbed run
    assert resume(out, n_jobs=2).finished
    assert files(out) == undisturbed
