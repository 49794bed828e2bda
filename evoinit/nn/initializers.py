"""Weight-initialization schemes, each a plain function ``fn(shape, rng, *, scale=1.0, **params)``.

Orientation is Keras's: a weight matrix is ``(fan_in, fan_out)``; see :func:`fans`. Every random
draw comes from the ``numpy.random.Generator`` passed in (never global state), so the same
Generator state gives the same weights and different seeds give different, independent starts.
``scale`` multiplies the scheme's std (or limit, or constant, or gain); results are float64.

Names Keras has follow Keras 3 exactly: the ``*_normal`` presets are variance scaling with a
*truncated* normal drawn with std ``sqrt(var) / 0.8796...`` and cut at twice that, so the realised
std is ``sqrt(var)``; ``truncated_normal(stddev)`` has no such correction. PyTorch's untruncated
He form is ``he_general_normal`` (or ``variance_scaling(distribution="untruncated_normal")``).
"""

from __future__ import annotations

import functools
import inspect
import math
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np

from evoinit import checks, errors
from evoinit.errors import UsageError
from evoinit.nn.fans import fans, gain, shape_of
from evoinit.nn.presets import PRESETS, Preset

#: Std of a standard normal truncated to [-2, 2]; dividing by it makes the realised std exact.
TRUNCATED_STD = 0.87962566103423978
MODES = ("fan_in", "fan_out", "fan_avg")
#: Keras 3 reads distribution="normal" as "truncated_normal" (VarianceScaling.__init__).
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "normal", "uniform")
_DISTRIBUTION_ALIASES = {"normal": "truncated_normal"}


def _choice(scheme: str, param: str, value, allowed) -> str:
    text = str(value).lower()
    if text not in allowed:
        raise UsageError(f"init '{scheme}': {param} must be one of {', '.join(allowed)}, got {value!r}")
    return text


#: The parameters that take one of a few words, per scheme; checked (lower-cased) by the draws
#: and by :func:`parameters`.
_CHOICES = {
    "variance_scaling": {"mode": MODES, "distribution": DISTRIBUTIONS},
    "he_general_normal": {"mode": MODES[:2]},
    "he_general_uniform": {"mode": MODES[:2]},
}


def fan(shape, mode: str = "fan_in", scheme: str = "variance_scaling") -> float:
    """The ``n`` of variance scaling: fan_in, fan_out or (fan_in + fan_out)/2 of ``shape`` by
    ``mode`` (see :func:`fans`), at least 1 as in Keras. A bad ``mode`` names ``scheme``."""
    fan_in, fan_out = fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
    allowed = _CHOICES.get(scheme, {}).get("mode", MODES)
    return max(1.0, n[_choice(scheme, "mode", mode, allowed)])


def _positive(scheme: str, param: str, value, *, zero_ok=False) -> float:
    return checks.number(f"init '{scheme}': {param}", value, 0, low_open=not zero_ok)


@dataclass(frozen=True)
class Initializer:
    """A named scheme: ``fn(shape, rng, *, scale=1.0, **params)``, its formula and defaults."""

    name: str
    fn: Callable
    formula: str
    params: Mapping[str, object] = field(default_factory=dict)
    random: bool = True
    family: str = "custom"

    def __call__(self, shape, rng, *, scale=1.0, **params) -> np.ndarray:
        return self.fn(shape, rng, scale=scale, **params)


#: Canonical name -> Initializer, in the order the schemes are defined below.
REGISTRY: dict[str, Initializer] = {}


def _known(scheme: str, defaults, params) -> None:
    bad = sorted(set(params) - set(defaults))
    if bad:
        raise UsageError(f"init '{scheme}' has no parameter {', '.join(bad)}; "
                         f"its parameters: {', '.join(defaults) or 'none'}")


def _scheme(family: str, formula: str, random: bool = True):
    """Register a scheme and check its calls at the edge: shape, ``scale``, parameter names."""

    def register(fn: Callable) -> Callable:
        defaults = {p.name: p.default for p in inspect.signature(fn).parameters.values()
                    if p.kind is p.KEYWORD_ONLY and p.name != "scale"}

        @functools.wraps(fn)
        def checked(shape, rng, *, scale=1.0, **params):
            _known(fn.__name__, defaults, params)
            if random and not isinstance(rng, np.random.Generator):
                raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
            scale = _positive(fn.__name__, "scale", scale, zero_ok=True)
            return fn(shape_of(shape), rng, scale=scale, **params)

        REGISTRY[fn.__name__] = Initializer(fn.__name__, checked, formula, defaults, random, family)
        return checked

    return register


def _uniform(rng, shape, limit: float) -> np.ndarray:
    return rng.uniform(-limit, limit, shape)


def _gauss(rng, shape, std: float) -> np.ndarray:
    return std * rng.standard_normal(shape)


def _truncated(rng, shape, std: float) -> np.ndarray:
    """N(0, std²) with values beyond ±2·std redrawn (realised std 0.8796·std)."""
    x = rng.standard_normal(shape)
    flat = x.reshape(-1)
    redraw = np.flatnonzero(np.abs(flat) > 2.0)
    while redraw.size:
        flat[redraw] = rng.standard_normal(redraw.size)
        redraw = redraw[np.abs(flat[redraw]) > 2.0]
    return std * x


# --- constants -------------------------------------------------------------------------------
@_scheme("constant", "W = 0", random=False)
def zeros(shape, rng, *, scale=1.0):
    """W = 0."""
    return np.zeros(shape)


@_scheme("constant", "W = 1", random=False)
def ones(shape, rng, *, scale=1.0):
    """W = 1 (× scale)."""
    return np.full(shape, scale)


@_scheme("constant", "W = value", random=False)
def constant(shape, rng, *, scale=1.0, value=0.0):
    """W = scale·value (Keras Constant; default value 0.0 as in Keras 3)."""
    return np.full(shape, scale * float(value))


# --- fixed-width random (Keras RandomUniform, RandomNormal, TruncatedNormal) ------------------
@_scheme("random", "U[minval, maxval]")
def uniform(shape, rng, *, scale=1.0, minval=-0.05, maxval=0.05):
    """W ~ U[scale·minval, scale·maxval)."""
    return rng.uniform(scale * float(minval), scale * float(maxval), shape)


@_scheme("random", "N(mean, stddev^2)")
def normal(shape, rng, *, scale=1.0, mean=0.0, stddev=0.05):
    """W ~ N(mean, (scale·stddev)²)."""
    return float(mean) + _gauss(rng, shape, scale * _positive("normal", "stddev", stddev, zero_ok=True))


@_scheme("random", "N(mean, stddev^2) cut at mean +- 2 stddev, std 0.88*stddev")
def truncated_normal(shape, rng, *, scale=1.0, mean=0.0, stddev=0.05):
    """W ~ N(mean, s²) with s = scale·stddev, values beyond mean ± 2s redrawn.

    No variance correction, as in Keras: the realised std is 0.8796·s.
    """
    s = scale * _positive("truncated_normal", "stddev", stddev, zero_ok=True)
    return float(mean) + _truncated(rng, shape, s)


# --- variance scaling and its presets ----------------------------------------------------------
@_scheme("variance_scaling", "var = factor/n, n by mode; trunc/untrunc normal or uniform")
def variance_scaling(shape, rng, *, scale=1.0, factor=1.0, mode="fan_in",
                     distribution="truncated_normal"):
    """Keras VarianceScaling (Keras's ``scale`` is ``factor`` here): var = factor / n.

    n = fan_in, fan_out or (fan_in + fan_out)/2 by ``mode``; std = scale·sqrt(var), so evoinit's
    ``scale`` and ``factor`` compose as var = factor·scale²/n.

    - truncated_normal (and "normal", as in Keras 3): N(0, s²), s = std/0.87962566103423978,
      cut at ±2s, so the realised std is std;
    - untruncated_normal: N(0, std²);
    - uniform: U[-limit, limit], limit = sqrt(3)·std.
    """
    n = fan(shape, mode)
    std = scale * math.sqrt(_positive("variance_scaling", "factor", factor) / n)
    dist = _choice("variance_scaling", "distribution", distribution, DISTRIBUTIONS)
    dist = _DISTRIBUTION_ALIASES.get(dist, dist)
    if dist == "truncated_normal":
        return _truncated(rng, shape, std / TRUNCATED_STD)
    if dist == "untruncated_normal":
        return _gauss(rng, shape, std)
    return _uniform(rng, shape, math.sqrt(3.0) * std)


def _draw_preset(p: Preset, shape, rng, scale: float) -> np.ndarray:
    if p.form == "keras":
        return variance_scaling(shape, rng, scale=scale, factor=p.factor, mode=p.mode,
                                distribution=p.distribution)
    n = fan(shape, p.mode)
    if p.form == "range":
        return _uniform(rng, shape, scale * math.sqrt(3.0 * p.factor) / math.sqrt(n))
    k = math.sqrt(p.factor)
    if p.distribution == "uniform":
        return _uniform(rng, shape, scale * k * math.sqrt(3.0 / n))
    return _gauss(rng, shape, scale * k * math.sqrt(1.0 / n))


def _preset(name: str) -> Callable:
    """Register ``PRESETS[name]`` as the scheme ``name(shape, rng, *, scale=1.0)``."""
    p = PRESETS[name]

    def draw_preset(shape, rng, *, scale=1.0):
        return _draw_preset(p, shape, rng, scale)

    draw_preset.__name__ = draw_preset.__qualname__ = name
    draw_preset.__doc__ = f"{p.formula}, × scale ({p.source})."
    return _scheme(p.family, p.formula)(draw_preset)


lecun_uniform = _preset("lecun_uniform")
lecun_normal = _preset("lecun_normal")
glorot_uniform = _preset("glorot_uniform")
glorot_normal = _preset("glorot_normal")
he_uniform = _preset("he_uniform")
he_normal = _preset("he_normal")


@_scheme("variance_scaling", "N(0, s^2), s = sqrt(2/(1+a^2))/sqrt(fan)")
def he_general_normal(shape, rng, *, scale=1.0, a=0.0, mode="fan_in"):
    """N(0, std²), std = scale·gain / sqrt(fan), gain = sqrt(2 / (1 + a²)) (PyTorch kaiming_normal_).

    He et al. 2015's general form for a rectifier with negative slope ``a``; fan by ``mode``
    (fan_in keeps forward variance, fan_out backward). Untruncated.
    """
    n = fan(shape, mode, "he_general_normal")
    return _gauss(rng, shape, scale * gain("leaky_relu", a) / math.sqrt(n))


@_scheme("variance_scaling", "U[-r, r], r = sqrt(2/(1+a^2))*sqrt(3/fan)")
def he_general_uniform(shape, rng, *, scale=1.0, a=0.0, mode="fan_in"):
    """U[-limit, limit], limit = scale·gain·sqrt(3 / fan), gain = sqrt(2 / (1 + a²)) (PyTorch
    kaiming_uniform_)."""
    n = fan(shape, mode, "he_general_uniform")
    return _uniform(rng, shape, scale * gain("leaky_relu", a) * math.sqrt(3.0 / n))


# --- matrix structure --------------------------------------------------------------------------
@_scheme("matrix", "gain * Q, Q Haar-orthonormal along the shorter side")
def orthogonal(shape, rng, *, scale=1.0, gain=1.0):
    """W = scale·gain·Q, Q orthonormal along the shorter side (Saxe et al. 2013, Keras Orthogonal).

    Flatten to rows = prod(shape[:-1]), cols = shape[-1]; draw a standard normal in the tall
    orientation, take its QR and multiply Q by sign(diag R) so Q is Haar-uniform; transpose back
    when rows < cols. Then WᵀW = (scale·gain)²·I if rows ≥ cols, else WWᵀ = (scale·gain)²·I.
    """
    if len(shape) < 2:
        raise UsageError(f"init 'orthogonal' needs a shape of 2 or more dims, got {shape}")
    rows, cols = math.prod(shape[:-1]), shape[-1]
    q, r = np.linalg.qr(rng.standard_normal((max(rows, cols), min(rows, cols))))
    q *= np.where(np.diagonal(r) < 0, -1.0, 1.0)
    if rows < cols:
        q = q.T
    return (scale * float(gain)) * q.reshape(shape)


@_scheme("matrix", "gain * eye(rows, cols)", random=False)
def identity(shape, rng, *, scale=1.0, gain=1.0):
    """W = scale·gain·eye(rows, cols); 2-D only, non-square allowed (Keras 3 Identity)."""
    if len(shape) != 2:
        raise UsageError(f"init 'identity' needs a 2-D shape, got {shape}")
    return (scale * float(gain)) * np.eye(*shape)


# --- classic ranges (presets too, in their papers' arithmetic) -------------------------------
standard_uniform = _preset("standard_uniform")
kwon_logistic_uniform = _preset("kwon_logistic_uniform")
kwon_logistic_normal = _preset("kwon_logistic_normal")
kwon_tanh_uniform = _preset("kwon_tanh_uniform")
kwon_tanh_normal = _preset("kwon_tanh_normal")
kwon_relu_uniform = _preset("kwon_relu_uniform")
kwon_relu_normal = _preset("kwon_relu_normal")


# --- registry (REGISTRY is filled by @_scheme above) ----------------------------------------

ALIASES: dict[str, str] = {
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
    "random_uniform": "uniform",
    "random_normal": "normal",
}


def names(aliases: bool = False) -> list[str]:
    """Canonical names in registry order (constants, fixed random, variance scaling, He's general
    form, matrix, standard, Kwon), then the aliases if asked."""
    return list(REGISTRY) + (list(ALIASES) if aliases else [])


def get(identifier) -> Initializer:
    """An :class:`Initializer` from a name (canonical or alias, any case) or a callable."""
    if isinstance(identifier, Initializer):
        return identifier
    if isinstance(identifier, str):
        key = identifier.strip().lower()
        key = ALIASES.get(key, key)
        if key not in REGISTRY:
            raise errors.unknown("init", identifier, names(aliases=True))
        return REGISTRY[key]
    if callable(identifier):
        for init in REGISTRY.values():
            if init.fn is identifier:
                return init
        name = getattr(identifier, "__name__", type(identifier).__name__)
        return Initializer(name, identifier, "user-defined")
    raise UsageError(f"init must be a name or a callable, got {identifier!r}")


def canonical(name: str) -> str:
    """The canonical registry name of ``name`` (an alias or any capitalisation)."""
    return get(str(name)).name


def parameters(identifier, overrides: Mapping | None = None) -> dict:
    """Scheme ``identifier``'s parameters: its defaults updated by ``overrides``, checked as a
    draw checks them (no unknown names; ``mode``/``distribution`` lower-cased, one of their words)."""
    init = get(identifier)
    params = dict(init.params)
    _known(init.name, params, overrides or {})
    params.update(overrides or {})
    for param, allowed in _CHOICES.get(init.name, {}).items():
        params[param] = _choice(init.name, param, params[param], allowed)
    return params


def as_preset(name: str, params: Mapping) -> Preset | None:
    """Scheme ``name`` with :func:`parameters` ``params`` as variance scaling: its ``PRESETS``
    entry, or the (factor, mode, distribution) of ``variance_scaling`` ("normal" read as
    truncated, as Keras 3 does) or of He's general form (factor gain² = 2/(1 + a²), untruncated
    as PyTorch's kaiming_*); None for the schemes that are not variance scaling."""
    if name in PRESETS:
        return PRESETS[name]
    if name == "variance_scaling":
        dist = _DISTRIBUTION_ALIASES.get(params["distribution"], params["distribution"])
        return Preset(float(params["factor"]), params["mode"], dist)
    if name in ("he_general_normal", "he_general_uniform"):
        a = float(params["a"])
        dist = "uniform" if name == "he_general_uniform" else "untruncated_normal"
        return Preset(2.0 / (1.0 + a * a), params["mode"], dist)
    return None


def draw(name, shape, rng: np.random.Generator, *, scale: float = 1.0, **params) -> np.ndarray:
    """Draw weights of ``shape`` from scheme ``name`` with ``rng``."""
    return get(name).fn(shape, rng, scale=scale, **params)
