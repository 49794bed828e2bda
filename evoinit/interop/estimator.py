"""What the scikit-learn estimators of ``evoinit.sklearn`` share: parameters and their checks,
the rows and targets a fit trains on, training (fresh, or on from a saved ``TrainState``), the
search in ``fit`` and its refit, and the fitted attributes. Users import ``evoinit.sklearn``."""

from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import replace

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import (
    _check_sample_weight,
    check_is_fitted,
    validate_data,
)

from evoinit import checks, seeding
from evoinit import data as _data
from evoinit.errors import EvoinitError, quoted
from evoinit.ga.config import SearchConfig
from evoinit.ga.evaluate import start_and_order, task_seed
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.interop.fit import (
    _is_float,
    _refused,
    _Rows,
    _search,
    _start,
    _target_stats,
)
from evoinit.nn.network import continue_training, layer_sizes
from evoinit.nn.single import predict as _forward
from evoinit.nn.training import TrainSettings

#: The setup trained when no genome is given (and no search asked for).
DEFAULT_GENOME = "64 tanh glorot_uniform ×1"
#: The search budget used by ``search=True``; an int budget sets the generations.
DEFAULT_BUDGET = {"population": 12, "generations": 4, "repeats": 1}
BUDGET_KEYS = ("population", "generations", "repeats", "epochs", "space")
#: Training rows the trainer's per-epoch divergence check runs on when nothing is held out.
_CHECK_ROWS = 256
#: Rows of sparse X made dense at a time in predict.
_PREDICT_ROWS = 4096
#: The scikit-learn estimator checks these estimators fail, and why (pass it to
#: ``check_estimator(..., expected_failed_checks=...)``).
_MINIBATCH = ("minibatch training: with batch_size below the rows, a row of weight k is not k copies "
              "of it (the copies make more, other batches per epoch); with one batch (batch_size >= "
              "rows, as in scikit-learn's MLP on the check's 15 rows) the two agree, see tests/test_sklearn.py")
EXPECTED_FAILED_CHECKS = {"check_sample_weight_equivalence_on_dense_data": _MINIBATCH,
                          "check_sample_weight_equivalence_on_sparse_data": _MINIBATCH}


class _EvoMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, checks, training, the search."""

    _task = ""  # "classification" or "regression", set by the subclasses
    #: Sparse X is made dense for training (the trainer's minibatch products are dense); beyond
    #: this many bytes of float64 the fit stops with a clear error instead of exhausting memory.
    dense_limit_bytes = 1 << 30

    def __init__(self, genome=None, *, epochs=50, batch_size=32, optimizer="sgd",
                 learning_rate=0.05, momentum=0.9, nesterov=False, weight_decay=0.0,
                 dtype="float32", validation_fraction=None, warm_start=False, search=False,
                 search_budget=None, n_jobs=None, random_state=None):
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
        self.warm_start = warm_start
        self.search = search
        self.search_budget = search_budget
        self.n_jobs = n_jobs
        self.random_state = random_state

    @classmethod
    def from_run(cls, run, rank: int = 1):
        """The estimator holding kept network ``rank`` (1 = best) of a search's run folder, fitted
        and ready to ``predict`` raw rows (the search's input scaling is folded in); its ``network_``
        is the ``ga.kept.Network`` with its seed key. A folder without it is a ``RunFolderError``."""
        from evoinit.interop.loaded import from_run

        return from_run(cls, run, rank)

    # -- parameters, checked once per fit --------------------------------------------------------

    def _fail(self, message: str):
        return ValueError(f"{type(self).__name__}: {message}")

    def _settings(self) -> TrainSettings:
        """The ``TrainSettings`` the parameters name, then the estimator's own parameters: each
        value checked once, where it is built, and refused in scikit-learn's words."""
        try:
            settings = TrainSettings(epochs=self.epochs, batch_size=self.batch_size, optimizer=self.optimizer,
                                     learning_rate=self.learning_rate, momentum=self.momentum,
                                     nesterov=self.nesterov, weight_decay=self.weight_decay, dtype=self.dtype)
            for name in ("warm_start", "search"):
                checks.flag(name, getattr(self, name))
            if self.validation_fraction is not None:
                checks.number("validation_fraction", self.validation_fraction, 0, 1, low_open=True, high_open=True)
        except checks.BadValue as e:
            raise self._fail(_refused(e)) from None
        if self.n_jobs is not None and not isinstance(self.n_jobs, numbers.Integral):
            raise self._fail(f"n_jobs must be None or an integer, got {self.n_jobs!r}")
        return settings

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

    def _budget(self, settings: TrainSettings, seed: int) -> SearchConfig:
        """``search_budget`` as the search's config: None gives ``DEFAULT_BUDGET``, an int the
        number of generations, a dict any of ``BUDGET_KEYS`` (``space`` a ``SearchSpace`` or its
        JSON dict); the numbers are checked where they are built (``SearchConfig``, the epochs by
        ``TrainSettings``). The search runs in memory (no run folder, no baselines), seeded from
        the fit's seed, with the estimator's training settings."""
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
        space = budget.get("space")
        if isinstance(space, dict):
            try:
                space = SearchSpace.from_json(space)
            except (EvoinitError, KeyError, TypeError) as e:
                raise self._fail(f"search_budget['space'] is not a search space: {e}") from None
        elif space is not None and not isinstance(space, SearchSpace):
            raise self._fail(f"search_budget['space'] must be a SearchSpace or its JSON dict, got {space!r}")
        try:
            train = settings if budget.get("epochs") is None else replace(settings, epochs=budget["epochs"])
            return SearchConfig(dataset=None, population=budget["population"], generations=budget["generations"],
                                repeats=budget["repeats"], seed=seed, baselines=False, train=train,
                                **({} if space is None else {"space": space}))
        except checks.BadValue as e:
            raise self._fail(_refused(e, f"search_budget['{e.name}']", inequality=True)) from None
        except EvoinitError as e:
            raise self._fail(f"search_budget: {e}") from None

    def _seed(self) -> int:
        """The root seed of this fit: ``random_state`` itself when it is an int (so the same int
        gives the weights ``evoinit train --seed`` gives), else a draw from it (None: fresh)."""
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            check_random_state(rs)  # the same range check and message scikit-learn gives
            return int(rs)
        return int(check_random_state(rs).randint(0, 2**31 - 1))

    # -- data ------------------------------------------------------------------------------------

    def _check_weights(self, sample_weight, X) -> np.ndarray | None:
        if sample_weight is None:
            return None
        sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64, ensure_non_negative=True)
        if not sample_weight.any():
            raise ValueError("Sample weights must contain at least one non-zero number.")
        return sample_weight

    def _arrays(self, X, y, *, seed: int, val_size: float, test_size: float):
        """An evoinit ``Dataset`` of the fit's rows, features unscaled (the search's data)."""
        try:
            return _data.from_arrays(X, y, task=self._task, seed=seed, val_size=val_size,
                                     test_size=test_size, name=f"{type(self).__name__} data",
                                     scale_features=False)
        except EvoinitError as e:
            raise self._fail(str(e)) from None

    def _rows(self, t: np.ndarray, seed: int, fraction, labels) -> tuple[np.ndarray, np.ndarray | None]:
        """(training rows, held-out rows or None): ``data.split``'s seeded split, stratified for
        the classifier, as ``evoinit`` splits a dataset."""
        if not fraction:
            return np.arange(len(t)), None
        if self._task == "classification":
            need = math.ceil(1 / min(fraction, 1 - fraction) - 1e-9)
            counts = np.bincount(t, minlength=len(labels))
            k = int(counts.argmin())
            if counts[k] < need:
                plan = f"{round(100 * (1 - fraction))}/{round(100 * fraction)}/0 train/validation/test split"
                raise self._fail(f"class {str(labels[k])!r} has {counts[k]} row{'' if counts[k] == 1 else 's'}; "
                                 f"a stratified {plan} needs at least {need} rows per class")
        try:
            train, val, _ = _data.split(t, seed=seed, val_size=fraction, test_size=0.0,
                                        stratify=self._task == "classification")
        except ValueError as e:
            raise self._fail(f"validation_fraction={fraction:g}: cannot hold rows out: {e}") from None
        return train, val

    def _model_targets(self, t: np.ndarray) -> np.ndarray:
        """What the network learns: class codes, or the varying target columns standardised with
        the first fit's training-row mean and std (``_target``)."""
        if self._task == "classification":
            return t
        varying, mean, scale = self._target
        return (t[:, varying] - mean[varying]) / scale[varying]

    # -- fitting -----------------------------------------------------------------------------------

    def _fit(self, X, t, sample_weight=None, *, labels=None, incremental=False):
        """Train (fresh, or on from the saved state for ``warm_start``/``partial_fit``) and set the
        fitted attributes. ``t``: class codes 0..K-1 of ``labels``, or targets ``(n, k)``."""
        settings = self._settings()
        going_on = (incremental or self.warm_start) and getattr(self, "_state", None) is not None
        seed = self.seed_ if going_on else self._seed()
        fraction = None if incremental else self.validation_fraction
        train, val = self._rows(t, seed, fraction, labels)
        if self._task == "regression" and not going_on:
            self._target = _target_stats(t[train])
        y = self._model_targets(t)
        n_out = len(labels) if self._task == "classification" else y.shape[1]
        check = val if val is not None else train[:_CHECK_ROWS]
        view = _Rows(self._task, X[train], y[train], X[check], y[check], X.shape[1], n_out)
        weights = None if sample_weight is None else sample_weight[train]
        if going_on:
            genome, searched = self.genome_, self.search_result_
            until = self._state.epoch + (1 if incremental else settings.epochs)
            state = self._train(genome, self._state, view, settings, until, weights)
            if state.diverged:
                raise self._diverged(genome, state, settings)
        elif n_out == 0:  # every target column is constant: nothing to learn, predict it
            genome, searched, state = self._genome(), None, None
        else:
            candidates, searched = self._candidates(X, t, settings, seed)
            genome, state = self._refit(candidates, view, settings, seed, 1 if incremental else settings.epochs,
                                        weights)
        self._state = state
        self.genome_, self.search_result_, self.seed_ = genome, searched, seed
        self._attributes(state, X.shape[1], held_out=val is not None)
        return self

    def _candidates(self, X, t, settings: TrainSettings, seed: int) -> tuple[list, object]:
        """The genomes to try, best first: ``genome`` alone, or the search's hall of fame."""
        if not self._searching():
            return [self._genome()], None
        if self.genome is not None:
            raise self._fail("give either a genome or a search (search=True / search_budget), not both")
        config = self._budget(settings, seed)
        share = self.validation_fraction or 0.2
        found = self._arrays(X, self._model_targets(t), seed=seed, val_size=share, test_size=share)
        try:
            searched = _search(found, config, n_jobs=self.n_jobs)
        except EvoinitError as e:
            raise self._fail(f"search: {e}") from None
        if not searched.hall_of_fame:
            raise self._fail("search: the search found no setup that trains without diverging; try a smaller "
                             "learning_rate, or scale the inputs (e.g. with StandardScaler in a Pipeline)")
        return [h.genome for h in searched.hall_of_fame], searched

    def _refit(self, candidates, view, settings, seed, until, weights):
        """Train the first candidate that does not diverge (a setup the search picked at its few
        epochs can diverge at the refit's many): (genome, state), with a warning if one was skipped."""
        skipped = []
        for genome in candidates:
            state = self._train(genome, _start(genome, view, settings, seed), view, settings, until, weights)
            if not state.diverged:
                break
            skipped.append(f"{genome} (epoch {state.diverged_epoch})")
        else:
            raise self._diverged(genome, state, settings, tried=len(candidates))
        if skipped:
            warnings.warn(f"{type(self).__name__}: the search's best setup diverged at the refit: "
                          f"{', '.join(skipped)}; refitted the next best, {genome}", UserWarning, stacklevel=4)
        return genome, state

    def _train(self, genome, state, view, settings, until, weights):
        try:
            return continue_training([state], view, activation=genome.activation, settings=settings,
                                     until=until, sample_weight=weights)[0]
        except EvoinitError as e:
            raise self._fail(str(e)) from None

    def _diverged(self, genome, state, settings, tried: int = 1):
        others = f" (as did the {tried - 1} better setups of the search)" if tried > 1 else ""
        return self._fail(
            f"training {genome} diverged at epoch {state.diverged_epoch}{others} (the loss became NaN/inf "
            f"or a weight passed {settings.weight_limit:g}); try a smaller learning_rate or genome "
            "scale, or scale the inputs (e.g. with StandardScaler in a Pipeline)")

    def _attributes(self, state, n_features: int, *, held_out: bool) -> None:
        """The fitted attributes from a training state (None: constant targets, nothing trained)."""
        if state is None:
            sizes = layer_sizes(n_features, self.genome_.hidden, 1)
            start, _ = start_and_order(sizes, self.genome_.init, task_seed(self.seed_, (seeding.TRAIN, 0)),
                                       scale=self.genome_.scale)
            coefs, intercepts = list(start.weights), list(start.biases)
            coefs[-1], intercepts[-1] = np.zeros((coefs[-1].shape[0], 0)), np.zeros(0)
            train_loss, metric = [], []
        else:
            result = state.result()
            coefs, intercepts = list(result.weights), list(result.biases)
            train_loss, metric = result.train_loss, result.val_metric
        if self._task == "regression":  # fold the standardisation back into the output layer
            varying, mean, scale = self._target
            W = np.zeros((coefs[-1].shape[0], len(varying)))
            W[:, varying] = coefs[-1] * scale[varying]
            b = mean.copy()
            b[varying] = intercepts[-1] * scale[varying] + mean[varying]
            coefs[-1], intercepts[-1] = W, b
        else:
            metric = 1.0 - np.asarray(metric)
        self.coefs_, self.intercepts_ = coefs, intercepts
        self.n_layers_ = len(coefs) + 1
        self.n_outputs_ = int(coefs[-1].shape[1])
        self.n_iter_ = len(train_loss)
        self.loss_curve_ = [float(v) for v in train_loss]
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else 0.0
        self.validation_scores_ = [float(v) for v in metric] if held_out else None

    def _output(self, X) -> np.ndarray:
        """The output layer (logits, or values in the target's units) for validated ``X``; sparse
        ``X`` is made dense ``_PREDICT_ROWS`` rows at a time."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64, accept_sparse=("csr", "csc"))
        act = self.genome_.activation
        if not sp.issparse(X):
            return _forward(self.coefs_, self.intercepts_, X, activation=act)
        X = X.tocsr()
        return np.vstack([_forward(self.coefs_, self.intercepts_, X[lo:lo + _PREDICT_ROWS].toarray(), activation=act)
                          for lo in range(0, X.shape[0], _PREDICT_ROWS)])

    def _validate(self, X, y, sample_weight, *, reset: bool, **checks):
        """Validated ``X`` (dense float64; sparse within ``DENSE_LIMIT_BYTES``), ``y``, weights."""
        X, y = validate_data(self, X, y, reset=reset, accept_sparse=("csr", "csc"), dtype=np.float64,
                             ensure_min_samples=2, **checks)
        if checks.get("y_numeric") and y.dtype.kind not in "biuf":   # text targets: numbers or refused
            try:
                y = y.astype(np.float64)
            except (TypeError, ValueError):
                sample = next((v for v in np.ravel(y) if not _is_float(v)), None)
                raise self._fail(f"y must hold numbers (a regressor learns values), got values such as "
                                 f"{quoted(str(sample), 40)}; for class labels use EvoMLPClassifier") from None
        if sp.issparse(X):
            size = X.shape[0] * X.shape[1] * 8
            if size > self.dense_limit_bytes:
                name = type(self).__name__
                raise self._fail(f"X is sparse {X.shape[0]} × {X.shape[1]}; training needs it dense "
                                 f"({size / 2**30:.2f} GiB, over {name}.dense_limit_bytes = "
                                 f"{self.dense_limit_bytes / 2**30:g} GiB): reduce the columns (e.g. "
                                 f"OneHotEncoder(max_categories=...), TruncatedSVD) or raise {name}.dense_limit_bytes")
            X = X.toarray()
        return X, y, self._check_weights(sample_weight, X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


