"""scripts/simulate_cluster.py: the replay of a run's task durations onto W workers."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from evoinit.api import search
from evoinit.ga.config import SearchConfig
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.nn.training import TrainSettings

SCRIPT = Path(__file__).parent.parent / "scripts" / "simulate_cluster.py"
sys.path.insert(0, str(SCRIPT.parent))
import simulate_cluster as sim  # noqa: E402


def test_list_scheduling_makespan_by_hand():
    # 3 → w1, 3 → w2, 2 → w1 (5), 2 → w2 (5), 2 → w1 (7)
    assert sim.replay([3, 3, 2, 2, 2], 2, 0.0) == 7
    assert sim.replay([3, 3, 2, 2, 2], 2, 0.5) == pytest.approx(8.5)
    assert sim.replay([1, 1, 1], 8, 0.0) == 1


def _generation(n_genomes, repeats, widths, seconds):
    return [(Genome(hidden=(w,), activation="tanh", init="glorot_uniform", scale=1.0), (i, r), s)
            for i, (w, s) in enumerate(zip(widths, seconds)) for r in range(repeats)][: n_genomes * repeats]


def test_one_long_candidate_caps_the_speedup_until_it_is_split():
    # One candidate of 4 repeats at 1 s each next to 4 short ones: the barrier waits for it.
    gen = _generation(5, 4, [200, 10, 11, 12, 13], [1.0, 0.01, 0.01, 0.01, 0.01])
    useful = sum(s for _, _, s in gen)
    whole = sim.simulate([gen], "populations", 16)
    assert whole["seconds"] == pytest.approx(4.0)            # its population of 4 runs on one worker
    assert whole["speedup"] == pytest.approx(useful / 4.0)
    # Split (networks alone cost single_cost × their share): 1 s × 1 on each of 4 workers.
    split = sim.simulate([gen], "split", 16, single_cost=1.0)
    assert split["seconds"] == pytest.approx(1.0)
    assert split["busy"] == pytest.approx(useful / (16 * 1.0))
    # With the modelled cost of training alone, splitting still pays here but less.
    costly = sim.simulate([gen], "split", 16, single_cost=3.3)
    assert 1.0 < costly["seconds"] < 4.0


def test_one_worker_is_always_fully_busy_and_w_workers_never_beat_w():
    gen = _generation(6, 3, [8, 16, 32, 64, 128, 256], [0.05, 0.1, 0.2, 0.4, 0.8, 1.6])
    assert sim.simulate([gen], "populations", 1)["busy"] == pytest.approx(1.0)
    for w in (2, 4, 8, 64):
        for rule in sim.RULES:
            r = sim.simulate([gen], rule, w)
            assert r["speedup"] <= w + 1e-9 and r["busy"] <= 1 + 1e-9


def test_resampling_grows_the_population_and_keeps_the_mix():
    import numpy as np
    gen = _generation(4, 2, [8, 16, 32, 64], [0.1, 0.2, 0.3, 0.4])
    big = sim.resample(gen, 4, np.random.default_rng(0))
    assert len(big) == 4 * len(gen)
    assert {g for g, _, _ in big} <= {g for g, _, _ in gen}
    assert len({(g, k) for g, k, _ in big}) == len(big)      # every copy has its own seeds


def test_on_a_real_run_folder_from_the_cli(tmp_path):
    cfg = SearchConfig(dataset="iris", population=6, generations=2, repeats=2, seed=1,
                       space=SearchSpace(layers=(1, 2), widths=(4, 32)), train=TrainSettings(epochs=5))
    search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "run")
    out = tmp_path / "sim.json"
    p = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "run"), "--workers", "1,2,64",
                        "--json", str(out)], capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert "| busy |" in p.stdout
    result = json.loads(out.read_text())
    assert result["generations"] == 3 and result["population"] == 6
    for rule, rows in result["rules"].items():
        assert [r["workers"] for r in rows] == [1, 2, 64]
        assert rows[0]["busy"] == pytest.approx(1.0)
        assert rows[2]["busy"] < rows[1]["busy"]


def test_bad_arguments_are_one_line(tmp_path):
    for args in (["--workers", "0"], ["--rules", "magic"]):
        p = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path), *args], capture_output=True,
                           text=True, timeout=60)
        assert p.returncode == 2 and "Traceback" not in p.stderr
    p = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and "not a run folder" in p.stderr


def test_islands_do_not_wait_for_each_others_slow_candidates():
    # Two candidates per generation, one per island; the slow one is on island 0 in generation 0
    # and on island 1 in generation 1. The barrier waits for both (2 s); islands overlap them.
    g = lambda w: Genome(hidden=(w,), activation="tanh", init="glorot_uniform", scale=1.0)  # noqa: E731
    gens = [[(g(10), (0, 0), 1.0), (g(11), (1, 0), 0.1)],
            [(g(12), (2, 0), 0.1), (g(13), (3, 0), 1.0)]]
    barrier = sim.simulate(gens, "split", 2, single_cost=1.0)
    assert barrier["seconds"] == pytest.approx(2.0)
    apart = sim.simulate(gens, "islands", 2, single_cost=1.0, islands=2, migration_interval=10)
    assert apart["seconds"] == pytest.approx(1.1)
    # a migration after generation 1 makes them wait for each other again
    together = sim.simulate(gens, "islands", 2, single_cost=1.0, islands=2, migration_interval=1)
    assert together["seconds"] == pytest.approx(2.0)
    assert sim.simulate(gens, "islands", 1, islands=2)["busy"] == pytest.approx(1.0)
