"""Datasets: every built-in loads with the right shape of problem; splits are disjoint, complete,
stratified and seeded; scaling uses training rows only; user CSV/NPZ files round-trip; every bad
input is one clear DataError/UsageError line."""

import json

import numpy as np
import pytest
from sklearn import datasets as skd

from evoinit import data
from evoinit.data.dataset import _load
from evoinit.errors import DataError, UsageError

# name -> (task, n_classes, n_features, n_outputs, n_samples)
EXPECTED = {
    "iris": ("classification", 3, 4, 3, 150),
    "wine": ("classification", 3, 13, 3, 178),
    "breast_cancer": ("classification", 2, 30, 2, 569),
    "digits": ("classification", 10, 64, 10, 1797),
    "diabetes": ("regression", 0, 10, 1, 442),
    "linnerud": ("regression", 0, 3, 3, 20),
    "moons": ("classification", 2, 2, 2, 1000),
    "circles": ("classification", 2, 2, 2, 1000),
    "blobs": ("classification", 3, 2, 3, 1000),
    "classification": ("classification", 3, 20, 3, 1000),
    "regression": ("regression", 0, 10, 1, 1000),
    "friedman1": ("regression", 0, 10, 1, 1000),
    "spirals": ("classification", 2, 2, 2, 1000),
}
BUNDLED = {"iris": skd.load_iris, "wine": skd.load_wine, "breast_cancer": skd.load_breast_cancer,
           "digits": skd.load_digits, "diabetes": lambda: skd.load_diabetes(scaled=False),
           "linnerud": skd.load_linnerud}
PARTS = ("train", "val", "test")


def _parts(ds):
    return [(getattr(ds, f"X_{p}"), getattr(ds, f"y_{p}"), getattr(ds, f"{p}_index")) for p in PARTS]


def _raw_rows(ds, X):
    """Scaled rows back to the source's units."""
    return X * ds.x_scale + ds.x_mean


def test_names_and_describe_list_every_builtin():
    assert sorted(data.names()) == sorted([*EXPECTED, "mnist1d"])  # mnist1d: tests/test_test_rows.py
    rows = data.describe()
    assert [r[0] for r in rows] == data.names()
    assert all(r[1] == EXPECTED.get(r[0], ("classification",))[0] for r in rows)
    described = {name: text for name, _, text in rows}
    assert described["digits"] == "8×8 handwritten digits, 1797 samples, 64 features, 10 classes"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_builtin_loads_with_disjoint_complete_splits(name):
    task, n_classes, n_features, n_outputs, n = EXPECTED[name]
    ds = data.load(name)
    assert (ds.task, ds.n_classes, ds.n_features, ds.n_outputs) == (task, n_classes, n_features, n_outputs)
    assert len(ds.feature_names) == n_features and len(ds.class_names) == n_classes
    index = np.concatenate([ds.train_index, ds.val_index, ds.test_index])
    assert np.array_equal(np.sort(index), np.arange(n))  # disjoint and covering every row
    sizes = [len(ds.train_index), len(ds.val_index), len(ds.test_index)]
    assert abs(sizes[0] - 0.6 * n) <= 2 and abs(sizes[1] - 0.2 * n) <= 2 and abs(sizes[2] - 0.2 * n) <= 2
    for X, y, idx in _parts(ds):
        assert X.dtype == np.float64 and X.shape == (len(idx), n_features)
        if task == "classification":
            assert y.dtype == np.int64 and y.shape == (len(idx),)
            assert y.min() >= 0 and y.max() < n_classes
        else:
            assert y.dtype == np.float64 and y.shape == ((len(idx),) if n_outputs == 1 else (len(idx), n_outputs))
    assert json.loads(json.dumps(ds.summary()))["sizes"] == dict(zip(PARTS, sizes))


@pytest.mark.parametrize("name", sorted(BUNDLED))
def test_bundled_rows_are_the_source_rows(name):
    """Row identity: each split's rows, unscaled, are the source rows its index names."""
    bunch = BUNDLED[name]()
    ds = data.load(name)
    for X, y, idx in _parts(ds):
        np.testing.assert_allclose(_raw_rows(ds, X), bunch.data[idx], rtol=1e-12, atol=1e-9)
        if ds.task == "classification":
            assert [ds.class_names[k] for k in y] == [str(bunch.target_names[t]) for t in bunch.target[idx]]
        else:
            np.testing.assert_allclose(y * ds.y_scale.reshape(y.shape[1:]) + ds.y_mean.reshape(y.shape[1:]),
                                       bunch.target[idx], rtol=1e-12, atol=1e-9)


def test_generator_uses_documented_defaults_and_seed():
    ds = data.load("moons", seed=3)
    X, y = skd.make_moons(n_samples=1000, noise=0.2, random_state=3)
    assert ds.source == "generator make_moons(n_samples=1000, noise=0.2, random_state=3)"
    for Xs, ys, idx in _parts(ds):
        np.testing.assert_allclose(_raw_rows(ds, Xs), X[idx], atol=1e-12)
        assert np.array_equal(ys, y[idx])
    small = data.load("moons", n_samples=100, noise=0.0)
    assert len(small.train_index) + len(small.val_index) + len(small.test_index) == 100


def test_spirals_lie_on_their_arms_without_noise():
    ds = data.load("spirals", n_samples=400, noise=0.0)
    for X, y, _ in _parts(ds):
        P = _raw_rows(ds, X)
        t = np.hypot(P[:, 0], P[:, 1])
        angle = 3 * np.pi * t + np.pi * y
        np.testing.assert_allclose(P, t[:, None] * np.column_stack([np.cos(angle), np.sin(angle)]), atol=1e-9)
    assert np.bincount(np.concatenate([ds.y_train, ds.y_val, ds.y_test])).tolist() == [200, 200]
    noisy = data.load("spirals", n_samples=400, seed=1)
    assert not np.allclose(_raw_rows(noisy, noisy.X_train), _raw_rows(ds, ds.X_train)[: len(noisy.X_train)])


@pytest.mark.parametrize("name", ["digits", "iris"])
def test_splits_are_stratified(name):
    ds = data.load(name)
    counts = {p: np.bincount(getattr(ds, f"y_{p}"), minlength=ds.n_classes) for p in PARTS}
    total = sum(counts.values())
    n = total.sum()
    for p, c in counts.items():
        expected = total * c.sum() / n
        assert np.all(np.abs(c - expected) <= 1), (p, c, expected)
    assert ds.summary()["class_counts"] == {p: c.tolist() for p, c in counts.items()}


def test_scaling_uses_training_rows_only():
    ds = data.load("digits")
    raw = skd.load_digits().data
    np.testing.assert_allclose(ds.x_mean, raw[ds.train_index].mean(axis=0), atol=1e-12)
    constant = np.ptp(raw[ds.train_index], axis=0) == 0
    assert constant.any() and not constant.all()  # digits has blank border pixels
    assert np.all(ds.x_scale[constant] == 1.0) and np.all(ds.X_train[:, constant] == 0.0)
    np.testing.assert_allclose(ds.x_scale[~constant], raw[ds.train_index][:, ~constant].std(axis=0))
    np.testing.assert_allclose(ds.X_train[:, ~constant].mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.X_train[:, ~constant].std(axis=0), 1, atol=1e-12)
    for X in (ds.X_val, ds.X_test):  # not refitted on their own rows
        assert np.abs(X[:, ~constant].mean(axis=0)).max() > 0.01
        assert np.abs(X[:, ~constant].std(axis=0) - 1).max() > 0.01


def test_regression_targets_standardised_with_training_statistics():
    ds = data.load("linnerud")
    raw = skd.load_linnerud().target
    assert ds.y_train.shape == (12, 3) and ds.y_mean.shape == (3,) and ds.y_scale.shape == (3,)
    np.testing.assert_allclose(ds.y_mean, raw[ds.train_index].mean(axis=0))
    np.testing.assert_allclose(ds.y_scale, raw[ds.train_index].std(axis=0))
    np.testing.assert_allclose(ds.y_train.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(ds.y_train.std(axis=0), 1, atol=1e-12)
    one = data.load("diabetes")
    assert one.y_train.ndim == 1 and one.y_mean.shape == (1,)
    assert abs(one.y_train.mean()) < 1e-12 and abs(one.y_val.mean()) > 1e-3
    cls = data.load("iris")
    assert cls.y_mean is None and cls.y_scale is None


def test_same_seed_same_split_other_seed_other_split():
    spec = data.DataSpec("iris", seed=7)
    a = data.load(spec)
    assert data.load("IRIS", seed=7) is a  # cached on the canonical spec
    fresh = _load.__wrapped__(spec, None)  # rebuilt from scratch, as a worker would
    for (Xa, ya, ia), (Xb, yb, ib) in zip(_parts(a), _parts(fresh)):
        assert np.array_equal(Xa, Xb) and np.array_equal(ya, yb) and np.array_equal(ia, ib)
    b = data.load("iris", seed=8)
    assert not np.array_equal(a.test_index, b.test_index)
    assert set(b.test_index) != set(a.test_index)


def test_arrays_are_read_only():
    for ds in (data.load("iris"), data.load("linnerud")):
        for field in ("X_train", "y_train", "X_val", "y_val", "X_test", "y_test", "x_mean", "x_scale",
                      "train_index", "val_index", "test_index") + (("y_mean",) if ds.y_mean is not None else ()):
            arr = getattr(ds, field)
            with pytest.raises(ValueError):
                arr[0] = 0


def test_spec_is_canonical_and_round_trips(tmp_path, monkeypatch):
    spec = data.DataSpec("Moons", seed=2)
    assert spec == data.DataSpec("moons", seed=2, n_samples=1000, noise=0.2)
    assert data.DataSpec.from_json(json.loads(json.dumps(spec.to_json()))) == spec
    assert spec.key == "moons?seed=2&val_size=0.2&test_size=0.2&n_samples=1000&noise=0.2"
    assert data.load(spec).key == spec.key
    monkeypatch.chdir(tmp_path)
    assert data.DataSpec("d.csv").name == str(tmp_path / "d.csv")
    with pytest.raises(UsageError, match="known keys"):
        data.DataSpec.from_json({"name": "iris", "colour": "red"})


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "iris", "val_size": 0.5, "test_size": 0.5}, "val_size \\+ test_size must be below 1"),
    ({"name": "iris", "test_size": 0}, "test_size must be a fraction"),
    ({"name": "iris", "n_samples": 10}, "apply to generators"),
    ({"name": "iris", "target": "y"}, "target applies to .csv"),
    ({"name": "moons", "seed": -1}, "seed must be"),
    ({"name": "moons", "noise": -0.1}, "noise must be"),
    ({"name": "iris", "task": "regression"}, "is a classification dataset"),
])
def test_bad_spec_is_a_usage_error(kwargs, message):
    with pytest.raises(UsageError, match=message):
        data.DataSpec(**kwargs)


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UsageError, match=r"unknown dataset 'digts' \(did you mean 'digits'\?\)"):
        data.load("digts")
    with pytest.raises(UsageError, match="unknown dataset option"):
        data.load("iris", colour="red")


# -- user files ------------------------------------------------------------------------------------


def _write_csv(path, header, rows):
    path.write_text("\n".join([",".join(header)] + [",".join(map(str, r)) for r in rows]) + "\n")
    return path


def _num(v):
    return repr(float(v))  # shortest text that reads back to the same float


def _known(n=60, d=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * [1, 10, 100][:d] + [0, 5, -50][:d]
    labels = np.array(["emu", "cat", "dog"])[np.arange(n) % 3]
    return X, labels


def test_csv_round_trip_with_text_labels_and_named_target(tmp_path):
    X, labels = _known()
    path = _write_csv(tmp_path / "animals.csv", ["a", "label", "b", "c"],
                      [[_num(x[0]), lab, _num(x[1]), _num(x[2])] for x, lab in zip(X, labels)])
    ds = data.load(str(path), target="label")
    assert (ds.task, ds.name, ds.n_features) == ("classification", "animals.csv", 3)
    assert ds.feature_names == ("a", "b", "c") and ds.class_names == ("cat", "dog", "emu")
    assert ds.source == f"file {path} (target 'label')"
    for Xs, ys, idx in _parts(ds):
        np.testing.assert_allclose(_raw_rows(ds, Xs), X[idx], rtol=1e-12, atol=1e-12)
        assert [ds.class_names[k] for k in ys] == labels[idx].tolist()


def test_csv_default_target_is_target_column_else_last(tmp_path):
    X, _ = _known()
    y = np.arange(len(X)) % 2
    named = _write_csv(tmp_path / "named.csv", ["target", "a", "b", "c"],
                       [[t, *map(_num, x)] for x, t in zip(X, y)])
    ds = data.load(named)
    assert ds.feature_names == ("a", "b", "c") and ds.class_names == ("0", "1")
    assert np.array_equal(np.concatenate([ds.y_train, ds.y_val, ds.y_test]),
                          y[np.concatenate([ds.train_index, ds.val_index, ds.test_index])])
    value = X @ [1.0, 0.5, 0.01] + 0.123  # non-integer: regression
    last = _write_csv(tmp_path / "last.csv", ["a", "b", "c", "price"],
                      [[*map(_num, x), _num(v)] for x, v in zip(X, value)])
    reg = data.load(last)
    assert reg.task == "regression" and reg.feature_names == ("a", "b", "c") and reg.n_outputs == 1
    np.testing.assert_allclose(reg.y_test * reg.y_scale + reg.y_mean, value[reg.test_index])


def test_task_rule_for_numeric_targets(tmp_path):
    X, _ = _known(n=125)
    many = np.arange(125) % 25  # integers, but 25 distinct values: regression
    ds = data.load(_write_csv(tmp_path / "many.csv", ["a", "b", "c", "y"],
                              [[*map(_num, x), v] for x, v in zip(X, many)]))
    assert ds.task == "regression"
    assert data.load(ds.spec, task="classification").n_classes == 25
    half = np.arange(30) % 15  # 15 distinct integers in 30 rows: not fewer than half the rows
    path = _write_csv(tmp_path / "half.csv", ["a", "y"], [[i, v] for i, v in enumerate(half)])
    assert data.load(path).task == "regression"
    X, labels = _known()
    text = _write_csv(tmp_path / "text.csv", ["a", "y"], [[_num(x[0]), lab] for x, lab in zip(X, labels)])
    with pytest.raises(DataError, match="holds text labels"):
        data.load(text, task="regression")


def test_generator_parameter_errors_are_usage_errors():
    with pytest.raises(UsageError, match="flip_y"):
        data.load("classification", noise=2.0)
    with pytest.raises(DataError, match="class '0' has 1 row;"):
        data.load("moons", n_samples=3)


def test_npz_round_trip(tmp_path):
    X, labels = _known()
    path = tmp_path / "set.npz"
    np.savez(path, X=X, y=labels, feature_names=np.array(["p", "q", "r"]))
    ds = data.load(path)
    assert ds.task == "classification" and ds.feature_names == ("p", "q", "r")
    for Xs, ys, idx in _parts(ds):
        np.testing.assert_allclose(_raw_rows(ds, Xs), X[idx], rtol=1e-12, atol=1e-12)
        assert [ds.class_names[k] for k in ys] == labels[idx].tolist()
    Y = np.column_stack([X[:, 0] * 2.5, X[:, 1] - X[:, 2]])
    np.savez(tmp_path / "multi.npz", X=X, y=Y)
    reg = data.load(tmp_path / "multi.npz")
    assert reg.task == "regression" and reg.n_outputs == 2 and reg.feature_names == ("x0", "x1", "x2")
    np.testing.assert_allclose(reg.y_val * reg.y_scale + reg.y_mean, Y[reg.val_index])


def test_edited_file_is_reloaded(tmp_path):
    X, labels = _known()
    path = _write_csv(tmp_path / "f.csv", ["a", "b", "c", "y"], [[*map(_num, x), lab] for x, lab in zip(X, labels)])
    assert data.load(path).n_classes == 3
    _write_csv(path, ["a", "b", "c", "y"], [[*map(_num, x), lab[0] == "c"] for x, lab in zip(X, labels)])
    assert data.load(path).class_names == ("False", "True")


GOOD = [["1.0", "2", "a"], ["3", "4", "b"]] * 10


@pytest.mark.parametrize("header, rows, kwargs, message", [
    (["x", "y", "label"], GOOD, {"target": "class"}, r"no target column 'class'; columns: x, y, label"),
    (["x", "y", "label"], GOOD[:3] + [["1", "abc", "a"]] + GOOD, {},
     r"non-numeric value 'abc' in column 'y' at line 5 \(data row 4\)"),
    (["x", "y", "label"], GOOD[:2] + [["", "1", "b"]] + GOOD, {}, r"missing value '' in column 'x' at line 4"),
    (["x", "y", "label"], GOOD[:6] + [["1", "NaN", "b"]] + GOOD, {}, r"missing value 'NaN' in column 'y' at line 8"),
    (["x", "y", "label"], GOOD + [["1", "inf", "b"]], {}, r"infinite value 'inf' in column 'y' at line 22"),
    (["x", "y", "label"], [["1", "2", "a"]] * 20, {}, r"single class \('a'\)"),
    (["x", "y", "label"], GOOD[:8], {}, r"class 'a' has 4 rows; a stratified 60/20/20 .* needs at least 5 rows per class"),
    (["x", "y", "label"], GOOD[:2] + [["1", "2"]] + GOOD, {}, r"line 4 has 2 values but the header has 3 columns"),
    (["x", "y", "label"], [], {}, r"no data rows, only a header"),
    (["x", "x", "label"], GOOD, {}, r"column name 'x' appears twice"),
    (["x;y;label"], [["1;2;a"]] * 20, {}, r"is the file comma-separated"),
])
def test_bad_csv_is_one_clear_data_error(tmp_path, header, rows, kwargs, message):
    path = _write_csv(tmp_path / "bad.csv", header, rows)
    with pytest.raises(DataError, match=message) as info:
        data.load(path, **kwargs)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_too_few_rows_for_regression_and_custom_fractions(tmp_path):
    rows = [[str(i), str(i * 0.37 + 0.01)] for i in range(4)]
    with pytest.raises(DataError, match="4 rows are too few; a 60/20/20 .* needs at least 5"):
        data.load(_write_csv(tmp_path / "r.csv", ["x", "y"], rows))
    with pytest.raises(DataError, match="class 'a' has 8 rows; a stratified 70/10/20 .* needs at least 10 rows per class"):
        data.load(_write_csv(tmp_path / "c.csv", ["x", "y", "label"], GOOD[:16]), val_size=0.1)


def test_bad_files_and_paths(tmp_path):
    with pytest.raises(DataError, match=r"no such file: .*missing\.csv"):
        data.load(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(DataError, match="empty.csv: the file is empty"):
        data.load(tmp_path / "empty.csv")
    (tmp_path / "notes.txt").write_text("a,b\n1,2\n")
    with pytest.raises(DataError, match=r"unsupported file type '\.txt'"):
        data.load(tmp_path / "notes.txt")
    (tmp_path / "latin.csv").write_bytes("x,y\n1,caf\xe9\n".encode("latin-1"))
    with pytest.raises(DataError, match="not UTF-8"):
        data.load(tmp_path / "latin.csv")


@pytest.mark.parametrize("arrays, message", [
    ({"X": np.zeros((20, 2))}, r"needs arrays 'X' and 'y'; found: X"),
    ({"X": np.zeros((20, 2)), "y": np.arange(19) % 2}, r"X has 20 rows but y has shape \(19,\)"),
    ({"X": np.array([["a", "b"]] * 20), "y": np.arange(20) % 2}, r"X has dtype <U1; features must be numeric"),
    ({"X": np.where(np.eye(20, 2) == 1, np.nan, 0.0), "y": np.arange(20) % 2},
     r"NaN value at X\[0, 0\] \(column 'x0'\)"),
    ({"X": np.zeros((20, 2)), "y": np.array([{"a": 1}] * 20, dtype=object)}, r"cannot read array 'y'"),
    ({"X": np.zeros(20), "y": np.arange(20) % 2}, r"X must be 2-D"),
])
def test_bad_npz_is_one_clear_data_error(tmp_path, arrays, message):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    with pytest.raises(DataError, match=message) as info:
        data.load(path)
    assert "\n" not in str(info.value)


def test_npz_that_is_not_an_archive(tmp_path):
    (tmp_path / "junk.npz").write_text("hello")
    with pytest.raises(DataError, match="not a NumPy .npz archive"):
        data.load(tmp_path / "junk.npz")
    np.save(tmp_path / "one.npy", np.zeros(3))
    (tmp_path / "one.npy").rename(tmp_path / "one.npz")
    with pytest.raises(DataError, match="single .npy array"):
        data.load(tmp_path / "one.npz")


# -- in-memory arrays (data.from_arrays) -----------------------------------------------------------


def test_from_arrays_encodes_any_labels_and_splits_like_a_file():
    X, y = skd.load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    ds = data.from_arrays(X, labels, seed=3)
    assert ds.task == "classification" and ds.class_names == ("setosa", "versicolor", "virginica")
    assert (ds.n_features, ds.n_classes, ds.n_outputs) == (4, 3, 3)
    rows = np.concatenate([ds.train_index, ds.val_index, ds.test_index])
    assert sorted(rows.tolist()) == list(range(150))
    np.testing.assert_array_equal(ds.y_val, y[ds.val_index])  # label order: sorted, so codes match
    assert np.bincount(ds.y_test).tolist() == [10, 10, 10]
    np.testing.assert_allclose(ds.X_train.mean(axis=0), 0, atol=1e-12)  # scaled on training rows
    np.testing.assert_allclose(ds.X_val, (X[ds.val_index] - ds.x_mean) / ds.x_scale)
    same = data.load("iris", seed=3)
    np.testing.assert_array_equal(same.train_index, ds.train_index)  # the split rule of every dataset


def test_from_arrays_without_scaling_or_parts_keeps_the_rows_as_given():
    X, y = skd.load_diabetes(return_X_y=True)
    ds = data.from_arrays(X, y, val_size=0, test_size=0, scale_features=False)
    assert ds.task == "regression" and len(ds.X_val) == len(ds.X_test) == 0 and ds.X_val.shape == (0, 10)
    np.testing.assert_array_equal(ds.X_train, X[ds.train_index])
    np.testing.assert_array_equal(ds.x_mean, 0)
    np.testing.assert_array_equal(ds.x_scale, 1)
    np.testing.assert_allclose(ds.y_train * ds.y_scale + ds.y_mean, y[ds.train_index])
    assert abs(ds.y_train.mean()) < 1e-12  # targets standardised all the same


def test_from_arrays_key_follows_the_content_and_the_spec_cannot_reload():
    X = np.arange(40.0).reshape(20, 2)
    y = np.arange(20) % 2
    a, b = data.from_arrays(X, y), data.from_arrays(X.copy(), y.copy())
    assert a.key == b.key and a.key.startswith("arrays?")
    assert data.from_arrays(X + 1, y).key != a.key
    assert data.from_arrays(X, y, task="regression").task == "regression"
    json.dumps(a.summary())
    with pytest.raises(DataError, match="in-memory dataset 'arrays'.*pass the Dataset itself"):
        data.load(a.spec)


@pytest.mark.parametrize("X, y, kwargs, error, message", [
    (np.zeros(20), np.arange(20) % 2, {}, DataError, r"X must be 2-D"),
    (np.zeros((20, 2)), np.arange(19) % 2, {}, DataError, r"X has 20 rows but y has shape \(19,\)"),
    (np.array([["a", "b"]] * 20), np.arange(20) % 2, {}, DataError, "features must be numeric"),
    (np.where(np.eye(20, 2) == 1, np.inf, 0.0), np.arange(20) % 2, {}, DataError, r"infinite value at X\[0, 0\]"),
    (np.zeros((20, 2)), np.r_[np.nan, np.arange(19.0)], {}, DataError, r"non-finite value at y\[0\]"),
    (np.zeros((20, 2)), np.zeros(20), {"task": "classification"}, DataError, "single class"),
    (np.zeros((20, 2)), np.arange(20) % 2, {"val_size": 0.5, "test_size": 0.5}, UsageError, "below 1"),
    (np.zeros((20, 2)), np.arange(20) % 2, {"val_size": 1.2}, UsageError, r"val_size must be a fraction in \[0, 1\)"),
    (np.zeros((8, 2)), np.arange(8) % 2, {}, DataError, "class '0' has 4 rows; a stratified"),
    (np.zeros((20, 2)), np.arange(20) % 2, {"feature_names": ["a"]}, UsageError, "must name the 2 columns"),
])
def test_from_arrays_bad_input_is_one_clear_line(X, y, kwargs, error, message):
    with pytest.raises(error, match=message) as info:
        data.from_arrays(X, y, **kwargs)
    assert "\n" not in str(info.value)
