"""The population trainer against outside references: finite differences, scikit-learn's MLP
started from the same weights, and its own purity (alone vs in a population)."""

import warnings
from dataclasses import replace

import numpy as np
import pytest
from helpers import seeded_starts
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor

from evoinit import data
from evoinit.errors import UsageError
from evoinit.nn import activations
from evoinit.nn.network import initial_start, layer_sizes, train_population
from evoinit.nn.single import loss_and_grads, predict, score
from evoinit.nn.training import Start, TrainSettings


@pytest.fixture(scope="module")
def iris():
    return data.load("iris")






# -- gradients ----------------------------------------------------------------------------------


@pytest.mark.parametrize("task", ["classification", "regression"])
@pytest.mark.parametrize("activation", activations.names())
def test_gradients_match_central_finite_differences(activation, task):
    rng = np.random.default_rng(1)
    sizes = (5, 7, 6, 3)
    start = initial_start(sizes, "glorot_normal", rng, bias="normal")
    X = rng.standard_normal((11, sizes[0]))
    y = rng.integers(0, 3, 11) if task == "classification" else rng.standard_normal((11, 3))
    loss, gW, gb = loss_and_grads(start, X, y, activation=activation, task=task)

    def loss_at(weights, biases):
        return loss_and_grads(Start(weights, biases), X, y, activation=activation, task=task)[0]

    h = 1e-6
    for kind, arrays in (("W", start.weights), ("b", start.biases)):
        grads = gW if kind == "W" else gb
        for l, a in enumerate(arrays):
            numeric = np.zeros_like(a)
            for i in np.ndindex(a.shape):
                plus, minus = [x.copy() for x in arrays], [x.copy() for x in arrays]
                plus[l][i] += h
                minus[l][i] -= h
                if kind == "W":
                    numeric[i] = (loss_at(plus, start.biases) - loss_at(minus, start.biases)) / (2 * h)
                else:
                    numeric[i] = (loss_at(start.weights, plus) - loss_at(start.weights, minus)) / (2 * h)
            np.testing.assert_allclose(grads[l], numeric, rtol=1e-5, atol=1e-8,
                                       err_msg=f"{activation} {task} d{kind}[{l}]")


def test_loss_matches_predict(iris):
    start = initial_start(layer_sizes(4, (8,), 3), "glorot_uniform", np.random.default_rng(0))
    loss, _, _ = loss_and_grads(start, iris.X_train, iris.y_train, activation="tanh",
                                task="classification")
    z = predict(start.weights, start.biases, iris.X_train, activation="tanh")
    z = z - z.max(axis=1, keepdims=True)
    ref = np.mean(np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), iris.y_train])
    assert loss == pytest.approx(ref, rel=1e-12)


# -- agreement with scikit-learn ------------------------------------------------------------------


def _sklearn_curve(model, start, X, y, epochs):
    """scikit-learn's per-epoch training loss from the given start (warm start keeps it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.set_params(max_iter=1, warm_start=True)
        model.fit(X, y)  # initializes internal state; weights are replaced next
        model.coefs_ = [w.copy() for w in start.weights]
        model.intercepts_ = [b.copy() for b in start.biases]
        model.loss_curve_ = []
        model.set_params(max_iter=epochs)
        model.fit(X, y)
    return np.array(model.loss_curve_)


SKLEARN_ACT = {"linear": "identity", "sigmoid": "logistic", "tanh": "tanh", "relu": "relu"}


@pytest.mark.parametrize("activation", list(SKLEARN_ACT))
@pytest.mark.parametrize("optimizer", ["sgd", "sgd-momentum", "sgd-nesterov", "adam"])
def test_classifier_agrees_with_sklearn(digits, activation, optimizer):
    sizes = layer_sizes(64, (32, 16), 10)
    start = initial_start(sizes, "glorot_uniform", np.random.default_rng(3))
    momentum = 0.0 if optimizer == "sgd" else 0.9
    lr = 0.001 if optimizer == "adam" else 0.05
    settings = TrainSettings(epochs=5, batch_size=32, optimizer=optimizer.split("-")[0], learning_rate=lr,
                             momentum=momentum, nesterov=optimizer == "sgd-nesterov",
                             dtype="float64", shuffle=False)
    ours = train_population([start], None, digits, activation=activation, settings=settings)[0]
    model = MLPClassifier(hidden_layer_sizes=(32, 16), activation=SKLEARN_ACT[activation],
                          solver=optimizer.split("-")[0], momentum=momentum,
                          nesterovs_momentum=optimizer == "sgd-nesterov", learning_rate="constant",
                          learning_rate_init=lr, batch_size=32, shuffle=False, alpha=0.0, tol=0.0,
                          n_iter_no_change=10**9)
    theirs = _sklearn_curve(model, start, digits.X_train, digits.y_train, 5)
    np.testing.assert_allclose(ours.train_loss, theirs, rtol=1e-6)
    # the final weights agree too (scikit-learn trained them from the same start)
    for a, b in zip(ours.weights, model.coefs_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


def test_regressor_agrees_with_sklearn(diabetes):
    sizes = layer_sizes(diabetes.n_features, (16,), 1)
    start = initial_start(sizes, "glorot_uniform", np.random.default_rng(4))
    settings = TrainSettings(epochs=6, batch_size=16, momentum=0.9, learning_rate=0.01,
                             dtype="float64", shuffle=False)
    ours = train_population([start], None, diabetes, activation="tanh", settings=settings)[0]
    model = MLPRegressor(hidden_layer_sizes=(16,), activation="tanh", solver="sgd", momentum=0.9,
                         nesterovs_momentum=False, learning_rate_init=0.01, batch_size=16,
                         shuffle=False, alpha=0.0, tol=0.0, n_iter_no_change=10**9)
    theirs = _sklearn_curve(model, start, diabetes.X_train, diabetes.y_train, 6)
    np.testing.assert_allclose(ours.train_loss, theirs, rtol=1e-6)
    assert ours.metric == "val_r2" and ours.val_metric[-1] > 0.2


def test_weight_decay_is_l2_on_weights_only(iris):
    """One full-batch SGD step: w ← w − lr·(∇ + λw), biases without decay."""
    sizes = layer_sizes(4, (5,), 3)
    start = initial_start(sizes, "glorot_uniform", np.random.default_rng(5), bias="normal")
    lr, wd = 0.1, 0.3
    settings = TrainSettings(epochs=1, batch_size=len(iris.X_train), momentum=0.0, learning_rate=lr,
                             weight_decay=wd, dtype="float64", shuffle=False)
    result = train_population([start], None, iris, activation="tanh", settings=settings)[0]
    _, gW, gb = loss_and_grads(start, iris.X_train, iris.y_train, activation="tanh",
                               task="classification")
    for w0, g, w1 in zip(start.weights, gW, result.weights):
        np.testing.assert_allclose(w1, w0 - lr * (g + wd * w0), rtol=1e-12, atol=1e-14)
    for b0, g, b1 in zip(start.biases, gb, result.biases):
        np.testing.assert_allclose(b1, b0 - lr * g, rtol=1e-12, atol=1e-14)


# -- purity ----------------------------------------------------------------------------------------

MIXED = ["glorot_uniform", "he_normal", "orthogonal", "lecun_normal", "uniform", "kwon_tanh_normal",
         "standard_uniform", "variance_scaling", "truncated_normal", "he_general_uniform", "normal"] * 3


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_alone_and_in_a_population_are_bit_identical(digits, dtype):
    sizes = layer_sizes(64, (24, 12), 10)
    starts, orders = seeded_starts(sizes, MIXED, seed=7)
    lrs = np.linspace(0.01, 0.1, len(MIXED))
    settings = TrainSettings(epochs=3, dtype=dtype)
    together = train_population(starts, orders, digits, activation="tanh", settings=settings,
                                learning_rates=lrs)
    again, again_orders = seeded_starts(sizes, MIXED, seed=7)
    for p in (0, 5, 16, 32):
        alone = train_population([again[p]], [again_orders[p]], digits, activation="tanh",
                                 settings=settings, learning_rates=lrs[p:p + 1])[0]
        for name in ("train_loss", "val_loss", "val_metric"):
            assert np.array_equal(getattr(alone, name), getattr(together[p], name)), (p, name)
        for a, b in zip(alone.weights + alone.biases, together[p].weights + together[p].biases):
            assert np.array_equal(a, b)
    # chunking is invisible too
    chunked = train_population(*seeded_starts(sizes, MIXED, seed=7), digits, activation="tanh",
                               settings=settings, learning_rates=lrs, chunk_size=5)
    assert all(np.array_equal(a.val_loss, b.val_loss) for a, b in zip(chunked, together))


def test_same_start_same_order_same_result_and_different_orders_differ(iris):
    sizes = layer_sizes(4, (8,), 3)
    start = initial_start(sizes, "glorot_uniform", np.random.default_rng(0))
    settings = TrainSettings(epochs=4)
    same = train_population([start, start], [np.random.default_rng(1), np.random.default_rng(1)],
                            iris, activation="tanh", settings=settings)
    assert np.array_equal(same[0].train_loss, same[1].train_loss)
    other = train_population([start, start], [np.random.default_rng(1), np.random.default_rng(2)],
                             iris, activation="tanh", settings=settings)
    assert not np.array_equal(other[0].train_loss, other[1].train_loss)


# -- symmetry --------------------------------------------------------------------------------------


def _distinct_columns(W, tol):
    """Number of distinct hidden units: columns of W (incoming weights) farther apart than tol."""
    reps = []
    for j in range(W.shape[1]):
        if not any(np.max(np.abs(W[:, j] - r)) <= tol for r in reps):
            reps.append(W[:, j])
    return len(reps)


def test_constant_start_keeps_hidden_units_identical(iris):
    """Tutorial §3.1: identical units get identical updates (300 steps, tolerance 1e-9)."""
    sizes = layer_sizes(4, (16, 8), 3)
    const = initial_start(sizes, "constant", None, params={"value": 0.3})
    rand = initial_start(sizes, "glorot_uniform", np.random.default_rng(0))
    settings = TrainSettings(epochs=20, batch_size=6, dtype="float64")  # 20 steps an epoch
    r_const, r_rand = train_population([const, rand], [np.random.default_rng(1)] * 2, iris,
                                       activation="tanh", settings=settings)
    for l in range(2):
        assert _distinct_columns(r_const.weights[l], 1e-9) == 1
        assert _distinct_columns(r_rand.weights[l], 1e-3) == sizes[l + 1]
    assert not np.allclose(r_const.weights[0], const.weights[0])  # it did train
    assert r_rand.val_metric[-1] < r_const.val_metric[-1] or r_rand.val_loss[-1] < r_const.val_loss[-1]


# -- divergence ------------------------------------------------------------------------------------


def test_exploding_network_is_marked_and_others_are_undisturbed(digits):
    sizes = layer_sizes(64, (64, 64), 10)
    schemes = ["he_normal", "he_normal", "he_normal"]
    starts, orders = seeded_starts(sizes, schemes, seed=11)
    big, _ = seeded_starts(sizes, ["he_normal"], seed=12, scale=64.0)
    starts[1] = big[0]
    settings = TrainSettings(epochs=5, learning_rate=0.1)
    results = train_population(starts, orders, digits, activation="relu", settings=settings)
    assert results[1].diverged and 1 <= results[1].diverged_epoch <= 5
    assert results[1].epochs == results[1].diverged_epoch - 1
    again, again_orders = seeded_starts(sizes, schemes, seed=11)
    for p in (0, 2):
        assert not results[p].diverged and results[p].epochs == 5
        assert results[p].val_metric[-1] < 0.2
        alone = train_population([again[p]], [again_orders[p]], digits, activation="relu",
                                 settings=settings)[0]
        assert np.array_equal(alone.val_loss, results[p].val_loss)


# -- explicit starts and validation ---------------------------------------------------------------


def test_explicit_start_and_its_validation(iris):
    rng = np.random.default_rng(0)
    start = Start.of([rng.standard_normal((4, 6)) * 0.3, rng.standard_normal((6, 3)) * 0.3])
    assert start.sizes == (4, 6, 3) and all(not b.any() for b in start.biases)
    res = train_population([start], [rng], iris, activation="relu", settings=TrainSettings(epochs=3))
    assert res[0].epochs == 3
    with pytest.raises(UsageError):
        Start.of([np.zeros((4, 6)), np.zeros((5, 3))])
    with pytest.raises(UsageError, match="does not fit"):
        train_population([Start.of([np.zeros((5, 3))])], [rng], iris, activation="relu")
    with pytest.raises(UsageError, match="epochs"):
        TrainSettings(epochs=0)


def test_trace_gives_the_layer_signals_of_the_gradient(iris):
    """trace()'s activations and deltas reproduce the gradients: dW[l] = A[l-1]ᵀ·δ[l], db = Σδ."""
    from evoinit.nn.single import trace

    start = initial_start((4, 8, 6, 3), "glorot_uniform", np.random.default_rng(0), bias="normal")
    acts, deltas = trace(start, iris.X_train, iris.y_train, activation="gelu", task="classification")
    _, gW, gb = loss_and_grads(start, iris.X_train, iris.y_train, activation="gelu",
                               task="classification")
    inputs = [iris.X_train] + acts[:-1]
    for l in range(3):
        np.testing.assert_allclose(inputs[l].T @ deltas[l], gW[l], rtol=1e-10, atol=1e-13)
        np.testing.assert_allclose(deltas[l].sum(axis=0), gb[l], rtol=1e-10, atol=1e-13)
    np.testing.assert_allclose(acts[-1], predict(start.weights, start.biases, iris.X_train,
                                                 activation="gelu"), rtol=1e-12)


def test_a_network_without_hidden_layers_trains_and_scores(iris):
    """sizes (4, 3): softmax regression; its validation pass takes the shared 2-D input."""
    start = Start.of([np.random.default_rng(0).standard_normal((4, 3)) * 0.1])
    res = train_population([start], [np.random.default_rng(1)], iris, activation="tanh",
                           settings=TrainSettings(epochs=5, dtype="float64"))[0]
    assert res.epochs == 5 and res.val_metric[-1] < 0.3
    loss, metric = score(res.weights, res.biases, iris.X_val, iris.y_val, activation="tanh",
                         task="classification")
    assert loss == pytest.approx(res.val_loss[-1], rel=1e-12) and metric == res.val_metric[-1]


# -- sample weights --------------------------------------------------------------------------------


@pytest.mark.parametrize("optimizer", ["sgd-momentum", "adam"])
@pytest.mark.parametrize("task", ["classification", "regression"])
def test_sample_weights_agree_with_sklearn(digits, diabetes, task, optimizer):
    """Weighted losses, exact to 1e-6 in float64 against MLPClassifier/MLPRegressor given the
    same weights from the same start; the weights matter (unweighted training ends elsewhere)."""
    ds = digits if task == "classification" else diabetes
    sizes = layer_sizes(ds.n_features, (16,), ds.n_outputs)
    start = initial_start(sizes, "glorot_uniform", np.random.default_rng(6))
    weights = np.random.default_rng(7).uniform(0, 3, len(ds.X_train))
    weights[::7] = 0.0
    solver = optimizer.split("-")[0]
    lr = 0.001 if solver == "adam" else 0.02
    settings = TrainSettings(epochs=4, batch_size=32, optimizer=solver, learning_rate=lr, momentum=0.9,
                             dtype="float64", shuffle=False)
    ours = train_population([start], None, ds, activation="tanh", settings=settings, sample_weight=weights)[0]
    plain = train_population([start], None, ds, activation="tanh", settings=settings)[0]
    Model = MLPClassifier if task == "classification" else MLPRegressor
    model = Model(hidden_layer_sizes=(16,), activation="tanh", solver=solver, momentum=0.9,
                  nesterovs_momentum=False, learning_rate_init=lr, batch_size=32, shuffle=False,
                  alpha=0.0, tol=0.0, n_iter_no_change=10**9, max_iter=1, warm_start=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(ds.X_train, ds.y_train)
        model.coefs_ = [w.copy() for w in start.weights]
        model.intercepts_ = [b.copy() for b in start.biases]
        model.set_params(max_iter=4)
        model.fit(ds.X_train, ds.y_train, sample_weight=weights)
    for a, b in zip(ours.weights + ours.biases, model.coefs_ + model.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-10)
    assert max(np.abs(a - b).max() for a, b in zip(ours.weights, plain.weights)) > 1e-3
    # the training curve is the weighted mean loss: one full batch reports it at the start
    full = replace(settings, epochs=1, batch_size=len(ds.X_train))
    first = train_population([start], None, ds, activation="tanh", settings=full, sample_weight=weights)[0]
    rows = _row_losses(start, ds)
    np.testing.assert_allclose(first.train_loss[0], np.average(rows, weights=weights), rtol=1e-12)


def _row_losses(start, ds):
    out = predict(start.weights, start.biases, ds.X_train, activation="tanh")
    if ds.task == "classification":
        z = out - out.max(axis=1, keepdims=True)
        return np.log(np.exp(z).sum(axis=1)) - z[np.arange(len(z)), ds.y_train]
    return 0.5 * ((out - ds.y_train.reshape(len(out), -1)) ** 2).sum(axis=1)


def test_sample_weight_is_checked(iris):
    start = initial_start(layer_sizes(4, (5,), 3), "glorot_uniform", np.random.default_rng(0))
    for bad in (np.ones(3), -np.ones(len(iris.X_train)), np.zeros(len(iris.X_train))):
        with pytest.raises(UsageError, match="sample_weight"):
            train_population([start], None, iris, activation="tanh", sample_weight=bad,
                             settings=TrainSettings(epochs=1, shuffle=False))
