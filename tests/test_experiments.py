"""Every experiment's fast mode, run in-process, and its claim asserted on the JSON it wrote.

Each assertion is one the experiment would fail with a wrong initializer or a wrong trainer: a
constant start that is not constant, a trainer that mixes networks or units, a scheme with the
wrong variance.
"""

import json
import math
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

import glorot_bengio  # noqa: E402
import he_rectifiers  # noqa: E402
import init_range  # noqa: E402
import saxe_orthogonal  # noqa: E402
import symmetry_across  # noqa: E402
import symmetry_within  # noqa: E402

MODULES = {m.NAME: m for m in (symmetry_within, symmetry_across, glorot_bengio, he_rectifiers,
                                saxe_orthogonal, init_range)}


def _num(x) -> float:
    """A number from the JSON, where inf and NaN are written as strings."""
    return float(x)


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Run each experiment once (fast), lazily; return what it wrote to disk."""
    cache = {}

    def get(name):
        if name not in cache:
            out = tmp_path_factory.mktemp(name)
            returned = MODULES[name].run(True, out)
            written = json.loads((out / f"{name}.json").read_text())
            assert (out / f"{name}.png").stat().st_size > 10_000
            assert written["experiment"] == name and written["fast"] is True and written["claim"]
            assert written["command"] == f"python experiments/{name}.py --fast"
            assert set(written) == set(returned)
            cache[name] = written
        return cache[name]

    return get


# -- symmetry within a network ---------------------------------------------------------------------


def test_symmetric_starts_stay_one_unit_wide_and_random_starts_use_every_unit(results):
    r = results("symmetry_within")["inits"]
    hidden = r["hidden"]
    inits = r["inits"]
    for label in ("zeros", "ones", "constant 0.1"):
        assert inits[label]["distinct_at_start"] == [1, 1]
        assert inits[label]["max_distinct"] == [1, 1], label   # never more than one unit, any epoch
    rand = inits["random (glorot_uniform)"]
    assert rand["distinct_at_start"] == hidden
    assert all(min(per_epoch) == w for per_epoch, w in zip(rand["distinct_per_epoch"], hidden))
    # the symmetric networks learn far less
    assert rand["final_val_error"] < 0.15
    assert all(inits[k]["final_val_error"] > 0.5 for k in ("zeros", "ones", "constant 0.1"))
    # zeros with tanh: hidden activations are 0, so the first layer gets no gradient at all
    assert inits["zeros"]["first_layer_change"] == 0.0
    assert inits["constant 0.1"]["first_layer_change"] > 1e-3


def test_symmetry_is_exact_without_perturbation_and_breaks_with_one(results):
    p2 = results("symmetry_within")["breaking"]
    runs = {(r["width"], r["variant"]): r for r in p2["runs"]}
    exact, perturbed, rand = runs[(8, "exact")], runs[(8, "perturbed")], runs[(8, "random")]
    assert exact["split_epoch"] is None and max(exact["spread"]) == 0.0
    assert exact["final_distinct"] == [1, 1]
    # the 1e-8 perturbation grows until the units separate, and then the network learns
    assert perturbed["spread"][0] < 1e-6 and perturbed["split_epoch"] is not None
    assert perturbed["final_distinct"][0] > 1
    assert perturbed["final_val_error"] < exact["final_val_error"] - 0.1
    assert rand["final_distinct"] == [8, 8] and rand["split_epoch"] == 1


def test_training_one_epoch_per_call_is_the_same_as_one_run():
    """The method of symmetry_within: with plain SGD, chaining epochs changes nothing."""
    from evoinit import data
    from evoinit.nn.network import initial_start, train_population
    from evoinit.nn.training import Start, TrainSettings

    iris = data.load("iris")
    start = initial_start((4, 5, 3), "glorot_uniform", np.random.default_rng(0))
    s3 = TrainSettings(epochs=3, batch_size=16, momentum=0.0)
    once = train_population([start], [np.random.default_rng(1)], iris, activation="tanh", settings=s3)[0]
    chained, order = start, np.random.default_rng(1)
    for _ in range(3):
        r = train_population([chained], [order], iris, activation="tanh",
                             settings=TrainSettings(epochs=1, batch_size=16, momentum=0.0))[0]
        chained = Start.of(r.weights, r.biases)
    for a, b in zip(once.weights + once.biases, chained.weights + chained.biases):
        assert np.array_equal(a, b)


# -- symmetry across networks ----------------------------------------------------------------------


def test_shared_start_and_order_give_one_network_n_times(results):
    cases = results("symmetry_across")["datasets"]["spirals"]["cases"]
    same = cases["shared start, shared order"]
    assert same["val_loss_std"] == 0.0 and same["val_loss_range"] == 0.0
    assert same["disagreement"] == 0.0 and same["aligned_distance"] == 0.0 and same["weight_distance"] == 0.0
    assert same["start_distance"] == 0.0 and same["ensemble_gain"] == 0.0
    # best-of-n and ensembles of copies are the one network (up to the rounding of a weighted mean)
    assert np.ptp(same["best_of_n_test"]) < 1e-12 and np.ptp(same["ensemble_test_error"]) == 0.0
    assert same["best_of_n_test"][0] == pytest.approx(same["mean_test_error"], abs=1e-12)


def test_distinct_seeds_spread_over_solutions_an_ensemble_and_best_of_n_can_use(results):
    cases = results("symmetry_across")["datasets"]["spirals"]["cases"]
    own, middle = cases["own start, own order"], cases["shared start, own order"]
    assert own["val_loss_std"] > 0.05 and own["disagreement"] > 0.05
    assert 0 < own["aligned_distance"] < own["weight_distance"]
    assert own["ensemble_test_error"][-1] < own["mean_test_error"] - 0.03
    assert own["best_of_n_test"][-1] < own["best_of_n_test"][0] - 0.03
    # picking on test itself is never worse than the honest pick on validation
    assert all(t <= v + 1e-12 for t, v in zip(own["best_of_n_on_test_itself"], own["best_of_n_test"]))
    # the middle case: the data order alone already separates the networks, less than new starts do
    assert 0 < middle["disagreement"] and middle["val_loss_std"] > 0
    assert middle["aligned_distance"] < own["aligned_distance"]


# -- Glorot & Bengio ------------------------------------------------------------------------------


def test_standard_init_shrinks_signals_through_depth_and_glorot_keeps_them(results):
    r = results("glorot_bengio")["results"]
    std, glorot = r["tanh"]["standard_uniform"], r["tanh"]["glorot_uniform"]
    # forward (activations) and backward (dL/dz): about 1/sqrt(3) per layer under the standard init
    assert std["activation_per_layer_factor"] < 0.65 and std["gradient_per_layer_factor"] < 0.65
    for key in ("activation_per_layer_factor", "gradient_per_layer_factor"):
        assert 0.75 <= glorot[key] <= 1.25, key
        assert glorot[key] - std[key] > 0.2
    # the two shrinkings cancel in the weight gradients (Glorot & Bengio's remark after Bradley)
    assert 0.5 < std["weight_gradient_ratio_first_last"] < 2
    # sigmoid: sigma'(0) = 1/4 shrinks gradients under both; 4x the Glorot range does much better
    sig = r["sigmoid"]
    factors = [sig[k]["gradient_per_layer_factor"] for k in ("standard_uniform", "glorot_uniform",
                                                              "kwon_logistic_uniform")]
    assert factors == sorted(factors) and factors[1] < 0.5 and factors[2] > 0.5


# -- He et al. -------------------------------------------------------------------------------------


def test_he_init_learns_a_30_layer_relu_net_and_glorot_does_not(results):
    r = results("he_rectifiers")
    learn = r["learning"]
    chance = r["setup"]["chance"]
    assert learn["ReLU, glorot_uniform, SGD"]["mean_final_val_error"] > chance - 0.05
    assert learn["ReLU, he (a=0), SGD"]["mean_final_val_error"] < chance - 0.3
    assert not any(v["diverged"] for v in learn.values())


def test_signal_scale_per_layer_follows_the_variance_argument(results):
    for a, by_init in results("he_rectifiers")["signal"].items():
        for label, s in by_init.items():
            assert abs(s["per_layer_factor"] - s["predicted_factor"]) < 0.06, (a, label)
    half = results("he_rectifiers")["signal"]["0.5"]
    assert half["glorot_uniform"]["per_layer_factor"] < 0.85 < half["he_general (a=0.5)"]["per_layer_factor"]
    assert half["he (a=0)"]["per_layer_factor"] > 1.05


# -- Saxe et al. -----------------------------------------------------------------------------------


def test_orthogonal_learning_time_is_flat_in_depth_and_gaussian_grows(results):
    r = results("saxe_orthogonal")["results"]
    ortho = [_num(v["epochs_to_threshold"]) for v in r["orthogonal"].values()]
    gauss = [_num(v["epochs_to_threshold"]) for v in r["scaled Gaussian N(0, 1/n)"].values()]
    assert all(math.isfinite(e) for e in ortho) and max(ortho) <= 2.5 * min(ortho)
    assert gauss[0] <= 1.5 * ortho[0]          # one hidden layer: the starts hardly differ
    assert gauss[-1] >= 4 * ortho[-1]          # deep: the Gaussian start is far slower (or never)
    assert gauss == sorted(gauss)


# -- the init range --------------------------------------------------------------------------------


def test_init_range_vanishing_and_saturation(results):
    r = results("init_range")["results"]
    sig, tanh = r["sigmoid, width 64"]["per_range"], r["tanh, width 64"]["per_range"]
    for per in (sig, tanh):
        ratios = [per[k]["gradient_ratio_first_last"] for k in per]
        assert ratios == sorted(ratios)   # larger range: gradients reach the input layers better
    # small ranges: the gradient vanishes toward the input and the sigmoid net does not learn
    assert sig["0.1"]["gradient_ratio_first_last"] < 0.1 and sig["0.05"]["final_val_error"] > 0.8
    # large ranges: most units saturated, learning much worse than the best range
    assert tanh["5"]["saturated_fraction"] > 0.8 and tanh["0.1"]["saturated_fraction"] < 0.01
    best = {k: r[k]["findings"] for k in r}
    assert tanh["5"]["final_val_error"] > 2 * best["tanh, width 64"]["best_final_val_error"]
    # sigma'(0) = 1/4: the sigmoid wants a larger range than tanh
    assert best["sigmoid, width 64"]["best_range_final_error"] > best["tanh, width 64"]["best_range_final_error"]
