"""Lost local workers: a loky worker process killed in the middle of a generation costs a retry,
not the run; when the retry dies too, the run stops with a clear error, its last checkpoint as an
undisturbed run wrote it, and ``resume`` ends exactly where an undisturbed run ends."""

import glob
import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import DIGITS as CONFIG
from helpers import files

from evoinit.api import resume, search
from evoinit.errors import WorkerError


def loky_workers(parent: int | None = None) -> list[int]:
    """PIDs of the loky worker processes of ``parent`` (default: this process), not its resource
    trackers."""
    pids = []
    for path in glob.glob(f"/proc/{parent or os.getpid()}/task/*/children"):
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


def test_a_killed_worker_is_retried_and_the_result_is_unchanged(tmp_path, undisturbed_digits, caplog):
    killer = Killer(times=1)
    with caplog.at_level(logging.WARNING, logger="evoinit.ga.workers"):
        result = search(CONFIG.dataset, config=CONFIG, n_jobs=2, out=tmp_path / "run", progress=killer)
    assert len(killer.killed) == 1
    assert any("worker process died" in r.getMessage() for r in caplog.records)  # the retry ran
    assert result.finished
    assert files(tmp_path / "run") == undisturbed_digits


def test_a_second_crash_stops_the_run_resumably(tmp_path, undisturbed_digits):
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
    assert files(out) == undisturbed_digits


def test_a_search_killed_with_sigkill_takes_its_worker_processes_with_it(tmp_path):
    """SIGKILL gives the search no chance to stop its loky workers; they notice their parent is
    gone and quit within about a second, instead of idling for loky's 300-second timeout."""
    cmd = [sys.executable, "-m", "evoinit", "search", "--dataset", "digits", "--population", "8",
           "--generations", "30", "--epochs", "20", "--n-jobs", "2", "--out", str(tmp_path / "run")]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while len(workers := loky_workers(proc.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(workers) == 2, "the search never started its two workers"
        log = tmp_path / "run" / "evaluations.jsonl"  # generation 0 written: both workers had jobs
        while not (log.exists() and log.stat().st_size) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        proc.kill()
        proc.wait()
    deadline = time.monotonic() + 10
    while (alive := [pid for pid in workers if os.path.exists(f"/proc/{pid}")
                     and Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"]) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in alive:
        os.kill(pid, signal.SIGKILL)  # do not leave them behind for the next test
    assert not alive, f"loky workers {alive} outlived their killed search"


class KillerWhileSent:
    """A progress callback that SIGKILLs one loky worker once, right after the first generation is
    recorded, while the steady shape has jobs out."""

    def __init__(self):
        self.killed = []

    def __call__(self, p) -> None:
        if p.kind == "generation" and p.generation >= 1 and not self.killed:
            workers = loky_workers()
            if workers:
                os.kill(workers[0], signal.SIGKILL)
                self.killed.append(workers[0])


def test_the_steady_shape_redoes_the_jobs_of_a_killed_worker(tmp_path, caplog):
    from test_steady import STEADY as config

    search(config.dataset, config=config, n_jobs=1, out=tmp_path / "one")
    killer = KillerWhileSent()
    with caplog.at_level(logging.WARNING, logger="evoinit.ga.workers"):
        result = search(config.dataset, config=config, n_jobs=2, out=tmp_path / "run", progress=killer)
    assert len(killer.killed) == 1 and result.finished
    assert any("worker process died" in r.getMessage() for r in caplog.records)   # the redo ran
    assert files(tmp_path / "run") == files(tmp_path / "one")
