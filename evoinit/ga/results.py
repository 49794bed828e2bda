"""What a search gives back, as frozen values written and read by the same type.

A hall-of-fame ``Entry`` is one setup as hall_of_fame.json and generations.jsonl show it — its
genome, fitness, validation scores and seed keys — and, once the search has finished, its
``test`` scores, its canonical ``baseline`` and the paired ``improvement`` over it (``FinalScores``,
as the checkpoint keeps them). ``to_json`` fixes each file's key order; ``from_json`` checks every
value it reads back (a run folder may come from someone else) and raises ``ValueError`` naming
what is wrong. So a user writes ``result.best.test.error.mean``, never a chain of dict lookups.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from evoinit import checks
from evoinit.ga.config import SearchConfig
from evoinit.ga.genome import Genome
from evoinit.ga.interval import paired_interval

if TYPE_CHECKING:
    from evoinit.ga.evaluation import Evaluation

#: Longest text read back from a file (a genome's text, a baseline's name).
MAX_TEXT = 10_000


def _number(value, what: str, *, none: bool = True):
    if value is None and none:
        return None
    if not checks.is_number(value) or not math.isfinite(value):
        raise ValueError(f"{what} is not a finite number: {str(value)[:40]!r}")
    return value


def _text(value, what: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValueError(f"{what} is not a text of at most {MAX_TEXT:,} characters")
    return value


def _count(value, what: str) -> int:
    if not checks.is_int(value) or value < 0:
        raise ValueError(f"{what} is not a count: {str(value)[:40]!r}")
    return value


def _keys(d, known: tuple, what: str) -> dict:
    if not isinstance(d, dict) or not set(d) <= set(known):
        extra = sorted(set(d) - set(known)) if isinstance(d, dict) else type(d).__name__
        raise ValueError(f"{what} is not a record of {', '.join(known)} ({extra})")
    return d


@dataclass(frozen=True)
class Stats:
    """Values over seeds (None where a training diverged) and their mean, std and count of finite
    ones; ``ci95`` for a paired difference (``interval.paired_interval``'s half-width; folders
    written before it hold 1.96·sd/√n, read as they are; None where not computed)."""

    values: tuple
    mean: float | None
    std: float | None
    n: int
    ci95: float | None = None

    def to_json(self) -> dict:
        d = {"values": list(self.values), "mean": self.mean, "std": self.std, "n": self.n}
        return d if self.ci95 is None else d | {"ci95": self.ci95}

    @classmethod
    def from_json(cls, d, what: str = "statistics") -> "Stats":
        d = _keys(d, ("values", "mean", "std", "n", "ci95"), what)
        if not isinstance(d.get("values"), list):
            raise ValueError(f"{what} has no list of values")
        values = tuple(None if v is None else _number(v, f"{what} value") for v in d["values"])
        return cls(values, _number(d.get("mean"), f"{what} mean"), _number(d.get("std"), f"{what} std"),
                   _count(d.get("n"), f"{what} n"), _number(d.get("ci95"), f"{what} ci95"))


@dataclass(frozen=True)
class TestScores:
    """A setup trained from the final seeds and scored on the test split."""

    loss: Stats
    error: Stats
    val_loss: Stats
    diverged: int

    def to_json(self) -> dict:
        return {"loss": self.loss.to_json(), "error": self.error.to_json(), "val_loss": self.val_loss.to_json(),
                "diverged": self.diverged}

    @classmethod
    def from_json(cls, d, what: str = "test scores") -> "TestScores":
        d = _keys(d, ("loss", "error", "val_loss", "diverged"), what)
        return cls(*(Stats.from_json(d.get(k), f"{what} {k}") for k in ("loss", "error", "val_loss")),
                   _count(d.get("diverged"), f"{what} diverged"))


@dataclass(frozen=True)
class Baseline:
    """The canonical start for the setup's activation at its widths, scored from the same seeds."""

    genome: Genome
    text: str
    test: TestScores

    def to_json(self) -> dict:
        return {"genome": self.genome.to_json(), "text": self.text, "test": self.test.to_json()}

    @classmethod
    def from_json(cls, d, what: str = "baseline") -> "Baseline":
        d = _keys(d, ("genome", "text", "test"), what)
        genome = Genome.from_json(d.get("genome"))
        if d.get("text") != str(genome):
            raise ValueError(f"{what} text is not its genome's")
        return cls(genome, str(genome), TestScores.from_json(d.get("test"), f"{what} test"))


@dataclass(frozen=True)
class Improvement:
    """Baseline minus the setup, paired by seed: positive means the search found better."""

    test_loss: Stats
    test_error: Stats

    def to_json(self) -> dict:
        return {"test_loss": self.test_loss.to_json(), "test_error": self.test_error.to_json()}

    @classmethod
    def from_json(cls, d, what: str = "improvement") -> "Improvement":
        d = _keys(d, ("test_loss", "test_error"), what)
        return cls(Stats.from_json(d.get("test_loss"), f"{what} test_loss"),
                   Stats.from_json(d.get("test_error"), f"{what} test_error"))


@dataclass(frozen=True)
class FinalScores:
    """A hall-of-fame member's scores at the end of a search (``baselines.score_hall_of_fame``);
    ``baseline`` and ``improvement`` are None in a search without baselines."""

    test: TestScores
    baseline: Baseline | None = None
    improvement: Improvement | None = None

    def to_json(self) -> dict:
        d = {"test": self.test.to_json()}
        if self.baseline is not None:
            d |= {"baseline": self.baseline.to_json(), "improvement": self.improvement.to_json()}
        return d

    @classmethod
    def from_json(cls, d, what: str = "final scores") -> "FinalScores":
        d = _keys(d, ("test", "baseline", "improvement"), what)
        if ("baseline" in d) != ("improvement" in d):
            raise ValueError(f"{what} have a baseline without its improvement, or the reverse")
        return cls(TestScores.from_json(d.get("test"), f"{what} test"),
                   Baseline.from_json(d["baseline"], f"{what} baseline") if "baseline" in d else None,
                   Improvement.from_json(d["improvement"], f"{what} improvement") if "improvement" in d else None)


@dataclass(frozen=True)
class Entry:
    """One setup of a search: a hall-of-fame entry (``rank`` 1 = best) or a member of a generation
    (``rank`` None); ``test``, ``baseline`` and ``improvement`` once the search has finished."""

    genome: Genome
    text: str
    fitness: dict                     # objective -> value
    diverged: bool
    n_params: int | None
    val_loss: float | None            # mean final validation loss over its seeds (None: diverged/pruned)
    val_error: float | None
    seeds: tuple                      # its evaluations' seed keys
    rank: int | None = None
    test: TestScores | None = None
    baseline: Baseline | None = None
    improvement: Improvement | None = None

    @property
    def gain(self) -> tuple[float | None, float | None]:
        """The paired test-error gain over the canonical start and its 95% half-width (None
        where absent: no final scores, no baselines, every paired run diverged), both from the
        per-seed differences by ``interval.paired_interval`` — not the stored ``ci95``, which a
        folder written before that rule holds as 1.96·sd/√n."""
        if self.improvement is None:
            return None, None
        return paired_interval(self.improvement.test_error.values)

    @property
    def final(self) -> FinalScores | None:
        return None if self.test is None else FinalScores(self.test, self.baseline, self.improvement)

    def to_json(self) -> dict:
        d = {} if self.rank is None else {"rank": self.rank}
        d |= {"genome": self.genome.to_json(), "text": self.text, "fitness": dict(self.fitness),
              "diverged": self.diverged, "n_params": self.n_params, "val_loss": self.val_loss,
              "val_error": self.val_error, "seeds": [list(k) for k in self.seeds]}
        return d if self.test is None else d | self.final.to_json()

    @classmethod
    def from_json(cls, d, what: str = "hall-of-fame entry") -> "Entry":
        known = ("rank", "genome", "text", "fitness", "diverged", "n_params", "val_loss", "val_error", "seeds",
                 "test", "baseline", "improvement")
        d = _keys(d, known, what)
        fitness = d.get("fitness")
        if not isinstance(fitness, dict) or not all(isinstance(k, str) for k in fitness):
            raise ValueError(f"{what} has no fitness record")
        seeds = d.get("seeds")
        if not isinstance(seeds, list) or not all(isinstance(k, list) and all(checks.is_int(x) for x in k)
                                                  for k in seeds):
            raise ValueError(f"{what} has no list of seed keys")
        if not isinstance(d.get("diverged"), bool):
            raise ValueError(f"{what} has no diverged flag")
        final = FinalScores.from_json({k: d[k] for k in ("test", "baseline", "improvement") if k in d},
                                      f"{what}'s final scores") if "test" in d else None
        return cls(Genome.from_json(d.get("genome")), _text(d.get("text"), f"{what} text"),
                   {k: _number(v, f"{what} fitness {k}"[:80]) for k, v in fitness.items()}, d["diverged"],
                   None if d.get("n_params") is None else _count(d["n_params"], f"{what} n_params"),
                   _number(d.get("val_loss"), f"{what} val_loss"), _number(d.get("val_error"), f"{what} val_error"),
                   tuple(tuple(k) for k in seeds),
                   None if d.get("rank") is None else _count(d["rank"], f"{what} rank"),
                   *(final.test, final.baseline, final.improvement) if final else ())


@dataclass(frozen=True)
class SearchResult:
    """What a search leaves: the hall of fame (best first), the logbook, and where the files are."""

    config: SearchConfig
    hall_of_fame: tuple           # Entry values, best first
    logbook: list                 # one dict per generation
    run_dir: Path | None
    finished: bool
    evaluations: int = 0          # lines in the evaluations log (the final scoring included)
    trainings: int = 0            # networks the search trained to choose (the final scoring excluded)
    by_model: bool = False        # the hall of fame is in the surrogate's order (``config.ranks_by_model``)
    test_rows: str | None = None  # which rows the final test scores used (``data.dataset.test_rows``)
    networks: tuple = ()          # the hall of fame's kept networks, best first (``ga.kept.Network``)

    @property
    def best(self) -> Entry:
        """The best setup found: ``result.best.genome``, ``result.best.test.error.mean``."""
        return self.hall_of_fame[0]


@dataclass
class Progress:
    """What a callback receives: ``kind`` is "start", "evaluated", "generation" or "final";
    ``objective`` names the first objective (what the row's ``min`` and ``median`` measure)."""

    kind: str
    generation: int
    generations: int
    done: int = 0
    total: int = 0
    row: dict = field(default_factory=dict)
    objective: str | None = None


@dataclass(frozen=True)
class Candidate:
    """One genome of a random search: its fitness (every objective) and the evaluations behind it."""

    genome: Genome
    fitness: tuple
    evaluations: tuple


def logbook_row(g: int, evals: list[Evaluation], valid: list, population: list, best: str,
                pruning: bool = False) -> dict:
    """Generation ``g``'s statistics: over its new evaluations (counts; ``pruned`` too when
    ``pruning``), over the population's ``valid`` (neither diverged nor pruned) individuals (first
    objective and validation error), ``unique`` gene lists, and the ``best`` setup so far."""
    f0 = [ind.fitness.values[0] for ind in valid]
    errors = [statistics.fmean(e.final_val_error for e in ind.evals) for ind in valid]
    pruned = {"pruned": sum(e.pruned for e in evals)} if pruning else {}
    return {"gen": g, "nevals": len(evals), "diverged": sum(e.diverged for e in evals),
            "degenerate": sum(e.status == "degenerate" for e in evals), **pruned,
            "min": min(f0, default=None), "median": statistics.median(f0) if f0 else None,
            "mean": statistics.fmean(f0) if f0 else None, "max": max(f0, default=None),
            "std": statistics.pstdev(f0) if f0 else None,
            "best_error": min(errors, default=None),
            "error_std": statistics.pstdev(errors) if errors else None,
            "unique": len({tuple(ind) for ind in population}), "best": best}
