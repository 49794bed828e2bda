"""Surrogate pre-selection (surrogate.py, ``surrogate = k``): the expected improvement is the
textbook formula, the forest ranks a pool the way the history says, each setup is trained once, and
a search with it spends λ new setups per generation and writes the same files for 1 and 2
processes and across a pause + resume."""

import json
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import files

import evoinit
import evoinit as S
from evoinit.errors import UsageError
from evoinit.ga.config import RANK_MIN, SearchConfig
from evoinit.ga.evaluate import WORST, objective_values
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.ga.variants.surrogate import (
    expected_improvement,
    features,
    preselect,
    smoothed,
)
from evoinit.nn.training import TrainSettings
from evoinit.reporting.report import read as report_view
from evoinit.runfolder.folder import RunFolder
from evoinit.runfolder.read import view

SPACE = SearchSpace(layers=(1, 3), widths=(4, 64), activations=("tanh", "relu"), inits=("glorot_normal", "he_normal"))
CONFIG = SearchConfig(dataset="iris", population=6, generations=3, repeats=2, seed=3, hall_of_fame=3,
                      space=SearchSpace(layers=(1, 2), widths=(4, 16)), train=TrainSettings(epochs=8),
                      surrogate=5)


def test_features_are_depth_log_widths_one_hot_categories_and_log_scale():
    row = features(SPACE, Genome((16, 4), "relu", "he_normal", 0.5))
    assert row == [2.0, 4.0, 2.0, 0.0, 0.0, 1.0, 0.0, 1.0, -1.0]


def test_expected_improvement_is_the_closed_form():
    """E[max(best − Y, 0)], Y ~ N(m, s²): s·φ(0) at m = best; by Monte Carlo elsewhere; the plain
    improvement where s = 0."""
    ei = expected_improvement(np.array([0.0, 0.5, -0.4, -1.0]), np.array([1.0, 0.3, 0.5, 0.0]), 0.0)
    assert ei[0] == pytest.approx(1 / math.sqrt(2 * math.pi), rel=1e-12)
    y = np.random.default_rng(0).normal(0.5, 0.3, 2_000_000)
    assert ei[1] == pytest.approx(np.maximum(-y, 0).mean(), rel=5e-3)
    assert ei[2] == pytest.approx(np.maximum(-np.random.default_rng(1).normal(-0.4, 0.5, 2_000_000), 0).mean(),
                                  rel=5e-3)
    assert ei[3] == 1.0


def test_preselect_follows_the_history_and_trains_each_setup_once():
    """History: loss rises with |log2 scale| (best near ×1), tanh better than relu. From a pool of
    scales spread over 2^±4 the forest picks setups near ×1 with tanh; setups already trained and
    repeats in the pool are not picked twice; the same inputs give the same picks."""
    rng = np.random.default_rng(0)
    loss = lambda g: 0.1 + abs(math.log2(g.scale)) + 0.5 * (g.activation == "relu")  # noqa: E731
    history = {g: loss(g) for g in (SPACE.sample(rng) for _ in range(60))}
    history[SPACE.sample(rng).with_(scale=2.0 ** 4)] = WORST                  # a diverged one
    pool = [SPACE.sample(rng) for _ in range(80)]
    pool += pool[:10] + list(history)[:10]                                     # repeats, trained ones
    picks = preselect(history, pool, 8, SPACE, seed=1, worst=WORST)
    chosen = [pool[i] for i in picks]
    assert len(set(chosen)) == 8 and not set(chosen) & set(history)
    new = sorted({g for g in pool if g not in history}, key=loss)
    assert np.mean([loss(g) for g in chosen]) < np.mean([loss(g) for g in new]) / 2
    assert sum(g.activation == "tanh" for g in chosen) >= 6
    assert preselect(history, pool, 8, SPACE, seed=1, worst=WORST) == picks
    # too few new setups: all of them, then trained ones
    assert preselect(history, pool[:3] + list(history), 5, SPACE, seed=1, worst=WORST)[:3] == [0, 1, 2]


def _lines(folder) -> list[dict]:
    return [json.loads(x) for x in (Path(folder) / "evaluations.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("surrogate") / "run"
    S.search(CONFIG.dataset, config=CONFIG, n_jobs=1, out=out)
    return out


def test_a_search_trains_lambda_new_setups_per_generation(run):
    lines = [x for x in _lines(run) if x.get("stage") is None]
    for g in range(CONFIG.generations + 1):
        genomes = [json.dumps(x["genome"], sort_keys=True) for x in lines if x["generation"] == g]
        assert len(genomes) == CONFIG.population * CONFIG.repeats       # λ = μ setups, 2 repeats each
        assert len(set(genomes)) == CONFIG.population
    assert json.loads((run / "config.json").read_text())["search"]["surrogate"] == 5


def test_same_files_for_two_processes_and_after_pause_and_resume(run, tmp_path):
    S.search(CONFIG.dataset, config=CONFIG, n_jobs=2, out=tmp_path / "two")
    assert files(tmp_path / "two") == files(run)
    S.search(CONFIG.dataset, config=CONFIG, n_jobs=2, out=tmp_path / "part", stop_after=1)
    S.resume(tmp_path / "part", n_jobs=1)
    assert files(tmp_path / "part") == files(run)


def test_on_by_default_where_it_runs_and_refused_where_it_does_not():
    """The default is the model-guided GA (surrogate 30) wherever it runs, the plain GA elsewhere;
    it is always written to config.json, and a folder from before it became the default (no
    ``surrogate`` key) reads as the plain GA it was."""
    assert SearchConfig().surrogate == 30 and SearchConfig(prune="halving").surrogate == 0
    assert SearchConfig(shape="steady").surrogate == 0 and SearchConfig(objectives=("val_loss", "n_params")).surrogate == 0
    assert replace(CONFIG, surrogate=0).to_json()["surrogate"] == 0
    older = {k: v for k, v in replace(CONFIG, surrogate=0).to_json().items() if k != "surrogate"}
    assert SearchConfig.from_json(older).surrogate == 0
    assert SearchConfig.from_json(CONFIG.to_json()) == CONFIG
    for options in (dict(shape="steady"), dict(prune="halving"), dict(objectives=("val_loss", "n_params"))):
        with pytest.raises(UsageError, match="surrogate pre-selection runs with one objective"):
            replace(CONFIG, **options)
    with pytest.raises(UsageError, match="surrogate must be"):
        replace(CONFIG, surrogate=-1)


def test_the_cli_and_toml_set_it(tmp_path):
    import subprocess
    import sys

    from helpers import ENV

    from evoinit.ga.configfile import build, load_toml

    (tmp_path / "s.toml").write_text('dataset = "iris"\nsurrogate = 4\n')
    assert build(load_toml(tmp_path / "s.toml"))[0].surrogate == 4
    run = lambda *a: subprocess.run([sys.executable, "-m", "evoinit", "search", *a], env=ENV,  # noqa: E731
                                    capture_output=True, text=True, timeout=300)
    done = run("--dataset", "iris", "--population", "4", "--generations", "1", "--repeats", "1", "--epochs", "3",
               "--surrogate", "3", "--out", str(tmp_path / "run"))
    assert done.returncode == 0, done.stderr
    assert json.loads((tmp_path / "run" / "config.json").read_text())["search"]["surrogate"] == 3
    # 8 setups: too few for the forest to rank the hall of fame (RANK_MIN); the table does not claim it
    assert "random forest's order" not in " ".join(done.stdout.split())
    assert not evoinit.report(tmp_path / "run")["by_model"]
    bad = run("--surrogate", "3", "--prune", "halving", "--out", str(tmp_path / "bad"))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr + bad.stdout
    assert (bad.stderr + bad.stdout).strip().splitlines()[-1].startswith("error: surrogate pre-selection")


@pytest.fixture(scope="module")
def ranked(tmp_path_factory):
    """A surrogate search of 8 + 10·8 candidates, at least RANK_MIN distinct setups: the forest ranks."""
    out = tmp_path_factory.mktemp("ranked") / "run"
    config = replace(CONFIG, population=8, generations=10)
    result = S.search(config.dataset, config=config, n_jobs=1, out=out)
    return out, config, result


def test_few_setups_keep_the_measured_order(run):
    hof = json.loads((run / "hall_of_fame.json").read_text())["entries"]
    fitness = [m["fitness"]["val_loss"] for m in hof]
    assert fitness == sorted(fitness) and len(set(json.dumps(m["genome"]) for m in hof)) == len(hof)
    assert not S.resume(run, n_jobs=1).by_model


def test_a_finished_search_ranks_its_hall_of_fame_by_the_forest(ranked):
    """The hall of fame of a finished surrogate search of at least RANK_MIN setups is ordered by
    the forest's predicted fitness of each member (a forest fitted to every setup the log shows
    trained, the search's seed), not by its measured fitness; each member keeps its own test score;
    reading the run folder back — as resume and as the report do — gives the same order."""
    run, config, result = ranked
    groups: dict = {}
    for line in _lines(run):
        if line.get("stage") is None:
            e = Evaluation.from_json(line)
            groups.setdefault(e.genome, []).append(e)
    history = {g: objective_values(g, evals, config.objectives)[0] for g, evals in groups.items()}
    assert len(history) >= RANK_MIN and result.by_model
    hof = json.loads((run / "hall_of_fame.json").read_text())["entries"]
    members = [Genome.from_json(m["genome"]) for m in hof]
    predicted = smoothed(history, members, config.space, config.seed % 2**31, WORST)
    assert list(predicted) == sorted(predicted)
    fitness = [m["fitness"]["val_loss"] for m in hof]
    assert fitness != sorted(fitness)          # here the model's order is not the measured one
    for m, g in zip(hof, members):             # the measured fitness is still each member's own
        assert m["fitness"]["val_loss"] == pytest.approx(history[g])
    read = view(RunFolder(run))[0].hall_of_fame()
    assert [e.to_json() for e in read] == hof
    shown = report_view(run).hall_of_fame       # what `evoinit report` shows, from the checkpoint
    assert [e.to_json() for e in shown] == hof
    assert evoinit.report(run)["by_model"]
    assert "random forest's order" in (run / "report.html").read_text()
