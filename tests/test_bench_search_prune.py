"""The search benchmark's pruned contenders in its quick mode: the GA with successive halving gets
the plain GA's CPU seconds (ga_prune) or half of them (ga_prune_half), spends them to within half
a generation, and reports the epochs it trained and what it pruned."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_the_pruned_ga_spends_the_plain_gas_cpu_seconds(tmp_path):
    out = tmp_path / "bench"
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_search.py"), "--quick",
                           "--tasks", "digits_30_epochs", "--n-jobs", "1", "--out", str(out),
                           "--contenders", "ga,ga_prune,ga_prune_half"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    doc = json.loads((out / "bench_search.json").read_text())
    assert doc["meta"]["contenders"] == ["ga", "ga_prune", "ga_prune_half"]
    for run in doc["runs"]:
        ga = run["contenders"]["ga"]
        for name, share in (("ga_prune", 1.0), ("ga_prune_half", 0.5)):
            c = run["contenders"][name]
            assert c["cpu_budget"] == share * ga["cpu_seconds"]
            assert c["generations"] >= 0 and c["epochs"] >= c["trainings"] > 0
            assert c["anytime"][-1][0] == c["trainings"] and len(c["final"]["test_error"]) == doc["meta"]["fresh"]
    assert "ga_prune" in (out / "bench_search.md").read_text()
