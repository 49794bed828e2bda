"""Bad input of every kind is one clear line on stderr and a non-zero exit (2 for usage errors),
never a traceback — for every command, driven as a user drives it (the real CLI in a
subprocess) — plus properties over any CSV, TOML or damaged checkpoint, and the candidates that
diverge or never learn."""

import itertools
import json
import math
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import ENV, RESULT_FILES, copy_run, files
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import evoinit
import evoinit as S
from evoinit import data
from evoinit.errors import ConfigError, DataError, RunFolderError, UsageError
from evoinit.ga.config import SearchConfig
from evoinit.ga.configfile import _TABLES, _TOP, build, load_toml
from evoinit.ga.genome import SearchSpace
from evoinit.nn.training import TrainSettings
from evoinit.runfolder import read
from evoinit.runfolder.folder import RunFolder

# A tiny search: if a row's check were missing, its command would run (quickly) and exit 0.
TINY = ["--dataset=iris", "--population=2", "--generations=0", "--epochs=1", "--repeats=1", "--n-jobs=1"]
SMALL = SearchConfig(dataset="iris", population=4, generations=1, repeats=2, seed=2, train=TrainSettings(epochs=2))


def _csv(rows: int = 12, **cells) -> str:
    """A header a,b,y and ``rows`` rows of two classes; ``cells`` (e.g. b3="x") replace values."""
    lines = ["a,b,y"]
    for i in range(rows):
        row = {"a": str(i), "b": str(i % 3), "y": str(i % 2)}
        for key, value in cells.items():
            if int(key[1:]) == i:
                row[key[0]] = value
        lines.append(",".join(row.values()))
    return "\n".join(lines) + "\n"


FILES = {  # name -> text, under the battery's folder
    "empty.csv": "",
    "cols.csv": _csv(),
    "text.csv": _csv(b3="x"),
    "hole.csv": _csv(a4=""),
    "oneclass.csv": _csv().replace(",1\n", ",0\n"),
    "few.csv": _csv(rows=6),
    "syntax.toml": "population = \n",
    "typo.toml": 'dataset = "iris"\npopulaton = 4\n',
    "type.toml": 'population = "many"\n',
    "list.toml": '[space]\nwidths = [8, "wide"]\n',
    "pair.toml": '[space]\nlayers = [1, 2, 3]\n',
    "table.toml": "space = 3\n",
}


def _damage(run: Path, how: str) -> None:
    """Spoil a copy of a finished run folder."""
    if how == "schema":
        ck = json.loads((run / "checkpoint.json").read_text())
        (run / "checkpoint.json").write_text(json.dumps(ck | {"schema": 99}))
    elif how == "mismatch":
        ck = json.loads((run / "checkpoint.json").read_text())
        ck["config"]["population"] = 5
        (run / "checkpoint.json").write_text(json.dumps(ck))
    elif how == "evaluation":
        lines = (run / "evaluations.jsonl").read_text().splitlines(keepends=True)
        lines[2] = '{"n": 2, "genome": 5}\n'
        (run / "evaluations.jsonl").write_text("".join(lines))
    elif how == "nolog":
        (run / "evaluations.jsonl").unlink()
    elif how == "generation":
        lines = (run / "generations.jsonl").read_text().splitlines(keepends=True)
        lines[1] = '{"gen": 1, "population": [{"genome": 3}]}\n'
        (run / "generations.jsonl").write_text("".join(lines))
    elif how == "noconfig":
        (run / "config.json").unlink()
    elif how == "hof":
        text = (run / "hall_of_fame.json").read_text()
        (run / "hall_of_fame.json").write_text(text[:len(text) // 2])


DAMAGES = ("schema", "mismatch", "evaluation", "nolog", "generation", "noconfig", "hof")

# id: (command line, with {w} for the battery's folder; exit code; fragments of the one line)
ROWS = {
    # names, with a suggestion
    "dataset-typo": (["search", *TINY, "--dataset=digts"], 2, ["unknown dataset 'digts'", "did you mean 'digits'"]),
    "init-typo": (["search", *TINY, "--inits=he_normal,glorot_unifrom"], 2, ["did you mean 'glorot_uniform'"]),
    "activation-typo": (["search", *TINY, "--activations=tanh,relux"], 2, ["did you mean 'relu'"]),
    "objective-typo": (["search", *TINY, "--objectives=val_los"], 2, ["did you mean 'val_loss'"]),
    "seed-policy-typo": (["search", *TINY, "--seed-policy=distinc"], 2, ["did you mean 'distinct'"]),
    # numbers out of range
    "population-1": (["search", *TINY, "--population=1"], 2, ["population must be at least 2"]),
    "epochs-0": (["search", *TINY, "--epochs=0"], 2, ["epochs must be at least 1"]),
    "repeats-0": (["search", *TINY, "--repeats=0"], 2, ["repeats must be at least 1"]),
    "negative-scale": (["search", *TINY, "--scales=-1,2"], 2, ["scales must be 0 < min <= max"]),
    "width-0": (["search", *TINY, "--widths=0,8"], 2, ["widths must be 1 <= min <= max"]),
    "width-huge": (["search", *TINY, "--widths=8,100000"], 2, ["widths must be at most 4096"]),
    "layers-many": (["search", *TINY, "--layers=1,100"], 2, ["layers must be at most 16"]),
    "negative-lr": (["search", *TINY, "--lr=-0.1"], 2, ["learning_rate must be > 0"]),
    "n-jobs-0": (["search", *TINY, "--n-jobs=0"], 2, ["--n-jobs must be"]),
    "stop-after-negative": (["search", *TINY, "--stop-after=-1"], 2, ["--stop-after must be"]),
    "train-seeds-0": (["train", "--seeds=0", "--epochs=1"], 2, ["seeds must be at least 1"]),
    "train-negative-scale": (["train", "--scale=-1", "--epochs=1", "--seeds=1"], 2, ["scale must be a finite number >= 0"]),
    "resume-n-jobs-0": (["resume", "{w}/run-ok", "--n-jobs=0"], 2, ["--n-jobs must be"]),
    # typer/click's own usage errors, as one line too
    "not-a-number": (["search", *TINY, "--population=many"], 2, ["Invalid value for '--population'", "evoinit search --help"]),
    "unknown-option": (["search", *TINY, "--populaton=3"], 2, ["No such option: --populaton"]),
    "missing-argument": (["resume"], 2, ["Missing argument 'run'", "evoinit resume --help"]),
    "unknown-command": (["list", "fonts"], 2, ["No such command 'fonts'"]),
    "pair-format": (["search", *TINY, "--widths=8"], 2, ["--widths must be two numbers MIN,MAX"]),
    "export-framework": (["export", "16 tanh glorot_uniform", "--to=tf"], 2, ["--to must be one of torch, keras"]),
    # config files
    "toml-syntax": (["search", *TINY, "--config={w}/syntax.toml"], 2, ["syntax.toml", "TOML syntax error", "line 1"]),
    "toml-unknown-key": (["search", *TINY, "--config={w}/typo.toml"], 2,
                         ["(line 2)", "unknown key 'populaton'", "did you mean 'population'"]),
    "toml-wrong-type": (["search", *TINY, "--config={w}/type.toml"], 2, ["(line 1)", "population has the wrong type"]),
    "toml-list-type": (["search", *TINY, "--config={w}/list.toml"], 2, ["(line 2)", "[space] widths has the wrong type"]),
    "toml-pair": (["search", *TINY, "--config={w}/pair.toml"], 2, ["(line 2)", "[space] layers must be [min, max]"]),
    "toml-table": (["search", *TINY, "--config={w}/table.toml"], 2, ["(line 1)", "space must be a table"]),
    "toml-missing": (["search", *TINY, "--config={w}/nope.toml"], 2, ["nope.toml does not exist"]),
    # CSV files
    "csv-empty": (["search", *TINY, "--dataset={w}/empty.csv"], 2, ["empty.csv", "the file is empty"]),
    "csv-no-target": (["search", *TINY, "--dataset={w}/cols.csv", "--target=label"], 2,
                      ["no target column 'label'", "columns: a, b, y"]),
    "csv-text": (["search", *TINY, "--dataset={w}/text.csv"], 2, ["non-numeric value 'x'", "column 'b'"]),
    "csv-missing-value": (["search", *TINY, "--dataset={w}/hole.csv"], 2, ["missing value ''", "column 'a'"]),
    "csv-one-class": (["search", *TINY, "--dataset={w}/oneclass.csv"], 2, ["single class"]),
    "csv-too-few-rows": (["search", *TINY, "--dataset={w}/few.csv"], 2, ["needs at least 5 rows per class"]),
    "csv-no-file": (["search", *TINY, "--dataset={w}/nope.csv"], 2, ["no such file", "nope.csv"]),
    # output folders
    "folder-holds-a-run": (["search", *TINY, "--out={w}/run-ok"], 1, ["already holds a run", "--resume", "--overwrite"]),
    "resume-other-settings": (["search", *TINY, "--out={w}/run-ok", "--resume"], 2,
                              ["holds a search with other settings", "population"]),
    "resume-and-overwrite": (["search", *TINY, "--out={w}/x", "--resume", "--overwrite"], 2, ["pass one of them"]),
    "resume-without-out": (["search", *TINY, "--resume"], 2, ["give --out"]),
    # run folders: missing, damaged, from another version or another search
    "resume-no-folder": (["resume", "{w}/nope"], 1, ["is not a run folder"]),
    "resume-schema": (["resume", "{w}/run-schema"], 1, ["checkpoint.json has schema version 99"]),
    "resume-mismatch": (["resume", "{w}/run-mismatch"], 1, ["belongs to another search"]),
    "resume-evaluation": (["resume", "{w}/run-evaluation"], 1, ["evaluations.jsonl line 3 is damaged"]),
    "resume-no-log": (["resume", "{w}/run-nolog"], 1, ["evaluations.jsonl has 0 complete lines"]),
    "report-generation": (["report", "{w}/run-generation"], 1, ["generations.jsonl line 2 is damaged"]),
    "report-no-config": (["report", "{w}/run-noconfig"], 1, ["config.json is missing"]),
    "export-hof": (["export", "{w}/run-hof", "--to=torch"], 1, ["hall_of_fame.json", "damaged"]),
}


@pytest.fixture(scope="module")
def battery(tmp_path_factory):
    """Every row run at once (a few at a time: each is a Python startup) in its own working folder."""
    w = tmp_path_factory.mktemp("battery")
    for name, text in FILES.items():
        (w / name).write_text(text)
    S.search(SMALL.dataset, config=SMALL, n_jobs=1, out=w / "run-ok")
    for how in DAMAGES:
        _damage(copy_run(w / "run-ok", w / f"run-{how}"), how)

    def run(row):
        args, _, _ = ROWS[row]
        cwd = w / "cwd" / row
        cwd.mkdir(parents=True)
        return subprocess.run([sys.executable, "-m", "evoinit", *[a.format(w=w) for a in args]],
                              capture_output=True, text=True, env=ENV, cwd=cwd, timeout=300)

    with ThreadPoolExecutor(max_workers=max(2, min(4, os.cpu_count() or 2))) as pool:
        results = dict(zip(ROWS, pool.map(run, ROWS)))
    return w, results


@pytest.mark.parametrize("row", list(ROWS))
def test_bad_input_is_one_clear_line(battery, row):
    w, results = battery
    _, code, fragments = ROWS[row]
    r = results[row]
    assert "Traceback" not in r.stderr + r.stdout, r.stderr
    assert r.returncode == code, (r.returncode, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for fragment in fragments:
        assert fragment.format(w=w) in lines[0], (fragment, lines[0])


def test_refused_commands_leave_run_folders_as_they_were(battery):
    """Nothing already written is lost: every refused command left the run folders untouched."""
    w, _ = battery
    fresh = w / "fresh"
    S.search(SMALL.dataset, config=SMALL, n_jobs=1, out=fresh)
    for name in RESULT_FILES:
        assert (w / "run-ok" / name).read_bytes() == (fresh / name).read_bytes(), name
    for how in DAMAGES:  # the damaged copies: only what _damage changed differs
        for f in (w / "run-ok").iterdir():
            copy = w / f"run-{how}" / f.name
            if f.is_file() and f.name not in {"checkpoint.json", "evaluations.jsonl", "generations.jsonl",
                                              "config.json", "hall_of_fame.json", ".lock"}:
                assert copy.read_bytes() == f.read_bytes(), (how, f.name)
    assert not (w / "x").exists()  # the refused --resume --overwrite made no folder


def test_resume_refuses_a_dataset_changed_since_the_run_started(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text(_csv(rows=30))
    cfg = SearchConfig(dataset=str(csv), population=2, generations=2, repeats=1, train=TrainSettings(epochs=1))
    S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "r", stop_after=0)
    before = (tmp_path / "r" / "evaluations.jsonl").read_bytes()
    csv.write_text(_csv(rows=40))
    with pytest.raises(RunFolderError, match="is not the one .* started on"):
        S.resume(tmp_path / "r", n_jobs=1)
    assert (tmp_path / "r" / "evaluations.jsonl").read_bytes() == before


# -- properties -----------------------------------------------------------------------------------

_count = itertools.count()
CELLS = st.sampled_from(["0", "1", "2", "1.5", "-3", "4", "0.25", "7"])
ODD = (st.sampled_from(["nan", "", "?", "inf", "x", '"1,2"', "1e400", " 7 ", "0x10", "1_000", "١", "NA", "b"])
       | st.text(max_size=3))


@st.composite
def csv_files(draw) -> bytes:
    """Mostly-numeric CSV with a few odd cells, odd headers, separators and line ends — or bytes."""
    ncol = draw(st.integers(1, 4))
    header = ([f"c{j}" for j in range(ncol)] if draw(st.booleans()) else
              [draw(st.sampled_from(["a", "b", "target", "", "x y"])) for _ in range(ncol)])
    rows = [[draw(CELLS) for _ in range(ncol)] for _ in range(draw(st.integers(0, 40)))]
    for _ in range(draw(st.sampled_from([0, 0, 1, 2]))):
        if rows:
            rows[draw(st.integers(0, len(rows) - 1))] = draw(st.lists(ODD | CELLS, max_size=ncol + 1))
    sep, eol = draw(st.sampled_from([","] * 6 + [";", "\t"])), draw(st.sampled_from(["\n", "\r\n", "\r"]))
    text = eol.join(sep.join(r) for r in [header] + rows) + draw(st.sampled_from(["", eol]))
    return text.encode() if draw(st.integers(0, 9)) else draw(st.binary(max_size=20)) + text.encode("latin-1", "replace")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=csv_files(), target=st.sampled_from([None, "target", "c0", "zz"]),
       task=st.sampled_from([None, "classification", "regression"]))
def test_any_csv_loads_or_is_a_clear_error(tmp_path, raw, target, task):
    path = tmp_path / f"f{next(_count)}.csv"  # a new name each time: load caches by path, mtime and size
    path.write_bytes(raw)
    try:
        ds = data.load(str(path), target=target, task=task)
    except (DataError, UsageError) as e:
        assert str(e) and "\n" not in str(e)
    else:
        assert len(ds.X_train) and len(ds.X_val) and len(ds.X_test)


def _toml(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(x)}" for k, x in v.items()) + "}"


ANY = st.recursive(st.booleans() | st.integers(-3, 300) | st.floats() | st.text(max_size=4),
                   lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=3), c, max_size=2),
                   max_leaves=4)
WORDS = st.sampled_from(["digits", "iris", "x.csv", "", "distinct", "shared", "inherited", "val_loss", "n_params",
                         "spread", "relu", "tanh", "he_normal", "zeros", "sgd", "adam", "float32", "moons"])


def _value(kind):
    """Values of the right type most of the time, anything some of the time."""
    if isinstance(kind, str):
        kind = {"int": int, "float": float, "bool": bool}.get(kind.split("|")[0].strip(), str)
    if hasattr(kind, "__origin__"):
        right = st.lists(_value(kind.__args__[0]), max_size=3)
    elif kind is int:
        right = st.integers(-3, 300) | st.sampled_from([2**63 - 1, -2**63])
    elif kind is float:
        right = st.floats(-1e3, 1e3) | st.sampled_from([0, 1, 0.5, 1e308, math.inf, math.nan])
    elif kind is bool:
        right = st.booleans()
    else:
        right = WORDS | st.text(max_size=3)
    return st.one_of(right, right, right, ANY)


def _keys(table: dict):
    return st.fixed_dictionaries({}, optional={k: _value(t) for k, t in table.items()})


TOML_DOCS = st.tuples(_keys(_TOP), st.fixed_dictionaries({}, optional={t: _keys(d) for t, d in _TABLES.items()}),
                      st.dictionaries(st.text(min_size=1, max_size=5), ANY, max_size=1))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=TOML_DOCS, noise=st.text(max_size=8) | st.just(""))
def test_any_toml_is_a_config_or_a_config_error(tmp_path, doc, noise):
    top, tables, stray = doc
    lines = [f"{json.dumps(k)} = {_toml(v)}" for k, v in (top | stray).items()]
    for table, body in tables.items():
        lines += [f"[{table}]"] + [f"{json.dumps(k)} = {_toml(v)}" for k, v in body.items()]
    path = tmp_path / f"c{next(_count)}.toml"
    path.write_text("\n".join(lines) + "\n" + noise)
    try:
        config, execution = build(load_toml(path))
    except (ConfigError, UsageError) as e:  # both exit 2
        assert str(e) and "\n" not in str(e)
    else:
        assert isinstance(config, SearchConfig) and set(execution) <= {"n_jobs", "scheduler", "out"}


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    folder = tmp_path_factory.mktemp("ck") / "run"
    S.search(SMALL.dataset, config=SMALL, n_jobs=1, out=folder, stop_after=0)
    return folder, json.loads((folder / "checkpoint.json").read_text())


def _places(obj, at=()):
    """Paths to every value of a JSON document (the first three items of lists)."""
    yield at
    items = obj.items() if isinstance(obj, dict) else enumerate(obj[:3]) if isinstance(obj, list) else ()
    for k, v in items:
        yield from _places(v, at + (k,))


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_a_damaged_checkpoint_is_a_run_folder_error(checkpoint, data):
    """Any value of the checkpoint replaced or removed: the run is restored or refused with a
    RunFolderError — never another exception — and the logs are never touched."""
    folder, ck = checkpoint
    places = [p for p in _places(ck) if p and p[0] != "config"]
    bad = json.loads(json.dumps(ck))
    for at in data.draw(st.lists(st.sampled_from(places), min_size=1, max_size=3)):
        try:
            parent = bad
            for k in at[:-1]:
                parent = parent[k]
            if isinstance(parent, dict) and data.draw(st.booleans()):
                del parent[at[-1]]
            else:
                parent[at[-1]] = data.draw(ANY | st.none() | st.integers())
        except (KeyError, IndexError, TypeError):  # an earlier change removed this place
            pass
    logs = files(folder, ("evaluations.jsonl", "generations.jsonl"))
    (folder / "checkpoint.json").write_text(json.dumps(bad))
    try:
        read.restore(RunFolder(folder), n_jobs=1)
    except RunFolderError as e:
        assert str(e) and "\n" not in str(e)
    finally:
        (folder / "checkpoint.json").write_text(json.dumps(ck))
    assert files(folder, logs) == logs


# -- diverging and degenerate candidates ----------------------------------------------------------


def test_exploding_and_never_learning_candidates_are_scored_logged_and_kept_out(tmp_path):
    """Huge scales explode, zeros never learn (every hidden unit the same, the output constant):
    all are scored and logged with their status, the run goes on, and the diverged ones stay out
    of the statistics and the hall of fame; the zeros ones are ordinary (poor) results."""
    space = SearchSpace(inits=("zeros", "he_normal"), activations=("relu",), scales=(16.0, 16.0), widths=(32, 64),
                        layers=(2, 2))
    cfg = SearchConfig(dataset="iris", population=6, generations=2, repeats=2, seed=1, space=space,
                       train=TrainSettings(epochs=4, learning_rate=0.5), surrogate=0)
    result = S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "r")
    assert result.finished
    lines = [json.loads(x) for x in open(tmp_path / "r" / "evaluations.jsonl")]
    search = [x for x in lines if x.get("stage") != "final"]
    by_init = {init: [x for x in search if x["genome"]["init"] == init] for init in ("zeros", "he_normal")}
    assert by_init["he_normal"] and all(x["status"] == "diverged" for x in by_init["he_normal"])
    assert by_init["zeros"] and all(x["status"] == "degenerate" for x in by_init["zeros"])
    assert all(abs(x["val_loss"][-1] - math.log(3)) < 0.01 for x in by_init["zeros"])  # chance level
    assert [e.genome.init for e in result.hall_of_fame] == ["zeros"] * len(result.hall_of_fame)
    for row in result.logbook:
        assert row["diverged"] > 0 or row["nevals"] == 0
        assert row["degenerate"] > 0 or row["nevals"] == 0
        assert row["max"] is None or row["max"] < 10  # WORST (1e12) never enters the statistics
    # a run where every candidate diverges finishes too, and reports
    cfg = SearchConfig(dataset="iris", population=3, generations=1, repeats=1,
                       space=SearchSpace(inits=("he_normal",), activations=("relu",), scales=(16.0, 16.0),
                                         widths=(64, 64), layers=(2, 2)),
                       train=TrainSettings(epochs=3, learning_rate=1.0))
    result = S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "all")
    assert result.finished and result.hall_of_fame == () and all(row["min"] is None for row in result.logbook)
    summary = evoinit.report(tmp_path / "all")
    assert summary["hall_of_fame"] == () and (tmp_path / "all" / "figures" / "fitness.png").exists()


@pytest.mark.parametrize("dataset", ["iris", "diabetes"])
def test_constant_predictors_are_marked_degenerate_and_learners_are_not(dataset):
    """Zeros with ReLU: no hidden unit ever activates, every row gets the same output (one class,
    or one value) — "degenerate". The same net from He's start learns and is "ok"."""
    settings = TrainSettings(epochs=3)
    dead = evoinit.train("16 relu zeros ×1", dataset, seeds=2, settings=settings)
    live = evoinit.train("16 relu he_normal ×1", dataset, seeds=2, settings=settings)
    assert [e.status for e in dead.evaluations] == ["degenerate"] * 2
    assert [e.status for e in live.evaluations] == ["ok"] * 2
    assert all(math.isfinite(e.final_val_loss) for e in dead.evaluations)  # scored, not excluded
