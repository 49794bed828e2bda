"""The one rule for the 95% interval of a paired gain (baseline minus ours, per seed): Student's t
over the seeds, ``mean ± t95(n − 1) · sd / √n`` with the sample sd. The hall-of-fame table, the
verdict, report.html, the JSON files and the estimators' ``search_result_`` all take it from here,
so the same gain never shows two half-widths."""

from __future__ import annotations

import math
import statistics

#: Student's t, two-sided 95%, by degrees of freedom (between the listed ones: the next listed;
#: beyond 30: the normal's 1.96).
_T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042}


def t95(df: int) -> float:
    """The 95% two-sided quantile of Student's t with ``df`` degrees of freedom (NaN below 1)."""
    if df < 1:
        return math.nan
    return next((v for k, v in sorted(_T95.items()) if k >= df), 1.96)


def paired_interval(diffs) -> tuple[float | None, float | None]:
    """(mean, 95% half-width) of the per-seed differences ``diffs``, skipping None and non-finite
    ones (a diverged run); the half-width is None below 2 finite differences, the mean None with none."""
    finite = [d for d in diffs if d is not None and math.isfinite(d)]
    if not finite:
        return None, None
    n = len(finite)
    half = t95(n - 1) * statistics.stdev(finite) / math.sqrt(n) if n > 1 else None
    return statistics.fmean(finite), half
