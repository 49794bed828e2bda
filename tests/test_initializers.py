"""Initializers against their published closed forms (Keras 3, PyTorch, Saxe, Kwon et al.).

Every random scheme is sampled (pooled over fresh generators until there are >= 20k values) and
compared with its exact reference distribution: mean and std within 5 standard errors, support
and tails, and a Kolmogorov-Smirnov test. Separate tests target the usual mistakes.
"""

import math
import random
import zlib

import numpy as np
import pytest
from scipy import stats

from evoinit.errors import UsageError
from evoinit.nn import initializers as I

T = 0.87962566103423978  # std of N(0, 1) truncated to [-2, 2]
SHAPES = [(64, 32), (32, 64), (300, 100), (10, 10), (1, 50)]
N_MIN = 20_000

EXPECTED_NAMES = [
    "zeros", "ones", "constant", "uniform", "normal", "truncated_normal", "variance_scaling",
    "lecun_uniform", "lecun_normal", "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
    "he_general_normal", "he_general_uniform", "orthogonal", "identity", "standard_uniform",
    "kwon_logistic_uniform", "kwon_logistic_normal", "kwon_tanh_uniform", "kwon_tanh_normal",
    "kwon_relu_uniform", "kwon_relu_normal",
]
RANDOM = {n for n in EXPECTED_NAMES if n not in ("zeros", "ones", "constant", "identity")}


def U(limit):
    return stats.uniform(loc=-limit, scale=2 * limit)


def N(std):
    return stats.norm(scale=std)


def TN(s):
    """Keras's truncated normal: N(0, s²) cut at ±2s (realised std 0.8796·s)."""
    return stats.truncnorm(-2, 2, scale=s)


# (name, params, scale, reference distribution as a function of (fan_in, fan_out)), derived
# from the papers / Keras / PyTorch, not from the module.
CASES = [
    ("uniform", {}, 1.0, lambda i, o: U(0.05)),
    ("uniform", {"minval": -0.1, "maxval": 0.3}, 2.0, lambda i, o: stats.uniform(-0.2, 0.8)),
    ("normal", {}, 1.0, lambda i, o: N(0.05)),
    ("normal", {"mean": 0.5, "stddev": 0.2}, 1.5, lambda i, o: stats.norm(0.5, 0.3)),
    ("truncated_normal", {}, 1.0, lambda i, o: TN(0.05)),
    ("truncated_normal", {"stddev": 1.0}, 0.5, lambda i, o: TN(0.5)),
    ("variance_scaling", {}, 1.0, lambda i, o: TN(math.sqrt(1 / i) / T)),
    ("lecun_uniform", {}, 1.0, lambda i, o: U(math.sqrt(3 / i))),
    ("lecun_normal", {}, 1.0, lambda i, o: TN(math.sqrt(1 / i) / T)),
    ("glorot_uniform", {}, 1.0, lambda i, o: U(math.sqrt(6 / (i + o)))),
    ("glorot_uniform", {}, 1.7, lambda i, o: U(1.7 * math.sqrt(6 / (i + o)))),
    ("glorot_normal", {}, 1.0, lambda i, o: TN(math.sqrt(2 / (i + o)) / T)),
    ("he_uniform", {}, 1.0, lambda i, o: U(math.sqrt(6 / i))),
    ("he_normal", {}, 1.0, lambda i, o: TN(math.sqrt(2 / i) / T)),
    ("he_normal", {}, 0.3, lambda i, o: TN(0.3 * math.sqrt(2 / i) / T)),
    ("he_general_normal", {}, 1.0, lambda i, o: N(math.sqrt(2 / i))),
    ("he_general_normal", {"a": 1.0, "mode": "fan_out"}, 1.0, lambda i, o: N(math.sqrt(1 / o))),
    ("he_general_uniform", {}, 1.0, lambda i, o: U(math.sqrt(6 / i))),
    ("he_general_uniform", {"a": 0.5}, 2.0, lambda i, o: U(2 * math.sqrt(2 / 1.25) * math.sqrt(3 / i))),
    ("standard_uniform", {}, 1.0, lambda i, o: U(1 / math.sqrt(i))),
    ("kwon_logistic_uniform", {}, 1.0, lambda i, o: U(4 * math.sqrt(6 / (i + o)))),
    ("kwon_logistic_normal", {}, 1.0, lambda i, o: N(4 * math.sqrt(2 / (i + o)))),
    ("kwon_tanh_uniform", {}, 1.0, lambda i, o: U(math.sqrt(6 / (i + o)))),
    ("kwon_tanh_normal", {}, 1.0, lambda i, o: N(math.sqrt(2 / (i + o)))),
    ("kwon_relu_uniform", {}, 1.0, lambda i, o: U(math.sqrt(2) * math.sqrt(6 / (i + o)))),
    ("kwon_relu_normal", {}, 1.0, lambda i, o: N(math.sqrt(2) * math.sqrt(2 / (i + o)))),
]
# variance_scaling, every mode × distribution, factor 2.5: var = 2.5/n.
_N_OF = {"fan_in": lambda i, o: i, "fan_out": lambda i, o: o, "fan_avg": lambda i, o: (i + o) / 2}
_DIST_OF = {
    "truncated_normal": lambda v: TN(math.sqrt(v) / T),
    "normal": lambda v: TN(math.sqrt(v) / T),  # Keras 3 reads "normal" as truncated_normal
    "untruncated_normal": lambda v: N(math.sqrt(v)),
    "uniform": lambda v: U(math.sqrt(3 * v)),
}
CASES += [
    ("variance_scaling", {"factor": 2.5, "mode": m, "distribution": d}, 1.0,
     lambda i, o, m=m, d=d: _DIST_OF[d](2.5 / _N_OF[m](i, o)))
    for m in _N_OF for d in _DIST_OF
]


def _case_id(case):
    name, params, scale, _ = case
    extra = ",".join(f"{k}={v}" for k, v in params.items())
    return f"{name}({extra})x{scale}"


def pooled(name, shape, *, scale=1.0, n_min=N_MIN, key="", **params):
    """Values of ``ceil(n_min / size)`` draws, each from a fresh, fixed-seed generator."""
    seed = zlib.crc32(f"{name}{params}{scale}{shape}{key}".encode())
    size = math.prod(shape)
    draws = [I.draw(name, shape, np.random.default_rng([seed, k]), scale=scale, **params)
             for k in range(-(-n_min // size))]
    for w in draws:
        assert w.shape == shape and w.dtype == np.float64
    return np.concatenate([w.ravel() for w in draws])


def close(actual, desired):
    """Equal up to rounding (U[lo, hi] is drawn as lo + (hi - lo)·u, so allow an absolute ulp)."""
    np.testing.assert_allclose(actual, desired, rtol=1e-12, atol=1e-15)


def std_z(x, target_std, kurtosis=3.0):
    """How many standard errors the sample std of ``x`` is from ``target_std``."""
    se = target_std * math.sqrt((kurtosis - 1) / (4 * len(x)))
    return abs(x.std() - target_std) / se


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_random_scheme_matches_its_reference_distribution(case, shape):
    name, params, scale, reference = case
    dist = reference(*shape)
    x = pooled(name, shape, scale=scale, **params)
    n, mu, sd = len(x), dist.mean(), dist.std()
    kurtosis = float(dist.stats(moments="k")) + 3
    assert abs(x.mean() - mu) < 5 * sd / math.sqrt(n)
    assert std_z(x, sd, kurtosis) < 5
    lo, hi = dist.support()
    slack = 1e-12 * sd
    assert x.min() >= lo - slack and x.max() <= hi + slack
    # Tails reach where ~50 values are expected beyond: bounded laws reach their bounds,
    # untruncated normals reach past the truncation point.
    assert x.max() > dist.ppf(1 - 50 / n) and x.min() < dist.ppf(50 / n)
    assert stats.kstest(x, dist.cdf).pvalue > 1e-3


# --- the usual mistakes ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal"])
def test_glorot_uses_fan_in_plus_fan_out(name):
    x = pooled(name, (300, 100), key="mistake")
    k = 1.8 if name.endswith("uniform") else 2.63
    assert std_z(x, math.sqrt(2 / 400), k) < 5
    assert std_z(x, math.sqrt(1 / 300), k) > 15  # fan_in only
    assert std_z(x, math.sqrt(1 / 100), k) > 15  # fan_out only


@pytest.mark.parametrize("name", ["he_uniform", "he_normal", "he_general_normal", "he_general_uniform"])
def test_he_uses_fan_in_not_fan_avg(name):
    x = pooled(name, (300, 100), key="mistake")
    assert std_z(x, math.sqrt(2 / 300)) < 5
    assert std_z(x, math.sqrt(2 / 200)) > 15


@pytest.mark.parametrize("name, var", [
    ("lecun_normal", 1 / 300), ("glorot_normal", 2 / 400), ("he_normal", 2 / 300),
    ("variance_scaling", 1 / 300),
])
def test_truncated_presets_realise_the_full_std(name, var):
    x = pooled(name, (300, 100), key="mistake")
    assert std_z(x, math.sqrt(var), 2.63) < 5
    assert std_z(x, T * math.sqrt(var), 2.63) > 15  # drawn without the 0.8796 correction
    s = math.sqrt(var) / T
    assert np.abs(x).max() <= 2 * s
    assert np.abs(x).max() > 2 * math.sqrt(var)  # cut at 2·s, not at 2·sqrt(var)


def test_keras_truncated_normal_has_no_correction():
    x = pooled("truncated_normal", (300, 100), stddev=1.0)
    assert std_z(x, T, 2.63) < 5
    assert std_z(x, 1.0, 2.63) > 15
    assert np.abs(x).max() <= 2.0


@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_factor_and_scale_compose_as_factor_times_scale_squared(distribution):
    a = I.variance_scaling((64, 32), np.random.default_rng(5), scale=2.0, factor=3.0,
                           distribution=distribution)
    b = I.variance_scaling((64, 32), np.random.default_rng(5), factor=12.0, distribution=distribution)
    close(a, b)
    x = pooled("variance_scaling", (300, 100), scale=2.0, factor=3.0, distribution=distribution)
    assert std_z(x, math.sqrt(12 / 300)) < 5
    assert std_z(x, math.sqrt(6 / 300)) > 15  # scale applied to the variance


def test_normal_distribution_reads_as_truncated_like_keras_3():
    a = I.variance_scaling((30, 20), np.random.default_rng(3), distribution="normal")
    b = I.variance_scaling((30, 20), np.random.default_rng(3), distribution="truncated_normal")
    np.testing.assert_array_equal(a, b)


def test_kwon_ranges_use_fan_in_plus_fan_out():
    shape = (300, 100)
    r = math.sqrt(2) * math.sqrt(6 / 400)
    x = pooled("kwon_relu_uniform", shape)
    assert np.abs(x).max() <= r and np.abs(x).max() > 0.999 * r
    assert np.abs(x).max() > 1.2 * math.sqrt(6 / 300)  # He's limit sqrt(6/fan_in) is smaller
    for act in ("uniform", "normal"):
        tanh = I.draw(f"kwon_tanh_{act}", shape, np.random.default_rng(9))
        close(I.draw(f"kwon_logistic_{act}", shape, np.random.default_rng(9)), 4 * tanh)
        close(I.draw(f"kwon_relu_{act}", shape, np.random.default_rng(9)), math.sqrt(2) * tanh)
    close(I.draw("kwon_tanh_uniform", shape, np.random.default_rng(4)),
          I.draw("glorot_uniform", shape, np.random.default_rng(4)))


@pytest.mark.parametrize("name", ["he_general_normal", "he_general_uniform"])
def test_he_general_slope_one_has_gain_one(name):
    a0 = I.draw(name, (64, 32), np.random.default_rng(1), a=0.0)
    a1 = I.draw(name, (64, 32), np.random.default_rng(1), a=1.0)
    close(a1, a0 / math.sqrt(2))
    default = I.draw(name, (64, 32), np.random.default_rng(1))
    np.testing.assert_array_equal(default, a0)


def test_fans_follow_keras():
    assert I.fans((64, 32)) == (64, 32)
    assert I.fans((7,)) == (7, 7)
    assert I.fans(7) == (7, 7)
    assert I.fans(()) == (1, 1)
    assert I.fans((3, 3, 16, 32)) == (144, 288)
    assert I.fans((2, 3, 4, 5, 6)) == (120, 144)
    w = I.he_uniform((3, 3, 16, 32), np.random.default_rng(0))
    assert np.abs(w).max() <= math.sqrt(6 / 144) and np.abs(w).max() > 0.99 * math.sqrt(6 / 144)
    b = I.glorot_uniform((50,), np.random.default_rng(0))
    assert np.abs(b).max() <= math.sqrt(6 / 100)


# --- matrix schemes and constants -------------------------------------------------------------


@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (10, 10), (3, 4, 5), (2, 3, 12)], ids=str)
def test_orthogonal_is_orthonormal_along_the_shorter_side(shape):
    gain, scale = 1.5, 0.5
    w = I.orthogonal(shape, np.random.default_rng(2), gain=gain, scale=scale)
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    rows, cols = m.shape
    gram = m.T @ m if rows >= cols else m @ m.T
    np.testing.assert_allclose(gram, (gain * scale) ** 2 * np.eye(min(rows, cols)), atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 6), (8, 3), (3, 8)], ids=str)
def test_orthogonal_is_haar_not_sign_biased(shape):
    """Without the sign(diag R) correction LAPACK's Q has a fixed-sign first entry."""
    n_draws, n = 3000, max(shape)
    first = np.array([I.orthogonal(shape, np.random.default_rng([7, k]))[0, 0] for k in range(n_draws)])
    # The first entry of a Haar column/row is a coordinate of a uniform unit vector in R^n:
    # mean 0, variance 1/n.
    se = math.sqrt(1 / n / n_draws)
    assert abs(first.mean()) < 5 * se
    assert abs((first ** 2).mean() - 1 / n) < 0.1 / n
    assert 0.45 < (first > 0).mean() < 0.55


def test_orthogonal_needs_two_dims():
    with pytest.raises(UsageError, match="orthogonal"):
        I.orthogonal((5,), np.random.default_rng(0))


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3)], ids=str)
def test_identity_is_gain_times_eye(shape):
    w = I.identity(shape, None, gain=2.0, scale=0.25)
    np.testing.assert_array_equal(w, 0.5 * np.eye(*shape))
    np.testing.assert_array_equal(I.draw("identity", shape, np.random.default_rng(0)), np.eye(*shape))


@pytest.mark.parametrize("shape", [(4,), (2, 2, 2)], ids=str)
def test_identity_rejects_non_matrices(shape):
    with pytest.raises(UsageError, match="2-D"):
        I.identity(shape, None)


def test_constants_are_exact():
    rng = np.random.default_rng(0)
    for name, expect in [("zeros", 0.0), ("ones", 1.0), ("constant", 0.0)]:
        w = I.draw(name, (3, 4), rng)
        assert w.dtype == np.float64
        np.testing.assert_array_equal(w, np.full((3, 4), expect))
    np.testing.assert_array_equal(I.draw("ones", (2, 3), rng, scale=0.5), np.full((2, 3), 0.5))
    np.testing.assert_array_equal(I.draw("constant", (5,), rng, value=2.5, scale=2.0), np.full(5, 5.0))
    np.testing.assert_array_equal(I.draw("zeros", (2, 2), rng, scale=3.0), np.zeros((2, 2)))


# --- randomness is passed, never global ---------------------------------------------------------


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_same_generator_state_same_weights(name):
    a = I.draw(name, (12, 7), np.random.default_rng(42))
    b = I.draw(name, (12, 7), np.random.default_rng(42))
    np.testing.assert_array_equal(a, b)
    c = I.draw(name, (12, 7), np.random.default_rng(43))
    assert (not np.array_equal(a, c)) == (name in RANDOM) == I.get(name).random


def test_global_random_state_is_neither_used_nor_touched():
    def all_draws():
        return [I.draw(n, (9, 5), np.random.default_rng(11)) for n in EXPECTED_NAMES]

    np.random.seed(1)
    random.seed(1)
    first = all_draws()
    np.random.seed(2)
    random.seed(2)
    np_state, py_state = np.random.get_state(), random.getstate()
    second = all_draws()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1])
    assert after[2:] == np_state[2:]
    assert random.getstate() == py_state


def test_a_generator_is_required_for_random_schemes():
    with pytest.raises(TypeError, match="Generator"):
        I.glorot_uniform((3, 3), np.random.RandomState(0))
    with pytest.raises(TypeError, match="Generator"):
        I.he_normal((3, 3), 0)
    with pytest.raises(TypeError, match="Generator"):
        I.draw("orthogonal", (3, 3), None)


# --- registry ---------------------------------------------------------------------------------


def test_names_are_stable_and_registry_is_consistent():
    assert I.names() == EXPECTED_NAMES
    assert I.names(aliases=True) == EXPECTED_NAMES + list(I.ALIASES)
    families = {"constant", "random", "variance_scaling", "matrix", "kwon"}
    for name, init in I.REGISTRY.items():
        assert init.name == name and init.family in families
        assert init.formula and "\n" not in init.formula
        assert init.fn.__doc__
    assert I.REGISTRY["variance_scaling"].params == {
        "factor": 1.0, "mode": "fan_in", "distribution": "truncated_normal"}
    assert I.REGISTRY["he_general_uniform"].params == {"a": 0.0, "mode": "fan_in"}
    assert I.REGISTRY["glorot_uniform"].params == {}


@pytest.mark.parametrize("alias, name", [
    ("xavier_uniform", "glorot_uniform"), ("Xavier_Normal", "glorot_normal"),
    ("KAIMING_UNIFORM", "he_uniform"), ("kaiming_normal", "he_normal"),
    ("random_uniform", "uniform"), ("random_normal", "normal"), ("  He_Normal ", "he_normal"),
])
def test_aliases_resolve(alias, name):
    assert I.get(alias) is I.REGISTRY[name]
    assert I.canonical(alias) == name


def test_get_wraps_a_callable():
    def my_init(shape, rng, *, scale=1.0):
        return np.full(shape, 3.0 * scale)

    init = I.get(my_init)
    assert init.name == "my_init" and init.fn is my_init
    np.testing.assert_array_equal(I.draw(my_init, (2, 2), None, scale=2.0), np.full((2, 2), 6.0))
    assert I.get(init) is init
    assert I.get(I.he_normal) is I.REGISTRY["he_normal"]


def test_unknown_name_suggests_the_closest():
    with pytest.raises(UsageError, match="did you mean 'glorot_uniform'"):
        I.get("glorot_unifrom")
    with pytest.raises(UsageError, match="unknown init 'nonsense'"):
        I.canonical("nonsense")


def test_bad_params_are_usage_errors_that_name_what_is_allowed():
    rng = np.random.default_rng(0)
    with pytest.raises(UsageError, match="glorot_uniform.*gain.*none"):
        I.draw("glorot_uniform", (3, 3), rng, gain=2.0)
    with pytest.raises(UsageError, match="variance_scaling.*fator.*factor, mode, distribution"):
        I.draw("variance_scaling", (3, 3), rng, fator=2.0)
    with pytest.raises(UsageError, match="mode must be one of fan_in, fan_out, fan_avg"):
        I.draw("variance_scaling", (3, 3), rng, mode="fan_sum")
    with pytest.raises(UsageError, match="mode must be one of fan_in, fan_out"):
        I.draw("he_general_normal", (3, 3), rng, mode="fan_avg")
    with pytest.raises(UsageError, match="distribution must be one of .*uniform"):
        I.draw("variance_scaling", (3, 3), rng, distribution="gaussian")
    with pytest.raises(UsageError, match="factor"):
        I.draw("variance_scaling", (3, 3), rng, factor=0.0)
    with pytest.raises(UsageError, match="stddev"):
        I.draw("normal", (3, 3), rng, stddev=-1.0)
    with pytest.raises(UsageError, match="slope"):
        I.draw("he_general_uniform", (3, 3), rng, a=float("nan"))
    with pytest.raises(UsageError, match="shape"):
        I.draw("glorot_uniform", (3, -1), rng)


@pytest.mark.parametrize("scale", [-0.1, float("nan"), float("inf"), "big"])
@pytest.mark.parametrize("name", ["zeros", "constant", "glorot_uniform", "orthogonal", "identity"])
def test_bad_scale_is_rejected(name, scale):
    with pytest.raises(UsageError, match="scale"):
        I.draw(name, (4, 4), np.random.default_rng(0), scale=scale)


def test_zero_scale_gives_zeros():
    for name in EXPECTED_NAMES:
        w = I.draw(name, (4, 4), np.random.default_rng(0), scale=0.0)
        assert not w.any(), name


def test_gain_table():
    assert I.gain("linear") == I.gain("identity") == I.gain("sigmoid") == I.gain("conv2d") == 1.0
    assert I.gain("tanh") == pytest.approx(5 / 3)
    assert I.gain("relu") == pytest.approx(math.sqrt(2))
    assert I.gain("leaky_relu") == pytest.approx(math.sqrt(2 / (1 + 0.01 ** 2)))
    assert I.gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2 / 1.04))
    assert I.gain("leaky_relu", 0) == pytest.approx(math.sqrt(2))
    assert I.gain("selu") == 0.75
    assert I.gain("ELU") == I.gain("gelu") == pytest.approx(math.sqrt(2))
    assert I.gain("softsign") == 1.0
    with pytest.raises(UsageError, match="did you mean 'tanh'"):
        I.gain("tanhh")


# --- the preset table -------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(I.PRESETS))
@pytest.mark.parametrize("shape", [(64, 32), (7, 300), (3, 3, 16, 8)], ids=str)
def test_every_preset_draws_variance_scaling_with_its_table_entry(name, shape):
    """A preset is its (factor, mode, distribution) row: the same numbers as variance_scaling with
    that row, to the bit for the Keras arithmetic, to rounding for the papers' own (Kwon, standard)."""
    p = I.PRESETS[name]
    assert I.REGISTRY[name].family == p.family and I.REGISTRY[name].formula == p.formula
    got = I.draw(name, shape, np.random.default_rng(5), scale=1.5)
    want = I.variance_scaling(shape, np.random.default_rng(5), scale=1.5, factor=p.factor, mode=p.mode,
                              distribution=p.distribution)
    if p.form == "keras":
        assert np.array_equal(got, want)
    else:
        np.testing.assert_allclose(got, want, rtol=1e-14, atol=1e-14 * np.abs(want).max())
    assert I.as_preset(name, I.parameters(name)) is p


def test_keras_presets_are_keras_3s_variance_scaling_arguments():
    """Keras 3 random_initializers.py: each preset class is VarianceScaling(scale, mode, distribution)."""
    keras = {"LecunUniform": (1.0, "fan_in", "uniform"), "LecunNormal": (1.0, "fan_in", "truncated_normal"),
             "GlorotUniform": (1.0, "fan_avg", "uniform"), "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
             "HeUniform": (2.0, "fan_in", "uniform"), "HeNormal": (2.0, "fan_in", "truncated_normal")}
    table = {p.keras: (p.factor, p.mode, p.distribution) for p in I.PRESETS.values() if p.keras}
    assert table == keras


def test_parameters_fill_defaults_and_check_like_a_draw():
    assert I.parameters("variance_scaling", {"distribution": "Uniform", "mode": "FAN_OUT"}) == {
        "factor": 1.0, "mode": "fan_out", "distribution": "uniform"}
    assert I.parameters("glorot_uniform") == {}
    with pytest.raises(UsageError, match="init 'he_general_normal': mode must be one of fan_in, fan_out"):
        I.parameters("he_general_normal", {"mode": "fan_avg"})
    with pytest.raises(UsageError, match="init 'glorot_uniform' has no parameter gain"):
        I.parameters("glorot_uniform", {"gain": 2})
    assert I.as_preset("orthogonal", I.parameters("orthogonal")) is None
