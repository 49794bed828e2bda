"""The island model (issue 13, item 3): K islands evolving on their own between migrations, the
same files whatever the workers (n_jobs 1, 2; a local Dask cluster: test_dask.py) and after a
stop or a SIGKILL and a resume."""

import json
import subprocess
import sys

import pytest

from evoinit import islands
from evoinit.config import SearchConfig
from evoinit.errors import UsageError
from evoinit.genome import SearchSpace
from evoinit.network import TrainSettings
from evoinit.search import resume, search
from helpers import ENV, files, killed_after_checkpoint

ISLANDS = SearchConfig(dataset="iris", population=9, offspring=8, generations=5, repeats=2, seed=3,
                       hall_of_fame=3, islands=3, migration_interval=2, migrants=1,
                       space=SearchSpace(layers=(1, 2), widths=(4, 48)), train=TrainSettings(epochs=8))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("islands") / "run"
    result = search(ISLANDS.dataset, config=ISLANDS, n_jobs=1, out=out)
    assert result.finished
    return out


def test_islands_write_the_same_files_on_one_and_two_processes(one_process, tmp_path):
    search(ISLANDS.dataset, config=ISLANDS, n_jobs=2, out=tmp_path / "two")
    assert files(tmp_path / "two") == files(one_process)


def test_the_checkpoint_holds_every_island_and_a_resume_equals_an_undisturbed_run(one_process, tmp_path):
    search(ISLANDS.dataset, config=ISLANDS, n_jobs=2, out=tmp_path / "part", stop_after=2)  # a migration
    ck = json.loads((tmp_path / "part" / "checkpoint.json").read_text())
    assert ck["generation"] == 2 and [i["size"] for i in ck["islands"]] == [3, 3, 3]
    assert len({json.dumps(i["numpy_random"]) for i in ck["islands"]}) == 3     # streams of their own
    resume(tmp_path / "part", n_jobs=1)
    assert files(tmp_path / "part") == files(one_process)


def test_killed_mid_run_then_resumed_equals_undisturbed(one_process, tmp_path):
    out = tmp_path / "run"
    long = SearchConfig(**{**ISLANDS.__dict__, "train": TrainSettings(epochs=400)})
    killed_after_checkpoint(long, out)
    resume(out, n_jobs=1)
    undisturbed = search(long.dataset, config=long, n_jobs=1, out=tmp_path / "undisturbed")
    assert undisturbed.finished
    assert files(out) == files(tmp_path / "undisturbed")


def test_migration_moves_the_best_and_changes_the_search(one_process, tmp_path):
    lonely = SearchConfig(**{**ISLANDS.__dict__, "migrants": 0})
    search(lonely.dataset, config=lonely, n_jobs=1, out=tmp_path / "lonely")
    gens = lambda d: [json.loads(x) for x in (d / "generations.jsonl").read_text().splitlines()]  # noqa: E731
    mixed, alone = gens(one_process), gens(tmp_path / "lonely")
    assert [g["population"] for g in mixed[:3]] == [g["population"] for g in alone[:3]]   # until gen 2
    assert mixed[3] != alone[3]                                                             # then not


def test_a_migration_copies_each_islands_best_over_the_next_ones_worst():
    from evoinit.search import Search

    run = Search(ISLANDS)
    group = islands._restored(run)
    for k, island in enumerate(group):
        island.population = [island.toolbox.clone(ind) for ind in _individuals(run, k)]
    best = [min(i.population, key=lambda ind: ind.fitness.values) for i in group]
    islands.migrate(group)
    for k, island in enumerate(group):
        values = sorted(ind.fitness.values[0] for ind in island.population)
        # its worst (100k + 100) is gone, replaced by the best of the island before it in the ring
        assert values == sorted([100.0 * (k + 1) - 2, 100.0 * (k + 1) - 1, best[k - 1].fitness.values[0]])
        assert list(best[k - 1]) in [list(ind) for ind in island.population]


def _individuals(run, k):
    from evoinit.search import Individual

    out = []
    for j in range(3):
        ind = Individual(run.config.space.encode(run.config.space.sample(run.rng), run.rng), 1)
        ind.fitness.values = (100.0 * (k + 1) - j,)     # island k: 100k+100, 100k+99, 100k+98
        out.append(ind)
    return out


def test_island_settings_are_checked_and_stay_out_of_a_plain_searchs_files():
    assert "islands" not in SearchConfig().to_json() and "migrants" not in SearchConfig().to_json()
    assert SearchConfig.from_json(ISLANDS.to_json()) == ISLANDS
    assert islands.shares(9, 3) == [3, 3, 3] and islands.shares(10, 3) == [4, 3, 3]
    for bad, words in (({"islands": 0}, "islands must be at least 1"),
                       ({"islands": 5, "population": 9}, "islands must be at most 4"),
                       ({"islands": 3, "offspring": 2}, "offspring (2) must be at least islands (3)"),
                       ({"migration_interval": 0}, "migration_interval must be at least 1"),
                       ({"islands": 3, "migrants": 3}, "migrants must be at most 2"),
                       ({"islands": 2, "prune": "halving"}, "prune = 'halving' and islands > 1 do not run")):
        with pytest.raises(UsageError, match=words.replace("(", r"\(").replace(")", r"\)")):
            SearchConfig(**{"population": 9, **bad})


def test_the_command_line_takes_the_island_settings(tmp_path):
    evoinit = [sys.executable, "-m", "evoinit", "search", "--dataset", "iris", "--population", "6",
               "--generations", "1", "--epochs", "3", "--n-jobs", "1"]
    p = subprocess.run(evoinit + ["--islands", "2", "--migration-interval", "1", "--migrants", "2",
                                  "--out", str(tmp_path / "run")], capture_output=True, text=True, env=ENV, timeout=120)
    assert p.returncode == 0, p.stderr
    search_settings = json.loads((tmp_path / "run" / "config.json").read_text())["search"]
    assert (search_settings["islands"], search_settings["migration_interval"], search_settings["migrants"]) == (2, 1, 2)
    assert len(json.loads((tmp_path / "run" / "checkpoint.json").read_text())["islands"]) == 2
    p = subprocess.run(evoinit + ["--islands", "4", "--out", str(tmp_path / "bad")], capture_output=True,
                       text=True, env=ENV, timeout=120)
    assert p.returncode == 2 and "islands must be at most 3" in p.stderr and "Traceback" not in p.stderr
    assert not (tmp_path / "bad").exists()
