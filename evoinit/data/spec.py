"""What identifies a dataset and what it is once loaded: the DataSpec (plain JSON values naming it)
and the frozen Dataset (its split, scaled arrays); dataset.load turns one into the other.
Arrays: ``X_*`` float64 ``(n, n_features)``; ``y_*`` int64 class indices ``(n,)`` for classification,
float64 ``(n,)`` or ``(n, k)`` for regression; every array is read-only."""

from __future__ import annotations

import functools
import os
from dataclasses import asdict, dataclass, fields

import numpy as np

from evoinit import checks
from evoinit.data.builtin import (
    BUILTINS,
    GENERATORS,
    TASKS,
    C,
)
from evoinit.errors import UsageError, unknown

MAX_SAMPLES = 10_000_000  # rows a generator may make


@dataclass(frozen=True)
class DataSpec:
    """What identifies a dataset: a built-in name or a .csv/.npz path, the CSV target column, the
    seed (split, and generation for generators), the validation/test fractions, the generator's
    ``n_samples`` and ``noise`` (defaults filled in), and an optional ``task`` forcing
    "classification" or "regression" for a user file, and ``test_file``: a second .csv/.npz file
    whose rows are the test split (``test_size`` then does not apply). Built-in names are lower-cased
    and relative paths made absolute on construction, so equal datasets have equal specs and keys."""

    name: str
    target: str | None = None
    seed: int = 0
    val_size: float = 0.2
    test_size: float = 0.2
    n_samples: int | None = None
    noise: float | None = None
    task: str | None = None
    test_file: str | None = None

    def __post_init__(self):
        put = functools.partial(object.__setattr__, self)
        self._check_split(low_open=True, val_may_be_empty=True)   # 0: checked on load (own test rows)
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
            _require(self.test_file is None, f"test_file applies to .csv/.npz files, not to the built-in "
                     f"dataset '{key}'" + (" (it has its own test rows)" if b.test else ""))
            _require(b.test is None or self.test_size == _TEST_SIZE, f"'{key}' has its own test rows; "
                     f"test_size does not apply (got {self.test_size})")
            put("name", key)
            if b.n_samples is not None:
                put("n_samples", int(self.n_samples if self.n_samples is not None else b.n_samples))
                put("noise", float(self.noise if self.noise is not None else b.noise))
        elif os.path.splitext(self.name)[1] or os.sep in self.name or "/" in self.name:
            _require(not generated, f"n_samples and noise apply to generators, not to the file {self.name}")
            put("name", os.path.abspath(os.path.expanduser(self.name)))
            if isinstance(self.test_file, os.PathLike):
                put("test_file", os.fspath(self.test_file))
            if self.test_file is not None:
                _require(isinstance(self.test_file, str) and self.test_file.strip(),
                         f"test_file must be the path of a .csv or .npz file, got {self.test_file!r}")
                _require(self.test_size == _TEST_SIZE, f"test_size does not apply when the test rows are "
                         f"a file of their own (test_file); got {self.test_size}")
                put("test_file", os.path.abspath(os.path.expanduser(self.test_file)))
                _require(self.test_file != self.name, f"test_file is the dataset file itself ({self.name}); "
                         "the test rows must be rows not trained on")
        else:
            raise UsageError(f"{unknown('dataset', self.name, BUILTINS)}; or give a path to a .csv or .npz file")

    def _check_split(self, *, low_open: bool, val_may_be_empty: bool = False) -> None:
        """Name, seed, split fractions and task: what every spec has (``low_open``: a fraction of
        0 is refused, as for datasets loaded by name; in-memory arrays may leave a part empty;
        ``val_may_be_empty``: ``val_size`` 0 is allowed here, for a dataset that brings its own test
        rows — loading checks that it does)."""
        put = functools.partial(object.__setattr__, self)
        _require(isinstance(self.name, str) and self.name.strip(), f"dataset name must be a non-empty string, "
                 f"got {self.name!r}")
        put("seed", checks.integer("seed", self.seed, 0, 2**32 - 1))
        for field in ("val_size", "test_size"):
            put(field, checks.number(field, getattr(self, field), 0, 1, high_open=True,
                                     low_open=low_open and not (field == "val_size" and val_may_be_empty),
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
        """The fields as JSON; the optional ones (``test_file``, an ``ArraySpec``'s ``test_digest``)
        only when given, so a spec without them writes what it always did."""
        return {k: v for k, v in asdict(self).items() if v is not None or k not in _OPTIONAL}

    @classmethod
    def from_json(cls, d: dict) -> DataSpec:
        known = [f.name for f in fields(cls)]
        if not isinstance(d, dict) or set(d) - set(known):
            extra = sorted(set(d) - set(known)) if isinstance(d, dict) else d
            raise UsageError(f"bad dataset spec {extra!r}; known keys: {', '.join(known)}")
        return cls(**d)


_require = checks.require


_TEST_SIZE = DataSpec.test_size   # the default; the only value allowed with test rows of their own


_OPTIONAL = ("test_file", "test_digest")


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
    test_source: str | None = None   # where the dataset's own test rows come from (None: split off)
    test_digest: str | None = None   # of those rows as loaded

    @property
    def test_rows(self) -> str | None:
        """Which rows the test scores use, e.g. "the dataset's own 1,000 test rows (file t.csv)"."""
        return test_rows(self.summary())

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
        if self.test_source is not None:   # only then: other datasets' summaries keep their bytes
            out |= {"test_source": self.test_source, "test_digest": self.test_digest}
        if self.task == C:
            out["class_names"] = list(self.class_names)
            out["class_counts"] = {k: np.bincount(y, minlength=self.n_classes).tolist() for k, y in parts.items()}
        return out


def test_rows(summary: dict) -> str | None:
    """Which rows a dataset's test scores come from, from its ``summary()`` (config.json's
    "dataset"): "the dataset's own 1,000 test rows (the test file t.csv)" or "360 test rows split
    off the data (20%)"; None when the summary does not say (a damaged or older config.json)."""
    try:
        n, source, fraction = summary["sizes"]["test"], summary.get("test_source"), summary["spec"]["test_size"]
    except (KeyError, TypeError, AttributeError):
        return None
    if not checks.is_int(n) or n < 0:
        return None
    if isinstance(source, str):
        return f"the dataset's own {n:,} test rows ({source})"
    if checks.is_real(fraction) and 0 < fraction < 1:
        return f"{n:,} test rows split off the data ({round(100 * fraction)}%)"
    return None
