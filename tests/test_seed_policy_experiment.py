"""experiments/seed_policy.py --fast: the GA under each seed policy; the best network it trained,
its chosen setup and the distinct solutions it visited, summarised with intervals."""

import math
import sys
from pathlib import Path

import numpy as np

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
sys.path.insert(0, str(EXPERIMENTS))

import seed_policy  # noqa: E402


def test_solutions_groups_networks_by_their_validation_predictions():
    a = np.zeros(100, int)
    b = a.copy()
    b[:2] = 1          # 2% apart from a: the same solution
    c = a.copy()
    c[:3] = 1          # 3% apart from a: another one
    assert seed_policy.solutions([a, b, c]) == 2
    assert seed_policy.solutions([a, b, c], same=0.0) == 3
    assert seed_policy.solutions([a, a.copy()], same=0.0) == 1
    assert seed_policy.solutions([]) == 0


def test_seed_policy_fast(tmp_path):
    result = seed_policy.run(True, tmp_path)
    assert (tmp_path / "seed_policy.json").exists() and (tmp_path / "seed_policy.png").stat().st_size > 10_000
    runs = result["runs"]
    assert {(r["policy"], r["seed"]) for r in runs} == {(p, s) for p in seed_policy.POLICIES for s in (0, 1)}
    # every network was rebuilt from its seed key with the bits the search had
    assert result["max_rebuild_drift"] < 1e-9
    for r in runs:
        assert math.isfinite(r["best_network_test_error"]) and math.isfinite(r["setup_test_error"])
        assert 1 <= r["solutions"] <= r["unique_functions"] <= r["networks"] == r["trainings"]
    at = {(r["policy"], r["seed"]): r for r in runs}
    for s in (0, 1):
        d = at["distinct", s]
        # the best network is chosen among all the search trained, so never worse on validation
        # than the best of the hall of fame's kept networks (read on the full run only)
        assert d["best_network_val_loss"] <= d["kept_network_val_loss"] + 1e-12
        for o in seed_policy.OTHERS:   # read at the distinct search's trainings
            assert at[o, s]["trainings"] == d["trainings"] and at[o, s]["kept_network"] is None
    # a paired difference is distinct minus the other policy, seed by seed
    q = result["tasks"]["iris"]["paired"]["shared"]["best_network_test_error"]
    assert q["mean"] == sum(at["distinct", s]["best_network_test_error"] - at["shared", s]["best_network_test_error"]
                            for s in (0, 1)) / 2
    # each verdict says "beyond" exactly when its interval leaves 0 out
    for o in seed_policy.OTHERS:
        for key, label in seed_policy.READINGS[:2]:
            p = result["pooled"][o][key]
            line = next(v for v in result["verdicts"] if f"distinct − {o}, {label}" in v)
            assert ("beyond the interval" in line) == (p["high"] < 0 or p["low"] > 0)
