"""Symmetry and diversity measures against brute force, scipy and the trainer's own gradients."""

import itertools
import math

import numpy as np
import pytest

from evoinit import data
from evoinit.nn import diagnostics
from evoinit.nn.network import initial_start
from evoinit.nn.single import loss_and_grads, predict, trace


def _net(rng, sizes):
    return (tuple(rng.standard_normal((a, b)) for a, b in zip(sizes[:-1], sizes[1:])),
            tuple(rng.standard_normal(b) for b in sizes[1:]))


# -- units ------------------------------------------------------------------------------------------


def test_distinct_units_counts_columns_within_tolerance():
    W = np.full((5, 7), 0.3)
    assert diagnostics.distinct_units(W) == 1 and diagnostics.unit_spread(W) == 0.0
    rng = np.random.default_rng(0)
    assert diagnostics.distinct_units(rng.standard_normal((5, 7))) == 7
    W[2, 3] += 0.5e-3  # within the default tolerance 1e-3
    assert diagnostics.distinct_units(W) == 1
    W[2, 3] += 1e-3
    assert diagnostics.distinct_units(W) == 2
    assert diagnostics.unit_spread(W) == pytest.approx(1.5e-3)
    # the bias is part of a unit
    b = np.zeros(7)
    b[6] = 1.0
    assert diagnostics.distinct_units(np.ones((3, 7)), b) == 2
    assert diagnostics.distinct_units(np.ones((3, 7)), b, tol=2.0) == 1


def test_changed():
    a = np.arange(6.0).reshape(2, 3)
    assert diagnostics.changed(a, a.copy()) == 0.0
    assert diagnostics.changed(a, a + np.eye(2, 3) * 0.25) == 0.25


# -- layer statistics ------------------------------------------------------------------------------


def test_weight_gradients_from_trace_are_the_trainers_gradients():
    iris = data.load("iris")
    start = initial_start((4, 6, 5, 3), "glorot_uniform", np.random.default_rng(0))
    acts, deltas = trace(start, iris.X_train, iris.y_train, activation="tanh", task="classification")
    grads = diagnostics.weight_gradients([iris.X_train] + acts[:-1], deltas)
    _, gW, _ = loss_and_grads(start, iris.X_train, iris.y_train, activation="tanh", task="classification")
    for mine, theirs in zip(grads, gW):
        np.testing.assert_allclose(mine, theirs, rtol=1e-10, atol=1e-14)
    stds = diagnostics.layer_std(acts)
    assert stds == pytest.approx([float(np.std(a)) for a in acts])


# -- diversity -----------------------------------------------------------------------------------


def test_disagreement_and_mean_over_pairs():
    labels = np.array([[0, 1, 2, 3], [0, 1, 2, 0], [1, 1, 2, 0]])
    D = diagnostics.disagreement(labels)
    assert D.shape == (3, 3) and np.array_equal(D, D.T) and not np.diag(D).any()
    assert D[0, 1] == 0.25 and D[0, 2] == 0.5 and D[1, 2] == 0.25
    assert diagnostics.mean_off_diagonal(D) == pytest.approx(1 / 3)
    assert diagnostics.mean_off_diagonal(diagnostics.disagreement(np.tile(labels[:1], (4, 1)))) == 0.0


def test_ensemble_error_averages_probabilities():
    y = np.array([0, 1])
    # network 0 is sure and wrong on row 1; network 1 is right and surer: the average is right
    logits = np.array([[[5.0, 0.0], [2.0, 0.0]],
                       [[5.0, 0.0], [0.0, 9.0]]])
    assert diagnostics.ensemble_error(logits[:1], y) == 0.5
    assert diagnostics.ensemble_error(logits, y) == 0.0
    p = diagnostics.softmax(np.array([[1000.0, 1000.0, -1000.0]]))
    np.testing.assert_allclose(p, [[0.5, 0.5, 0.0]])


def test_best_of_n_is_the_exact_mean_over_subsets():
    rng = np.random.default_rng(1)
    select = rng.integers(0, 4, 7).astype(float)  # with ties
    report = rng.random(7)
    for n in range(1, 8):
        brute = []
        for subset in itertools.combinations(range(7), n):
            pick = min(subset, key=lambda i: (select[i], i))  # ties: lowest index, as a stable sort
            brute.append(report[pick])
        assert diagnostics.best_of_n(select, report, n) == pytest.approx(np.mean(brute), rel=1e-12)
    assert diagnostics.best_of_n(select, report, 1) == pytest.approx(report.mean())
    with pytest.raises(ValueError):
        diagnostics.best_of_n(select, report, 8)


# -- permutations --------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (4, 4), (5, 9), (40, 40)])
def test_assignment_matches_scipy(shape):
    from scipy.optimize import linear_sum_assignment

    rng = np.random.default_rng(sum(shape))
    for trial in range(10):
        cost = rng.standard_normal(shape) if trial % 2 else rng.integers(0, 3, shape).astype(float)
        perm = diagnostics.assignment(cost)
        assert len(set(perm.tolist())) == shape[0]
        rows, cols = linear_sum_assignment(cost)
        assert cost[np.arange(shape[0]), perm].sum() == pytest.approx(cost[rows, cols].sum(), abs=1e-9)
    with pytest.raises(ValueError):
        diagnostics.assignment(np.zeros((3, 2)))


def test_assignment_is_the_least_cost_of_all_assignments_by_brute_force():
    rng = np.random.default_rng(11)
    for n, m in [(1, 3), (2, 2), (3, 5), (4, 4), (5, 6), (6, 6)]:
        for trial in range(5):
            cost = rng.standard_normal((n, m)) if trial % 2 else rng.integers(0, 3, (n, m)).astype(float)
            perm = diagnostics.assignment(cost)
            assert sorted(perm.tolist()) == sorted(set(perm.tolist())) and perm.max() < m
            rows = np.arange(n)
            best = min(cost[rows, list(cols)].sum() for cols in itertools.permutations(range(m), n))
            assert cost[rows, perm].sum() == pytest.approx(best, abs=1e-12)


def test_align_undoes_a_permutation_of_hidden_units_and_keeps_the_function():
    rng = np.random.default_rng(2)
    sizes = (4, 6, 5, 3)
    a = _net(rng, sizes)
    b = diagnostics._permuted(a, [rng.permutation(6), rng.permutation(5)])
    X = rng.standard_normal((10, 4))
    np.testing.assert_allclose(predict(*a, X, activation="tanh"), predict(*b, X, activation="tanh"), rtol=1e-12)
    assert diagnostics.weight_distance(a, b) > 1.0
    assert diagnostics.permutation_distance(a, b) == pytest.approx(0.0, abs=1e-12)
    aligned = diagnostics.align(a, b)
    np.testing.assert_allclose(predict(*aligned, X, activation="tanh"), predict(*b, X, activation="tanh"),
                               rtol=1e-12)


def test_permutation_distance_is_exact_for_one_hidden_layer_and_never_above_raw():
    rng = np.random.default_rng(3)
    for _ in range(5):
        a, b = _net(rng, (3, 5, 2)), _net(rng, (3, 5, 2))
        brute = min(diagnostics.weight_distance(a, diagnostics._permuted(b, [np.array(p)]))
                    for p in itertools.permutations(range(5)))
        assert diagnostics.permutation_distance(a, b) == pytest.approx(brute, rel=1e-12)
    for _ in range(5):
        a, b = _net(rng, (3, 4, 4, 2)), _net(rng, (3, 4, 4, 2))
        brute = min(diagnostics.weight_distance(a, diagnostics._permuted(b, [np.array(p), np.array(q)]))
                    for p in itertools.permutations(range(4)) for q in itertools.permutations(range(4)))
        d = diagnostics.permutation_distance(a, b)
        assert brute - 1e-12 <= d <= diagnostics.weight_distance(a, b) + 1e-12


def test_parameter_norm():
    net = ((np.array([[3.0]]),), (np.array([4.0]),))
    assert diagnostics.parameter_norm(net) == 5.0
    assert diagnostics.weight_distance(net, ((np.zeros((1, 1)),), (np.zeros(1),))) == 5.0
    assert math.isclose(diagnostics.weight_distance(net, net), 0.0)
