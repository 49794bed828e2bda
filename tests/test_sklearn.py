"""The scikit-learn estimators: scikit-learn's own estimator checks, and use inside Pipeline,
cross_val_score and GridSearchCV; seeds that reproduce (and match `evoinit train`); regression
in the target's units; a search inside fit; errors that name the parameter."""

import pickle
from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_diabetes, load_iris
from sklearn.exceptions import FitFailedWarning
from sklearn.linear_model import Ridge
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from evoinit import data, seeding
from evoinit.ga import evaluate
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.interop.estimator import EXPECTED_FAILED_CHECKS
from evoinit.interop.sklearn import EvoMLPClassifier, EvoMLPRegressor
from evoinit.nn.training import TrainSettings

SMALL = "16 tanh glorot_uniform ×1"


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def iris_scaled(iris):
    X, y = iris
    return StandardScaler().fit_transform(X), y


# Every check passes but the two sample-weight equivalences, which minibatches cannot pass (see
# EXPECTED_FAILED_CHECKS; test_weights_equal_repeated_rows_in_one_batch shows where they hold).
@parametrize_with_checks([EvoMLPClassifier(SMALL, epochs=20, batch_size=16),
                          EvoMLPRegressor(SMALL, epochs=20, batch_size=16)],
                         expected_failed_checks=lambda estimator: EXPECTED_FAILED_CHECKS)
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_cross_val_score_in_a_pipeline_with_a_scaler(iris):
    X, y = iris
    model = make_pipeline(StandardScaler(), EvoMLPClassifier(SMALL, epochs=30, random_state=0))
    scores = cross_val_score(model, X, y, cv=5)
    assert scores.shape == (5,) and scores.mean() > 0.9


def test_grid_search_over_genome_and_scale(iris_scaled):
    X, y = iris_scaled
    grid = GridSearchCV(EvoMLPClassifier(epochs=20, random_state=0),
                        {"genome": [SMALL, "16 relu he_normal ×1", Genome((8,), "tanh", "orthogonal", 4.0)]},
                        cv=3)
    grid.fit(X, y)
    assert grid.best_params_["genome"] in grid.param_grid["genome"]
    assert grid.best_score_ > 0.85 and np.isfinite(grid.cv_results_["mean_test_score"]).all()
    # a scale that makes training diverge is a failed fit (nan score), not a crash of the search
    with pytest.warns((FitFailedWarning, UserWarning)):
        grid = GridSearchCV(EvoMLPClassifier(epochs=20, learning_rate=5.0, random_state=0),
                            {"genome": [SMALL, "16 relu he_normal ×16"]}, cv=2, error_score=np.nan).fit(X * 1e3, y)
    assert np.isnan(grid.cv_results_["mean_test_score"]).any()


def test_predict_proba_rows_sum_to_one_and_agree_with_predict(iris_scaled):
    X, y = iris_scaled
    labels = np.array(["setosa", "versicolor", "virginica"])[y]
    model = EvoMLPClassifier(SMALL, epochs=20, random_state=1).fit(X, labels)
    proba = model.predict_proba(X)
    assert proba.shape == (len(X), 3) and np.all(proba >= 0)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(model.classes_, ["setosa", "versicolor", "virginica"])
    np.testing.assert_array_equal(model.predict(X), model.classes_[proba.argmax(axis=1)])
    np.testing.assert_allclose(np.exp(model.predict_log_proba(X)), proba, rtol=1e-10)
    assert model.score(X, labels) > 0.9


def test_same_random_state_same_model_other_state_other_start(iris_scaled):
    X, y = iris_scaled
    a = EvoMLPClassifier(SMALL, epochs=5, random_state=3).fit(X, y)
    b = clone(a).fit(X, y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    c = EvoMLPClassifier(SMALL, epochs=5, random_state=4).fit(X, y)
    assert not np.allclose(a.coefs_[0], c.coefs_[0])
    restored = pickle.loads(pickle.dumps(a))
    np.testing.assert_array_equal(restored.predict_proba(X), a.predict_proba(X))
    # random_state=None draws a fresh seed per fit
    d, e = (EvoMLPClassifier(SMALL, epochs=2).fit(X, y) for _ in range(2))
    assert d.seed_ != e.seed_


def test_int_random_state_trains_what_evoinit_train_gives_its_first_seed(iris_scaled):
    X, y = iris_scaled
    model = EvoMLPClassifier(SMALL, epochs=4, random_state=7).fit(X, y)
    ds = data.from_arrays(X, y, task="classification", val_size=0, test_size=0, scale_features=False)
    ds = replace(ds, X_val=ds.X_train, y_val=ds.y_train)
    report = evaluate.train(SMALL, ds, seeds=1, seed=7, settings=TrainSettings(epochs=4))
    for mine, theirs in zip(model.coefs_, report.results[0].weights):
        np.testing.assert_array_equal(mine, theirs)
    assert report.evaluations[0].key == (seeding.TRAIN, 0)
    np.testing.assert_allclose(model.loss_curve_, report.results[0].train_loss)


def test_regressor_r2_on_diabetes_in_the_targets_units():
    X, y = load_diabetes(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    model = make_pipeline(StandardScaler(), EvoMLPRegressor(SMALL, epochs=20, learning_rate=0.01,
                                                            random_state=0))
    model.fit(X_train, y_train)
    ridge = make_pipeline(StandardScaler(), Ridge()).fit(X_train, y_train).score(X_test, y_test)  # 0.36
    assert model.score(X_test, y_test) > max(0.25, ridge - 0.08)
    pred = model.predict(X_test)
    assert pred.shape == y_test.shape and abs(pred.mean() - y_train.mean()) < 0.2 * y_train.std()
    assert model[-1].coefs_[-1].shape == (16, 1) and model[-1].n_outputs_ == 1


def test_regressor_several_targets_and_validation_scores():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 3))
    Y = np.column_stack([X @ [1.0, -2.0, 0.5] * 100 + 1000, np.tanh(X[:, 0]) * 0.01])
    model = EvoMLPRegressor(SMALL, epochs=30, learning_rate=0.02, validation_fraction=0.2, random_state=0).fit(X, Y)
    assert model.predict(X).shape == (300, 2) and model.score(X, Y) > 0.8
    assert len(model.validation_scores_) == model.n_iter_ == 30 and model.validation_scores_[-1] > 0.8
    assert len(model.loss_curve_) == 30 and model.loss_ == model.loss_curve_[-1]


def test_validation_fraction_holds_rows_out(iris_scaled):
    X, y = iris_scaled
    held = EvoMLPClassifier(SMALL, epochs=10, validation_fraction=0.2, random_state=0).fit(X, y)
    assert len(held.validation_scores_) == 10 and 0.8 < held.validation_scores_[-1] <= 1.0
    assert EvoMLPClassifier(SMALL, epochs=2, random_state=0).fit(X, y).validation_scores_ is None


def test_search_inside_fit_refits_the_best_setup(iris_scaled):
    X, y = iris_scaled
    space = SearchSpace(layers=(1, 1), widths=(4, 16), activations=("tanh", "relu"),
                        inits=("glorot_uniform", "he_normal", "orthogonal"))
    budget = {"population": 4, "generations": 1, "epochs": 8, "space": space.to_json()}
    model = EvoMLPClassifier(epochs=15, search_budget=budget, random_state=0)
    model.fit(X, y)
    assert model.search_result_.hall_of_fame and model.genome_ == model.search_result_.best.genome
    space.check(model.genome_)
    assert model.score(X, y) > 0.8
    again = clone(model).fit(X, y)
    assert again.genome_ == model.genome_
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    assert budget["space"] == space.to_json()  # the parameter is not modified
    pickle.loads(pickle.dumps(model))


@pytest.mark.parametrize("params, message", [
    ({"epochs": 0}, r"EvoMLPClassifier: epochs must be an integer in \[1, inf\), got 0"),
    ({"batch_size": 2.5}, "batch_size must be an integer"),
    ({"learning_rate": -1}, r"learning_rate must be a number in \(0, inf\)"),
    ({"momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
    ({"optimizer": "rmsprop"}, "optimizer must be one of sgd, adam, got 'rmsprop'"),
    ({"dtype": "float16"}, "dtype must be one of float32, float64"),
    ({"validation_fraction": 1.0}, r"validation_fraction must be a number in \(0, 1\)"),
    ({"genome": "64 relu he_nromal"}, "did you mean 'he_normal'"),
    ({"genome": 64}, "genome must be a Genome, its string form"),
    ({"search_budget": {"pop": 4}}, "search_budget has unknown key"),
    ({"search_budget": {"population": 1}}, r"search_budget\['population'\] must be an integer >= 2"),
    ({"search": "yes"}, "search must be True or False"),
    ({"genome": SMALL, "search": True}, "give either a genome or a search"),
    ({"validation_fraction": 0.1, "epochs": 1}, "class '0' has 4 rows; .* needs at least 10 rows per class"),
])
def test_bad_parameters_name_themselves(params, message):
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.arange(12) % 3
    model = EvoMLPClassifier(**params)
    with pytest.raises(ValueError, match=message):
        model.fit(X, y)


def test_divergence_is_a_value_error_with_advice():
    X = np.random.default_rng(0).normal(size=(60, 3)) * 1e4
    y = np.arange(60) % 2
    with pytest.raises(ValueError, match=r"diverged at epoch \d+ .*StandardScaler"):
        EvoMLPClassifier("8 relu he_normal ×4", epochs=20, learning_rate=1.0, random_state=0).fit(X, y)


@pytest.mark.parametrize("params, message", [
    ({"epochs": 10**6}, r"^EvoMLPClassifier: epochs must be an integer in \[1, 100000\], got 1000000$"),
    ({"search_budget": {"population": 10**9}}, r"search_budget\['population'\] must be an integer in \[2, 10000\]"),
    ({"search_budget": {"epochs": 0}}, r"search_budget\['epochs'\] must be an integer >= 1, got 0"),
    ({"search_budget": {"generations": -1}}, r"search_budget\['generations'\] must be an integer >= 0, got -1"),
])
def test_a_value_past_the_libraries_bounds_is_a_value_error_naming_the_parameter(params, message):
    """The bounds live once, in TrainSettings and SearchConfig; the estimators word their refusal
    as scikit-learn's convention asks (a ValueError naming the parameter), not as an evoinit
    UsageError escaping ``fit``."""
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.arange(12) % 3
    with pytest.raises(ValueError, match=message):
        EvoMLPClassifier(**params).fit(X, y)
