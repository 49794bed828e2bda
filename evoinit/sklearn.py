"""scikit-learn estimators over evoinit: ``EvoMLPClassifier`` and ``EvoMLPRegressor``.

Each trains one evoinit setup — a :class:`~evoinit.genome.Genome` (hidden widths, activation,
init scheme and its scale) — with evoinit's own NumPy trainer, so an estimator fitted with
``random_state=s`` starts from exactly the weights ``evoinit train --seed s`` gives its first
seed. With ``search=True`` (or a ``search_budget``) ``fit`` first runs an evoinit search on the
data it is given and then refits the best setup found. They follow scikit-learn's conventions:
the constructor only stores parameters, which are checked in ``fit``; fitted attributes end in
``_``; they clone, pickle, and work in ``Pipeline``, ``cross_val_score`` and ``GridSearchCV``.

Decisions, as scikit-learn's ``MLPClassifier`` makes them:

- Features are *not* scaled: an MLP on raw features is a user choice, so put a
  ``StandardScaler`` in front (``make_pipeline(StandardScaler(), EvoMLPClassifier())``).
  Regression targets are standardised inside ``fit`` (training-row mean and std) and the scaling
  is folded back into the output layer, so ``coefs_``/``intercepts_`` predict in the target's
  units and the learning rate does not depend on them.
- ``validation_fraction=None`` (default) trains on every row given. A fraction holds that share
  out (stratified for the classifier) and records ``validation_scores_`` per epoch; the search
  always needs held-out rows and uses ``validation_fraction or 0.2`` for its validation and test
  parts, while the final refit follows ``validation_fraction``.
- A run that diverges (NaN/inf loss or exploding weights) raises ``ValueError`` naming the
  epoch and what to try, as scikit-learn's SGD estimators do; ``GridSearchCV`` records it as a
  failed fit.

Weights are in Keras/scikit-learn orientation: ``coefs_[l]`` is ``(fan_in, fan_out)``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import replace

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from evoinit import data as _data
from evoinit import seeding
from evoinit.errors import EvoinitError
from evoinit.evaluate import train_genomes
from evoinit.genome import Genome, SearchSpace
from evoinit.network import DTYPES, OPTIMIZERS, TrainSettings, predict as _forward

#: The setup trained when no genome is given (and no search asked for).
DEFAULT_GENOME = "64 tanh glorot_uniform ×1"
#: The search budget used by ``search=True``; an int budget sets the generations.
DEFAULT_BUDGET = {"population": 12, "generations": 4, "repeats": 1}
BUDGET_KEYS = ("population", "generations", "repeats", "epochs", "space")
#: Training rows the trainer's per-epoch divergence check runs on when nothing is held out.
_CHECK_ROWS = 256


class _EvoMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, checks, training, the search."""

    _task = ""  # "classification" or "regression", set by the subclasses

    def __init__(self, genome=None, *, epochs=50, batch_size=32, optimizer="sgd",
                 learning_rate=0.05, momentum=0.9, nesterov=False, weight_decay=0.0,
                 dtype="float32", validation_fraction=None, search=False, search_budget=None,
                 n_jobs=None, random_state=None):
        self.genome = genome
        self.epochs = epochs
        self.batch_size = batch_size
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.nesterov = nesterov
        self.weight_decay = weight_decay
        self.dtype = dtype
        self.validation_fraction = validation_fraction
        self.search = search
        self.search_budget = search_budget
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- parameters, checked once per fit --------------------------------------------------------

    def _fail(self, message: str):
        return ValueError(f"{type(self).__name__}: {message}")

    def _check_number(self, name: str, low, high=math.inf, *, integer=False, low_open=False,
                      high_open=False):
        value = getattr(self, name)
        kind = numbers.Integral if integer else numbers.Real
        ok = isinstance(value, kind) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and (value > low if low_open else value >= low) and (value < high if high_open else value <= high)
        if not ok:
            lo = f"{'(' if low_open else '['}{low:g}"
            hi = f"{high:g}{')' if high_open else ']'}" if math.isfinite(high) else "inf)"
            raise self._fail(f"{name} must be {'an integer' if integer else 'a number'} in {lo}, {hi}, "
                             f"got {value!r}")
        return value

    def _settings(self) -> TrainSettings:
        """The ``TrainSettings`` the parameters name, each checked with a message naming it."""
        self._check_number("epochs", 1, integer=True)
        self._check_number("batch_size", 1, integer=True)
        self._check_number("learning_rate", 0, low_open=True)
        self._check_number("momentum", 0, 1, high_open=True)
        self._check_number("weight_decay", 0)
        if self.optimizer not in OPTIMIZERS:
            raise self._fail(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.dtype not in DTYPES:
            raise self._fail(f"dtype must be one of {', '.join(DTYPES)}, got {self.dtype!r}")
        for name in ("nesterov", "search"):
            if not isinstance(getattr(self, name), (bool, np.bool_)):
                raise self._fail(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.validation_fraction is not None:
            self._check_number("validation_fraction", 0, 1, low_open=True, high_open=True)
        if self.n_jobs is not None and not isinstance(self.n_jobs, numbers.Integral):
            raise self._fail(f"n_jobs must be None or an integer, got {self.n_jobs!r}")
        return TrainSettings(epochs=int(self.epochs), batch_size=int(self.batch_size),
                             optimizer=self.optimizer, learning_rate=float(self.learning_rate),
                             momentum=float(self.momentum), nesterov=bool(self.nesterov),
                             weight_decay=float(self.weight_decay), dtype=self.dtype)

    def _genome(self) -> Genome:
        """The genome to train: ``genome`` (a Genome or its string form), else the default."""
        if isinstance(self.genome, Genome):
            return self.genome
        if self.genome is None or isinstance(self.genome, str):
            try:
                return Genome.parse(DEFAULT_GENOME if self.genome is None else self.genome)
            except EvoinitError as e:
                raise self._fail(f"genome: {e}") from None
        raise self._fail(f"genome must be a Genome, its string form such as {DEFAULT_GENOME!r}, or None; "
                         f"got {self.genome!r}")

    def _searching(self) -> bool:
        return bool(self.search) or self.search_budget is not None

    def _budget(self) -> dict:
        """``search_budget`` as a dict of the search's arguments: None gives ``DEFAULT_BUDGET``,
        an int the number of generations, a dict any of ``BUDGET_KEYS`` (``space`` a
        ``SearchSpace`` or its JSON dict)."""
        budget = dict(DEFAULT_BUDGET)
        value = self.search_budget
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = {"generations": value}
        if value is not None and not isinstance(value, dict):
            raise self._fail(f"search_budget must be None, an int (generations) or a dict with keys "
                             f"{', '.join(BUDGET_KEYS)}; got {value!r}")
        unknown = sorted(set(value or {}) - set(BUDGET_KEYS))
        if unknown:
            raise self._fail(f"search_budget has unknown key(s) {', '.join(map(str, unknown))}; "
                             f"known: {', '.join(BUDGET_KEYS)}")
        budget.update(value or {})
        for key, low in (("population", 2), ("generations", 0), ("repeats", 1), ("epochs", 1)):
            v = budget.get(key)
            if v is not None and (not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < low):
                raise self._fail(f"search_budget['{key}'] must be an integer >= {low}, got {v!r}")
        space = budget.get("space")
        if isinstance(space, dict):
            try:
                budget["space"] = SearchSpace.from_json(space)
            except (EvoinitError, KeyError, TypeError) as e:
                raise self._fail(f"search_budget['space'] is not a search space: {e}") from None
        elif space is not None and not isinstance(space, SearchSpace):
            raise self._fail(f"search_budget['space'] must be a SearchSpace or its JSON dict, got {space!r}")
        return budget

    def _seed(self) -> int:
        """The root seed of this fit: ``random_state`` itself when it is an int (so the same int
        gives the weights ``evoinit train --seed`` gives), else a draw from it (None: fresh)."""
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            check_random_state(rs)  # the same range check and message scikit-learn gives
            return int(rs)
        return int(check_random_state(rs).randint(0, 2**31 - 1))

    # -- fitting -----------------------------------------------------------------------------------

    def _arrays(self, X, y, *, seed: int, val_size: float, test_size: float):
        """An evoinit ``Dataset`` of the fit's rows, features unscaled."""
        try:
            return _data.from_arrays(X, y, task=self._task, seed=seed, val_size=val_size,
                                     test_size=test_size, name=f"{type(self).__name__} data",
                                     scale_features=False)
        except EvoinitError as e:
            raise self._fail(str(e)) from None

    def _fit(self, X, y):
        """Search (if asked), train, and set the fitted attributes; ``y`` is validated and, for
        the classifier, encoded 0..K-1."""
        settings = self._settings()
        seed = self._seed()
        if self._searching():
            if self.genome is not None:
                raise self._fail("give either a genome or a search (search=True / search_budget), not both")
            budget = self._budget()
            share = self.validation_fraction or 0.2
            found = self._arrays(X, y, seed=seed, val_size=share, test_size=share)
            try:
                genome, searched = _search_best(found, settings=settings, budget=budget, seed=seed,
                                                n_jobs=self.n_jobs)
            except EvoinitError as e:
                raise self._fail(f"search: {e}") from None
        else:
            genome, searched = self._genome(), None
        ds = self._arrays(X, y, seed=seed, val_size=self.validation_fraction or 0.0, test_size=0.0)
        held_out = bool(self.validation_fraction)
        if not held_out:
            head = slice(0, min(len(ds.y_train), _CHECK_ROWS))
            ds = replace(ds, X_val=ds.X_train[head], y_val=ds.y_train[head])
        try:
            result = train_genomes([genome], [(seeding.TRAIN, 0)], ds, settings, seed)[0]
        except EvoinitError as e:
            raise self._fail(str(e)) from None
        if result.diverged:
            raise self._fail(
                f"training {genome} diverged at epoch {result.diverged_epoch} (the loss became NaN/inf "
                f"or a weight passed {settings.weight_limit:g}); try a smaller learning_rate or genome "
                "scale, or scale the inputs (e.g. with StandardScaler in a Pipeline)")
        coefs, intercepts = list(result.weights), list(result.biases)
        if ds.y_scale is not None:  # fold the target standardisation into the output layer
            coefs[-1] = coefs[-1] * ds.y_scale
            intercepts[-1] = intercepts[-1] * ds.y_scale + ds.y_mean
        self.genome_ = genome
        self.search_result_ = searched
        self.seed_ = seed
        self.coefs_ = coefs
        self.intercepts_ = intercepts
        self.n_layers_ = len(coefs) + 1
        self.n_outputs_ = int(coefs[-1].shape[1])
        self.n_iter_ = result.epochs
        self.loss_curve_ = [float(v) for v in result.train_loss]
        self.loss_ = self.loss_curve_[-1]
        metric = result.val_metric if self._task == "regression" else 1.0 - result.val_metric
        self.validation_scores_ = [float(v) for v in metric] if held_out else None
        return self

    def _output(self, X) -> np.ndarray:
        """The output layer (logits, or values in the target's units) for validated ``X``."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return _forward(self.coefs_, self.intercepts_, X, activation=self.genome_.activation)


class EvoMLPClassifier(ClassifierMixin, _EvoMLP):
    """A multilayer perceptron classifier started and trained the evoinit way.

    Parameters
    ----------
    genome : Genome, str or None, default=None
        The setup, e.g. ``"64-32 relu he_normal ×2"`` (see ``Genome.parse``); None trains
        ``DEFAULT_GENOME`` (``64 tanh glorot_uniform ×1``), or, with a search, what it finds.
    epochs, batch_size, optimizer ("sgd" or "adam"), learning_rate, momentum, nesterov,
    weight_decay, dtype ("float32" or "float64") : evoinit's ``TrainSettings``. A genome's own
        learning-rate gene overrides ``learning_rate``.
    validation_fraction : float in (0, 1) or None, default=None
        None trains on every row. A fraction holds that share out (stratified) and records
        ``validation_scores_`` (accuracy per epoch).
    search : bool, default=False
        Run an evoinit search on the data in ``fit`` and refit the best setup.
    search_budget : int, dict or None, default=None
        Implies ``search``. An int is the number of generations; a dict may set ``population``,
        ``generations``, ``repeats``, ``epochs`` (of the search's trainings) and ``space``
        (a ``SearchSpace`` or its JSON dict). Defaults: ``DEFAULT_BUDGET``.
    n_jobs : int or None, default=None
        Processes for the search (None: 1). The result does not depend on it.
    random_state : int, RandomState instance or None, default=None
        An int is the root seed (the same weights and minibatch order as ``evoinit train
        --seed`` gives its first seed); None draws a fresh one per fit.

    Attributes
    ----------
    classes_ : labels seen in ``fit``, sorted. genome_ : the Genome trained. seed_ : the root seed.
    coefs_, intercepts_ : weights ``(fan_in, fan_out)`` and biases per layer. n_layers_, n_outputs_,
    n_iter_ (epochs run), loss_, loss_curve_ (training cross-entropy per epoch),
    validation_scores_ (or None), search_result_ (the SearchResult, or None),
    n_features_in_, feature_names_in_.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> model = make_pipeline(StandardScaler(), EvoMLPClassifier("32 relu he_normal ×1", random_state=0))
    """

    _task = "classification"

    def fit(self, X, y):
        """Train on ``X`` ``(n, d)`` and labels ``y`` ``(n,)`` (any sortable labels)."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2)
        check_classification_targets(y)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise self._fail(f"needs samples of at least 2 classes in the data, but the data contains "
                             f"only one class: {classes[0]!r}")
        self._fit(X, codes)
        self.classes_ = classes
        return self

    def predict(self, X):
        """The most probable class of each row."""
        logits = self._output(X)
        return self.classes_[np.argmax(logits, axis=1)]

    def predict_proba(self, X):
        """Class probabilities ``(n, n_classes)``: the softmax of the network's logits."""
        z = self._output(X)
        z -= z.max(axis=1, keepdims=True)
        np.exp(z, out=z)
        z /= z.sum(axis=1, keepdims=True)
        return z

    def predict_log_proba(self, X):
        """Log of ``predict_proba``, computed stably (log-softmax)."""
        z = self._output(X)
        z -= z.max(axis=1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


class EvoMLPRegressor(RegressorMixin, _EvoMLP):
    """A multilayer perceptron regressor started and trained the evoinit way.

    Parameters are those of :class:`EvoMLPClassifier`; ``validation_fraction`` records R² per
    epoch. ``y`` may be ``(n,)`` or ``(n, k)`` (several targets); predictions have the same
    number of columns (one target gives ``(n,)``). Targets are standardised inside ``fit`` and
    mapped back in the output layer, so ``loss_curve_`` (½·squared error summed over targets) is in
    units of the targets' standard deviation.

    Examples
    --------
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> model = make_pipeline(StandardScaler(), EvoMLPRegressor("32 tanh glorot_uniform ×1", random_state=0))
    """

    _task = "regression"

    def fit(self, X, y):
        """Train on ``X`` ``(n, d)`` and numeric targets ``y`` ``(n,)`` or ``(n, k)``."""
        X, y = validate_data(self, X, y, dtype=np.float64, ensure_min_samples=2, multi_output=True,
                             y_numeric=True)
        return self._fit(X, y)

    def predict(self, X):
        """Predicted targets ``(n,)``, or ``(n, k)`` for several."""
        out = self._output(X)
        return out[:, 0] if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


def _search_best(dataset, *, settings: TrainSettings, budget: dict, seed: int, n_jobs):
    """(best genome, SearchResult) of an evoinit search on ``dataset`` (a ``Dataset`` from
    ``data.from_arrays``, features as given): the budget's population, generations, repeats and
    space, trained with the estimator's settings (the budget's epochs, if any), seeded from the
    fit's seed, in memory (no run folder, no baselines)."""
    from evoinit.search import search  # here: an estimator given a genome never loads DEAP

    options = {"population": budget["population"], "generations": budget["generations"],
               "repeats": budget["repeats"], "seed": seed, "baselines": False,
               "train": replace(settings, epochs=int(budget.get("epochs") or settings.epochs))}
    if budget.get("space") is not None:
        options["space"] = budget["space"]
    result = search(dataset, n_jobs=n_jobs or 1, out=None, **options)
    if not result.hall_of_fame:
        raise ValueError("the search found no setup that trains without diverging; try a smaller "
                         "learning_rate, or scale the inputs (e.g. with StandardScaler in a Pipeline)")
    return result.best, result
