"""One evaluation — a setup trained from one seed — as a frozen record, written to and read back from
evaluations.jsonl by the same type (every value checked on the way in)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from evoinit import checks
from evoinit.ga.genome import Genome


@dataclass(frozen=True)
class Evaluation:
    """One trained network: its genome, seed key, status and curves (up to divergence)."""

    genome: Genome
    key: tuple                      # the seed key (see seeding): "seed" in the JSON line
    status: str                     # "ok", "degenerate" (constant predictions), "diverged" or "pruned"
    metric: str                     # "val_error" or "val_r2"
    train_loss: tuple
    val_loss: tuple
    val_metric: tuple
    diverged_epoch: int | None
    n_params: int
    test_loss: float | None = None      # only for the final scoring of the hall of fame
    test_metric: float | None = None
    seconds: float = field(default=0.0, compare=False)
    rung: int | None = None             # pruned: the rung (0 = first) where its training stopped
    best_epoch: int | None = None       # early stopping: the epoch (1-based) the network is kept at

    @property
    def diverged(self) -> bool:
        return self.status == "diverged"

    @property
    def pruned(self) -> bool:
        return self.status == "pruned"

    @property
    def epochs_trained(self) -> int:
        """Epochs this evaluation trained (the one a network diverged in included)."""
        return self.diverged_epoch if self.diverged_epoch is not None else len(self.train_loss)

    @property
    def final_val_loss(self) -> float:
        """The validation loss of the network kept: after the last epoch, or with early stopping
        at its best epoch; inf when diverged or pruned (no final value)."""
        if self.diverged or self.pruned or not self.val_loss:
            return math.inf
        return self.val_loss[self._kept]

    @property
    def final_val_error(self) -> float:
        """Validation error (classification) or 1 − R² (regression) of the network kept (as
        ``final_val_loss``); inf when diverged or pruned."""
        if self.diverged or self.pruned or not self.val_metric:
            return math.inf
        last = self.val_metric[self._kept]
        return last if self.metric == "val_error" else 1.0 - last

    @property
    def _kept(self) -> int:
        """Index of the kept network's epoch in the curves: the best one, or the last."""
        return -1 if self.best_epoch is None else self.best_epoch - 1

    @property
    def test_error(self) -> float | None:
        """Test error (or 1 − R²) when the evaluation was scored on the test split."""
        if self.test_metric is None:
            return None
        return self.test_metric if self.metric == "val_error" else 1.0 - self.test_metric

    def to_json(self) -> dict:
        """A JSON line (no wall-clock time: the evaluations log is bit-reproducible)."""
        d = {"genome": self.genome.to_json(), "seed": list(self.key), "status": self.status,
             "metric": self.metric, "diverged_epoch": self.diverged_epoch,
             "n_params": self.n_params, "train_loss": list(self.train_loss),
             "val_loss": list(self.val_loss), "val_metric": list(self.val_metric)}
        if self.best_epoch is not None:   # early stopping only: lines of runs without it keep their bytes
            d["best_epoch"] = self.best_epoch
        if self.test_loss is not None:
            d |= {"test_loss": self.test_loss, "test_metric": self.test_metric}
        if self.rung is not None:
            d["rung"] = self.rung
        return d

    @classmethod
    def from_json(cls, d: dict, seconds: float = 0.0) -> "Evaluation":
        """An evaluation from its JSON line, every value checked for its type: a ``ValueError``
        naming the key (the run folder's reader says which line of which file)."""
        if not isinstance(d, dict):
            raise ValueError(f"not a record but {type(d).__name__}")
        seed, status, metric = d["seed"], d["status"], d["metric"]
        if not isinstance(seed, list) or not seed or not all(checks.is_int(k) and k >= 0 for k in seed):
            raise ValueError(f"seed is {seed!r}"[:80])
        if status not in STATUSES or metric not in METRICS:
            raise ValueError(f"status {status!r} or metric {metric!r} unknown"[:120])
        epoch, weights = d["diverged_epoch"], d["n_params"]
        if not (epoch is None or checks.is_int(epoch)) or not checks.is_int(weights):
            raise ValueError(f"diverged_epoch {epoch!r} or n_params {weights!r} is not an integer"[:120])
        rung = d.get("rung")
        if (rung is not None) != (status == "pruned") or not (rung is None or _count(rung)):
            raise ValueError(f"rung {rung!r} with status {status!r}"[:120])  # a rung iff pruned
        curves = [_numbers(key, d[key]) for key in ("train_loss", "val_loss", "val_metric")]
        tests = [None if d.get(key) is None else _numbers(key, [d[key]])[0] for key in ("test_loss", "test_metric")]
        best = d.get("best_epoch")
        if not (best is None or (checks.is_int(best) and 1 <= best <= len(curves[1]))):
            raise ValueError(f"best_epoch {best!r} is not an epoch of the curves"[:120])
        return cls(Genome.from_json(d["genome"]), tuple(seed), status, metric, *curves, epoch, weights,
                   *tests, seconds, rung, best)


STATUSES = ("ok", "degenerate", "diverged", "pruned")


METRICS = ("val_error", "val_r2")


#: How the run folder writes a float JSON has no literal for (``rundir.dumps``).
_NON_FINITE = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _count(value) -> bool:
    return checks.is_int(value) and value >= 0


def _numbers(key: str, values) -> tuple:
    """A curve read back: numbers (or "nan"/"inf"/"-inf" as written) as floats."""
    if not isinstance(values, list):
        raise ValueError(f"{key} is {type(values).__name__}, not a list of numbers")
    out = []
    for v in values:
        if isinstance(v, str) and v in _NON_FINITE:
            v = _NON_FINITE[v]
        elif not (checks.is_int(v) or isinstance(v, float)):
            raise ValueError(f"{key} holds {v!r}"[:80] + ", not a number")
        out.append(float(v))
    return tuple(out)
