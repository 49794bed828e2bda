"""The API a benchmark can be fair with: what a search spent, its fitness on named seeds, a search
without the final test scoring, and a random search's full records."""

import json

import evoinit as S
from evoinit import seeding
from evoinit.ga.config import SearchConfig
from evoinit.ga.evaluate import fitness
from evoinit.nn.training import TrainSettings


def small(**kw) -> SearchConfig:
    base = dict(dataset="iris", population=6, generations=3, repeats=2, seed=3,
                train=TrainSettings(epochs=4))
    return SearchConfig(**base | kw)


def test_trainings_count_every_network_the_search_trained_and_nothing_else(tmp_path):
    cfg = small()
    result = S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "r")
    lines = [json.loads(x) for x in (tmp_path / "r" / "evaluations.jsonl").read_text().splitlines()]
    searched = [x for x in lines if x.get("stage") != "final"]
    assert result.trainings == len(searched) == sum(row["nevals"] for row in result.logbook)
    assert len({(json.dumps(x["genome"], sort_keys=True), tuple(x["seed"])) for x in searched}) == len(searched)
    assert result.evaluations == len(lines) > result.trainings  # the final scoring is not counted
    # unchanged offspring are not retrained: fewer than the population × generations × repeats bound
    assert result.trainings <= cfg.population * (cfg.generations + 1) * cfg.repeats
    assert result.trainings % cfg.repeats == 0


def test_a_search_can_skip_the_test_scoring(tmp_path):
    cfg = small(test=False)
    result = S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "r")
    lines = [json.loads(x) for x in (tmp_path / "r" / "evaluations.jsonl").read_text().splitlines()]
    assert result.finished and result.evaluations == result.trainings == len(lines)
    assert not any("test_loss" in x or x.get("stage") == "final" for x in lines)
    assert all(entry.test is None for entry in result.hall_of_fame)
    with_test = S.search(cfg.dataset, config=small(), n_jobs=1)
    # the same search otherwise: the same hall of fame, the same fitness
    assert [e.fitness for e in with_test.hall_of_fame] == [e.fitness for e in result.hall_of_fame]


def test_fitness_on_the_search_s_own_seeds_reproduces_its_fitness_and_fresh_seeds_differ():
    cfg = small()
    result = S.search(cfg.dataset, config=cfg, n_jobs=1)
    best = result.hall_of_fame[0]
    genome = best.genome
    [(values, evals)] = fitness([genome], list(best.seeds), cfg)
    assert values == (best.fitness["val_loss"],) and len(evals) == cfg.repeats
    fresh = [(seeding.FRESH, i) for i in range(3)]
    [(fresh_values, fresh_evals)] = fitness([genome], fresh, cfg, test=True)
    assert fresh_values != values and all(e.test_error is not None for e in fresh_evals)
    assert [e.key for e in fresh_evals] == fresh
    # paired: two genomes on the same keys see the same seeds; a repeat call is bit-identical
    pair = fitness([genome, genome.with_(scale=genome.scale / 2)], fresh, cfg)
    assert pair[0][0] == fresh_values and [e.key for e in pair[1][1]] == fresh


def test_random_search_returns_full_records_in_draw_order():
    cfg = small(objectives=("val_loss", "n_params"))
    records = S.random_search(cfg, 5)
    assert len(records) == 5
    for c in records:
        assert len(c.fitness) == 2 and len(c.evaluations) == cfg.repeats
        assert all(e.genome == c.genome for e in c.evaluations)
        assert c.fitness[1] == c.evaluations[0].n_params
    assert [c.fitness for c in S.random_search(cfg, 5)] == [c.fitness for c in records]


