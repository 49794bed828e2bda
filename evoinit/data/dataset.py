"""Datasets: scikit-learn's bundled sets, generators and user CSV/NPZ files, split and scaled.

A ``DataSpec`` is a handful of plain JSON values naming a dataset; ``load(spec)`` turns it into a
frozen ``Dataset`` the same way in every process, so a worker on another machine rebuilds exactly
the data the search scores on. Every dataset is split train/validation/test (60/20/20 by default,
stratified for classification, ``random_state=spec.seed``) and standard-scaled with statistics of
the training part only: the validation and test rows must not leak into them.

A dataset may bring its own test rows: MNIST-1D (its official 1,000), an .npz with ``X_test``/
``y_test`` beside ``X``/``y``, a second file (``DataSpec.test_file``, ``--test-file``) or
``from_arrays(..., X_test=, y_test=)``. The test split is then exactly those rows, in their order;
validation rows come out of the training rows (``val_size`` of them, stratified and seeded as
always) and ``test_size`` does not apply. The test rows must have the training rows' columns, and
for classification only classes the training rows have; they are scaled with the training
statistics, and their digest is recorded beside the dataset's (``Dataset.summary``).

Arrays: ``X_*`` float64 ``(n, n_features)``; ``y_*`` int64 class indices 0..K-1 ``(n,)`` for
classification, float64 ``(n,)`` (one target) or ``(n, k)`` (several) for regression, where the
targets are standardised with training statistics too. Every array is read-only.

User files (any name with a path separator or a suffix is a path; built-in names win otherwise):

- CSV: UTF-8, comma-separated, a header row, one row per sample. The target is the column named
  by ``target``, else a column named exactly "target", else the last column. Every other column is a
  feature and must be numeric; the target may hold text labels. Empty cells and NA, N/A, NaN,
  null, none, ? are missing values and rejected: nothing is imputed behind the user's back.
- NPZ: arrays ``X`` (n, d) and ``y`` (n,) or (n, k), optionally ``feature_names`` (d,) and the
  file's own test rows ``X_test`` (m, d), ``y_test``, read with ``allow_pickle=False`` so opening a
  file can never run code.
- In-memory arrays (``from_arrays``, e.g. what a scikit-learn estimator is given): the same rules,
  identified by a digest of their content (``ArraySpec``) and not reloadable from it.
- Task: classification if the target holds text, or is integer-valued with at most 20 distinct
  values and fewer distinct values than half the rows; otherwise regression. ``DataSpec.task``
  overrides the guess. Class indices follow the sorted labels (numeric order for numbers).
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
from dataclasses import dataclass, fields, replace

import numpy as np
from sklearn.model_selection import train_test_split

from evoinit import checks
from evoinit.data.builtin import (
    BUILTINS,
    C,
    R,
)
from evoinit.data.files import check_arrays as _check_arrays
from evoinit.data.files import columns as _columns
from evoinit.data.files import read as _read
from evoinit.data.files import read_test_file as _read_test_file
from evoinit.data.spec import _TEST_SIZE, Dataset, DataSpec, _require
from evoinit.data.standardize import check_scaled, scaled, standard
from evoinit.errors import DataError, UsageError, one_line

MAX_CLASSES = 20  # an integer-valued numeric target with more distinct values is regression


# -- the spec: plain values that identify a dataset ------------------------------------------------


# -- the dataset ----------------------------------------------------------------------------------


def load(spec_or_name: DataSpec | str | os.PathLike, **kwargs) -> Dataset:
    """The dataset for a ``DataSpec``, or for a name/path plus ``DataSpec`` fields as keywords.

    Cached per process (workers call this for every task); the arrays are read-only, so sharing is
    safe. A file's modification time and size are part of the cache key, so an edited file reloads.
    """
    known = {f.name for f in fields(DataSpec)} - {"name"}
    if set(kwargs) - known:
        raise UsageError(f"unknown dataset option(s) {', '.join(sorted(set(kwargs) - known))}; "
                         f"known: {', '.join(sorted(known))}")
    checks.instance("dataset", spec_or_name, (str, os.PathLike, DataSpec),
                    "a dataset name, a .csv/.npz path, a DataSpec or a loaded Dataset")
    if isinstance(spec_or_name, ArraySpec):
        raise DataError(f"the in-memory dataset '{spec_or_name.name}' (from data.from_arrays) cannot "
                        "be reloaded from its spec; pass the Dataset itself")
    if isinstance(spec_or_name, DataSpec):
        spec = replace(spec_or_name, **kwargs)
    else:
        spec = DataSpec(os.fspath(spec_or_name), **kwargs)
    stamps = None if spec.name in BUILTINS else tuple(_stamp(p) for p in (spec.name, spec.test_file) if p)
    return _load(spec, stamps)


def curves_on_test(ds: Dataset) -> Dataset:
    """``ds`` with its test rows also in the validation slot: for a training that chooses nothing
    on validation rows (no early stopping, no search) on a dataset loaded with ``val_size`` 0, so
    every training row is trained on and the learning curves are drawn on the test rows."""
    return replace(ds, X_val=ds.X_test, y_val=ds.y_test, val_index=ds.test_index)


def _stamp(path: str):
    try:
        st = os.stat(path)
    except OSError:
        return None  # _load says what is wrong with the path
    return st.st_mtime_ns, st.st_size


@functools.lru_cache(maxsize=32)
def _load(spec: DataSpec, stamp) -> Dataset:
    if spec.name in BUILTINS:
        b = BUILTINS[spec.name]
        try:
            X, y, feature_names, class_names, source = b.make(spec.n_samples, spec.noise, spec.seed)
            test = None if b.test is None else (*b.test(), spec.name)
        except ValueError as e:
            raise UsageError(f"{spec.name}: {one_line(e)}") from None
        return _build(spec, spec.name, source, b.task, X, y, feature_names, class_names, test=test)
    path = spec.name
    X, y, feature_names, source, test = _read(path, spec.target)
    if test is not None:
        _require(spec.test_file is None, f"{path} has its own test rows (X_test, y_test); a test "
                 f"file ({spec.test_file}) cannot be given too", DataError)
        _require(spec.test_size == _TEST_SIZE, f"{path} has its own test rows (X_test, y_test); "
                 f"test_size does not apply (got {spec.test_size})", DataError)
        test = (*test, f"arrays X_test, y_test of the file {path}", path)
    elif spec.test_file is not None:
        test = _read_test_file(spec.test_file, spec.target, feature_names)
    return _build(spec, path, source, _task(y, spec.task, path), X, y, feature_names, None, test=test)


def split(y: np.ndarray, *, seed: int = 0, val_size: float = 0.2, test_size: float = 0.2,
          stratify: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row indices (train, val, test) of ``len(y)`` rows: disjoint, covering every row, a pure
    function of the arguments. ``train_test_split`` twice, stratified on ``y`` when ``stratify``.
    A size of 0 (allowed for in-memory arrays, see ``from_arrays``) gives that part no rows."""
    rows = np.arange(len(y))
    rest, test = rows, rows[:0]
    if test_size:
        rest, test = train_test_split(rows, test_size=test_size, random_state=seed,
                                      stratify=y if stratify else None)
    train, val = rest, rest[:0]
    if val_size:
        train, val = train_test_split(rest, test_size=val_size / (1 - test_size), random_state=seed,
                                      stratify=y[rest] if stratify else None)
    return train, val, test


def _build(spec, origin, source, task, X, y, feature_names, class_names, *,
           scale_features: bool = True, test: tuple | None = None) -> Dataset:
    """Encode classes, check the split is possible, split, scale on the training rows, freeze.

    ``scale_features=False`` keeps the features as given (mean 0, scale 1 recorded); regression
    targets are standardised either way. ``test``: the dataset's own test rows, ``(X_test,
    y_test, source, origin)`` (``origin`` starts their error messages): they are the test split,
    and ``X``, ``y`` give the training and validation rows only."""
    if spec.val_size == 0 and test is None and not isinstance(spec, ArraySpec):
        raise DataError(f"{origin}: val_size 0 (train on every row) needs test rows of the dataset's own "
                        "(mnist1d, --test-file, an .npz with X_test/y_test): without them nothing is held out")
    X = np.asarray(X, dtype=np.float64)
    digest = _digest(X, np.asarray(y))  # the content as loaded: labels before they are encoded
    test_size = spec.test_size if test is None else 0.0
    fractions = (1 - spec.val_size - test_size, spec.val_size) + ((test_size,) if test is None else ())
    # rows per class (or in all) for one in each non-empty part
    need = math.ceil(1 / min(f for f in fractions if f > 0) - 1e-9)
    plan = "/".join(f"{round(100 * f)}" for f in fractions) + (
        " train/validation/test split" if test is None else " train/validation split of the training rows")
    y, labels = _encode_target(task, y, class_names, origin, need, plan)
    try:
        parts = split(y, seed=spec.seed, val_size=spec.val_size, test_size=test_size,
                      stratify=task == C)
    except ValueError as e:
        raise DataError(f"{origin}: cannot make a {plan}: {one_line(e)}") from None
    X_test = y_test = test_source = test_digest = None
    if test is not None:   # the test split is these rows, as given
        X_test, y_test, test_source, test_origin = test
        X_test = np.asarray(X_test, dtype=np.float64)
        test_digest = _digest(X_test, np.asarray(y_test))
        if X_test.shape[1] != X.shape[1]:
            raise DataError(f"{test_origin}: the test rows have {X_test.shape[1]} feature columns but the "
                            f"training rows have {X.shape[1]}")
        y_test = _encode_test_target(task, y_test, y, labels, class_names, test_origin)
        parts = (parts[0], parts[1], np.arange(len(y_test)))
    if scale_features:
        x_mean, x_scale, x_pre = standard(X[parts[0]])
    else:
        x_mean, x_scale, x_pre = np.zeros(X.shape[1]), np.ones(X.shape[1]), np.ones(X.shape[1])  # x/1 is x
    y_mean = y_scale = None
    if task == R:
        y_mean, y_scale, y_pre = (np.atleast_1d(a) for a in standard(y[parts[0]]))
        shape = y.shape[1:]
        targets = ("the target",) if y.ndim == 1 else tuple(f"target column {k}" for k in range(y.shape[1]))
        y = scaled(y, y_mean.reshape(shape), y_scale.reshape(shape), y_pre.reshape(shape))
        check_scaled(y, origin, targets)
        if test is not None:
            y_test = scaled(y_test, y_mean.reshape(shape), y_scale.reshape(shape), y_pre.reshape(shape))
            check_scaled(y_test, test[3], targets)
    arrays = {}
    for part, rows in zip(("train", "val", "test"), parts):
        Xp, yp, where = (X, y, origin) if part != "test" or test is None else (X_test, y_test, test[3])
        arrays[f"X_{part}"] = _read_only(scaled(Xp[rows], x_mean, x_scale, x_pre))
        check_scaled(arrays[f"X_{part}"], where, tuple(f"column '{f}'" for f in feature_names))
        arrays[f"y_{part}"] = _read_only(yp[rows], np.int64 if task == C else np.float64)
        arrays[f"{part}_index"] = _read_only(rows, np.int64)
    n_outputs = len(labels) if task == C else 1 if y.ndim == 1 else y.shape[1]
    return Dataset(name=os.path.basename(origin), source=source, task=task, **arrays, n_features=X.shape[1],
                   n_classes=len(labels), n_outputs=n_outputs, feature_names=tuple(feature_names),
                   class_names=labels, x_mean=_read_only(x_mean), x_scale=_read_only(x_scale),
                   y_mean=y_mean if y_mean is None else _read_only(y_mean),
                   y_scale=y_scale if y_scale is None else _read_only(y_scale), split_seed=spec.seed, spec=spec,
                   digest=digest, test_source=test_source, test_digest=test_digest)


def _encode_test_target(task, y_test, y, labels, class_names, origin) -> np.ndarray:
    """The test rows' target in the training rows' terms: class indices by label (a class the
    training rows lack is refused), or float64 targets of the same shape."""
    y_test = np.asarray(y_test)
    if task == R:
        if y_test.dtype.kind == "U":
            raise DataError(f"{origin}: the test target holds text labels (e.g. {str(y_test[0])!r}); the "
                            "training target is numeric (regression)")
        if y_test.shape[1:] != y.shape[1:]:
            width = lambda a: f"{a.shape[1]} target columns" if a.ndim == 2 else "one target"  # noqa: E731
            raise DataError(f"{origin}: the test rows have {width(y_test)} but the training rows have {width(y)}")
        return y_test.astype(np.float64)
    if y_test.ndim != 1:
        raise DataError(f"{origin}: the test target has {y_test.shape[1]} columns; classification needs one "
                        "label per row")
    present, inverse = np.unique(y_test, return_inverse=True)
    text = [class_names[int(v)] if class_names else _label(v) for v in present]
    index = {label: k for k, label in enumerate(labels)}
    unseen = [k for k, label in enumerate(text) if label not in index]
    if unseen:
        rows = int(np.sum(inverse == unseen[0]))
        raise DataError(f"{origin}: the test rows hold class {text[unseen[0]]!r} ({rows} row"
                        f"{'' if rows == 1 else 's'}), which the training rows do not have; their classes: "
                        f"{', '.join(labels)}")
    return np.array([index[label] for label in text], dtype=np.int64)[inverse]


def _encode_target(task, y, class_names, origin, need: int, plan: str) -> tuple[np.ndarray, tuple]:
    """``y`` as class indices 0..K-1 with their labels (classification), or as float64 with no
    labels (regression); refused when the ``plan`` split (``need`` rows per class, or in all) is
    impossible or there is nothing to learn."""
    if task == R:
        y = np.asarray(y, dtype=np.float64)
        if len(y) < need:
            raise DataError(f"{origin}: {len(y)} rows are too few; a {plan} needs at least {need}")
        if np.any(np.max(y, axis=0) == np.min(y, axis=0)):  # ptp would overflow on huge targets
            raise DataError(f"{origin}: the target is constant; there is nothing to learn")
        return y, ()
    present, y = np.unique(y, return_inverse=True)
    labels = tuple(class_names[int(i)] for i in present) if class_names else tuple(map(_label, present))
    if len(labels) < 2:
        raise DataError(f"{origin}: the target has a single class ({labels[0]!r}); classification needs at least 2")
    counts = np.bincount(y)
    if counts.min() < need:
        k = int(counts.argmin())
        rows = f"{counts[k]} row" + ("" if counts[k] == 1 else "s")
        raise DataError(f"{origin}: class {labels[k]!r} has {rows}; a stratified {plan} "
                        f"needs at least {need} rows per class")
    return y, labels


def _read_only(a, dtype=np.float64) -> np.ndarray:
    a = np.array(a, dtype=dtype)
    a.flags.writeable = False
    return a


def _label(v) -> str:
    """A class label as text: numbers without a spurious '.0', strings as they are."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


def _numbers(labels: np.ndarray) -> bool:
    """Whether text labels are all numbers (integers past 2**53, kept exact as text)."""
    try:
        labels.astype(np.float64)
    except ValueError:
        return False
    return True


def _task(y: np.ndarray, forced: str | None, origin: str) -> str:
    """The rule in the module docstring; ``forced`` (DataSpec.task) wins where it can apply."""
    text = y.dtype.kind == "U"
    if forced == R and text and not _numbers(y):
        raise DataError(f"{origin}: the target holds text labels (e.g. {str(y[0])!r}); it cannot be regression")
    if forced == C and y.ndim == 2:
        raise DataError(f"{origin}: y has {y.shape[1]} columns; classification needs one label per row")
    if forced or text or y.ndim == 2:
        return forced or (C if text else R)
    distinct = np.unique(y)
    few = len(distinct) <= MAX_CLASSES and len(distinct) < len(y) / 2
    return C if few and np.all(distinct == np.round(distinct)) else R


# -- in-memory arrays ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ArraySpec(DataSpec):
    """What identifies a dataset made from in-memory arrays (:func:`from_arrays`): a name, a digest
    of the arrays, and the split settings. Its ``key`` changes with the content, so equal arrays
    have equal keys; but the arrays live only in the process that holds them, so ``load`` refuses
    an ``ArraySpec``: pass the ``Dataset`` itself where one is needed."""

    digest: str = ""
    test_digest: str | None = None   # of the test rows given (from_arrays' X_test, y_test)

    def __post_init__(self):
        self._check_split(low_open=False)


def from_arrays(X, y, *, task: str | None = None, seed: int = 0, val_size: float = 0.2,
                test_size: float = 0.2, name: str = "arrays", feature_names=None,
                scale_features: bool = True, X_test=None, y_test=None) -> Dataset:
    """A ``Dataset`` from in-memory arrays, under the rules files follow (see the module docstring).

    ``X`` is numeric ``(n, d)`` and finite; ``y`` has one row per row of ``X``: any labels (numbers
    or text, encoded to 0..K-1 in sorted order, ``class_names`` their text) for classification,
    numbers ``(n,)`` or ``(n, k)`` for regression. ``task`` forces "classification" or
    "regression", else the task is guessed as for files. The split is seeded and stratified as
    for every dataset; here ``val_size`` or ``test_size`` may be 0, which leaves that part empty
    (the trainer needs validation rows: give them, or put rows of your own there). Features are
    standardised with training statistics unless ``scale_features=False`` (the scikit-learn
    estimators leave that to a Pipeline); regression targets always are, so learning rates do not
    depend on the target's units (``y_mean``/``y_scale`` map back). ``X_test``, ``y_test`` (both or
    neither): test rows of your own, under the same rules and with X's columns; they are then the
    test split as given, validation rows come from ``X``, ``y``, and ``test_size`` does not apply.
    """
    def columns_of(d):
        if feature_names is None:
            return _columns(d)
        if len(feature_names) != d:
            raise UsageError(f"{name}: feature_names must name the {d} columns of X, got {len(feature_names)}")
        return tuple(map(str, feature_names))

    X, y, feature_names = _check_arrays(X, y, name, columns_of)
    test = None
    if (X_test is None) != (y_test is None):
        raise UsageError(f"{name}: give X_test and y_test together (the test rows and their targets)")
    if X_test is not None:
        if test_size != _TEST_SIZE:
            raise UsageError(f"{name}: test_size does not apply when the test rows are given (X_test, "
                             f"y_test); got {test_size}")
        X_test, y_test, _ = _check_arrays(X_test, y_test, name, _columns, called=("X_test", "y_test"))
        test = (X_test, y_test, f"in-memory arrays X_test {X_test.shape}, y_test {y_test.shape}", name)
    spec = ArraySpec(name, seed=seed, val_size=val_size, test_size=test_size, task=task,
                     digest=_digest(X, y), test_digest=None if test is None else _digest(X_test, y_test))
    source = f"in-memory arrays X {X.shape}, y {y.shape}"
    return _build(spec, name, source, _task(y, task, name), X, y, feature_names, None,
                  scale_features=scale_features, test=test)


def _digest(X: np.ndarray, y: np.ndarray) -> str:
    """16 hex digits of SHA-256 over the arrays' shapes, dtypes and bytes."""
    h = hashlib.sha256()
    for a in (X, y):
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]
