"""The two numbers the scaled schemes are built from: a weight shape's fans (Keras's rule) and
an activation's recommended gain (PyTorch's ``calculate_gain`` table) — as PyTorch keeps
``_calculate_fan_in_and_fan_out`` and ``calculate_gain`` beside its schemes. ``initializers``
re-exports both."""

from __future__ import annotations

import math
import operator

import numpy as np

from evoinit import checks, errors
from evoinit.errors import UsageError


def shape_of(shape) -> tuple[int, ...]:
    """``shape`` as a tuple of non-negative ints (an int is a 1-d shape)."""
    try:
        dims = (operator.index(shape),) if not np.iterable(shape) else tuple(map(operator.index, shape))
    except TypeError:
        raise UsageError(f"shape must be a tuple of non-negative integers, got {shape!r}") from None
    if any(d < 0 for d in dims):
        raise UsageError(f"shape must be a tuple of non-negative integers, got {shape!r}")
    return dims


def fans(shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, Keras's rule.

    ``()``: (1, 1); ``(n,)`` (a bias): (n, n); ``(fan_in, fan_out)``: as is; more dims (a
    convolution kernel ``(*receptive_field, in, out)``): ``fan_in = shape[-2]·prod(shape[:-2])``,
    ``fan_out = shape[-1]·prod(shape[:-2])``.
    """
    shape = shape_of(shape)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[:-2])
    return shape[-2] * receptive, shape[-1] * receptive


_UNIT_GAIN = ("linear", "identity", "sigmoid", "logistic", "softsign", "conv1d", "conv2d",
              "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
_GAINS = {name: 1.0 for name in _UNIT_GAIN} | {
    "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 0.75, "elu": math.sqrt(2.0),
    "gelu": math.sqrt(2.0),
}


def gain(activation: str, param: float | None = None) -> float:
    """The recommended gain for ``activation`` (PyTorch's calculate_gain table).

    linear/identity/sigmoid/conv: 1; tanh: 5/3; relu: sqrt(2); selu: 3/4;
    leaky_relu: sqrt(2 / (1 + a²)) with a = ``param`` (default 0.01).
    Not published, chosen here: elu and gelu sqrt(2), as ReLU-like (positive inputs pass almost
    unchanged, negative ones are squashed toward a constant, so about half the variance is lost
    per layer, as with ReLU); softsign 1, its slope at 0 (no variance-preserving value has been
    derived for it). ``param`` is ignored for everything but leaky_relu.
    """
    key = str(activation).strip().lower()
    if key == "leaky_relu":
        slope = 0.01 if param is None else checks.number("negative slope", param)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if key not in _GAINS:
        raise errors.unknown("activation", activation, [*_GAINS, "leaky_relu"])
    return _GAINS[key]
