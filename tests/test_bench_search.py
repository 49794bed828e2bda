"""The search benchmark end to end in its quick mode: every contender (Optuna's TPE included), the
JSON's structure, equal budgets, and final scores from seeds no search used."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def quick(out: Path, tasks: str, contenders: str) -> dict:
    """Run the benchmark's quick mode into ``out``; its JSON."""
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_search.py"), "--quick",
                           "--tasks", tasks, "--n-jobs", "1", "--out", str(out), "--contenders", contenders],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads((out / "bench_search.json").read_text())


def test_the_quick_benchmark_runs_every_contender_and_scores_on_fresh_seeds(tmp_path):
    out = tmp_path / "bench"
    doc = quick(out, "spirals,breast_cancer", "ga,random,tpe,ga_t2,ga_steady")
    meta, summary, runs = doc["meta"], doc["summary"], doc["runs"]
    contenders = meta["contenders"]
    assert contenders[:3] == ["ga", "random", "tpe"] and len(contenders) == 5 and meta["quick"]
    assert set(doc["targets"]) == {"ga", "ga_t2", "ga_steady"}
    assert set(summary) == set(meta["tasks"]) == {"spirals", "breast_cancer"}
    assert len(runs) == 2 * meta["seeds"]
    for run in runs:
        assert set(run["contenders"]) == set(contenders)
        budget = run["contenders"]["ga"]["trainings"]
        for name, c in run["contenders"].items():
            # every peer spends exactly the GA's budget (in whole candidates of `repeats` trainings)
            assert 0 < len(c["seeds"]) <= c["trainings"]
            assert name.startswith("ga") or c["trainings"] == budget
            assert c["anytime"][-1][0] == c["trainings"] and c["cpu_seconds"] > 0
            bests = [b for _, b in c["anytime"]]
            assert bests == sorted(bests, reverse=True)
            # a peer chooses its best fitness; the GA its hall of fame's first, which keeps the first
            # evaluation of a gene list
            if not name.startswith("ga"):
                assert min(bests) == c["fitness"]
            elif name in ("ga", "ga_t2"):
                assert min(bests) <= c["fitness"]
            final = c["final"]
            used = {tuple(k) for k in c["seeds"]}
            keys = [tuple(k) for k in final["keys"]]
            assert len(keys) == meta["fresh"] and not used & set(keys)   # never seen by the search
            assert {k[0] for k in keys} == {6} and 6 not in {k[0] for k in used}  # seeding.FRESH
            assert len(final["test_error"]) == len(final["canonical"]["test_error"]) == meta["fresh"]
            assert all(0 <= e <= 1 for e in final["test_error"] if e == e)
    for task, s in summary.items():
        for name in contenders:
            row = s["contenders"][name]
            assert row["test_error"]["n"] == meta["seeds"] and row["trainings"]["mean"] > 0
        assert set(s["ga_versus"]) == set(contenders[1:])
        for v in s["ga_versus"].values():
            assert v["win"] + v["tie"] + v["loss"] == meta["seeds"]
        assert s["verdict"].startswith(("gain", "no gain"))
    assert (out / "bench_search.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = (out / "bench_search.md").read_text()
    assert "| spirals |" in table and "| breast_cancer |" in table and "tpe" in table
    assert "ga_t2" in table and "optimism" in table


def test_the_pruned_ga_spends_the_plain_gas_cpu_seconds(tmp_path):
    """ga_prune gets the plain GA's CPU seconds, ga_prune_half half of them; both spend them to within
    half a generation and report the epochs they trained and what they pruned."""
    out = tmp_path / "bench"
    doc = quick(out, "digits_30_epochs", "ga,ga_prune,ga_prune_half")
    assert doc["meta"]["contenders"] == ["ga", "ga_prune", "ga_prune_half"]
    for run in doc["runs"]:
        ga = run["contenders"]["ga"]
        for name, share in (("ga_prune", 1.0), ("ga_prune_half", 0.5)):
            c = run["contenders"][name]
            assert c["cpu_budget"] == share * ga["cpu_seconds"]
            assert c["generations"] >= 0 and c["epochs"] >= c["trainings"] > 0
            assert c["anytime"][-1][0] == c["trainings"] and len(c["final"]["test_error"]) == doc["meta"]["fresh"]
    assert "ga_prune" in (out / "bench_search.md").read_text()
