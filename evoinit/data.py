"""Datasets: scikit-learn's bundled sets, generators and user CSV/NPZ files, split and scaled.

A ``DataSpec`` is a handful of plain JSON values naming a dataset; ``load(spec)`` turns it into a
frozen ``Dataset`` the same way in every process, so a worker on another machine rebuilds exactly
the data the search scores on. Every dataset is split train/validation/test (60/20/20 by default,
stratified for classification, ``random_state=spec.seed``) and standard-scaled with statistics of
the training part only: the validation and test rows must not leak into them.

Arrays: ``X_*`` float64 ``(n, n_features)``; ``y_*`` int64 class indices 0..K-1 ``(n,)`` for
classification, float64 ``(n,)`` (one target) or ``(n, k)`` (several) for regression, where the
targets are standardised with training statistics too. Every array is read-only.

User files (any name with a path separator or a suffix is a path; built-in names win otherwise):

- CSV: UTF-8, comma-separated, a header row, one row per sample. The target is the column named
  by ``target``, else a column named exactly "target", else the last column. Every other column is a
  feature and must be numeric; the target may hold text labels. Empty cells and NA, N/A, NaN,
  null, none, ? are missing values and rejected: nothing is imputed behind the user's back.
- NPZ: arrays ``X`` (n, d) and ``y`` (n,) or (n, k), optionally ``feature_names`` (d,), read with
  ``allow_pickle=False`` so opening a file can never run code.
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
from dataclasses import asdict, dataclass, fields, replace

import numpy as np
from sklearn.model_selection import train_test_split

from evoinit import checks
from evoinit.datafiles import check_arrays as _check_arrays
from evoinit.datafiles import columns as _columns
from evoinit.datafiles import read_csv as _read_csv
from evoinit.datafiles import read_npz as _read_npz
from evoinit.datasets import BUILTINS, GENERATORS, TASKS, C, R, describe, make_spirals, names  # noqa: F401
from evoinit.errors import DataError, UsageError, one_line, unknown
from evoinit.standardize import check_scaled, scaled, standard
MAX_CLASSES = 20  # an integer-valued numeric target with more distinct values is regression
FILE_TYPES = (".csv", ".npz")
MAX_SAMPLES = 10_000_000  # rows a generator may make


# -- the spec: plain values that identify a dataset ------------------------------------------------


@dataclass(frozen=True)
class DataSpec:
    """What identifies a dataset: a built-in name or a .csv/.npz path, the CSV target column, the
    seed (split, and generation for generators), the validation/test fractions, the generator's
    ``n_samples`` and ``noise`` (defaults filled in), and an optional ``task`` forcing
    "classification" or "regression" for a user file. Built-in names are lower-cased and relative
    paths made absolute on construction, so equal datasets have equal specs and keys."""

    name: str
    target: str | None = None
    seed: int = 0
    val_size: float = 0.2
    test_size: float = 0.2
    n_samples: int | None = None
    noise: float | None = None
    task: str | None = None

    def __post_init__(self):
        put = functools.partial(object.__setattr__, self)
        self._check_split(low_open=True)
        if self.n_samples is not None:
            checks.integer("n_samples", self.n_samples, 1, MAX_SAMPLES,
                           why=" (a generated dataset is made in memory, and trained on every epoch)")
        _require(self.noise is None or checks.is_real(self.noise) and self.noise >= 0,
                 f"noise must be a non-negative number, got {self.noise!r}")
        _require(self.target is None or isinstance(self.target, str) and self.target,
                 f"target must be a column name, got {self.target!r}")
        key = self.name.strip().lower().replace("-", "_")
        b = BUILTINS.get(key)
        generated = self.n_samples is not None or self.noise is not None
        if b is not None:
            _require(self.target is None, f"target applies to .csv files, not to the built-in dataset '{key}'")
            _require(self.task in (None, b.task), f"'{key}' is a {b.task} dataset; task={self.task!r} does not apply")
            _require(b.n_samples or not generated, f"n_samples and noise apply to generators "
                     f"({', '.join(GENERATORS)}), not to '{key}'")
            put("name", key)
            if b.n_samples is not None:
                put("n_samples", int(self.n_samples if self.n_samples is not None else b.n_samples))
                put("noise", float(self.noise if self.noise is not None else b.noise))
        elif os.path.splitext(self.name)[1] or os.sep in self.name or "/" in self.name:
            _require(not generated, f"n_samples and noise apply to generators, not to the file {self.name}")
            put("name", os.path.abspath(os.path.expanduser(self.name)))
        else:
            raise UsageError(f"{unknown('dataset', self.name, BUILTINS)}; or give a path to a .csv or .npz file")

    def _check_split(self, *, low_open: bool) -> None:
        """Name, seed, split fractions and task: what every spec has (``low_open``: a fraction of
        0 is refused, as for datasets loaded by name; in-memory arrays may leave a part empty)."""
        put = functools.partial(object.__setattr__, self)
        _require(isinstance(self.name, str) and self.name.strip(), f"dataset name must be a non-empty string, "
                 f"got {self.name!r}")
        put("seed", checks.integer("seed", self.seed, 0, 2**32 - 1))
        for field in ("val_size", "test_size"):
            put(field, checks.number(field, getattr(self, field), 0, 1, low_open=low_open, high_open=True,
                                     what="a fraction"))
        _require(self.val_size + self.test_size < 1, f"val_size + test_size must be below 1, "
                 f"got {self.val_size} + {self.test_size}")
        _require(self.task in (None, *TASKS), f"task must be one of {', '.join(TASKS)}, got {self.task!r}")

    @property
    def key(self) -> str:
        """A stable string naming the dataset, e.g. ``moons?seed=0&val_size=0.2&...&noise=0.2``."""
        return self.name + "?" + "&".join(f"{k}={v}" for k, v in self.to_json().items()
                                          if k != "name" and v is not None)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> DataSpec:
        known = [f.name for f in fields(cls)]
        if not isinstance(d, dict) or set(d) - set(known):
            extra = sorted(set(d) - set(known)) if isinstance(d, dict) else d
            raise UsageError(f"bad dataset spec {extra!r}; known keys: {', '.join(known)}")
        return cls(**d)


_require = checks.require


# -- the dataset ----------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Dataset:
    """A loaded, split and scaled dataset (see the module docstring for shapes). ``*_index`` are
    the rows of the source (file order) in each split; ``x_mean``/``x_scale`` (and ``y_mean``/
    ``y_scale`` for regression, shape ``(n_outputs,)``) map scaled values back: raw = v·scale + mean."""

    name: str
    source: str
    task: str
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_features: int
    n_classes: int
    n_outputs: int
    feature_names: tuple[str, ...]
    class_names: tuple[str, ...]
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: np.ndarray | None
    y_scale: np.ndarray | None
    split_seed: int
    spec: DataSpec
    train_index: np.ndarray
    val_index: np.ndarray
    test_index: np.ndarray
    digest: str = ""   # of the loaded arrays, before split and scaling (see ``_digest``)

    @property
    def key(self) -> str:
        return self.spec.key

    def summary(self) -> dict:
        """A JSON-able description: identity, source, sizes, class counts per split, and the digest
        of the content (a resumed search checks it: an edited file is another dataset)."""
        parts = {"train": self.y_train, "val": self.y_val, "test": self.y_test}
        out = {"name": self.name, "key": self.key, "source": self.source, "task": self.task,
               "spec": self.spec.to_json(), "n_samples": sum(len(y) for y in parts.values()),
               "sizes": {k: len(y) for k, y in parts.items()}, "n_features": self.n_features,
               "n_classes": self.n_classes, "n_outputs": self.n_outputs, "digest": self.digest}
        if self.task == C:
            out["class_names"] = list(self.class_names)
            out["class_counts"] = {k: np.bincount(y, minlength=self.n_classes).tolist() for k, y in parts.items()}
        return out


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
    try:
        st = None if spec.name in BUILTINS else os.stat(spec.name)
    except OSError:
        st = None  # _load says what is wrong with the path
    return _load(spec, st and (st.st_mtime_ns, st.st_size))


@functools.lru_cache(maxsize=32)
def _load(spec: DataSpec, stamp) -> Dataset:
    if spec.name in BUILTINS:
        b = BUILTINS[spec.name]
        try:
            X, y, feature_names, class_names, source = b.make(spec.n_samples, spec.noise, spec.seed)
        except ValueError as e:
            raise UsageError(f"{spec.name}: {one_line(e)}") from None
        return _build(spec, spec.name, source, b.task, X, y, feature_names, class_names)
    path = spec.name
    if not os.path.exists(path):
        raise DataError(f"no such file: {path}")
    if os.path.isdir(path):
        raise DataError(f"{path} is a directory, not a .csv or .npz file")
    ext = os.path.splitext(path)[1].lower()
    if ext not in FILE_TYPES:
        raise DataError(f"{path}: unsupported file type '{ext}'; use .csv (with a header row) or .npz (arrays X, y)")
    X, y, feature_names, source = (_read_csv if ext == ".csv" else _read_npz)(path, spec.target)
    return _build(spec, path, source, _task(y, spec.task, path), X, y, feature_names, None)


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
           scale_features: bool = True) -> Dataset:
    """Encode classes, check the split is possible, split, scale on the training rows, freeze.

    ``scale_features=False`` keeps the features as given (mean 0, scale 1 recorded); regression
    targets are standardised either way."""
    X = np.asarray(X, dtype=np.float64)
    digest = _digest(X, np.asarray(y))  # the content as loaded: labels before they are encoded
    fractions = (1 - spec.val_size - spec.test_size, spec.val_size, spec.test_size)
    # rows per class (or in all) for one in each non-empty part
    need = math.ceil(1 / min(f for f in fractions if f > 0) - 1e-9)
    plan = "/".join(f"{round(100 * f)}" for f in fractions) + " train/validation/test split"
    y, labels = _encode_target(task, y, class_names, origin, need, plan)
    try:
        parts = split(y, seed=spec.seed, val_size=spec.val_size, test_size=spec.test_size,
                      stratify=task == C)
    except ValueError as e:
        raise DataError(f"{origin}: cannot make a {plan}: {one_line(e)}") from None
    if scale_features:
        x_mean, x_scale, x_pre = standard(X[parts[0]])
    else:
        x_mean, x_scale, x_pre = np.zeros(X.shape[1]), np.ones(X.shape[1]), np.ones(X.shape[1])  # x/1 is x
    y_mean = y_scale = None
    if task == R:
        y_mean, y_scale, y_pre = (np.atleast_1d(a) for a in standard(y[parts[0]]))
        shape = y.shape[1:]
        y = scaled(y, y_mean.reshape(shape), y_scale.reshape(shape), y_pre.reshape(shape))
        check_scaled(y, origin, ("the target",) if y.ndim == 1 else
                     tuple(f"target column {k}" for k in range(y.shape[1])))
    arrays = {}
    for part, rows in zip(("train", "val", "test"), parts):
        arrays[f"X_{part}"] = _read_only(scaled(X[rows], x_mean, x_scale, x_pre))
        check_scaled(arrays[f"X_{part}"], origin, tuple(f"column '{f}'" for f in feature_names))
        arrays[f"y_{part}"] = _read_only(y[rows], np.int64 if task == C else np.float64)
        arrays[f"{part}_index"] = _read_only(rows, np.int64)
    n_outputs = len(labels) if task == C else 1 if y.ndim == 1 else y.shape[1]
    return Dataset(name=os.path.basename(origin), source=source, task=task, **arrays, n_features=X.shape[1],
                   n_classes=len(labels), n_outputs=n_outputs, feature_names=tuple(feature_names),
                   class_names=labels, x_mean=_read_only(x_mean), x_scale=_read_only(x_scale),
                   y_mean=y_mean if y_mean is None else _read_only(y_mean),
                   y_scale=y_scale if y_scale is None else _read_only(y_scale), split_seed=spec.seed, spec=spec,
                   digest=digest)



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

    def __post_init__(self):
        self._check_split(low_open=False)


def from_arrays(X, y, *, task: str | None = None, seed: int = 0, val_size: float = 0.2,
                test_size: float = 0.2, name: str = "arrays", feature_names=None,
                scale_features: bool = True) -> Dataset:
    """A ``Dataset`` from in-memory arrays, under the rules files follow (see the module docstring).

    ``X`` is numeric ``(n, d)`` and finite; ``y`` has one row per row of ``X``: any labels (numbers
    or text, encoded to 0..K-1 in sorted order, ``class_names`` their text) for classification,
    numbers ``(n,)`` or ``(n, k)`` for regression. ``task`` forces "classification" or
    "regression", else the task is guessed as for files. The split is seeded and stratified as
    for every dataset; here ``val_size`` or ``test_size`` may be 0, which leaves that part empty
    (the trainer needs validation rows: give them, or put rows of your own there). Features are
    standardised with training statistics unless ``scale_features=False`` (the scikit-learn
    estimators leave that to a Pipeline); regression targets always are, so learning rates do not
    depend on the target's units (``y_mean``/``y_scale`` map back).
    """
    def columns_of(d):
        if feature_names is None:
            return _columns(d)
        if len(feature_names) != d:
            raise UsageError(f"{name}: feature_names must name the {d} columns of X, got {len(feature_names)}")
        return tuple(map(str, feature_names))

    X, y, feature_names = _check_arrays(X, y, name, columns_of)
    spec = ArraySpec(name, seed=seed, val_size=val_size, test_size=test_size, task=task,
                     digest=_digest(X, y))
    source = f"in-memory arrays X {X.shape}, y {y.shape}"
    return _build(spec, name, source, _task(y, task, name), X, y, feature_names, None,
                  scale_features=scale_features)


def _digest(X: np.ndarray, y: np.ndarray) -> str:
    """16 hex digits of SHA-256 over the arrays' shapes, dtypes and bytes."""
    h = hashlib.sha256()
    for a in (X, y):
        h.update(f"{a.shape}{a.dtype.str}".encode())
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]
