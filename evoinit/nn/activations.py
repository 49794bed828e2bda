"""Activation functions and their derivatives, by name.

Each :class:`Activation` holds ``fn(z, out=None)`` giving a = f(z) and ``grad(z, a, out=None)``
giving f'(z) from the pre-activation z and the activation a = f(z). Both write into ``out`` when
given (``out`` may be ``z`` or ``a`` itself: in place) and return it, and both keep the input's
float dtype: the training loop runs them on ``(P, B, n)`` float32 arrays, so they use NumPy
ufuncs with ``out=`` and at most one or two temporaries. When ``needs_input`` is False the
derivative is computed from ``a`` alone and ``z`` may be None (every activation but gelu).
At the kinks: relu'(0) = 0 (as scikit-learn), leaky_relu'(0) = slope.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from evoinit import checks, errors
from evoinit.errors import UsageError
from evoinit.nn.fans import gain as _gain

#: SELU's fixed point constants (Klambauer et al. 2017).
SELU_LAMBDA = 1.0507009873554805
SELU_ALPHA = 1.6732632423543772
_GELU_C = math.sqrt(2.0 / math.pi)
_GELU_K = 0.044715


@dataclass(frozen=True)
class Activation:
    """A named activation: ``fn(z, out=None)``, ``grad(z, a, out=None)``, its init gain, formula,
    whether ``grad`` needs z, and its parameter (leaky_relu's slope, elu's alpha) if any."""

    name: str
    fn: Callable
    grad: Callable
    gain: float
    formula: str
    needs_input: bool = False
    param: float | None = None


def _float(x) -> np.ndarray:
    x = np.asarray(x)
    return x if x.dtype.kind == "f" else x.astype(np.float64)


def _out(x: np.ndarray, out) -> np.ndarray:
    return np.empty_like(x) if out is None else out


def _linear(z, out=None):
    z = _float(z)
    if out is None:
        return z.copy()
    np.copyto(out, z)
    return out


def _linear_grad(z, a, out=None):
    out = _out(_float(a), out)
    out[...] = 1
    return out


def _sigmoid(z, out=None):
    """1/(1+exp(-z)) as 0.5·(1 + tanh(z/2)): no overflow for any z."""
    z = _float(z)
    out = np.multiply(z, 0.5, out=_out(z, out))
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def _sigmoid_grad(z, a, out=None):
    a = _float(a)
    return np.multiply(a, 1 - a, out=_out(a, out))


def _tanh(z, out=None):
    z = _float(z)
    return np.tanh(z, out=_out(z, out))


def _tanh_grad(z, a, out=None):
    a = _float(a)
    out = np.multiply(a, a, out=_out(a, out))
    np.subtract(1, out, out=out)
    return out


def _relu(z, out=None):
    z = _float(z)
    return np.maximum(z, 0, out=_out(z, out))


def _relu_grad(z, a, out=None):
    a = _float(a)
    return np.greater(a, 0, out=_out(a, out))


def _leaky(slope: float):
    pick = np.maximum if slope <= 1 else np.minimum

    def leaky_relu(z, out=None):
        z = _float(z)
        return pick(z, np.multiply(z, slope, out=np.empty_like(z)), out=_out(z, out))

    def leaky_relu_grad(z, a, out=None):
        a = _float(a)
        out = np.greater(a, 0, out=_out(a, out))
        out *= 1 - slope
        out += slope
        return out

    return leaky_relu, leaky_relu_grad


def _elu_like(alpha: float, lam: float):
    """lam·z for z > 0, lam·alpha·(exp(z) - 1) otherwise (elu: lam = 1; selu: Klambauer's).

    Branch-free (masked ufuncs and np.where are several times slower here):
    f = lam·max(z, 0) + lam·alpha·expm1(min(z, 0)); f' = lam·[a > 0] + (min(a, 0) + lam·alpha)·[a ≤ 0],
    written as min(a, 0) + lam·alpha + (lam - lam·alpha)·[a > 0].
    """

    def elu(z, out=None):
        z = _float(z)
        negative = np.minimum(z, 0, out=np.empty_like(z))
        np.expm1(negative, out=negative)
        negative *= lam * alpha
        out = np.maximum(z, 0, out=_out(z, out))
        if lam != 1:
            out *= lam
        out += negative
        return out

    def elu_grad(z, a, out=None):
        a = _float(a)
        positive = np.greater(a, 0, out=np.empty_like(a))
        out = np.minimum(a, 0, out=_out(a, out))
        out += lam * alpha
        positive *= lam - lam * alpha
        out += positive
        return out

    return elu, elu_grad


def _softsign(z, out=None):
    z = _float(z)
    denom = np.abs(z, out=np.empty_like(z))
    denom += 1
    return np.divide(z, denom, out=_out(z, out))


def _softsign_grad(z, a, out=None):
    a = _float(a)
    out = np.abs(a, out=_out(a, out))
    np.subtract(1, out, out=out)
    np.square(out, out=out)
    return out


def _gelu(z, out=None):
    """0.5·z·(1 + tanh(u)), u = c·(z + k·z³) = z·(c + c·k·z²), c = sqrt(2/π), k = 0.044715."""
    z = _float(z)
    t = np.multiply(z, z, out=np.empty_like(z))
    t *= _GELU_C * _GELU_K
    t += _GELU_C
    t *= z
    np.tanh(t, out=t)
    t += 1
    t *= 0.5
    return np.multiply(z, t, out=_out(z, out))


def _gelu_grad(z, a, out=None):
    """f'(z) = 0.5·(1 + t) + 0.5·z·(1 - t²)·u'(z) = 0.5·(1 + t)·(1 + z·u'(z)·(1 - t)), t = tanh(u)."""
    z = _float(z)
    zdu = np.multiply(z, z, out=np.empty_like(z))
    t = np.multiply(zdu, _GELU_C * _GELU_K, out=np.empty_like(z))
    t += _GELU_C
    t *= z
    np.tanh(t, out=t)
    zdu *= 3 * _GELU_C * _GELU_K
    zdu += _GELU_C
    zdu *= z
    out = np.subtract(1, t, out=_out(z, out))
    out *= zdu
    out += 1
    t += 1
    out *= t
    out *= 0.5
    return out


def _check_param(name: str, label: str, value) -> float:
    return checks.number(f"activation '{name}': {label}", value, 0, low_open=True, what="a finite number")


def _make(name: str, param: float | None = None) -> Activation:
    """Build one activation; ``param`` is leaky_relu's slope or elu's alpha."""
    if name == "leaky_relu":
        slope = 0.01 if param is None else _check_param(name, "slope", param)
        fn, grad = _leaky(slope)
        return Activation(name, fn, grad, _gain(name, slope), f"max(z, 0) + {slope:g}·min(z, 0)",
                          param=slope)
    if name == "elu":
        alpha = 1.0 if param is None else _check_param(name, "alpha", param)
        fn, grad = _elu_like(alpha, 1.0)
        return Activation(name, fn, grad, _gain(name, alpha),
                          f"z if z > 0 else {alpha:g}·(exp(z) - 1)", param=alpha)
    if param is not None:
        raise UsageError(f"activation '{name}' takes no parameter (only leaky_relu's slope and "
                         f"elu's alpha do), got {param!r}")
    fn, grad, formula, needs_input = _FIXED[name]
    return Activation(name, fn, grad, _gain(name), formula, needs_input)


_selu, _selu_grad = _elu_like(SELU_ALPHA, SELU_LAMBDA)
_FIXED = {
    "linear": (_linear, _linear_grad, "z", False),
    "sigmoid": (_sigmoid, _sigmoid_grad, "1 / (1 + exp(-z))", False),
    "tanh": (_tanh, _tanh_grad, "tanh(z)", False),
    "relu": (_relu, _relu_grad, "max(z, 0)", False),
    "selu": (_selu, _selu_grad, "λ·(z if z > 0 else α·(exp(z) - 1)), λ≈1.0507, α≈1.6733", False),
    "softsign": (_softsign, _softsign_grad, "z / (1 + |z|)", False),
    "gelu": (_gelu, _gelu_grad, "0.5·z·(1 + tanh(sqrt(2/π)·(z + 0.044715·z³)))", True),
}
_ORDER = ("linear", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "softsign", "gelu")

#: Canonical name -> Activation with default parameters, in documented order.
REGISTRY: dict[str, Activation] = {name: _make(name) for name in _ORDER}
ALIASES: dict[str, str] = {"identity": "linear", "logistic": "sigmoid"}


def names(aliases: bool = False) -> list[str]:
    """Canonical names (linear, sigmoid, tanh, relu, leaky_relu, elu, selu, softsign, gelu),
    then the aliases if asked."""
    return list(REGISTRY) + (list(ALIASES) if aliases else [])


def get(name, param: float | None = None) -> Activation:
    """The activation called ``name`` (canonical or alias, any case).

    ``param`` is leaky_relu's slope (default 0.01) or elu's alpha (default 1.0); any other
    activation given a param is a UsageError. An :class:`Activation` is returned as is.
    """
    if isinstance(name, Activation):
        return name
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in REGISTRY:
        raise errors.unknown("activation", name, names(aliases=True))
    return REGISTRY[key] if param is None else _make(key, param)
