"""The checks every setting goes through, one rule each, with one wording.

Each value is checked where it is built (``SearchConfig``, ``TrainSettings``, ``DataSpec``,
``Genome``, the API functions), with these helpers, so a wrong type or an out-of-range number
is a ``UsageError`` naming the setting, the allowed values and what was given — never a bare
``TypeError`` from deep inside, and never after something was written. Messages read
``population must be an integer, got '8' (a str)``. The error is a ``BadValue`` that also holds the
rule it applied, so a front with conventions of its own (the scikit-learn estimators word their
parameters scikit-learn's way) can say it in its words without checking the value a second time.
"""

from __future__ import annotations

import math
import numbers

from evoinit.errors import UsageError, quoted


class BadValue(UsageError):
    """A value its rule refuses. The message is evoinit's; the attributes are the rule: ``name``,
    ``value``, ``kind`` ("integer", "number", "flag" or "choice"), the bounds ``low``/``high``
    (None: none) with ``low_open``/``high_open``, a choice's ``allowed`` words, and ``broken``:
    "low" or "high" for the bound the value is past, None when its type is wrong."""

    def __init__(self, message: str, *, name: str, value, kind: str, low=None, high=None,
                 low_open: bool = False, high_open: bool = False, allowed=(), broken: str | None = None):
        super().__init__(message)
        self.name, self.value, self.kind = name, value, kind
        self.low, self.high, self.low_open, self.high_open = low, high, low_open, high_open
        self.allowed, self.broken = tuple(allowed), broken

    def _rule(self) -> dict:
        return {"name": self.name, "value": self.value, "kind": self.kind, "low": self.low,
                "high": self.high, "low_open": self.low_open, "high_open": self.high_open,
                "allowed": self.allowed, "broken": self.broken}

    def prefixed(self, prefix: str) -> BadValue:
        """The same refusal, its message after ``prefix`` (e.g. "bad training settings: ")."""
        return BadValue(prefix + str(self), **self._rule())

    def __reduce__(self):  # keyword arguments: pickled whole (a worker's error comes back intact)
        return _bad_value, (str(self), self._rule())


def _bad_value(message: str, rule: dict) -> BadValue:
    return BadValue(message, **rule)


def require(ok, message: str, kind=UsageError) -> None:
    """Raise ``kind(message)`` unless ``ok``."""
    if not ok:
        raise kind(message)


def is_int(v) -> bool:
    """An integer, NumPy's too, but not a bool (``True`` is no population size)."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def is_number(v) -> bool:
    """A real number, inf and NaN included (int or float, NumPy's too), not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def is_real(v) -> bool:
    """A finite real number (int or float, NumPy's too), not a bool."""
    return is_number(v) and math.isfinite(v)


def bounds(low, high, low_open: bool, high_open: bool) -> str:
    """``in [0, 1)``, ``> 0``, ``<= 1`` …"""
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    return f"{'<' if high_open else '<='} {high:g}"


def _inside(x, low, high, low_open=False, high_open=False) -> bool:
    return ((low is None or (x > low if low_open else x >= low))
            and (high is None or (x < high if high_open else x <= high)))


def integer(name: str, value, low=None, high=None, *, why: str = "", below: str | None = None) -> int:
    """``value`` as a Python int if it is an integer in [low, high]; else a ``UsageError``:
    ``population must be an integer, got '8'``, ``… must be at least 2, got 1``, ``… must be at
    most 10000, got 10**9`` (``why`` follows, to say what the bound protects; ``below`` words the
    lower bound where a setting has long said it otherwise, e.g. "must be >= 0")."""
    rule = {"name": name, "value": value, "kind": "integer", "low": low, "high": high}
    if not is_int(value):
        raise BadValue(f"{name} must be an integer, got {_shown(value)}", **rule)
    if low is not None and value < low:
        raise BadValue(f"{name} {below or f'must be at least {low}'}, got {value}", **rule, broken="low")
    if high is not None and value > high:
        raise BadValue(f"{name} must be at most {high}, got {value}{why}", **rule, broken="high")
    return int(value)


def number(name: str, value, low=None, high=None, *, low_open: bool = False,
           high_open: bool = False, what: str | None = None) -> float:
    """``value`` as a float if it is a finite real number in the range; else a ``UsageError``
    ``learning_rate must be > 0, got -1`` or ``… must be a finite number > 0, got inf`` (``what``,
    e.g. "a fraction", names the kind of number in both)."""
    rule = {"name": name, "value": value, "kind": "number", "low": low, "high": high,
            "low_open": low_open, "high_open": high_open}
    if not is_real(value):
        stated = "" if low is None and high is None else " " + bounds(low, high, low_open, high_open)
        raise BadValue(f"{name} must be {what or 'a finite number'}{stated}, got {_shown(value)}", **rule)
    if not _inside(value, low, high, low_open, high_open):
        shown = "" if what is None else f"{what} "
        broken = "low" if low is not None and not _inside(value, low, None, low_open) else "high"
        raise BadValue(f"{name} must be {shown}{bounds(low, high, low_open, high_open)}, got {value!r}",
                       **rule, broken=broken)
    return float(value)


def flag(name: str, value) -> bool:
    """``value`` if it is a bool (NumPy's too)."""
    if not isinstance(value, (bool,)) and type(value).__name__ != "bool_":
        raise BadValue(f"{name} must be true or false, got {quoted(value)}", name=name, value=value, kind="flag")
    return bool(value)


def choice(name: str, value, allowed) -> str:
    """``value`` if it is one of ``allowed`` (strings); else "unknown name" with a suggestion."""
    from evoinit.errors import unknown

    rule = {"name": name, "value": value, "kind": "choice", "allowed": allowed}
    if not isinstance(value, str):
        raise BadValue(f"{name} must be one of {', '.join(allowed)}, got {quoted(value)}", **rule)
    if value not in allowed:
        raise BadValue(str(unknown(name, value, allowed)), **rule)
    return value


def instance(name: str, value, kinds, what: str):
    """``value`` if it is one of the types ``kinds``; else ``name must be what, got <type>``."""
    if not isinstance(value, kinds):
        raise UsageError(f"{name} must be {what}, got {_shown(value)}")
    return value


def dig(d, *keys):
    """``d[k1][k2]…`` of JSON read back, or None where a level is missing or not a dict: a lookup
    that checks every level instead of trusting the file's shape."""
    for k in keys:
        if not isinstance(d, dict):
            return None
        d = d.get(k)
    return d


def _shown(value) -> str:
    """What was given, with its type where the type is the problem: ``'8' (a str)``."""
    if is_int(value) or isinstance(value, float) or value is None:
        return repr(value)
    return f"{value!r} (a {type(value).__name__})"[:120]
