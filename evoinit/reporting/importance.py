"""Which genes mattered: how much of the fitness variance each gene explains, from a search's log.

What is measured. Each finished evaluation is one row: its genes (init scheme, activation,
log₂ scale, depth, log₂ of the geometric-mean width, log₁₀ learning rate when the learning rate is
a gene) and its fitness (the log of the final validation loss, or the validation error, of that
one training run: losses span decades, and on a linear scale a handful of runs that nearly blew
up would be all the variance there is). A random forest (scikit-learn) is fitted on a bootstrap resample of the rows and scored on
the rows left out of it (out-of-bag); a gene's importance is half the drop in that out-of-bag R²
when the gene's column is shuffled (``sklearn.inspection.permutation_importance``), R² taken as
1 − MSE / Var(fitness over all rows) so that every resample is on the same scale. Why half: when
the fitness is a sum of per-gene effects and the genes vary independently, shuffling gene j
loses its effect's variance *and* adds it back as noise, so the drop is 2·Var(effect_j)/Var(fitness);
half of it is then exactly the share of the fitness variance the gene explains, and 0 for a gene
the fitness does not depend on. Repeating over bootstrap resamples gives the mean and a 95% percentile
interval. ``r2`` is the out-of-bag R² of the forest with every gene: the share of the variance
the genes explain together; the rest is seed noise (same genome, other seed) and what the forest
misses.

Caveats, read before quoting a number:

- **Correlated genes share the credit.** When two genes move together in the log (the GA settled
  on sigmoid *and* on ``normal`` at once), shuffling one leaves the other to carry the
  information, and both look less important than they are. The opposite happens too: shuffling
  puts genes together in combinations the search never visited, where the forest extrapolates
  badly, and a gene can then seem to explain more than ``r2``. With interactions or correlated
  genes the importances do not add up to ``r2``: read them as a ranking with sizes and
  intervals, not as shares of a whole.
- **The GA does not sample uniformly.** Selection concentrates the later generations on good
  regions, so the importance describes the part of the space the search visited, weighted by how
  long it stayed there: a gene the GA fixed early looks unimportant because it barely varies,
  even if changing it would hurt. A random search's log measures the whole space.
- **Diverged evaluations are left out** (their fitness is infinite; they are counted in
  ``excluded``): a gene that mostly decides *whether* training diverges is under-rated here.
- Importance is association in the visited data, not an intervention, and the fitness is each
  run's own (one seed), not the mean over repeats the GA ranks by.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

#: Gene names as reported, in the order of the feature table.
GENES = ("scheme", "activation", "scale", "depth", "widths", "learning_rate")
_CATEGORICAL = ("scheme", "activation")
FITNESS = ("val_loss", "val_error")
MIN_ROWS = 20


@dataclass(frozen=True)
class GeneImportance:
    """Per gene: share of the fitness variance explained (half the drop in out-of-bag R² when the
    gene is shuffled; see the module docstring), mean and 95% interval over bootstrap resamples."""

    genes: tuple
    importance: tuple
    low: tuple
    high: tuple
    r2: float             # out-of-bag R² with every gene (mean over resamples)
    n: int                # evaluations used
    excluded: int         # diverged evaluations left out
    fitness: str          # "val_loss" or "val_error"
    resamples: int

    def ranked(self) -> list[dict]:
        """One dict per gene, most important first."""
        rows = [{"gene": g, "importance": m, "low": lo, "high": hi}
                for g, m, lo, hi in zip(self.genes, self.importance, self.low, self.high)]
        return sorted(rows, key=lambda r: -r["importance"])

    def to_json(self) -> dict:
        return {"fitness": self.fitness, "r2": self.r2, "n": self.n, "excluded": self.excluded,
                "resamples": self.resamples, "genes": self.ranked()}


def feature_table(evaluations: Sequence) -> tuple[np.ndarray, list[str], list[list[str]]]:
    """(X, gene names, category names per categorical gene) for evaluations (anything with a
    ``genome``). Categorical genes are integer codes; the learning rate is a column only when
    some genome has one."""
    genomes = [e.genome for e in evaluations]
    with_lr = any(g.learning_rate is not None for g in genomes)
    names = [g for g in GENES if g != "learning_rate" or with_lr]
    categories = [sorted({getattr(g, "init" if c == "scheme" else c) for g in genomes}) for c in _CATEGORICAL]
    codes = [{name: i for i, name in enumerate(cats)} for cats in categories]
    X = np.empty((len(genomes), len(names)))
    for i, g in enumerate(genomes):
        row = [codes[0][g.init], codes[1][g.activation], math.log2(max(g.scale, 2.0**-30)),
               len(g.hidden), float(np.mean(np.log2(g.hidden)))]
        if with_lr:
            row.append(math.log10(g.learning_rate) if g.learning_rate else 0.0)
        X[i] = row
    return X, names, categories


def _model(n_categorical: int, trees: int, seed: int):
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    onehot = ColumnTransformer([("categorical", OneHotEncoder(handle_unknown="ignore"),
                                 list(range(n_categorical)))], remainder="passthrough",
                               sparse_threshold=0)
    forest = RandomForestRegressor(n_estimators=trees, min_samples_leaf=3, random_state=seed, n_jobs=1)
    return make_pipeline(onehot, forest)


def fitness_of(evaluation, fitness: str = "val_loss") -> float:
    """The one-run fitness importance explains: final validation loss or error (inf if diverged)."""
    return evaluation.final_val_error if fitness == "val_error" else evaluation.final_val_loss


def gene_importance(evaluations: Sequence, *, fitness: str = "val_loss", resamples: int = 20,
                    trees: int = 30, repeats: int = 3, rng: np.random.Generator | None = None
                    ) -> GeneImportance:
    """Importance of each gene for ``fitness`` over ``evaluations`` (see the module docstring).

    ``evaluations`` are ``Evaluation`` records of the search's generations (not the final test
    scoring); diverged ones are dropped. ``resamples`` bootstrap resamples, a forest of ``trees``
    each, ``repeats`` shuffles per gene. Randomness comes from ``rng`` (default: seeded 0, so a
    report is the same every time). Fewer than 20 finished evaluations is a ``ValueError``."""
    from sklearn.inspection import permutation_importance

    if fitness not in FITNESS:
        raise ValueError(f"fitness must be one of {', '.join(FITNESS)}, got {fitness!r}")
    rng = rng if rng is not None else np.random.default_rng(0)
    kept = [e for e in evaluations if not e.diverged and math.isfinite(fitness_of(e, fitness))]
    if len(kept) < MIN_ROWS:
        raise ValueError(f"gene importance needs at least {MIN_ROWS} finished evaluations, got {len(kept)}")
    X, names, _ = feature_table(kept)
    y = np.array([fitness_of(e, fitness) for e in kept])
    if fitness == "val_loss":
        y = np.log(np.maximum(y, 1e-12))   # losses span decades: one blown-up run must not be all the variance
    variance = float(np.var(y))
    if variance == 0:
        raise ValueError("gene importance: the fitness does not vary over the evaluations")

    def explained(model, X_, y_) -> float:
        """1 − MSE / Var(fitness over every row): R² on a common scale, so that a resample whose
        left-out rows happen to vary little does not blow the ratio up."""
        return 1.0 - float(np.mean((model.predict(X_) - y_) ** 2)) / variance

    drops, scores = [], []
    for _ in range(resamples):
        seed = int(rng.integers(2**31))
        train = rng.integers(0, len(y), len(y))
        held = np.setdiff1d(np.arange(len(y)), train)
        if len(held) < 5:
            continue
        model = _model(len(_CATEGORICAL), trees, seed).fit(X[train], y[train])
        scores.append(explained(model, X[held], y[held]))
        result = permutation_importance(model, X[held], y[held], scoring=explained, n_repeats=repeats,
                                        random_state=seed, n_jobs=1)
        drops.append(result.importances_mean / 2)
    if not drops:
        raise ValueError("gene importance: too few evaluations left out of every resample")
    drops = np.array(drops)
    return GeneImportance(tuple(names), tuple(drops.mean(0).tolist()),
                          tuple(np.percentile(drops, 2.5, axis=0).tolist()),
                          tuple(np.percentile(drops, 97.5, axis=0).tolist()),
                          float(np.mean(scores)), len(kept), len(evaluations) - len(kept), fitness,
                          len(drops))
