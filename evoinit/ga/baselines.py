"""The end of a search: the hall of fame scored once on the test split, each setup against the
canonical start for its activation (Glorot for saturating units, He for rectifiers, LeCun for
SELU) at the same widths and learning rate, both trained from the same seeds, so every
comparison is paired by seed.
"""

from __future__ import annotations

import math
import statistics

from evoinit import seeding
from evoinit.ga import backends
from evoinit.ga.config import CANONICAL_INIT, SearchConfig
from evoinit.ga.evaluate import objective_values, run_tasks
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome
from evoinit.ga.interval import paired_interval, t95  # noqa: F401  (t95: the verdict's rule, importable here)
from evoinit.ga.results import (
    Baseline,
    Candidate,
    FinalScores,
    Improvement,
    Stats,
    TestScores,
)


def canonical(genome: Genome) -> Genome:
    """The textbook start for ``genome``'s activation at its widths: scale 1, no seed gene."""
    return Genome(genome.hidden, genome.activation, CANONICAL_INIT[genome.activation], 1.0,
                  genome.learning_rate)


def final_keys(config: SearchConfig) -> list[tuple]:
    return [(seeding.FINAL, r) for r in range(config.repeats)]


def _stats(values: list, ci95: bool = False) -> Stats:
    finite = [v for v in values if v is not None and math.isfinite(v)]
    half = paired_interval(values)[1] if ci95 else None
    return Stats(tuple(values), statistics.fmean(finite) if finite else None,
                 statistics.pstdev(finite) if len(finite) > 1 else (0.0 if finite else None), len(finite), half)


def _scores(evals: list[Evaluation]) -> TestScores:
    return TestScores(_stats([e.test_loss for e in evals]), _stats([e.test_error for e in evals]),
                      _stats([e.final_val_loss if not e.diverged else None for e in evals]),
                      sum(e.diverged for e in evals))


def _paired(ours: list[Evaluation], theirs: list[Evaluation], attr: str) -> Stats:
    """Baseline minus ours, per seed where both finished: positive means the search found better."""
    diffs = [getattr(b, attr) - getattr(a, attr) for a, b in zip(ours, theirs)
             if getattr(a, attr) is not None and getattr(b, attr) is not None]
    return _stats(diffs, ci95=True)


def score_hall_of_fame(genomes: list[Genome], config: SearchConfig, data, *, parallel=None,
                       progress=None) -> tuple[list[FinalScores], list[tuple[Genome, tuple, Evaluation]]]:
    """Train each hall-of-fame genome and its canonical baseline from the FINAL seeds and score
    them on the test split. Returns one ``FinalScores`` per genome and every (genome, key, evaluation)."""
    keys = final_keys(config)
    plain = [g.with_(seed=None) for g in genomes]
    wanted = list(dict.fromkeys(plain + ([canonical(g) for g in plain] if config.baselines else [])))
    tasks = [(g, k) for g in wanted for k in keys]
    evals = run_tasks(tasks, data, config.train, config.seed, parallel=parallel, test=True,
                      progress=progress)
    by_genome = {g: evals[i * len(keys):(i + 1) * len(keys)] for i, g in enumerate(wanted)}
    scored = []
    for g in plain:
        if not config.baselines:
            scored.append(FinalScores(_scores(by_genome[g])))
            continue
        base = canonical(g)
        ours, theirs = by_genome[g], by_genome[base]
        scored.append(FinalScores(_scores(ours), Baseline(base, str(base), _scores(theirs)),
                                  Improvement(_paired(ours, theirs, "test_loss"), _paired(ours, theirs, "test_error"))))
    return scored, [(t[0], t[1], e) for t, e in zip(tasks, evals)]


def verdict(hall_of_fame, test_rows: str | None = None) -> str | None:
    """One line on whether the search paid off: the best setup against the canonical start at its
    widths, paired by seed on the test split — beyond noise (the paired gain's 95% t-interval
    excludes 0; at least 3 seeds), by how much, or that the canonical start is enough here; it
    names the test rows when ``test_rows`` says which (``data.dataset.test_rows``). None without
    the final scores (a search that skipped them, or without baselines)."""
    best = hall_of_fame[0] if hall_of_fame else None
    if best is None or best.improvement is None:
        return None
    m, half = best.gain
    n = sum(1 for d in best.improvement.test_error.values if d is not None and math.isfinite(d))
    ours, theirs = best.test.error.mean, best.baseline.test.error.mean
    if not n or ours is None or theirs is None:
        return None
    numbers = f"test error {ours:.4f} vs {theirs:.4f} for {best.baseline.text}"
    if test_rows:
        numbers += f" on {test_rows}"
    if n < 3:
        return (f"Cannot tell yet whether the search beat the canonical start ({numbers} on {n} "
                "seed(s)): --repeats 3 or more tells.")
    paired = f"gain {m:+.4f} ± {half:.4f}, paired over {n} seeds"
    if m - half > 0:
        relative = f", {m / theirs:.0%} of its errors gone" if theirs > 0 else ""
        return f"The search paid off: the best setup beat the canonical start beyond noise ({numbers}; {paired}{relative})."
    if m + half < 0:
        return f"The canonical start is enough here: it beat the best setup found ({numbers}; {paired})."
    return f"The canonical start is enough here: the best setup is within noise of it ({numbers}; {paired})."


def random_search(config: SearchConfig, n_genomes: int, *, n_jobs: int = 1) -> list[Candidate]:
    """The control for the GA: ``n_genomes`` genomes drawn from the same space, evaluated with the
    same repeats and settings (distinct seeds), in the order they were drawn; ``n_genomes ×
    repeats`` trainings, no more."""
    rng = seeding.generator(seeding.child(seeding.root(config.seed), seeding.GA, 1))
    genomes = [config.space.sample(rng) for _ in range(n_genomes)]
    tasks = [(g, (seeding.DISTINCT, 10**9 + i, r)) for i, g in enumerate(genomes)
             for r in range(config.repeats)]
    with backends.parallel(n_jobs) as parallel:
        evals = run_tasks(tasks, config.dataset, config.train, config.seed, parallel=parallel)
    out = []
    for i, g in enumerate(genomes):
        mine = tuple(evals[i * config.repeats:(i + 1) * config.repeats])
        out.append(Candidate(g, objective_values(g, mine, config.objectives), mine))
    return out
