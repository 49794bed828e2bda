"""experiments/seed_policy.py --fast: the GA under each seed policy, summarised with intervals."""

import math
import sys
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
sys.path.insert(0, str(EXPERIMENTS))

import seed_policy  # noqa: E402


def test_seed_policy_fast(tmp_path):
    result = seed_policy.run(True, tmp_path)
    assert (tmp_path / "seed_policy.json").exists() and (tmp_path / "seed_policy.png").stat().st_size > 10_000
    runs = result["runs"]
    assert {(r["policy"], r["seed"]) for r in runs} == {(p, s) for p in seed_policy.POLICIES for s in (0, 1)}
    for r in runs:
        best = [c["best_error"] for c in r["curve"]]
        assert all(b2 <= b1 for b1, b2 in zip(best, best[1:]))          # best-so-far never rises
        spent = [c["evaluations"] for c in r["curve"]]
        assert all(s2 >= s1 for s1, s2 in zip(spent, spent[1:]))
        assert math.isfinite(r["test_error"])
    stats = result["stats"]
    # the shared policy re-uses the result of a genome it has seen (same start, same order), so it
    # spends fewer evaluations than distinct for the same search; a shared policy that drew fresh
    # seeds would spend as many
    assert stats["shared"]["evaluations"]["mean"] < stats["distinct"]["evaluations"]["mean"]
    assert all(s["best_val_error"]["ci95"] is not None for s in stats.values())
    # the verdict says "apart" exactly where the 95% intervals do not overlap, once per comparison
    parts, apart = result["verdict"].split("; "), 0
    for other in ("shared", "inherited"):
        for key in ("best_val_error", "test_error", "error_std"):
            d, o = stats["distinct"][key], stats[other][key]
            apart += (d["ci95"] is not None and o["ci95"] is not None
                      and (d["mean"] + d["ci95"] < o["mean"] - o["ci95"] or o["mean"] + o["ci95"] < d["mean"] - d["ci95"]))
            assert sum(f"{d['mean']:.4f} vs {o['mean']:.4f}" in part and other in part for part in parts) >= 1
    assert len(parts) == 6 and sum("intervals apart" in part for part in parts) == apart
