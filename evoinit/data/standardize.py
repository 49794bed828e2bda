"""Standard scaling with the training rows' statistics, safe for huge finite values: column
mean and std, the power of two a huge column is divided by first (exact), the scaled values,
and the check that they came out finite."""

from __future__ import annotations

import numpy as np

from evoinit.errors import DataError

#: Columns whose largest magnitude passes this are divided by a power of two before their mean and
#: std are taken: squaring deviations near 1e154 overflows to inf (and every feature to NaN).
_HUGE = 1e150


def standard(A: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Column mean and std (ddof 0) of ``A``, and the power of two each column is divided by first
    (1, the exact no-op, except for columns of magnitude past ``_HUGE``: dividing by a power of two
    is exact, so huge finite values scale like any others). A column constant in ``A`` gets scale 1
    and its exact value as mean, so it scales to exact zeros instead of rounding noise blown up."""
    with np.errstate(all="ignore"):  # an empty or odd part is reported by check_scaled, not warned of
        return _standard_of(A)


def _standard_of(A: np.ndarray):
    biggest = np.abs(A).max(axis=0)
    pre = np.where(biggest > _HUGE, np.ldexp(1.0, np.frexp(biggest)[1] - 1), 1.0)  # |A / pre| < 2
    B = A / pre
    mean, scale = B.mean(axis=0) * pre, B.std(axis=0) * pre
    constant = np.ptp(B, axis=0) == 0
    mean = np.where(constant, A[0], mean)
    return mean, np.where(constant, 1.0, scale), pre


def scaled(A: np.ndarray, mean, scale, pre) -> np.ndarray:
    """(A − mean) / scale, computed as (A/pre − mean/pre) / (scale/pre) so that huge columns do not
    overflow; for pre = 1 it is bit for bit (A − mean) / scale."""
    with np.errstate(all="ignore"):  # what overflows anyway is reported by check_scaled
        return (A / pre - mean / pre) / (scale / pre)


def check_scaled(A: np.ndarray, origin: str, names) -> None:
    """Scaled values must be finite (a column nearly constant on the training rows but far off on
    the others would give inf): one line naming the column rather than 'all diverged' later."""
    bad = np.argwhere(~np.isfinite(A))
    if bad.size:
        raise DataError(f"{origin}: {names[bad[0][1] if A.ndim == 2 else 0]} cannot be standardised (its values are too far "
                        "apart for float64 after dividing by the training rows' spread); rescale it")
