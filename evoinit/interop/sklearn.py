"""scikit-learn estimators over evoinit: ``EvoMLPClassifier`` and ``EvoMLPRegressor``.

Each trains one evoinit setup — a :class:`~evoinit.ga.genome.Genome` (hidden widths, activation,
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
  failed fit. After a search, a setup that diverges at the refit's epochs gives way to the next
  of the hall of fame, with a ``UserWarning`` naming both.
- Sparse ``X`` (CSR/CSC, e.g. a ``OneHotEncoder`` in a ``ColumnTransformer``) is made dense for
  training — the trainer's minibatch products are dense — within ``dense_limit_bytes`` (1 GiB of
  float64; a clear error beyond, before any memory is taken); ``predict`` densifies 4096 rows at a
  time. Sparse and dense ``X`` give the same bits.
- A constant regression target column (all of ``y``, or one column of several) is predicted
  exactly: zero output weights, the constant as intercept; the other columns train as usual.
- ``sample_weight`` in ``fit``: each minibatch step follows the weighted mean loss
  ``Σ wᵢ·lᵢ / Σ wᵢ`` as scikit-learn's MLP does (the same weights in float64 from the same start
  agree with ``MLPClassifier``/``MLPRegressor`` to 1e-6); validation scores and the search's
  trainings are unweighted. With minibatches a weight of k is not k repeated rows, which is why
  two of scikit-learn's checks are ``EXPECTED_FAILED_CHECKS``.
- ``warm_start=True`` makes ``fit`` train ``epochs`` more from where the last fit stopped, and
  ``partial_fit`` trains one more epoch: both continue the saved training state (weights,
  optimizer buffers, step count, data order), so 3 + 4 epochs give the bits of one 7-epoch fit
  (scikit-learn's MLP restarts its optimizer there). The target scaling, constant columns and
  classes are those of the first fit.

Weights are in Keras/scikit-learn orientation: ``coefs_[l]`` is ``(fan_in, fan_out)``.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets

from evoinit.interop.estimator import (
    BUDGET_KEYS,
    DEFAULT_BUDGET,
    DEFAULT_GENOME,
    EXPECTED_FAILED_CHECKS,
    _EvoMLP,
)

__all__ = ["EvoMLPClassifier", "EvoMLPRegressor", "DEFAULT_GENOME", "DEFAULT_BUDGET", "BUDGET_KEYS",
           "EXPECTED_FAILED_CHECKS"]


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
    warm_start : bool, default=False
        A fitted model's ``fit`` goes on from its training state for ``epochs`` more (the same
        bits as one longer fit on the same data).
    search : bool, default=False
        Run an evoinit search on the data in ``fit`` and refit the best setup. The search is
        evoinit's default, the model-guided GA (``surrogate = 30``): a random forest of every setup
        trained so far picks the offspring to train; it costs the budget's trainings plus a forest
        fit per generation and the hall of fame retrained once at the end.
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

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` ``(n, d)`` (dense or sparse) and labels ``y`` ``(n,)`` (any sortable
        labels), each row weighted by ``sample_weight`` if given; with ``warm_start`` and a fitted
        model, train ``epochs`` more from where the last fit stopped."""
        X, y, sample_weight = self._validate(X, y, sample_weight, reset=True)
        check_classification_targets(y)
        if self.warm_start and getattr(self, "_state", None) is not None:
            return self._fit(X, self._codes(y), sample_weight, labels=self.classes_)
        classes, codes = np.unique(y, return_inverse=True)
        if len(classes) < 2:
            raise self._fail(f"needs samples of at least 2 classes in the data, but the data contains "
                             f"only one class: {classes[0]!r}")
        self._fit(X, codes, sample_weight, labels=classes)
        self.classes_ = classes
        return self

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One more epoch over ``X``, ``y`` (all rows trained, none held out). The first call needs
        ``classes`` (every label there will be). N calls on the same data give the bits of
        ``fit`` with ``epochs=N``."""
        first = getattr(self, "_state", None) is None
        if first and classes is None:
            raise self._fail("classes must be passed on the first call to partial_fit")
        X, y, sample_weight = self._validate(X, y, sample_weight, reset=first)
        check_classification_targets(y)
        if first:
            self.classes_ = np.unique(classes)
            if len(self.classes_) < 2:
                raise self._fail(f"classes needs at least 2 labels, got {list(self.classes_)!r}")
        elif classes is not None and not np.array_equal(np.unique(classes), self.classes_):
            raise self._fail(f"classes {list(np.unique(classes))!r} differ from the first call's "
                             f"{list(self.classes_)!r}")
        return self._fit(X, self._codes(y), sample_weight, labels=self.classes_, incremental=True)

    def _codes(self, y) -> np.ndarray:
        """``y``'s labels as indices into ``classes_`` (each must be one of them)."""
        codes = np.searchsorted(self.classes_, y)
        unknown = (codes >= len(self.classes_)) | (self.classes_[np.minimum(codes, len(self.classes_) - 1)] != y)
        if unknown.any():
            raise self._fail(f"y has labels not among classes_ {list(self.classes_)!r}: "
                             f"{list(np.unique(np.asarray(y)[unknown]))!r}")
        return codes

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

    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` ``(n, d)`` (dense or sparse) and numeric targets ``y`` ``(n,)`` or
        ``(n, k)``, each row weighted by ``sample_weight`` if given; with ``warm_start`` and a
        fitted model, train ``epochs`` more from where the last fit stopped."""
        X, y, sample_weight = self._validate(X, y, sample_weight, reset=True, multi_output=True, y_numeric=True)
        return self._fit(X, y.reshape(len(y), -1), sample_weight)

    def partial_fit(self, X, y, sample_weight=None):
        """One more epoch over ``X``, ``y`` (all rows trained, none held out; the targets'
        standardisation and constant columns are those of the first call). N calls on the same
        data give the bits of ``fit`` with ``epochs=N``."""
        first = getattr(self, "_state", None) is None
        X, y, sample_weight = self._validate(X, y, sample_weight, reset=first, multi_output=True, y_numeric=True)
        y = y.reshape(len(y), -1)
        if not first and y.shape[1] != self.n_outputs_:
            raise self._fail(f"y has {y.shape[1]} targets; the model was fitted with {self.n_outputs_}")
        return self._fit(X, y, sample_weight, incremental=True)

    def predict(self, X):
        """Predicted targets ``(n,)``, or ``(n, k)`` for several."""
        out = self._output(X)
        return out[:, 0] if self.n_outputs_ == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
