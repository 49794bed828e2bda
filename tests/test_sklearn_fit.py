"""The estimators where scikit-learn's own MLP works (issue 16): sparse X, constant targets,
sample weights against MLPClassifier/MLPRegressor from the same start, warm_start and
partial_fit equal to one long fit, the search's refit and error prefix."""

import pickle
import warnings

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import cross_val_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from evoinit import seeding
from evoinit.ga import evaluate
from evoinit.ga.genome import Genome
from evoinit.interop.sklearn import EvoMLPClassifier, EvoMLPRegressor
from evoinit.nn.network import initial_start, layer_sizes
from evoinit.nn.training import TrainSettings

SMALL = "16 tanh glorot_uniform ×1"


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return StandardScaler().fit_transform(X), y


@pytest.fixture(scope="module")
def diabetes():
    X, y = load_diabetes(return_X_y=True)
    return StandardScaler().fit_transform(X), (y - y.mean()) / y.std()


def _same(a, b):
    for x, y in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_):
        assert np.array_equal(x, y)
    assert a.loss_curve_ == b.loss_curve_ and a.n_iter_ == b.n_iter_


# -- sparse X --------------------------------------------------------------------------------------


def _categorical(n=400, seed=0):
    """A numeric column and a 60-level categorical one that decides the class."""
    rng = np.random.default_rng(seed)
    cat = rng.integers(0, 60, n)
    num = rng.normal(size=n)
    y = (cat % 3 + (num > 1.5)) % 3
    return np.column_stack([num, cat]), y


def test_sparse_pipeline_fits_and_scores_like_sklearns_mlp():
    X, y = _categorical()
    ct = ColumnTransformer([("num", StandardScaler(), [0]), ("cat", OneHotEncoder(handle_unknown="ignore"), [1])])
    assert sp.issparse(ct.fit_transform(X))  # the case that raised before
    ours = make_pipeline(ct, EvoMLPClassifier(SMALL, epochs=60, random_state=0))
    theirs = make_pipeline(ct, MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        a, b = (cross_val_score(m, X, y, cv=3).mean() for m in (ours, theirs))
    assert a > 0.9 and a > b - 0.05, (a, b)


@pytest.mark.parametrize("Model", [EvoMLPClassifier, EvoMLPRegressor])
def test_sparse_and_dense_x_give_the_same_bits(Model, iris):
    X, y = iris
    Xs = sp.csr_matrix(np.where(np.abs(X) < 0.5, 0.0, X))
    dense = Model(SMALL, epochs=3, random_state=1).fit(Xs.toarray(), y)
    for fmt in (sp.csr_matrix, sp.csc_matrix):
        sparse = Model(SMALL, epochs=3, random_state=1).fit(fmt(Xs), y)
        _same(dense, sparse)
        assert np.array_equal(sparse.predict(fmt(Xs)), dense.predict(Xs.toarray()))


def test_sparse_x_beyond_the_memory_bound_is_a_clear_error(iris, monkeypatch):
    X, y = iris
    monkeypatch.setattr(EvoMLPClassifier, "dense_limit_bytes", 1000)
    with pytest.raises(ValueError, match=r"EvoMLPClassifier: X is sparse 150 × 4; training needs it dense"):
        EvoMLPClassifier(SMALL, epochs=1).fit(sp.csr_matrix(X), y)


# -- constant targets ------------------------------------------------------------------------------


def test_a_constant_target_is_fitted_as_sklearns_mlp_fits_it(diabetes):
    X, _ = diabetes
    y = np.full(len(X), 3.5)
    ours = EvoMLPRegressor(SMALL, epochs=2, random_state=0).fit(X, y)
    assert np.array_equal(ours.predict(X), y) and ours.n_iter_ == 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        theirs = MLPRegressor(hidden_layer_sizes=(16,), max_iter=50, random_state=0).fit(X, y)
    assert np.isfinite(theirs.predict(X)).all()  # scikit-learn fits it too (ours is exact)


def test_one_constant_column_of_several_and_cross_validation(diabetes):
    X, y = diabetes
    Y = np.column_stack([y, np.full(len(y), -2.0), 2 * y + 1])
    model = EvoMLPRegressor(SMALL, epochs=20, learning_rate=0.01, random_state=0).fit(X, Y)
    pred = model.predict(X)
    assert np.array_equal(pred[:, 1], Y[:, 1]) and model.coefs_[-1].shape == (16, 3)
    r2 = 1 - ((pred - Y) ** 2).sum(axis=0) / ((Y - Y.mean(axis=0)) ** 2).sum(axis=0).clip(1e-300)
    assert r2[0] > 0.4 and r2[2] > 0.4
    # grouped folds where one column is constant in a fold's training rows
    g = np.where(np.arange(len(y)) < 200, 0.0, np.arange(len(y)) * 0.01)
    scores = cross_val_score(EvoMLPRegressor(SMALL, epochs=5, random_state=0), X, np.column_stack([y, g]), cv=2)
    assert np.isfinite(scores).all()


# -- sample weights --------------------------------------------------------------------------------


def _sklearn_from(model, start, X, y, weights, epochs):
    """scikit-learn's MLP trained from ``start`` with ``weights`` (warm start keeps the start)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(max_iter=1, warm_start=True)
        model.fit(X, y)
        model.coefs_ = [w.copy() for w in start.weights]
        model.intercepts_ = [b.copy() for b in start.biases]
        model.set_params(max_iter=epochs)
        model.fit(X, y, sample_weight=weights)
    return model


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_sample_weight_exact_against_sklearns_mlp_from_the_same_start(iris, diabetes, task):
    """One batch per epoch (batch_size >= rows), so the data order cannot differ: float64
    weights agree with scikit-learn's to 1e-6."""
    X, y = iris if task == "classification" else diabetes
    weights = np.random.default_rng(3).uniform(0, 2, len(X))
    weights[::5] = 0
    Ours, Theirs = ((EvoMLPClassifier, MLPClassifier) if task == "classification" else (EvoMLPRegressor, MLPRegressor))
    ours = Ours(SMALL, epochs=15, batch_size=1000, learning_rate=0.1, dtype="float64",
                random_state=4).fit(X, y, sample_weight=weights)
    n_out = 3 if task == "classification" else 1
    seq = evaluate.task_seed(4, (seeding.TRAIN, 0))
    start = initial_start(layer_sizes(X.shape[1], (16,), n_out), "glorot_uniform", seeding.weight_rng(seq))
    theirs = _sklearn_from(Theirs(hidden_layer_sizes=(16,), activation="tanh", solver="sgd", momentum=0.9, nesterovs_momentum=False,
                                  learning_rate_init=0.1, batch_size=1000, alpha=0.0, tol=0.0,
                                  n_iter_no_change=10**9), start, X, y, weights, 15)
    for a, b in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    plain = Ours(SMALL, epochs=15, batch_size=1000, learning_rate=0.1, dtype="float64", random_state=4).fit(X, y)
    assert np.abs(plain.coefs_[0] - ours.coefs_[0]).max() > 1e-3


def test_weights_equal_repeated_rows_in_one_batch(iris):
    """Where scikit-learn's weight-equivalence check can hold (one batch per epoch), it does."""
    X, y = iris
    counts = np.random.default_rng(0).integers(0, 4, len(X))
    counts[:3] = 1  # every class keeps rows
    kw = dict(epochs=10, batch_size=1000, dtype="float64", random_state=0)
    weighted = EvoMLPClassifier(SMALL, **kw).fit(X, y, sample_weight=counts)
    repeated = EvoMLPClassifier(SMALL, **kw).fit(X.repeat(counts, axis=0), y.repeat(counts))
    np.testing.assert_allclose(weighted.predict_proba(X), repeated.predict_proba(X), rtol=1e-9, atol=1e-12)


# -- warm_start and partial_fit --------------------------------------------------------------------


@pytest.mark.parametrize("Model", [EvoMLPClassifier, EvoMLPRegressor])
@pytest.mark.parametrize("kw", [{}, {"validation_fraction": 0.2, "optimizer": "adam", "learning_rate": 0.01}])
def test_warm_start_continues_one_long_fit_bit_for_bit(Model, kw, iris):
    X, y = iris
    weights = np.random.default_rng(1).uniform(0.5, 1.5, len(X))
    long = Model(SMALL, epochs=7, random_state=2, **kw).fit(X, y, sample_weight=weights)
    model = Model(SMALL, epochs=3, random_state=2, **kw).fit(X, y, sample_weight=weights)
    model = pickle.loads(pickle.dumps(model))  # the state travels with the estimator
    model.set_params(warm_start=True, epochs=4).fit(X, y, sample_weight=weights)
    _same(long, model)
    assert long.validation_scores_ == model.validation_scores_
    # without warm_start a second fit starts over
    again = model.set_params(warm_start=False, epochs=7).fit(X, y, sample_weight=weights)
    _same(long, again)


@pytest.mark.parametrize("Model", [EvoMLPClassifier, EvoMLPRegressor])
def test_partial_fit_epochs_equal_one_fit(Model, iris):
    X, y = iris
    long = Model(SMALL, epochs=3, random_state=5).fit(X, y)
    model = Model(SMALL, random_state=5)
    for _ in range(3):
        extra = {"classes": np.unique(y)} if Model is EvoMLPClassifier else {}
        model = pickle.loads(pickle.dumps(model.partial_fit(X, y, **extra)))
    _same(long, model)


def test_partial_fit_needs_classes_first_and_known_labels(iris):
    X, y = iris
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        EvoMLPClassifier(SMALL).partial_fit(X, y)
    model = EvoMLPClassifier(SMALL, random_state=0).partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])
    assert model.predict_proba(X).shape == (150, 3)
    with pytest.raises(ValueError, match="labels not among classes_"):
        model.partial_fit(X, y + 1)


# -- the search in fit -----------------------------------------------------------------------------


def test_a_setup_that_diverges_at_the_refit_gives_way_to_the_next_best(iris):
    """The refit tries the hall of fame best first: a setup that diverges (checked to, alone) is
    skipped with a warning, and the next is fitted as it is fitted alone."""
    from evoinit.interop.fit import _Rows

    X, y = iris[0] * 30, iris[1]
    bad, good = Genome.parse("32 relu he_normal ×8"), Genome.parse(SMALL)
    with pytest.raises(ValueError, match="diverged"):
        EvoMLPClassifier(str(bad), epochs=30, learning_rate=0.5, random_state=0).fit(X, y)
    alone = EvoMLPClassifier(SMALL, epochs=30, learning_rate=0.5, random_state=0).fit(X, y)
    model = EvoMLPClassifier(epochs=30, learning_rate=0.5, random_state=0)
    view = _Rows("classification", X, y, X, y, 4, 3)
    with pytest.warns(UserWarning, match=r"diverged at the refit: 32 relu .*refitted the next best, 16 tanh"):
        genome, state = model._refit([bad, good], view, TrainSettings(epochs=30, learning_rate=0.5), 0, 30, None)
    assert genome == good and not state.diverged
    assert np.array_equal(state.result().weights[0], alone.coefs_[0])


def test_a_search_that_finds_nothing_trainable_says_search(diabetes):
    X, y = diabetes
    model = EvoMLPRegressor(learning_rate=1e4, epochs=3,
                            search_budget={"population": 2, "generations": 0, "epochs": 3}, random_state=0)
    with pytest.raises(ValueError, match=r"^EvoMLPRegressor: search: "):
        model.fit(X * 1e3, y)
