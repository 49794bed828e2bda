"""Datasets that bring their own test rows — MNIST-1D's official split, an .npz with X_test/y_test,
a second file (DataSpec.test_file, --test-file, the TOML key test_file), from_arrays(X_test=,
y_test=): the test split is exactly those rows, validation comes from the training rows only, the
run folder records their digest (and only then), resume checks it, the scores say which rows they
used, and every bad test file is one clear line."""

import json
import random
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import numpy as np
import pytest
from helpers import ENV

import evoinit as S
from evoinit import data
from evoinit.data import builtin as datasets
from evoinit.data.dataset import _digest
from evoinit.errors import DataError, RunFolderError, UsageError
from evoinit.ga.baselines import verdict


def _raw(ds, X):
    """Scaled rows back to the source's units."""
    return X * ds.x_scale + ds.x_mean


def _own(seed=0, n=60, m=21, d=3):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)), np.arange(n) % 3, rng.normal(size=(m, d)), np.arange(m) % 3


def _csv(path, header, X, y):
    path.write_text(",".join(header) + "\n" + "".join(",".join([*map(repr, map(float, r)), str(t)]) + "\n"
                                                      for r, t in zip(X, y)))
    return path


# -- MNIST-1D ---------------------------------------------------------------------------------------


def test_mnist1d_loads_with_the_official_shapes_and_is_listed_with_its_citation():
    ds = data.load("mnist1d")
    assert (ds.task, ds.n_features, ds.n_classes) == ("classification", 40, 10)
    assert len(ds.X_train) + len(ds.X_val) == 4000 and ds.X_test.shape == (1000, 40)
    assert len(ds.X_val) == 800  # val_size of the 4,000 training rows
    assert ds.class_names == tuple(map(str, range(10)))
    s = json.loads(json.dumps(ds.summary()))
    assert s["sizes"] == {"train": 3200, "val": 800, "test": 1000} and s["test_source"].startswith("the official")
    assert ds.test_rows.startswith("the dataset's own 1,000 test rows")
    listed = dict((name, text) for name, _, text in data.describe())
    assert "Greydanus & Kobak" in listed["mnist1d"] and "arXiv:2011.14439" in listed["mnist1d"]
    assert "4000 training rows and its own 1000 test rows, 40 features, 10 classes" in listed["mnist1d"]


def test_mnist1d_rows_are_deterministic_and_leave_the_global_random_states_alone():
    """The package seeds NumPy's and Python's global generators itself (set_seed(42) in
    make_dataset): the same rows on every call — pinned by their digests, so a release of
    mnist1d, NumPy or SciPy that changed them would show here — and the caller's states return."""
    random.seed(5)
    np.random.seed(7)
    expected = (random.random(), np.random.rand())
    random.seed(5)
    np.random.seed(7)
    a = datasets.mnist1d_arrays.__wrapped__()   # generated afresh, not from the cache
    assert (random.random(), np.random.rand()) == expected
    b = datasets.mnist1d_arrays.__wrapped__()
    for key in ("x", "y", "x_test", "y_test"):
        np.testing.assert_array_equal(a[key], b[key])
    ds = data.load("mnist1d")
    assert (ds.digest, ds.test_digest) == ("3b7a9ae55bc41379", "b1e4b8f04df61e7e")


def test_mnist1d_keeps_the_official_split():
    """Row identity: training and validation rows are the 4,000 official training rows (each once),
    the test rows are the 1,000 official test rows in their order, and no test row is among the
    rows trained or validated on."""
    raw = datasets.mnist1d_arrays()
    ds = data.load("mnist1d", seed=3)
    seen = np.concatenate([ds.train_index, ds.val_index])
    assert sorted(seen.tolist()) == list(range(4000))
    np.testing.assert_array_equal(ds.test_index, np.arange(1000))
    for X, y, idx in ((ds.X_train, ds.y_train, ds.train_index), (ds.X_val, ds.y_val, ds.val_index)):
        np.testing.assert_allclose(_raw(ds, X), raw["x"][idx], rtol=1e-12, atol=1e-12)
        np.testing.assert_array_equal(y, raw["y"][idx])
    np.testing.assert_allclose(_raw(ds, ds.X_test), raw["x_test"], rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(ds.y_test, raw["y_test"])
    trained_on = {row.tobytes() for row in raw["x"]}
    assert not any(row.tobytes() in trained_on for row in raw["x_test"])
    np.testing.assert_allclose(ds.x_mean, raw["x"][ds.train_index].mean(axis=0))  # training statistics
    other = data.load("mnist1d", seed=4)
    assert not np.array_equal(other.val_index, ds.val_index)  # the seed moves validation, never test
    np.testing.assert_allclose(_raw(other, other.X_test), raw["x_test"], rtol=1e-12, atol=1e-12)


def test_mnist1d_refuses_a_test_file_or_test_size():
    with pytest.raises(UsageError, match="has its own test rows"):
        data.DataSpec("mnist1d", test_file="t.csv")
    with pytest.raises(UsageError, match="'mnist1d' has its own test rows; test_size does not apply"):
        data.DataSpec("mnist1d", test_size=0.3)


# -- files and arrays with their own test rows --------------------------------------------------------


def test_an_npz_with_its_own_test_rows_uses_them_as_given(tmp_path):
    X, y, Xt, yt = _own()
    np.savez(tmp_path / "own.npz", X=X, y=y, X_test=Xt, y_test=yt)
    ds = data.load(tmp_path / "own.npz")
    assert sorted(np.concatenate([ds.train_index, ds.val_index]).tolist()) == list(range(60))
    assert len(ds.val_index) == 12 and np.bincount(ds.y_val).tolist() == [4, 4, 4]
    np.testing.assert_allclose(_raw(ds, ds.X_test), Xt, rtol=1e-12, atol=1e-12)  # every row, in order
    np.testing.assert_array_equal(ds.y_test, yt)
    np.testing.assert_allclose(ds.x_mean, X[ds.train_index].mean(axis=0))
    s = ds.summary()
    assert s["test_source"] == f"arrays X_test, y_test of the file {tmp_path / 'own.npz'}"
    assert s["test_digest"] == _digest(Xt, yt.astype(float)) and s["digest"] == _digest(X, y.astype(float))
    assert ds.test_rows.startswith("the dataset's own 21 test rows")


def test_a_csv_with_a_test_file_maps_its_labels_to_the_training_classes(tmp_path):
    X, y, Xt, yt = _own(1)
    names = np.array(["ant", "bee", "cat"])
    _csv(tmp_path / "train.csv", ["a", "b", "c", "kind"], X, names[y])
    _csv(tmp_path / "test.csv", ["a", "b", "c", "kind"], Xt[:8], names[(yt[:8] % 2) + 1])  # bee, cat only
    ds = data.load(tmp_path / "train.csv", test_file=tmp_path / "test.csv")
    assert ds.class_names == ("ant", "bee", "cat")
    np.testing.assert_array_equal(ds.y_test, (yt[:8] % 2) + 1)
    np.testing.assert_allclose(_raw(ds, ds.X_test), Xt[:8], rtol=1e-12, atol=1e-12)
    assert ds.spec.test_file == str(tmp_path / "test.csv") and "test_file=" in ds.key
    assert data.DataSpec.from_json(ds.spec.to_json()) == ds.spec
    assert ds.test_rows == f"the dataset's own 8 test rows (the test file {tmp_path / 'test.csv'})"
    plain = data.load(tmp_path / "train.csv")
    assert len(plain.X_test) == 12 and "test_file" not in plain.spec.to_json()
    assert "test_digest" not in plain.summary() and "test_source" not in plain.summary()


def test_from_arrays_with_test_rows_and_a_spec_without_them_writes_what_it_always_did():
    X, y, Xt, yt = _own(2)
    ds = data.from_arrays(X, y, X_test=Xt, y_test=yt, seed=1)
    np.testing.assert_allclose(_raw(ds, ds.X_test), Xt, rtol=1e-12, atol=1e-12)
    assert len(ds.X_train) + len(ds.X_val) == 60 and ds.spec.test_digest == _digest(Xt, yt.astype(float))
    assert data.from_arrays(X, y, X_test=Xt + 1, y_test=yt).key != ds.key
    assert "test_digest" not in data.from_arrays(X, y).spec.to_json()
    assert list(data.DataSpec("iris").to_json()) == ["name", "target", "seed", "val_size", "test_size",
                                                     "n_samples", "noise", "task"]


# -- one clear line for each bad test file --------------------------------------------------------------


def _files(tmp_path):
    X, y, Xt, yt = _own(3)
    _csv(tmp_path / "train.csv", ["a", "b", "c", "y"], X, y)
    _csv(tmp_path / "unseen.csv", ["a", "b", "c", "y"], Xt, yt + 1)
    _csv(tmp_path / "narrow.csv", ["a", "b", "y"], Xt[:, :2], yt)
    _csv(tmp_path / "renamed.csv", ["a", "c", "b", "y"], Xt, yt)
    (tmp_path / "hole.csv").write_text("a,b,c,y\n1,2,3,0\n1,,3,1\n")
    (tmp_path / "text.csv").write_text("a,b,c,y\n1,2,3,0\n1,x,3,1\n")
    (tmp_path / "ragged.csv").write_text("a,b,c,y\n1,2,3,0\n1,3,1\n")
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "head.csv").write_text("a,b,c,y\n")
    (tmp_path / "notes.txt").write_text("a,b,c,y\n")
    (tmp_path / "folder.csv").mkdir()
    np.savez(tmp_path / "wide.npz", X=np.c_[Xt, Xt], y=yt)
    np.savez(tmp_path / "nested.npz", X=Xt, y=yt, X_test=Xt, y_test=yt)
    np.savez(tmp_path / "nan.npz", X=np.where(np.eye(len(Xt), 3) == 1, np.nan, Xt), y=yt)
    (tmp_path / "cut.npz").write_bytes((tmp_path / "wide.npz").read_bytes()[:100])
    np.savez(tmp_path / "half.npz", X=X, y=y, X_test=Xt)
    np.savez(tmp_path / "own_wide.npz", X=X, y=y, X_test=np.c_[Xt, Xt], y_test=yt)
    np.savez(tmp_path / "own_bad_y.npz", X=X, y=y, X_test=Xt, y_test=yt[:5])
    np.savez(tmp_path / "own.npz", X=X, y=y, X_test=Xt, y_test=yt)
    return tmp_path


# test file (beside train.csv) -> what its one line says
BAD_TEST_FILES = {
    "missing.csv": "no such test file",
    "folder.csv": "is a directory",
    "notes.txt": "unsupported file type '.txt'",
    "empty.csv": "the file is empty",
    "head.csv": "no data rows",
    "hole.csv": "missing value '' in column 'b' at line 3",
    "text.csv": "non-numeric value 'x' in column 'b'",
    "ragged.csv": "line 3 has 3 values but the header has 4 columns",
    "unseen.csv": r"the test rows hold class '3' \(7 rows\), which the training rows do not have; their "
                  "classes: 0, 1, 2",
    "narrow.csv": "the test rows have 2 feature columns but the training rows have 3",
    "renamed.csv": "feature column 2 is 'c' where the training file has 'b'",
    "wide.npz": "the test rows have 6 feature columns but the training rows have 3",
    "nested.npz": "a test file holds its rows as X, y; it has X_test, y_test too",
    "nan.npz": r"NaN value at X\[0, 0\]",
    "cut.npz": "not a NumPy .npz archive",
}
# a dataset file with its own test rows -> what its one line says
BAD_OWN = {
    "half.npz": "has array 'X_test' but no 'y_test'",
    "own_wide.npz": "the test rows have 6 feature columns but the training rows have 3",
    "own_bad_y.npz": r"X_test has 21 rows but y_test has shape \(5,\)",
}


@pytest.fixture(scope="module")
def bad(tmp_path_factory):
    return _files(tmp_path_factory.mktemp("bad"))


@pytest.mark.parametrize("name", sorted(BAD_TEST_FILES))
def test_each_bad_test_file_is_one_data_error_line(bad, name):
    with pytest.raises(DataError, match=BAD_TEST_FILES[name]) as info:
        data.load(bad / "train.csv", test_file=bad / name)
    assert "\n" not in str(info.value) and name in str(info.value)


@pytest.mark.parametrize("name", sorted(BAD_OWN))
def test_each_bad_npz_test_rows_are_one_data_error_line(bad, name):
    with pytest.raises(DataError, match=BAD_OWN[name]) as info:
        data.load(bad / name)
    assert "\n" not in str(info.value)


def test_test_rows_given_twice_or_with_test_size_are_refused(bad):
    with pytest.raises(DataError, match="has its own test rows .* a test file .* cannot be given too"):
        data.load(bad / "own.npz", test_file=bad / "train.csv")
    with pytest.raises(DataError, match="own test rows .*test_size does not apply"):
        data.load(bad / "own.npz", test_size=0.3)
    with pytest.raises(UsageError, match=r"test_size does not apply .* \(test_file\); got 0.3"):
        data.DataSpec(str(bad / "train.csv"), test_file="t.csv", test_size=0.3)
    with pytest.raises(UsageError, match="test_file is the dataset file itself"):
        data.DataSpec(str(bad / "train.csv"), test_file=bad / "train.csv")
    with pytest.raises(UsageError, match="test_file applies to .csv/.npz files, not to the built-in dataset 'iris'"):
        data.DataSpec("iris", test_file="t.csv")
    X, y, Xt, yt = _own()
    with pytest.raises(UsageError, match="give X_test and y_test together"):
        data.from_arrays(X, y, X_test=Xt)
    with pytest.raises(DataError, match=r"class '7' \(1 row\), which the training rows do not have"):
        data.from_arrays(X, y, X_test=Xt[:1], y_test=[7])
    with pytest.raises(DataError, match="the test rows have one target but the training rows have 2 target columns"):
        data.from_arrays(X, np.c_[X[:, 0], X[:, 1]], X_test=Xt, y_test=Xt[:, 0])
    with pytest.raises(DataError, match="the test target holds text labels"):
        data.from_arrays(X, X[:, 0], X_test=Xt, y_test=np.array(["a"] * len(Xt)))


def _cli(*args, cwd):
    return subprocess.run([sys.executable, "-m", "evoinit", *map(str, args)], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300)


def test_evoinit_train_takes_a_test_file_and_says_which_rows_it_scored(bad):
    """The CLI: a bad test file is one line on stderr and exit 2; a good one is scored and named."""
    runs = [["train", "--dataset=train.csv", f"--test-file={name}", "--epochs=1", "--seeds=1", "--hidden=4"]
            for name in ("unseen.csv", "narrow.csv", "missing.csv", "own.npz")]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda a: _cli(*a, cwd=bad), runs))
    for r, name in zip(results[:3], ("unseen.csv", "narrow.csv", "missing.csv")):
        assert r.returncode == 2 and r.stdout == "", (name, r.stderr)
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: ") and name in lines[0], r.stderr
        assert BAD_TEST_FILES[name].split(r" \(")[0] in lines[0]
    r = results[3]   # own.npz as a test file: it holds X_test too
    assert r.returncode == 2 and "it has X_test, y_test too" in r.stderr
    ok = _cli("train", "--dataset=own.npz", "--epochs=2", "--seeds=2", "--hidden=4", cwd=bad)
    assert ok.returncode == 0, ok.stderr
    assert "test error" in ok.stdout and "test scores on the dataset's own 21 test rows" in ok.stdout


# -- a search: the run folder records the test rows, resume checks them, the verdict names them --------


def test_a_search_on_an_npz_with_its_own_test_rows_records_and_checks_their_digest(tmp_path):
    X, y, Xt, yt = _own(4, n=90, m=30)
    path = tmp_path / "own.npz"
    np.savez(path, X=X, y=y, X_test=Xt, y_test=yt)
    run = tmp_path / "run"
    r = _cli("search", f"--dataset={path}", "--population=2", "--generations=1", "--epochs=2", "--repeats=3",
             "--layers=1,1", "--widths=4,8", "--n-jobs=1", f"--out={run}", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    config = json.loads((run / "config.json").read_text())
    assert config["dataset"]["test_digest"] == _digest(Xt, yt.astype(float))
    assert config["dataset"]["test_source"] == f"arrays X_test, y_test of the file {path}"
    assert config["dataset"]["sizes"]["test"] == 30 and "test_file" not in config["search"]["dataset"]
    assert "test scores on the dataset's own 30 test rows" in r.stdout
    line = next(t for t in r.stdout.splitlines() if t.startswith(("The search paid off", "The canonical start")))
    assert "on the dataset's own 30 test rows (arrays X_test, y_test of the file" in line
    finals = [json.loads(t) for t in (run / "evaluations.jsonl").read_text().splitlines()]
    assert all(e["test_loss"] is not None for e in finals if e.get("stage") == "final" and e["status"] != "diverged")

    # stopped after its first generation, the test rows edited: resume refuses; put back: it goes on
    paused = tmp_path / "paused"
    S.search(path, config=S.SearchConfig.from_json(config["search"]), n_jobs=1, out=paused, stop_after=0)
    np.savez(path, X=X, y=y, X_test=Xt + 1, y_test=yt)
    with pytest.raises(RunFolderError, match=r"not the one .* started on \(test_digest differ"):
        S.resume(paused, n_jobs=1)
    np.savez(path, X=X, y=y, X_test=Xt, y_test=yt)
    assert S.resume(paused, n_jobs=1).finished


def test_a_search_config_names_a_test_file_and_default_runs_do_not_mention_one(tmp_path):
    from evoinit.ga.configfile import build, load_toml

    X, y, Xt, yt = _own(5, n=60, m=15)
    _csv(tmp_path / "train.csv", ["a", "b", "c", "y"], X, y)
    _csv(tmp_path / "test.csv", ["a", "b", "c", "y"], Xt, yt)
    toml = tmp_path / "s.toml"
    toml.write_text(f'dataset = "{tmp_path / "train.csv"}"\ntest_file = "{tmp_path / "test.csv"}"\n'
                    "population = 2\ngenerations = 0\nrepeats = 1\nepochs = 1\n")
    config, _ = build(load_toml(toml))
    assert config.dataset.test_file == str(tmp_path / "test.csv")
    result = S.search(config.dataset, config=config, n_jobs=1, out=tmp_path / "run")
    assert result.test_rows == f"the dataset's own 15 test rows (the test file {tmp_path / 'test.csv'})"
    written = json.loads((tmp_path / "run" / "config.json").read_text())
    assert written["search"]["dataset"]["test_file"] == str(tmp_path / "test.csv")
    assert written["dataset"]["test_digest"] and written["dataset"]["sizes"]["test"] == 15
    plain = S.search("iris", population=2, generations=0, repeats=1, epochs=1, n_jobs=1, out=tmp_path / "plain")
    text = "".join((tmp_path / "plain" / f).read_text() for f in ("config.json", "checkpoint.json"))
    assert "test_file" not in text and "test_digest" not in text and "test_source" not in text
    assert plain.test_rows == "30 test rows split off the data (20%)"


def test_the_verdict_names_the_test_rows():
    from test_verdict import entry as made

    entry = made([0.1, 0.12, 0.11], ours=0.1, theirs=0.2)
    entry = [replace(entry[0], baseline=replace(entry[0].baseline, text="8 tanh glorot_uniform ×1"))]
    line = verdict(entry, "the dataset's own 1,000 test rows (x)")
    assert "for 8 tanh glorot_uniform ×1 on the dataset's own 1,000 test rows (x);" in line
    assert " on " not in verdict(entry).split("×1")[1].split(";")[0]
    assert data.test_rows({"sizes": {"test": "x"}, "spec": {}}) is None and data.test_rows(None) is None


# -- val_size 0: train on every training row, where the dataset brings its own test rows ---------------


def test_val_size_zero_trains_on_every_row_and_only_where_the_test_rows_are_the_datasets_own(tmp_path, bad):
    X, y, Xt, yt = _own(5)
    np.savez(tmp_path / "own.npz", X=X, y=y, X_test=Xt, y_test=yt)
    ds = data.load(tmp_path / "own.npz", val_size=0)
    assert ds.train_index.tolist() == list(range(60)) and len(ds.y_val) == 0
    np.testing.assert_allclose(ds.x_mean, X.mean(axis=0))   # scaled on every training row
    outcome = S.train("4 tanh glorot_uniform ×1", ds, seeds=2, settings=S.TrainSettings(epochs=2), test=True)
    for e in outcome.evaluations:   # the curves and the "validation" scores are the test rows'
        assert e.final_val_error == e.test_error and e.final_val_loss == pytest.approx(e.test_loss, rel=1e-6)
    with pytest.raises(UsageError, match="early stopping watches the validation rows"):
        S.train("4 tanh glorot_uniform ×1", ds, settings=S.TrainSettings(epochs=2, patience=1))
    # nothing held out: refused where the test rows would be split off the same rows, and for a search
    with pytest.raises(DataError, match="val_size 0 .* needs test rows of the dataset's own"):
        data.load("iris", val_size=0)
    with pytest.raises(UsageError, match="val_size must be above 0 for a search"):
        S.SearchConfig(dataset=data.DataSpec("mnist1d", val_size=0))
    r = _cli("train", "--dataset=own.npz", "--val-size=0", "--epochs=1", "--seeds=1", "--hidden=4", cwd=tmp_path)
    assert r.returncode == 0 and "every training row is trained on" in r.stdout, r.stderr
    r = _cli("train", "--dataset=train.csv", "--val-size=0", "--epochs=1", "--seeds=1", cwd=bad)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "needs test rows" in r.stderr
