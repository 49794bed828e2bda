"""Issue 17's six classes, tried as a hostile user would: nothing lost, never a traceback, no
silent wrong result, bounds on what cannot finish, messages that name the user's path, and a
Python API that checks its arguments before anything is written. Each class has cases through
the real CLI (subprocesses, run a few at a time) and through the API; every refused command is
followed by a hash of the run folder it was pointed at."""

import hashlib
import json
import os
import resource
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from helpers import ENV

import evoinit
import evoinit as S
from evoinit import data
from evoinit.errors import DataError, RunFolderError, UsageError
from evoinit.ga.config import SearchConfig
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.nn.training import TrainSettings
from evoinit.reporting.report import report

SMALL = SearchConfig(dataset="iris", population=4, generations=1, repeats=1, seed=3, hall_of_fame=2,
                     train=TrainSettings(epochs=2))
TINY = ["--dataset=iris", "--population=2", "--generations=0", "--epochs=1", "--repeats=1", "--n-jobs=1"]


def tree(folder) -> dict:
    """sha256 of every file under ``folder`` (the lock file aside): equal before and after = nothing lost."""
    folder = Path(folder)
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and p.name != ".lock"}


def cli(*args, cwd=None, limit_bytes=None):
    def limit():  # RLIMIT_FSIZE: writes past it fail with EFBIG ("File too large"), as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))
    return subprocess.run([sys.executable, "-m", "evoinit", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300, preexec_fn=limit if limit_bytes else None)


def one_line(r, code=None) -> str:
    """The command's one error line (asserting: no traceback, one line, the exit code)."""
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    assert r.returncode == (code if code is not None else r.returncode) and r.returncode != 0, r.returncode
    return lines[0]


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    run = tmp_path_factory.mktemp("hostile") / "run"
    S.search(config=SMALL, n_jobs=1, out=run)
    return run


def copy(src: Path, dst: Path) -> Path:
    dst.mkdir(parents=True)
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


# -- 1. nothing lost ----------------------------------------------------------------------------

def test_refused_overwrites_and_resumes_leave_the_old_run_as_it_was(tmp_path, finished):
    """Every setting, file and path is checked before an existing folder is touched."""
    run = copy(finished, tmp_path / "run")
    (tmp_path / "bad.toml").write_text("population = 3\n[space]\nscales = [0.1, nan]\n")
    before = tree(run)
    commands = {
        "nan-scale": ["search", *TINY, "--scales=0.1,nan", "--overwrite", f"--out={run}"],
        "missing-csv": ["search", *TINY, f"--dataset={tmp_path}/nope.csv", "--overwrite", f"--out={run}"],
        "bad-toml": ["search", *TINY, f"--config={tmp_path}/bad.toml", "--overwrite", f"--out={run}"],
        "huge-epochs": ["search", *TINY, "--epochs=1000000000000", "--overwrite", f"--out={run}"],
        "resume-other": ["search", *TINY, "--resume", f"--out={run}"],
        "resume-stop": ["resume", run, "--stop-after=-3"],
    }
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(commands, pool.map(lambda args: cli(*args, cwd=tmp_path), commands.values())))
    for name, r in results.items():
        one_line(r)
        assert tree(run) == before, name
    assert not (run / ".replaced").exists()


def test_an_overwrite_that_fails_before_its_first_checkpoint_puts_the_old_run_back(tmp_path, finished):
    run = copy(finished, tmp_path / "run")
    before = tree(run)

    def stop(p):
        if p.kind == "evaluated":
            raise KeyboardInterrupt  # Ctrl-C while the new run's first generation trains

    with pytest.raises(KeyboardInterrupt):
        S.search("iris", population=2, generations=0, repeats=1, epochs=1, n_jobs=1, out=run,
                 overwrite=True, progress=stop)
    assert tree(run) == before and not (run / ".replaced").exists()
    # one that starts cleanly replaces it, and keeps nothing of the old run aside
    result = S.search("iris", population=2, generations=0, repeats=1, epochs=1, n_jobs=1, out=run, overwrite=True)
    assert result.finished and not (run / ".replaced").exists()
    assert json.loads((run / "config.json").read_text())["search"]["population"] == 2


def test_refused_api_calls_leave_the_run_folder_as_it_was(tmp_path, finished):
    run = copy(finished, tmp_path / "run")
    before = tree(run)
    for kwargs in ({"population": "8"}, {"population": 4.5}, {"epochs": 0}, {"seed": -2}, {"popsize": 3},
                   {"resume": True, "overwrite": True, "population": 4}, {"n_jobs": 0}, {"stop_after": -1},
                   {"resume": True, "population": 3}):
        with pytest.raises(UsageError):
            S.search("iris", generations=0, out=run, **(kwargs if "resume" in kwargs else {"overwrite": True} | kwargs))
        assert tree(run) == before, kwargs


# -- 2. never a traceback -----------------------------------------------------------------------

def _damage_line(run: Path, **values) -> None:
    """Set ``values`` in the first line of the evaluations log (valid JSON, wrong types)."""
    lines = (run / "evaluations.jsonl").read_text().splitlines(keepends=True)
    lines[0] = json.dumps(json.loads(lines[0]) | values) + "\n"
    (run / "evaluations.jsonl").write_text("".join(lines))


@pytest.mark.parametrize("values", [{"val_loss": ["x"]}, {"seed": "a"}, {"n_params": 1.5},
                                    {"status": 3}, {"train_loss": {"a": 1}}, {"genome": {"hidden": "64"}}])
def test_a_log_line_of_the_wrong_types_is_damaged_for_report_and_resume(tmp_path, finished, values):
    run = copy(finished, tmp_path / "run")
    _damage_line(run, **values)
    before = tree(run)
    for call in (lambda: report(run), lambda: S.resume(run, n_jobs=1)):
        with pytest.raises(RunFolderError, match="evaluations.jsonl line 1 is damaged"):
            call()
    assert tree(run) == before


def test_tracebacks_of_the_battery_are_one_line(tmp_path, finished):
    X, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30) % 2
    np.savez(tmp_path / "ok.npz", X=X, y=y)
    raw = (tmp_path / "ok.npz").read_bytes()
    (tmp_path / "cut.npz").write_bytes(raw[:len(raw) // 2])
    (tmp_path / "head.npz").write_bytes(raw[:30])
    run = copy(finished, tmp_path / "run")
    _damage_line(run, val_loss=["x"])
    commands = {
        "truncated-npz": (["train", f"--dataset={tmp_path}/cut.npz", "--epochs=1", "--seeds=1"], "cut.npz"),
        "zip-header-only": (["train", f"--dataset={tmp_path}/head.npz", "--epochs=1", "--seeds=1"], "head.npz"),
        "inf-lr-bound": (["search", *TINY, "--learning-rates=0.01,inf", f"--out={tmp_path}/n1"], "learning_rates"),
        "train-seed": (["train", "--seed=-1", "--epochs=1", "--seeds=1"], "seed must be at least 0"),
        "report-typed": (["report", run], "line 1 is damaged"),
        "resume-typed": (["resume", run, "--n-jobs=1"], "line 1 is damaged"),
    }
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(commands, pool.map(lambda c: cli(*c[0], cwd=tmp_path), commands.values())))
    for name, r in results.items():
        assert commands[name][1] in one_line(r), (name, r.stderr)
    assert not (tmp_path / "n1").exists()


# -- 3. no silent wrong result ------------------------------------------------------------------

def _csv(path: Path, column) -> Path:
    path.write_text("a,b,y\n" + "".join(f"{v!r},{i % 5},{i % 2}\n" for i, v in enumerate(column)))
    return path


@pytest.mark.parametrize("column", [[1.7e308 if i % 2 else -1.7e308 for i in range(40)],
                                    [1e308 / 8 * (i % 7 + 1) for i in range(40)],
                                    [1e200 * (i + 1) for i in range(40)]])
def test_huge_finite_columns_scale_to_standard_values(tmp_path, column):
    ds = data.load(_csv(tmp_path / "big.csv", column))
    for X in (ds.X_train, ds.X_val, ds.X_test):
        assert np.isfinite(X).all()
    assert abs(ds.X_train[:, 0].mean()) < 1e-9 and abs(ds.X_train[:, 0].std() - 1) < 1e-9
    assert np.isfinite(ds.x_mean).all() and np.isfinite(ds.x_scale).all()
    # raw = v·scale + mean maps back (to float64 rounding)
    raw = ds.X_train[:, 0] * ds.x_scale[0] + ds.x_mean[0]
    assert np.allclose(raw, np.asarray(column)[ds.train_index], rtol=1e-12)


def test_huge_regression_targets_and_cli_train_on_huge_features(tmp_path):
    X = np.random.default_rng(1).normal(size=(40, 2))
    ds = data.from_arrays(X, np.linspace(-1, 1, 40) * 1.7e308, task="regression")
    assert np.isfinite(ds.y_train).all() and abs(ds.y_train.std() - 1) < 1e-9
    path = _csv(tmp_path / "big.csv", [1.7e308 if i % 2 else -1.7e308 for i in range(40)])
    r = cli("train", f"--dataset={path}", "--hidden=4", "--epochs=3", "--seeds=2")
    assert r.returncode == 0, r.stderr
    assert "all diverged" not in r.stdout and "0 diverged" in r.stdout


def test_a_column_that_cannot_be_standardised_is_refused_in_one_line():
    # nearly constant on the training rows, far off on the others: scaled, those would be inf
    y = np.arange(40) % 2
    train, val, test = data.split(y, seed=0)
    column = np.full(40, 1e308)
    column[train] = 0.0
    column[train[0]] = 5e-324
    with pytest.raises(DataError, match="t: column 'a' cannot be standardised") as info:
        data.from_arrays(np.c_[column, np.arange(40.0)], y, seed=0, name="t", feature_names=["a", "b"])
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("edit", ["csv-value", "npz-value"])
def test_resume_refuses_data_whose_content_changed_and_keeps_the_run(tmp_path, edit):
    rng = np.random.default_rng(2)
    if edit == "csv-value":
        path = _csv(tmp_path / "d.csv", list(range(30)))
    else:
        path = tmp_path / "d.npz"
        np.savez(path, X=rng.normal(size=(30, 3)), y=np.arange(30) % 2)
    cfg = SearchConfig(dataset=str(path), population=2, generations=2, repeats=1, train=TrainSettings(epochs=1))
    S.search(config=cfg, n_jobs=1, out=tmp_path / "r", stop_after=0)
    before = tree(tmp_path / "r")
    if edit == "csv-value":  # one feature value, same sizes, same class counts
        path.write_text(path.read_text().replace("\n5,0,1\n", "\n6,0,1\n"))
    else:
        X = np.load(path)["X"]
        X[3, 1] += 1e-9
        np.savez(path, X=X, y=np.arange(30) % 2)
    with pytest.raises(RunFolderError, match=r"is not the one .* started on \(digest differ"):
        S.resume(tmp_path / "r", n_jobs=1)
    r = cli("resume", tmp_path / "r", "--n-jobs=1")
    assert "digest" in one_line(r, 1)
    assert tree(tmp_path / "r") == before


def test_a_run_folder_from_before_the_digest_still_resumes(tmp_path):
    """Old run folders hold no digest: they are checked on what they recorded, and resume."""
    cfg = SearchConfig(dataset="iris", population=2, generations=1, repeats=1, train=TrainSettings(epochs=1))
    S.search(config=cfg, n_jobs=1, out=tmp_path / "r", stop_after=0)
    config = json.loads((tmp_path / "r" / "config.json").read_text())
    del config["dataset"]["digest"]
    (tmp_path / "r" / "config.json").write_text(json.dumps(config))
    assert S.resume(tmp_path / "r", n_jobs=1).finished


# -- 4. upper bounds ----------------------------------------------------------------------------

def test_what_cannot_finish_is_refused_with_the_reason_and_nothing_is_made(tmp_path):
    commands = {
        "population": (["search", "--population=1000000000"], "population must be at most 10000"),
        "epochs": (["search", "--epochs=1000000000000"], "epochs must be at most 100000"),
        "repeats": (["search", "--repeats=1000000"], "repeats must be at most"),
        "train-seeds": (["train", "--seeds=1000000000"], "seeds must be at most"),
        "train-epochs": (["train", "--epochs=1000000000000", "--seeds=1"], "epochs must be at most"),
    }
    with ThreadPoolExecutor(2) as pool:
        results = dict(zip(commands, pool.map(lambda c: cli(*c[0], "--out", tmp_path / "o", cwd=tmp_path),
                                              commands.values())))
    for name, r in results.items():
        line = one_line(r, 2)
        assert commands[name][1] in line, (name, line)
    assert not (tmp_path / "o").exists() and not (tmp_path / "runs").exists()


def test_n_jobs_is_capped_at_the_cores_and_says_so(tmp_path):
    r = cli("search", *TINY[:-1], "--n-jobs=10000", "--out", tmp_path / "r")
    assert r.returncode == 0, r.stderr
    cores = os.cpu_count()
    assert f"n_jobs 10000 asks for 10000 worker processes but this machine has" in r.stdout
    assert json.loads((tmp_path / "r" / "config.json").read_text())["execution"]["n_jobs"] <= cores
    with S.opened("iris", n_jobs=-100000) as run:   # nothing written: no out
        assert run.n_jobs == 1 and "using 1" in run.notes[0]


def test_a_long_search_says_its_estimated_work_before_it_starts():
    with S.opened("digits", space=SearchSpace(layers=(8, 16), widths=(2048, 4096)), n_jobs=1) as run:
        note = "\n".join(run.notes)
    assert "estimated work: 3,006 trainings × 30 epochs on 1,077 rows" in note and "hours on 1 worker" in note
    with S.opened("iris", population=4, generations=2, epochs=5, n_jobs=1) as run:
        assert run.notes == []   # a short one says nothing


# -- 5. messages that name the user's path ------------------------------------------------------

def test_a_full_disk_names_the_run_folder_and_what_is_kept(tmp_path):
    out = tmp_path / "r"
    r = cli("search", *TINY[:2], "--generations=3", "--epochs=20", "--repeats=1", "--n-jobs=1", "--out", out,
            limit_bytes=12_000)
    line = one_line(r, 1)
    assert f"cannot write the run folder {out}" in line and "File too large" in line, line
    assert f"evoinit resume {out}" in line or "run the search again" in line, line
    r = cli("search", *TINY, "--out", tmp_path / "r2", limit_bytes=512)
    line = one_line(r, 1)
    assert f"run folder {tmp_path / 'r2'}" in line and "no generation had been saved yet" in line, line


def test_export_out_names_the_users_path_never_a_temp_file(tmp_path):
    (tmp_path / "dir").mkdir()
    for out, words in ((tmp_path / "dir", "it is a folder"), (tmp_path / "no" / "such" / "m.py", "No such file")):
        line = one_line(cli("export", "16 tanh glorot_uniform", "--to=torch", "--out", out), 1)
        assert str(out) in line and words in line and ".tmp" not in line, line


# -- 6. the Python API --------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, message", [
    ({"population": "8"}, r"population must be an integer, got '8' \(a str\)"),
    ({"population": 4.5}, "population must be an integer, got 4.5"),
    ({"population": True}, "population must be an integer, got True"),
    ({"generations": None}, "generations must be an integer, got None"),
    ({"cxpb": "0.5"}, "cxpb must be a finite number"),
    ({"indpb": float("nan")}, "indpb must be a finite number"),
    ({"objectives": 5}, "objectives must be a list"),
    ({"baselines": "no"}, "baselines must be true or false"),
    ({"train": {"epochs": 3}}, "train must be a TrainSettings"),
    ({"space": {"layers": [1, 2]}}, "space must be a SearchSpace"),
    ({"config": {"population": 3}}, "config must be a SearchConfig"),
    ({"n_jobs": "2"}, "n_jobs must be"),
    ({"stop_after": 1.5}, "stop_after must be an integer"),
    ({"dataset": 5}, "dataset must be a dataset name"),
    ({"resume": True, "out": None}, "give out"),
    ({"out": 5}, "a run folder must be a path"),
    ({"population": 10000, "repeats": 1000, "generations": 100}, r"evaluations of 30 epochs in memory, about .* GiB"),
    ({"progress": "print"}, "progress must be a function"),
    ({"scheduler": 8786}, "scheduler must be a Dask address"),
    ({"overwrite": "yes"}, "overwrite must be true or false"),
])
def test_search_arguments_are_checked_before_anything_is_written(tmp_path, kwargs, message):
    dataset = kwargs.pop("dataset", "iris")
    kwargs = {"out": tmp_path / "r"} | kwargs if "config" in kwargs else {"out": tmp_path / "r", "generations": 0} | kwargs
    with pytest.raises(UsageError, match=message):
        evoinit.search(dataset, **kwargs)
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("args, kwargs, message", [
    ((None,), {}, "genome must be a Genome or its string form"),
    ((Genome(), None), {}, "dataset must be a dataset name"),
    ((Genome(), "iris"), {"settings": {"epochs": 1}}, r"settings must be a TrainSettings.*\(a dict\)"),
    ((Genome(), "iris"), {"seeds": 2.5}, "seeds must be an integer"),
    ((Genome(), "iris"), {"seed": -1}, "seed must be at least 0"),
    ((Genome(), 42), {}, "dataset must be a dataset name"),
    ((5, "iris"), {}, "genome must be a Genome"),
])
def test_train_arguments_are_the_projects_own_errors(args, kwargs, message):
    with pytest.raises(UsageError, match=message) as info:
        evoinit.train(*args, **kwargs)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("make, message", [
    (lambda: Genome(hidden="64"), "hidden widths must be positive integers"),
    (lambda: Genome(hidden=(64.5,)), "hidden widths must be positive integers"),
    (lambda: Genome(scale="1"), "scale must be a finite number >= 0"),
    (lambda: Genome(learning_rate=float("inf")), "learning rate must be a finite number > 0"),
    (lambda: SearchSpace(layers=3), "layers must be two integers"),
    (lambda: SearchSpace(scales=(0.1, "2")), "scales must be two finite numbers"),
    (lambda: TrainSettings(epochs="5"), "epochs must be an integer"),
    (lambda: SearchConfig(generations=10**10), "generations must be at most 100000"),
    (lambda: SearchConfig(offspring=10**8), "offspring must be at most 10000"),
    (lambda: TrainSettings(momentum=float("nan")), "momentum must be a finite number"),
    (lambda: TrainSettings(nesterov="yes"), "nesterov must be true or false"),
    (lambda: data.DataSpec("iris", seed=1.5), "seed must be an integer"),
    (lambda: data.load("iris", val_size="0.2"), "val_size must be a fraction"),
])
def test_values_are_checked_where_they_are_built(make, message):
    with pytest.raises(UsageError, match=message):
        make()


@pytest.mark.parametrize("call", [lambda: evoinit.resume(None), lambda: evoinit.report(None),
                                  lambda: evoinit.resume(""), lambda: evoinit.resume(3.5)])
def test_run_folder_arguments_are_paths(call):
    with pytest.raises(UsageError, match="a run folder must be a path"):
        call()


def test_the_api_resumes_and_locks_as_the_cli_does(tmp_path):
    out = tmp_path / "r"
    whole = S.search(config=SMALL, n_jobs=1, out=tmp_path / "whole")
    S.search(config=SMALL, n_jobs=1, out=out, stop_after=0)
    with pytest.raises(RunFolderError, match="already holds a run"):
        S.search(config=SMALL, n_jobs=1, out=out)
    # a second writer is refused while the first holds the folder
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from evoinit.runfolder.folder import RunFolder\n"
                               f"with RunFolder({str(out)!r}).lock():\n print('held', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True, env=ENV)
    try:
        assert holder.stdout.readline().strip() == "held"
        for call in (lambda: S.resume(out, n_jobs=1), lambda: S.search(config=SMALL, out=out, resume=True)):
            with pytest.raises(RunFolderError, match="in use by a running search"):
                call()
    finally:
        holder.kill()
        holder.wait()
    resumed = S.search(config=SMALL, n_jobs=1, out=out, resume=True)   # same settings: continues
    assert resumed.hall_of_fame == whole.hall_of_fame
    for name in ("evaluations.jsonl", "checkpoint.json", "logbook.csv"):
        assert (out / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name


def test_a_replacement_killed_before_its_first_checkpoint_gives_the_old_run_back(tmp_path, finished):
    """SIGKILL between moving the old run aside and the new one's first checkpoint: the next
    command on the folder puts the old run back (the new one had saved nothing)."""
    run = copy(finished, tmp_path / "run")
    before = tree(run)
    killed = subprocess.run([sys.executable, "-c", "import os; from evoinit.runfolder.folder import RunFolder\n"
                             f"RunFolder({str(run)!r}).create({{'search': None}}, overwrite=True)\n"
                             "os.kill(os.getpid(), 9)"], env=ENV)
    assert killed.returncode == -9 and (run / ".replaced").is_dir() and not (run / "checkpoint.json").exists()
    with pytest.raises(RunFolderError, match="already holds a run"):
        S.search(config=SMALL, n_jobs=1, out=run)   # the old run is back, and refuses a new one
    assert tree(run) == before


@pytest.mark.parametrize("damage", ["logbook-text", "fitness-text", "logbook-list"])
def test_checkpoint_values_of_the_wrong_type_are_damage_not_a_crash(tmp_path, finished, damage):
    run = copy(finished, tmp_path / "run")
    ck = json.loads((run / "checkpoint.json").read_text())
    if damage == "logbook-text":
        ck["logbook"][0]["min"] = "x"
    elif damage == "fitness-text":
        ck["hall_of_fame"][0]["fitness"] = ["0.5"]   # float("0.5") would have passed it silently
    else:
        ck["logbook"][1]["median"] = [1]
    (run / "checkpoint.json").write_text(json.dumps(ck))
    before = tree(run)
    for call in (lambda: report(run), lambda: S.resume(run, n_jobs=1)):
        with pytest.raises(RunFolderError, match="checkpoint.json is damaged"):
            call()
    assert tree(run) == before
