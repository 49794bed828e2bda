"""The trainer's plain values: how networks are trained (``TrainSettings``), where one starts
(``Start``), where its training stands — resumable, picklable (``TrainState``) — and what it gave
(``TrainResult``), and the score early stopping watches (``watched``). ``network.py`` trains them
and re-exports every name here.

Shapes as in ``network.py``: ``weights[l]`` is ``(fan_in, fan_out)``, ``biases[l]`` ``(fan_out,)``;
a state's ``params[l]`` is the block ``(fan_in + 1, fan_out)`` with the bias as its last row.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, fields

import numpy as np

from evoinit import checks
from evoinit.errors import UsageError

OPTIMIZERS = ("sgd", "adam")
DTYPES = ("float32", "float64")
#: What early stopping watches: the validation loss, or the validation error (1 − R² for regression).
MONITORS = ("val_loss", "val_error")
#: Every epoch's losses are kept (``(3, P, epochs)`` per population) and written to the log.
MAX_EPOCHS = 100_000
_EPOCHS_WHY = " (every epoch's losses are kept in memory and written to the evaluations log)"


@dataclass(frozen=True)
class TrainSettings:
    """How every network is trained. ``learning_rate`` may be overridden per network.

    Early stopping (off by default): with ``patience`` k, a network stops once its ``monitor``
    score on the validation rows has not improved (strictly) for k epochs, and is restored to its
    best epoch — the weights of training exactly that many epochs (DESIGN.md contract 9).
    ``patience`` 0 is None: off."""

    epochs: int = 20
    batch_size: int = 32
    optimizer: str = "sgd"
    learning_rate: float = 0.05
    momentum: float = 0.9
    nesterov: bool = False
    beta1: float = 0.9
    beta2: float = 0.999
    epsilon: float = 1e-8
    weight_decay: float = 0.0
    dtype: str = "float32"
    shuffle: bool = True
    weight_limit: float = 1e5
    patience: int | None = None
    monitor: str = "val_loss"

    def __post_init__(self):
        try:
            self._check()
        except checks.BadValue as e:
            raise e.prefixed("bad training settings: ") from None

    def _check(self) -> None:
        put = functools.partial(object.__setattr__, self)
        put("epochs", checks.integer("epochs", self.epochs, 1, MAX_EPOCHS, why=_EPOCHS_WHY))
        put("batch_size", checks.integer("batch_size", self.batch_size, 1))
        checks.choice("optimizer", self.optimizer, OPTIMIZERS)
        put("learning_rate", checks.number("learning_rate", self.learning_rate, 0, low_open=True))
        put("momentum", checks.number("momentum", self.momentum, 0, 1, high_open=True))
        put("beta1", checks.number("beta1", self.beta1, 0, 1, high_open=True))
        put("beta2", checks.number("beta2", self.beta2, 0, 1, high_open=True))
        put("epsilon", checks.number("epsilon", self.epsilon, 0, low_open=True))
        put("weight_decay", checks.number("weight_decay", self.weight_decay, 0))
        checks.choice("dtype", self.dtype, DTYPES)
        put("nesterov", checks.flag("nesterov", self.nesterov))
        put("shuffle", checks.flag("shuffle", self.shuffle))
        put("weight_limit", checks.number("weight_limit", self.weight_limit, 0, low_open=True))
        if self.patience is not None:
            put("patience", checks.integer("patience", self.patience, 0, MAX_EPOCHS) or None)
        checks.choice("monitor", self.monitor, MONITORS)
        if self.monitor != "val_loss" and self.patience is None:
            raise checks.BadValue(f"monitor {self.monitor!r} needs a patience (early stopping is off "
                                  "without one)", name="monitor", value=self.monitor, kind="choice",
                                  allowed=MONITORS)

    def to_json(self) -> dict:
        """Every setting; the early-stopping ones only when set (default runs keep their bytes)."""
        d = asdict(self)
        for name in _UNLESS_DEFAULT:
            if d[name] == _DEFAULTS[name]:
                del d[name]
        return d

    @classmethod
    def from_json(cls, d: dict) -> "TrainSettings":
        known = [f.name for f in fields(cls)]
        if not isinstance(d, dict) or set(d) - set(known):
            raise UsageError(f"bad training settings {d!r}"[:200] + f"; known keys: {', '.join(known)}")
        return cls(**d)


_DEFAULTS = {f.name: f.default for f in fields(TrainSettings)}
#: Settings written into JSON only when not at their default, so older files keep their bytes.
_UNLESS_DEFAULT = ("patience", "monitor")


@dataclass(frozen=True)
class Start:
    """Starting weights of one network: ``weights[l]`` is ``(fan_in, fan_out)``, ``biases[l]`` ``(fan_out,)``."""

    weights: tuple
    biases: tuple

    @property
    def sizes(self) -> tuple:
        return (self.weights[0].shape[0],) + tuple(w.shape[1] for w in self.weights)

    @classmethod
    def of(cls, weights, biases=None) -> "Start":
        """A start from explicit arrays (e.g. made elsewhere); biases default to zeros."""
        weights = tuple(np.asarray(w, dtype=np.float64) for w in weights)
        if biases is None:
            biases = tuple(np.zeros(w.shape[1]) for w in weights)
        biases = tuple(np.asarray(b, dtype=np.float64).reshape(-1) for b in biases)
        for l, (w, b) in enumerate(zip(weights, biases)):
            if w.ndim != 2 or b.shape != (w.shape[1],):
                raise UsageError(f"layer {l}: weights must be (fan_in, fan_out) and biases (fan_out,)")
            if l and w.shape[0] != weights[l - 1].shape[1]:
                raise UsageError(f"layer {l}: fan_in {w.shape[0]} != previous fan_out {weights[l - 1].shape[1]}")
        return cls(weights, biases)


def watched(monitor: str, val_loss, val_metric, metric: str) -> np.ndarray:
    """The curve early stopping minimises: the validation loss, or the validation error (``metric``
    "val_error"), or 1 − R² (``metric`` "val_r2")."""
    if monitor == "val_loss":
        return np.asarray(val_loss, np.float64)
    values = np.asarray(val_metric, np.float64)
    return values if metric == "val_error" else 1.0 - values


@dataclass(frozen=True)
class TrainResult:
    """What training one network gave: per-epoch curves (up to divergence, or to the epoch early
    stopping ended it) and its weights — the last epoch's, or with early stopping those of its
    best epoch ``best_epoch`` (epochs trained to get there, 1-based; None when off)."""

    train_loss: np.ndarray
    val_loss: np.ndarray
    val_metric: np.ndarray
    metric: str
    diverged_epoch: int | None
    weights: tuple = field(repr=False)
    biases: tuple = field(repr=False)
    best_epoch: int | None = None

    @property
    def diverged(self) -> bool:
        return self.diverged_epoch is not None

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


@dataclass(frozen=True)
class TrainState:
    """Where the training of one network stands after ``epoch`` epochs: what it needs to go on,
    later and in another process, with the bits of one uninterrupted run (``continue_training``).

    Plain picklable data. ``params[l]`` is layer l's block ``(fan_in + 1, fan_out)`` — its weights
    with the bias as the last row — in the training dtype; ``velocity`` is SGD's momentum buffer
    (``v`` in ``v ← μv − η∇``) or Adam's first moment and ``second_moment`` Adam's second moment,
    in the same blocks (None when the optimizer keeps none); ``steps`` counts optimizer steps (Adam's
    bias correction); ``order`` is the data-order generator's ``bit_generator.state`` dict (None
    without shuffling). The curves hold the epochs trained so far (up to divergence). With early
    stopping, ``best_epoch`` is the epoch of the best monitored score so far and ``best_params``
    the blocks at that epoch (None before the first epoch, and without early stopping).
    """

    epoch: int
    steps: int
    learning_rate: float
    params: tuple = field(repr=False)
    velocity: tuple | None = field(repr=False)
    second_moment: tuple | None = field(repr=False)
    order: dict | None = field(repr=False)
    train_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_loss: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_metric: np.ndarray = field(default_factory=lambda: np.zeros(0))
    metric: str = ""
    diverged_epoch: int | None = None
    best_epoch: int | None = None
    best_params: tuple | None = field(default=None, repr=False)

    @property
    def sizes(self) -> tuple:
        return (self.params[0].shape[0] - 1,) + tuple(b.shape[1] for b in self.params)

    @property
    def diverged(self) -> bool:
        return self.diverged_epoch is not None

    def stopped(self, patience: int | None) -> bool:
        """Early stopping ended this training: ``patience`` epochs without a better score."""
        return bool(patience) and self.best_epoch is not None and self.epoch - self.best_epoch >= patience

    def result(self) -> TrainResult:
        """The curves and the weights (float64, Keras orientation) of the training so far: those
        of the best epoch when early stopping keeps one."""
        kept = self.params if self.best_params is None else self.best_params
        return TrainResult(self.train_loss, self.val_loss, self.val_metric, self.metric,
                           self.diverged_epoch, tuple(np.array(b[:-1], np.float64) for b in kept),
                           tuple(np.array(b[-1], np.float64) for b in kept), self.best_epoch)
