"""Stopping a search any way at any moment never costs the run: SIGINT (Ctrl-C) and SIGTERM stop
cleanly with a checkpoint and a resume hint (exit 130/143), SIGKILL leaves a folder that resumes,
and every resumed run ends with files identical to an undisturbed one. A damaged checkpoint is a
clear error, never a crash, and never costs the logs."""

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import ENV, copy_run, files

import evoinit as S
from evoinit.errors import RunFolderError
from evoinit.ga.config import SearchConfig
from evoinit.nn.training import TrainSettings
from evoinit.reporting import report as R
from evoinit.runfolder.folder import RunFolder

# ~1.5 s of training at --n-jobs 1, spread evenly over 5 generations and the final scoring
OPTIONS = dict(dataset="iris", population=6, generations=4, repeats=2, seed=5, epochs=150)
ARGS = [f"--{k.replace('_', '-')}={v}" for k, v in OPTIONS.items()]
POSIX = pytest.mark.skipif(os.name != "posix", reason="POSIX signals and process groups")


def config() -> SearchConfig:
    o = dict(OPTIONS)
    return SearchConfig(train=TrainSettings(epochs=o.pop("epochs")), **o)


@pytest.fixture(scope="module")
def undisturbed(tmp_path_factory):
    """The reference run (in-process: same config, same files as the CLI writes) and its line
    counts: all evaluations, and those before the final scoring of the hall of fame."""
    out = tmp_path_factory.mktemp("undisturbed") / "run"
    cfg = config()
    S.search(cfg.dataset, config=cfg, n_jobs=1, out=out)
    gens = [json.loads(x).get("generation") for x in (out / "evaluations.jsonl").read_text().splitlines()]
    # evaluations.jsonl's length when generation g is logged, for g = -1 (nothing yet), 0, 1, …
    ends = [0] + [sum(1 for x in gens if x is not None and x <= g) for g in range(cfg.generations + 1)]
    return {"files": files(out), "ends": ends}


def _start(out: Path, n_jobs: int, log: Path) -> subprocess.Popen:
    """The real CLI in its own session (so a Ctrl-C-like signal can go to its whole process group,
    workers included); output to files, since orphaned workers could hold pipes open."""
    cmd = [sys.executable, "-m", "evoinit", "search", *ARGS, f"--n-jobs={n_jobs}", f"--out={out}"]
    with open(log.with_suffix(".out"), "w") as o, open(log.with_suffix(".err"), "w") as e:
        return subprocess.Popen(cmd, stdout=o, stderr=e, env=ENV, start_new_session=True)


def _lines(path: Path) -> int:
    try:
        return path.read_bytes().count(b"\n")
    except FileNotFoundError:
        return -1


def _wait_for(proc, out: Path, lines: int, delay: float) -> None:
    """Until the run folder exists and its evaluations log has ``lines`` lines, then ``delay`` s."""
    deadline = time.monotonic() + 120
    while _lines(out / "evaluations.jsonl") < lines or not (out / "config.json").exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            break
        time.sleep(0.005)
    time.sleep(delay)


def _alive_in_group(pgid: int) -> list[int]:
    """Processes of process group ``pgid`` still running (zombies waiting to be reaped do not count)."""
    alive = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            alive.append(int(stat.parent.name))
    return alive


def _no_orphans(pgid: int) -> None:
    if not Path("/proc/self/stat").exists():
        return
    deadline = time.monotonic() + 10
    while _alive_in_group(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = _alive_in_group(pgid)
    for pid in left:  # do not leave them to the next test
        os.kill(pid, signal.SIGKILL)
    assert not left, f"worker processes outlived the stopped search: {left}"


def _resume(out: Path):
    r = subprocess.run([sys.executable, "-m", "evoinit", "resume", str(out), "--n-jobs=1"],
                       capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr + r.stdout
    return r


# Where to stop: once generation g is logged (g = -1: as soon as the folder exists), then a delay of
# up to 0.3 s (about one generation at --n-jobs 1). Drawn from a seeded RNG, without repeats per
# kind so the points spread: a polite signal must find the search running, so its g stops two
# generations before the end; SIGKILL may land anywhere, in the final scoring or after the end too.
_rng = random.Random(2026)
_G = OPTIONS["generations"]
_polite = _rng.sample(range(-1, _G - 1), 4)
_kill = _rng.sample(range(-1, _G + 1), 3)
# (signal, sent to the whole process group like a terminal's Ctrl-C or to the main process only,
#  n_jobs, generation g, delay)
CASES = [(sig, to, jobs, g, round(_rng.uniform(0.0, 0.3), 3)) for (sig, to, jobs), g in zip(
    [("SIGINT", "group", 1), ("SIGINT", "group", 2), ("SIGINT", "group", 1), ("SIGTERM", "pid", 2),
     ("SIGKILL", "group", 1), ("SIGKILL", "group", 2), ("SIGKILL", "pid", 1)], _polite + _kill)]


@POSIX
@pytest.mark.parametrize("name, to, n_jobs, g, delay", CASES,
                         ids=[f"{s}-{to}-jobs{j}-gen{g}+{d}s" for s, to, j, g, d in CASES])
def test_stopped_at_a_random_point_then_resumed_equals_undisturbed(tmp_path, undisturbed, name, to, n_jobs,
                                                                   g, delay):
    signum = getattr(signal, name)
    polite = signum != signal.SIGKILL
    lines = undisturbed["ends"][g + 1]
    out = tmp_path / "run"
    proc = _start(out, n_jobs, tmp_path / "search")
    _wait_for(proc, out, lines, delay)
    (os.killpg if to == "group" else os.kill)(proc.pid, signum)
    code = proc.wait(timeout=120)
    err = (tmp_path / "search.err").read_text()
    assert "Traceback" not in err, err
    if polite:
        assert code == 128 + signum, (code, err)
        assert f"evoinit resume {out}" in err and len(err.strip().splitlines()) == 1, err
        _no_orphans(proc.pid)
        ck = RunFolder(out).read_checkpoint() if (out / "checkpoint.json").exists() else None
        if ck is not None:  # the consistent checkpoint the message speaks of
            assert f"generation {ck['generation']} of 4 is saved" in err, err
            assert _lines(out / "generations.jsonl") >= ck["generation"] + 1
    else:
        assert code in (-signal.SIGKILL, 0), (code, err)
        if to == "group":
            _no_orphans(proc.pid)
    _resume(out)
    assert files(out) == undisturbed["files"], (name, lines, delay)
    assert not list(out.glob(".*.tmp"))


_SIGNAL_IN_WRITE = r"""
import os, signal, sys, time
from pathlib import Path
from evoinit.runfolder import write as saving
import evoinit as S
from evoinit.ga.config import SearchConfig
from evoinit.nn.training import TrainSettings

# Python's own Ctrl-C handler, as in a terminal: a process started in the background by a
# non-interactive shell inherits SIGINT ignored, and an ignored signal has nothing to hold.
signal.signal(signal.SIGINT, signal.default_int_handler)
real = saving.write_json

def write_then_interrupt(path, obj):
    if Path(path).name == "hall_of_fame.json" and obj["generation"] == 1:
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.05)  # the signal is due now; it must not cut the block
    real(path, obj)

saving.write_json = write_then_interrupt
cfg = SearchConfig(dataset="iris", population=4, generations=3, repeats=1, train=TrainSettings(epochs=2))
try:
    S.search(cfg.dataset, config=cfg, n_jobs=1, out=sys.argv[1])
except KeyboardInterrupt:
    sys.exit(42 if signal.getsignal(signal.SIGINT) is signal.default_int_handler else 43)
sys.exit(0)
"""


def test_a_signal_inside_the_checkpoint_write_waits_for_it(tmp_path):
    """Ctrl-C while the checkpoint is being written: the three state files are all written, then
    the interrupt happens (without ``critical()`` the checkpoint would be missing). Run in a fresh
    interpreter that installs Python's SIGINT handler: the suite itself may run with SIGINT
    ignored (started in the background by a non-interactive shell)."""
    p = subprocess.run([sys.executable, "-c", _SIGNAL_IN_WRITE, str(tmp_path / "r")], env=ENV,
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 42, (p.returncode, p.stderr)  # interrupted, and the handlers put back
    cfg = SearchConfig(dataset="iris", population=4, generations=3, repeats=1, train=TrainSettings(epochs=2))
    folder = RunFolder(tmp_path / "r")
    ck = folder.read_checkpoint()
    hof = json.loads((tmp_path / "r" / "hall_of_fame.json").read_text())
    assert ck["generation"] == hof["generation"] == 1
    assert len((tmp_path / "r" / "logbook.csv").read_text().splitlines()) == 1 + 2
    assert not list((tmp_path / "r").glob(".*.tmp"))
    done = S.resume(tmp_path / "r", n_jobs=1)
    S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "whole")
    assert done.finished and files(tmp_path / "r") == files(tmp_path / "whole")


@pytest.fixture(scope="module")
def paused(tmp_path_factory):
    """A run paused after generation 1 (its files, to copy), and the same run finished."""
    base = tmp_path_factory.mktemp("paused")
    cfg = SearchConfig(dataset="iris", population=4, generations=2, repeats=2, seed=1, train=TrainSettings(epochs=2))
    S.search(cfg.dataset, config=cfg, n_jobs=1, out=base / "paused", stop_after=1)
    S.search(cfg.dataset, config=cfg, n_jobs=1, out=base / "whole")
    return base


def test_a_checkpoint_cut_at_every_tenth_is_a_clear_error_and_costs_nothing(tmp_path, paused):
    folder = copy_run(paused / "paused", tmp_path / "r")
    text = (folder / "checkpoint.json").read_bytes()
    logs = files(folder, ("evaluations.jsonl", "timings.jsonl", "generations.jsonl"))
    for tenth in range(10):
        (folder / "checkpoint.json").write_bytes(text[:len(text) * tenth // 10])
        for call in (lambda: S.resume(folder, n_jobs=1), lambda: R.report(folder)):
            with pytest.raises(RunFolderError, match=r"checkpoint\.json is damaged"):
                call()
        assert files(folder, logs) == logs, tenth  # nothing lost
    # and through the CLI: one line, exit 1, for resume and report
    for command in ("resume", "report"):
        r = subprocess.run([sys.executable, "-m", "evoinit", command, str(folder)], capture_output=True,
                           text=True, env=ENV, timeout=120)
        assert r.returncode == 1 and "Traceback" not in r.stderr, r.stderr
        assert r.stderr.startswith("error: checkpoint ") and "is damaged" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    # the intact checkpoint back: the run resumes to the undisturbed result
    (folder / "checkpoint.json").write_bytes(text)
    S.resume(folder, n_jobs=1)
    assert files(folder) == files(paused / "whole")


def test_killed_before_the_first_checkpoint_starts_over(tmp_path, paused):
    """A kill during generation 0 leaves config.json and partial logs but no checkpoint: resume
    starts the run over (nothing was complete) and ends as the undisturbed run."""
    folder = copy_run(paused / "paused", tmp_path / "r")
    (folder / "checkpoint.json").unlink()
    first = (folder / "evaluations.jsonl").read_text().splitlines(keepends=True)[:5]
    (folder / "evaluations.jsonl").write_text("".join(first) + '{"n": 5, "gen')
    (folder / "generations.jsonl").write_text("")
    (folder / ".checkpoint.json.123.tmp").write_text("{")
    with pytest.raises(RunFolderError, match="no checkpoint yet"):
        R.report(folder)
    S.resume(folder, n_jobs=1)
    assert files(folder) == files(paused / "whole")
    assert not list(folder.glob(".*.tmp"))


def test_a_run_folder_in_use_is_refused(tmp_path, paused):
    folder = copy_run(paused / "paused", tmp_path / "r")
    with RunFolder(folder).lock():
        r = subprocess.run([sys.executable, "-m", "evoinit", "resume", str(folder)], capture_output=True,
                           text=True, env=ENV, timeout=120)
    assert r.returncode == 1 and "in use by a running search" in r.stderr and "Traceback" not in r.stderr
    assert files(folder) == files(paused / "paused")


@POSIX
@pytest.mark.parametrize("delay", [0.15, 0.3, 0.6])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_command_starts_is_one_line_and_no_traceback(tmp_path, delay, signum):
    """Ctrl-C in the first second — Python still importing NumPy, scikit-learn, DEAP — ends the
    command with 128 + the signal and one line, as a stop later on does."""
    cmd = [sys.executable, "-m", "evoinit", "search", *ARGS, f"--out={tmp_path / 'run'}"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV, text=True)
    time.sleep(delay)
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum, (out, err)
    assert "Traceback" not in out + err and len(err.strip().splitlines()) == 1, err
