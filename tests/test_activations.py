"""Activations: values against textbook formulas, derivatives against finite differences,
in-place and float32 behaviour, overflow safety, gains, and the registry."""

import math
import warnings

import numpy as np
import pytest

from evoinit.errors import UsageError
from evoinit.nn import activations as A
from evoinit.nn import fans

LAM, ALPHA = 1.0507009873554805, 1.6732632423543772


def _gelu(z):
    return 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z ** 3)))


# (name, param, reference f(z)) written from the definitions, independent of the module.
REFERENCE = [
    ("linear", None, lambda z: z),
    ("sigmoid", None, lambda z: 1 / (1 + np.exp(-z))),
    ("tanh", None, np.tanh),
    ("relu", None, lambda z: np.where(z > 0, z, 0.0)),
    ("leaky_relu", None, lambda z: np.where(z > 0, z, 0.01 * z)),
    ("leaky_relu", 0.2, lambda z: np.where(z > 0, z, 0.2 * z)),
    ("leaky_relu", 1.5, lambda z: np.where(z > 0, z, 1.5 * z)),
    ("elu", None, lambda z: np.where(z > 0, z, np.exp(z) - 1)),
    ("elu", 0.5, lambda z: np.where(z > 0, z, 0.5 * (np.exp(z) - 1))),
    ("selu", None, lambda z: LAM * np.where(z > 0, z, ALPHA * (np.exp(z) - 1))),
    ("softsign", None, lambda z: z / (1 + np.abs(z))),
    ("gelu", None, _gelu),
]
IDS = [f"{n}{'' if p is None else p}" for n, p, _ in REFERENCE]


def points(n=4000, seed=0):
    """Points in [-6, 6] away from the kink at 0, on both sides."""
    z = np.random.default_rng(seed).uniform(-6, 6, n)
    z = z[np.abs(z) > 1e-3]
    assert (z < 0).sum() > n // 3 and (z > 0).sum() > n // 3
    return z


def grad_of(act, z, a, **kw):
    return act.grad(None if not act.needs_input else z, a, **kw)


@pytest.mark.parametrize("name, param, ref", REFERENCE, ids=IDS)
def test_values_match_the_definition(name, param, ref):
    z = points()
    np.testing.assert_allclose(A.get(name, param).fn(z), ref(z), rtol=1e-10, atol=1e-300)


@pytest.mark.parametrize("name, param, ref", REFERENCE, ids=IDS)
def test_derivative_matches_central_differences(name, param, ref):
    act = A.get(name, param)
    z, h = points(), 1e-6
    numeric = (act.fn(z + h) - act.fn(z - h)) / (2 * h)
    analytic = grad_of(act, z, act.fn(z))
    np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-9)


def test_conventions_at_zero():
    z = np.zeros(3)
    assert not A.get("relu").grad(None, A.get("relu").fn(z)).any()
    leaky = A.get("leaky_relu", 0.3)
    np.testing.assert_array_equal(leaky.grad(None, leaky.fn(z)), np.full(3, 0.3))


@pytest.mark.parametrize("name, param, ref", REFERENCE, ids=IDS)
def test_in_place_equals_out_of_place(name, param, ref):
    act = A.get(name, param)
    z0 = points(500, seed=1).reshape(2, 10, -1)[:, :, :20]
    a0 = act.fn(z0)
    g0 = grad_of(act, z0, a0)
    assert not np.shares_memory(a0, z0) and not np.shares_memory(g0, a0)

    z = z0.copy()
    assert act.fn(z, out=z) is z
    np.testing.assert_array_equal(z, a0)

    buf = np.empty_like(z0)
    assert act.fn(z0, out=buf) is buf
    np.testing.assert_array_equal(buf, a0)

    a = a0.copy()
    target = z0.copy() if act.needs_input else a
    assert act.grad(z0.copy() if act.needs_input else None, a, out=target) is target
    np.testing.assert_array_equal(target, g0)
    if act.needs_input:
        z = z0.copy()
        assert act.grad(z, a0, out=z) is z
        np.testing.assert_array_equal(z, g0)


@pytest.mark.parametrize("name, param, ref", REFERENCE, ids=IDS)
def test_float32_stays_float32(name, param, ref):
    act = A.get(name, param)
    z64 = points(600, seed=2)
    z32 = z64.astype(np.float32)
    a32 = act.fn(z32)
    g32 = grad_of(act, z32, a32)
    assert a32.dtype == np.float32 and g32.dtype == np.float32
    np.testing.assert_allclose(a32, act.fn(z64), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(g32, grad_of(act, z64, act.fn(z64)), rtol=2e-5, atol=2e-5)
    z = z32.copy()
    act.fn(z, out=z)
    assert z.dtype == np.float32
    np.testing.assert_array_equal(z, a32)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name", A.names())
def test_extreme_inputs_are_finite_without_warnings(name, dtype):
    act = A.get(name)
    z = np.array([-1000, -50, 50, 1000], dtype=dtype)
    with warnings.catch_warnings(), np.errstate(all="raise"):
        warnings.simplefilter("error")
        a = act.fn(z)
        g = grad_of(act, z, a)
    assert np.isfinite(a).all() and np.isfinite(g).all()


def test_sigmoid_saturates_to_exactly_zero_and_one():
    for dtype in (np.float32, np.float64):
        with warnings.catch_warnings(), np.errstate(all="raise"):
            warnings.simplefilter("error")
            a = A.get("sigmoid").fn(np.array([-1000.0, 1000.0], dtype=dtype))
        np.testing.assert_array_equal(a, [0.0, 1.0])


def test_selu_constants():
    selu = A.get("selu")
    assert selu.fn(np.array(1.0)) == pytest.approx(LAM, rel=1e-15)
    assert selu.fn(np.array(-50.0)) == pytest.approx(-LAM * ALPHA, rel=1e-15)
    assert A.SELU_LAMBDA == LAM and A.SELU_ALPHA == ALPHA


@pytest.mark.parametrize("name, param, ref", REFERENCE, ids=IDS)
def test_gain_matches_initializers(name, param, ref):
    assert A.get(name, param).gain == fans.gain(name, param)


def test_registry_names_aliases_and_params():
    assert A.names() == ["linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu",
                         "softsign", "gelu"]
    assert list(A.REGISTRY) == A.names()
    assert A.get("identity") is A.REGISTRY["linear"]
    assert A.get("Logistic").name == "sigmoid"
    assert A.get(" TANH ").name == "tanh"
    assert [n for n in A.names() if A.get(n).needs_input] == ["gelu"]
    assert A.get("leaky_relu").param == 0.01 and A.get("elu").param == 1.0
    assert A.get("leaky_relu", 0.2).name == "leaky_relu"
    act = A.get("relu")
    assert A.get(act) is act
    for name in A.names():
        assert A.get(name).formula


def test_bad_names_and_params_are_usage_errors():
    with pytest.raises(UsageError, match="did you mean 'tanh'"):
        A.get("tanhh")
    with pytest.raises(UsageError, match="tanh.*no parameter"):
        A.get("tanh", 0.1)
    with pytest.raises(UsageError, match="slope"):
        A.get("leaky_relu", -0.1)
    with pytest.raises(UsageError, match="alpha"):
        A.get("elu", float("nan"))


@pytest.mark.parametrize("name", A.names())
def test_scalars_and_integer_input(name):
    act = A.get(name)
    a = act.fn(np.array(0.5, dtype=np.float32))
    g = grad_of(act, np.array(0.5, dtype=np.float32), a)
    assert isinstance(a, np.ndarray) and a.shape == () and a.dtype == np.float32
    assert isinstance(g, np.ndarray) and g.shape == () and g.dtype == np.float32
    ints = np.array([-2, 0, 3])
    np.testing.assert_array_equal(act.fn(ints), act.fn(ints.astype(np.float64)))
