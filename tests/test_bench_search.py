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


# -- the pooled, paired comparison (issue 27): the bootstrap, the pairing, the join across folders ---

sys.path.insert(0, str(ROOT / "scripts"))

import math  # noqa: E402
import shutil  # noqa: E402

import bench_search as bench  # noqa: E402
import bench_search_stats as stats  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402


def test_the_bootstrap_pools_tasks_with_equal_weight_and_resamples_within_each():
    # one task: [1, 2, 3]; a resample is all 1s with probability 1/27 (3.7% > 2.5%): the ends are 1 and 3
    one = stats.bootstrap_pooled({"t": [1.0, 2.0, 3.0]})
    assert (one["mean"], one["low"], one["high"], one["tasks"], one["n"]) == (2.0, 1.0, 3.0, 1, 3)
    # stratified: each task keeps its own run seeds, so constant tasks give a zero-width interval at
    # the mean of the task means (0.5), not the mean of all values (0.2) an unstratified draw centres on
    two = stats.bootstrap_pooled({"x": [0.0, 0.0, 0.0, 0.0], "y": [1.0]})
    assert two["mean"] == two["low"] == two["high"] == 0.5 and two["n"] == 5
    # many run seeds: the interval is the normal one, mean ± 1.96 s/√n, to within 10%
    values = np.random.default_rng(1).normal(0.3, 2.0, 400)
    big = stats.bootstrap_pooled({"t": values.tolist()})
    half = 1.96 * values.std(ddof=1) / math.sqrt(len(values))
    assert big["mean"] == pytest.approx(values.mean(), abs=1e-12)
    assert big["low"] < big["mean"] < big["high"]
    assert (big["high"] - big["low"]) / 2 == pytest.approx(half, rel=0.1)
    assert (big["mean"] - big["low"]) == pytest.approx(half, rel=0.15)
    # negated values (B − A): the same draws, so the interval flips exactly; the seed is fixed
    flipped = stats.bootstrap_pooled({"t": (-values).tolist()})
    assert (flipped["mean"], flipped["low"], flipped["high"]) == (-big["mean"], -big["high"], -big["low"])
    assert stats.bootstrap_pooled({"t": values.tolist()}) == big
    assert stats.bootstrap_pooled({"t": values.tolist()}, seed=5)["low"] != big["low"]
    assert stats.bootstrap_pooled({"t": []})["mean"] is None


def _runs(errors: dict) -> list:
    """Jobs by hand: errors[(task, seed)][contender] = the test errors over the fresh seeds."""
    return [{"task": t, "seed": s, "contenders": {n: {"final": {"test_error": e}} for n, e in cs.items()}}
            for (t, s), cs in errors.items()]


def test_the_pair_scales_by_the_tasks_mean_over_all_contenders_and_pools_where_the_start_matters():
    nan = math.nan
    runs = _runs({("m", 0): {"A": [0.1, 0.3], "B": [0.4, 0.4], "C": [0.3, 0.3]},     # A 0.2, B 0.4
                  ("m", 1): {"A": [0.2, 0.2], "B": [0.1, 0.1], "C": [0.3, 0.3]},     # A 0.2, B 0.1
                  ("m", 2): {"A": [nan, nan], "B": [0.1, 0.1], "C": [0.3, 0.3]},     # A has no score
                  ("n", 0): {"A": [0.0, 0.0], "B": [0.6, 0.6], "C": [0.3, 0.3]}})
    tasks = {"m": {"matters": True}, "n": {"matters": False}}
    scales = stats.task_scales(runs, tasks)
    # m: A 0.2 (its NaN run left out), B 0.2, C 0.3 — the mean over the three contenders
    assert scales["m"] == pytest.approx(0.7 / 3) and scales["n"] == pytest.approx(0.3)
    p = stats.pair(runs, tasks, "A", "B", scales)
    m = p["tasks"]["m"]
    assert m["seeds"] == [0, 1] and m["n"] == 2 and m["diffs"] == pytest.approx([-0.2, 0.1])
    assert m["relative"] == pytest.approx(-0.05 / (0.7 / 3))
    # seed 0: B − A over the fresh seeds 0.3, 0.1 — a tie at two seeds' t interval; seed 1: −0.1, −0.1, a loss
    assert (m["win"], m["tie"], m["loss"]) == (0, 1, 1)
    assert p["pooled_tasks"] == ["m"]                      # n: the start should not matter
    assert p["pooled"]["mean"] == pytest.approx(m["relative"])
    assert p["pooled"]["low"] <= p["pooled"]["mean"] <= p["pooled"]["high"]
    q = stats.pair(runs, tasks, "B", "A", scales)
    assert (q["pooled"]["mean"], q["pooled"]["low"], q["pooled"]["high"]) == (
        -p["pooled"]["mean"], -p["pooled"]["high"], -p["pooled"]["low"])
    assert (q["pooled"]["win"], q["pooled"]["loss"]) == (p["pooled"]["loss"], p["pooled"]["win"])
    same = stats.pair(runs, tasks, "A", "A", scales)["pooled"]
    assert same["mean"] == same["low"] == same["high"] == 0 and same["tie"] == 2


def test_budgets_and_held_out_seeds():
    t = bench._sized(bench.TASKS["spirals"], False, "default")
    assert (t.population, t.generations, t.repeats, t.epochs, t.space) == (
        32, 30, 3, 20, bench.TASKS["spirals"].space)   # the default search's budget, the task's epochs
    assert bench._sized(bench.TASKS["spirals"], False, "benchmark") == bench.TASKS["spirals"]
    assert bench._sized(bench.TASKS["spirals"], True, "default").population == bench.QUICK["population"]
    assert len(bench.BUDGET_TASKS["default"]) >= 3
    assert all(bench.TASKS[n].matters for n in bench.BUDGET_TASKS["default"])


@pytest.fixture(scope="module")
def two_folders(tmp_path_factory):
    """Two quick runs: X with TPE and its control on run seeds 0–1, Y with random search on run
    seeds 1–2 (``--first-seed 1``); the GA in both."""
    root = tmp_path_factory.mktemp("pooled")
    for name, contenders, first in (("x", "ga,tpe,tpe_other", 0), ("y", "ga,random", 1)):
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_search.py"), "--quick",
                               "--tasks", "spirals,circles,breast_cancer", "--n-jobs", "1", "--contenders",
                               contenders, "--first-seed", str(first), "--out", str(root / name)],
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr[-2000:]
    return root / "x", root / "y"


def _jobs(folder: Path) -> dict:
    return {(j["task"], j["seed"]): j for j in map(json.loads, (folder / "jobs.jsonl").read_text().splitlines())}


def test_held_out_seeds_change_nothing_but_the_run_seeds(two_folders):
    x, y = two_folders
    jx, jy = _jobs(x), _jobs(y)
    assert {s for _, s in jx} == {0, 1} and {s for _, s in jy} == {1, 2}
    assert json.loads((y / "meta.json").read_text())["first_seed"] == 1
    for task in ("spirals", "circles", "breast_cancer"):   # run seed 1's GA in both, to the bit
        a, b = jx[task, 1]["contenders"]["ga"], jy[task, 1]["contenders"]["ga"]
        assert (a["chosen"], a["final"]["test_error"]) == (b["chosen"], b["final"]["test_error"])


def test_the_pooled_comparison_joins_folders_on_task_and_run_seed(two_folders, tmp_path):
    x, y = two_folders
    runs, meta = bench.read_folders([x, y])
    assert meta["contenders"] == ["ga", "tpe", "tpe_other", "random"] and meta["conflicts"] == 0
    joined = {(r["task"], r["seed"]): set(r["contenders"]) for r in runs}
    assert joined[("spirals", 0)] == {"ga", "tpe", "tpe_other"} and joined[("spirals", 2)] == {"ga", "random"}
    assert joined[("circles", 1)] == {"ga", "tpe", "tpe_other", "random"}
    result = stats.compare(runs, meta["tasks"], "random", "tpe")
    jx, jy = _jobs(x), _jobs(y)
    for task, row in result["pair"]["tasks"].items():
        assert row["seeds"] == [1]   # the one run seed both folders ran
        d = stats.run_error(jy[task, 1]["contenders"]["random"]) - stats.run_error(jx[task, 1]["contenders"]["tpe"])
        assert row["diffs"] == [d]
        # the scale: the task's mean test error over all four contenders, each over its run seeds
        # (the GA ran seed 1 in both folders: once)
        per = {(n, s): np.nanmean(j["contenders"][n]["final"]["test_error"]) for jobs in (jy, jx)
               for (t, s), j in jobs.items() for n in j["contenders"] if t == task}
        means = [np.mean([v for (n, _), v in per.items() if n == name]) for name in meta["contenders"]]
        assert row["scale"] == pytest.approx(np.mean(means)) == result["scales"][task]
    assert result["pair"]["pooled_tasks"] == ["spirals", "circles"]   # breast_cancer: the start should not matter
    control = result["control"]
    assert control["a"] == "tpe_other" and all(r["seeds"] == [0, 1] for r in control["tasks"].values())
    # the GA against itself: exactly 0 with a 0-width interval; A and B swapped: the sign flips
    self_ = stats.compare(runs, meta["tasks"], "ga", "ga")["pair"]["pooled"]
    assert self_["mean"] == self_["low"] == self_["high"] == 0 and self_["n"] == 6
    ab = stats.compare(runs, meta["tasks"], "ga", "tpe")["pair"]["pooled"]
    ba = stats.compare(runs, meta["tasks"], "tpe", "ga")["pair"]["pooled"]
    assert (ba["mean"], ba["low"], ba["high"]) == (-ab["mean"], -ab["high"], -ab["low"])
    assert ab["low"] <= ab["mean"] <= ab["high"] and ab["n"] == 4
    # the command: an 80-column table and, with --out, its JSON
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "bench_search.py"), "--compare", "ga,tpe",
                           "--from", f"{x},{y}", "--out", str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= 80 and lines[0].startswith("A = ga, B = tpe")
    assert any(line.startswith("breast_cancer*") for line in lines)
    assert any("control tpe_other − tpe" in line for line in lines)
    doc = json.loads((tmp_path / "compare_ga_tpe.json").read_text())
    assert doc["pair"]["pooled"] == pytest.approx(ab) and doc["from"] == [str(x), str(y)]
    # the single-folder output carries the same statistics, the control included
    rendered = json.loads((x / "bench_search.json").read_text())["pooled"]
    assert set(rendered) == {"ga|tpe", "ga|tpe_other", "control"}
    runs_x, meta_x = bench.read_folders([x])   # one folder: the same scales, the same figures
    alone = stats.compare(runs_x, meta_x["tasks"], "ga", "tpe")
    assert rendered["ga|tpe"]["pooled"] == alone["pair"]["pooled"]
    assert rendered["control"]["pooled"] == alone["control"]["pooled"]
    assert "(control)" in (x / "bench_search.md").read_text()


def test_the_join_refuses_folders_that_searched_other_problems(two_folders, tmp_path):
    x, y = two_folders
    z = tmp_path / "z"
    shutil.copytree(y, z)
    meta = json.loads((z / "meta.json").read_text())
    meta["tasks"]["spirals"]["epochs"] += 1
    (z / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(SystemExit, match="task spirals differs"):
        bench.read_folders([x, z])
    with pytest.raises(SystemExit, match="nope not in"):
        bench.compare("ga", "nope", [x])
