"""Successive halving inside a generation (rungs.py, ``prune = "halving"``): survivors are trained
with the bits of an uninterrupted training, the pruned set is the same for 1 and 2 processes, on
Dask and across a kill + resume, pruned candidates never reach the hall of fame, and with pruning
off a search writes what it wrote before pruning existed."""

import json
import math
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
from helpers import files

import evoinit as S
from evoinit.errors import UsageError
from evoinit.ga.config import SearchConfig
from evoinit.ga.configfile import build, load_toml
from evoinit.ga.engine import Search
from evoinit.ga.evaluate import WORST, fitness, objective_values, run_tasks
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import SearchSpace
from evoinit.ga.individuals import Individual
from evoinit.ga.variants.halving import race, survivors
from evoinit.nn.training import TrainSettings

# iris, 2 repeats, several architectures per generation (more than one population per rung)
PRUNED = SearchConfig(dataset="iris", population=6, offspring=9, generations=3, repeats=2, seed=5,
                      hall_of_fame=3, space=SearchSpace(layers=(1, 2), widths=(4, 16)),
                      train=TrainSettings(epochs=18), prune="halving")
PLAIN = replace(PRUNED, prune="off")


def _lines(folder) -> list[dict]:
    return [json.loads(x) for x in (Path(folder) / "evaluations.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def pruned_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("pruned") / "run"
    result = S.search(PRUNED.dataset, config=PRUNED, n_jobs=1, out=out)
    return out, result


# -- the settings ---------------------------------------------------------------------------------


def test_rungs_follow_eta_or_are_given_and_bad_ones_name_themselves():
    assert PRUNED.rung_epochs == (2, 6)                       # 18/9, 18/3
    assert replace(PRUNED, train=TrainSettings(epochs=30)).rung_epochs == (3, 10)
    assert replace(PRUNED, train=TrainSettings(epochs=5)).rung_epochs == (1,)   # 5/9 is no epoch
    assert replace(PRUNED, eta=2, rungs=[4, 9]).rung_epochs == (4, 9)
    assert PLAIN.rung_epochs == ()
    for options, message in [(dict(prune="halfing"), "did you mean 'halving'"),
                             (dict(eta=1), "eta must be at least 2"),
                             (dict(rungs=(6, 3)), "rungs must increase"),
                             (dict(rungs=(3, 18)), "rungs must be at most 17"),
                             (dict(prune="off", eta=4), "apply to prune = 'halving'")]:
        with pytest.raises(UsageError, match=message):
            replace(PRUNED, **options)
    assert SearchConfig.from_json(PRUNED.to_json()) == PRUNED
    assert SearchConfig.from_json(replace(PRUNED, rungs=(3, 9)).to_json()).rungs == (3, 9)
    assert not {"prune", "eta", "rungs"} & set(PLAIN.to_json())   # off: the JSON of before


def test_toml_sets_pruning(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('dataset = "iris"\nprune = "halving"\neta = 2\nrungs = [2, 5]\nepochs = 12\n')
    config, _ = build(load_toml(path))
    assert (config.prune, config.eta, config.rung_epochs) == ("halving", 2, (2, 5))


# -- the race -------------------------------------------------------------------------------------


def test_survivors_have_the_bits_of_an_unpruned_training_and_the_pruned_a_prefix():
    """Every task raced equals the same task trained 0 → E (survivors) or is its prefix, stopped at
    a rung (pruned); ⌈n/η⌉ candidates go on past each rung, ranked by their mean loss there."""
    space, rng = PRUNED.space, __import__("numpy").random.default_rng(1)
    candidates = [(space.sample(rng), ((0, n, 0), (0, n, 1))) for n in range(10)]
    tasks, evals = race(candidates, {}, PRUNED.dataset, PRUNED.train, 5, rungs=(2, 6), eta=3)
    assert tasks == [(g, k) for g, keys in candidates for k in keys]
    full = run_tasks(tasks, PRUNED.dataset, PRUNED.train, 5)
    stopped_at = {}
    for e, f in zip(evals, full):
        if e.pruned:
            n = len(e.val_loss)
            assert n == (2, 6)[e.rung] and e.val_loss == f.val_loss[:n] and e.train_loss == f.train_loss[:n]
            assert e.epochs_trained == n and e.final_val_loss == math.inf
            stopped_at.setdefault(e.key[1], e.rung)
        else:
            assert e == f                                 # the bits, curves and status
    going = 10
    for rung, epoch in enumerate((2, 6)):                  # 10 → 4 → 2 (none diverged here)
        losses = {n: sum(f.val_loss[epoch - 1] for f in full if f.key[1] == n) / 2 for n in range(10)
                  if stopped_at.get(n, 9) >= rung}
        kept = sorted(losses, key=lambda n: (losses[n], n))[:survivors(going, 3)]
        assert sorted(kept) == sorted(n for n in losses if stopped_at.get(n, 9) > rung)
        going = len(kept)
    assert going == 2


def test_survivors_fitness_is_the_unpruned_fitness(pruned_run):
    out, result = pruned_run
    lines = [x for x in _lines(out) if x.get("generation")]      # offspring (generation >= 1)
    by_candidate: dict = {}
    for line in lines:
        by_candidate.setdefault(tuple(line["seed"][:-1]), []).append(Evaluation.from_json(line))
    finished = {c: evals for c, evals in by_candidate.items() if not any(e.pruned for e in evals)}
    assert finished and len(finished) < len(by_candidate)
    for evals in finished.values():
        [(value, again)] = fitness([evals[0].genome], [e.key for e in evals], PLAIN)
        assert again == evals
        ours = [ind for ind in json.loads((out / "generations.jsonl").read_text().splitlines()[-1])["population"]
                if [tuple(k) for k in ind["seeds"]] == [e.key for e in evals]]
        for ind in ours:
            assert list(ind["fitness"].values()) == list(value)


def test_pruned_candidates_are_logged_counted_and_never_in_the_hall_of_fame(pruned_run):
    out, result = pruned_run
    lines = _lines(out)
    status = {tuple(x["seed"]): x["status"] for x in lines}
    pruned = [x for x in lines if x["status"] == "pruned"]
    assert pruned and all(x["rung"] in (0, 1) and len(x["val_loss"]) == (2, 6)[x["rung"]] for x in pruned)
    assert all(x.get("generation", 0) >= 1 for x in pruned)          # only offspring race
    for entry in result.hall_of_fame:
        assert all(status[tuple(k)] in ("ok", "degenerate") for k in entry.seeds)
    for gen in (json.loads(x) for x in (out / "generations.jsonl").read_text().splitlines()):
        assert all(status[tuple(k)] != "pruned" for ind in gen["population"] for k in ind["seeds"])
    rows = result.logbook
    assert [r["pruned"] for r in rows] == [sum(x["status"] == "pruned" and x.get("generation") == g
                                              for x in lines) for g in range(4)]
    assert rows[0]["pruned"] == 0 and "pruned" in (out / "logbook.csv").read_text().splitlines()[0]
    # timings.jsonl: the epochs each evaluation really trained
    timings = [json.loads(x) for x in (out / "timings.jsonl").read_text().splitlines()]
    assert [t["epochs"] for t in timings] == [Evaluation.from_json(x).epochs_trained for x in lines]
    assert sum(t["epochs"] for t in timings) < 18 * len(timings)
    # a pruned candidate's fitness: below every candidate trained to the end
    e = Evaluation.from_json(pruned[0])
    assert objective_values(e.genome, [e], ("val_loss", "n_params")) == (WORST, WORST)


def test_pruning_is_the_same_on_two_processes_and_across_a_pause(pruned_run, tmp_path):
    out, _ = pruned_run
    S.search(PRUNED.dataset, config=PRUNED, n_jobs=2, out=tmp_path / "two")
    assert files(tmp_path / "two") == files(out)
    S.search(PRUNED.dataset, config=PRUNED, n_jobs=2, out=tmp_path / "part", stop_after=1)
    S.resume(tmp_path / "part", n_jobs=1)
    assert files(tmp_path / "part") == files(out)


def test_stopped_between_two_rungs_then_resumed_gives_the_same_files(pruned_run, tmp_path):
    """A stop in the middle of a generation's race (here: an exception at the second rung of
    generation 2) loses that generation only: the resumed run writes the same files."""
    out, _ = pruned_run
    seen = {"generations": 0, "evaluated": 0}

    class Stop(Exception):
        time.sleep(0.002)

    def stop_mid_race(p):
        if p.kind == "generation":
            seen["generations"] += 1
        elif p.kind == "evaluated" and seen["generations"] == 2:
            seen["evaluated"] += 1
            if p.done < p.total and seen["evaluated"] > 2:
                raise Stop

    with pytest.raises(Stop):
        S.search(PRUNED.dataset, config=PRUNED, n_jobs=1, out=tmp_path / "run", progress=stop_mid_race)
    S.resume(tmp_path / "run", n_jobs=1)
    assert files(tmp_path / "run") == files(out)


_KILLED = """
import sys
import time
from dataclasses import replace
import evoinit as S
from test_rungs import PRUNED
S.search(PRUNED.dataset, config=replace(PRUNED, generations=6), n_jobs=1, out=sys.argv[1])
"""


@pytest.fixture(scope="module")
def longer_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("longer") / "run"
    S.search(PRUNED.dataset, config=replace(PRUNED, generations=6), n_jobs=1, out=out)
    return files(out)


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("lines", [20, 40])
def test_killed_mid_generation_then_resumed_equals_undisturbed(tmp_path, longer_run, lines):
    """SIGKILL once generation 1 (or 2) is logged: mid-race in the next one, or in its writes."""
    proc = subprocess.Popen([sys.executable, "-c", _KILLED, str(tmp_path / "run")],
                            cwd=Path(__file__).parent, env=os.environ | {"PYTHONPATH": str(Path(__file__).parent)})
    log = tmp_path / "run" / "evaluations.jsonl"
    while proc.poll() is None and (not log.exists() or log.read_bytes().count(b"\n") < lines):
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    S.resume(tmp_path / "run", n_jobs=1)
    assert files(tmp_path / "run") == longer_run


def test_a_dask_cluster_prunes_the_same(pruned_run, tmp_path):
    from test_dask import running_cluster

    out, _ = pruned_run
    with running_cluster(tmp_path) as cluster:
        S.search(PRUNED.dataset, config=PRUNED, scheduler=cluster.address, out=tmp_path / "run")
    assert files(tmp_path / "run") == files(out)


# -- pruning off ---------------------------------------------------------------------------------


def test_pruning_off_writes_the_files_of_before(tmp_path):
    """No pruning key in config.json and checkpoint.json, no ``rung`` in the evaluations log, no
    ``pruned`` column in the logbook: the bytes of a search from before pruning existed (checked
    against main 49d66cf's default search by hand, see docs); timings.jsonl gains ``epochs``."""
    result = S.search(PLAIN.dataset, config=PLAIN, n_jobs=1, out=tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())["search"]
    checkpoint = json.loads((tmp_path / "run" / "checkpoint.json").read_text())
    assert not {"prune", "eta", "rungs"} & (set(config) | set(checkpoint["config"]))
    lines = _lines(tmp_path / "run")
    assert all("rung" not in x and x["status"] != "pruned" for x in lines)
    assert all("pruned" not in row for row in result.logbook + list(checkpoint["logbook"]))
    assert "pruned" not in (tmp_path / "run" / "logbook.csv").read_text()
    timings = [json.loads(x) for x in (tmp_path / "run" / "timings.jsonl").read_text().splitlines()]
    assert [sorted(t) for t in timings] == [["epochs", "n", "seconds"]] * len(lines)
    assert [t["epochs"] for t in timings] == [len(x["val_loss"]) if x["diverged_epoch"] is None
                                             else x["diverged_epoch"] for x in lines]


def test_pruned_offspring_never_survive_even_when_the_population_is_clones():
    """Survivors prefer distinct gene lists to clones, but never a pruned candidate to a clone."""
    run = Search(PRUNED)
    genome = PRUNED.space.sample(__import__("numpy").random.default_rng(0))
    ok = Evaluation(genome, (0, 0, 0), "ok", "val_error", (1.0,), (0.5,), (0.1,), None, 10)
    cut = replace(ok, key=(0, 1, 0), status="pruned", rung=0)

    def individual(genes, fitness, evals):
        ind = Individual(genes)
        ind.fitness.values, ind.evals = (fitness,), evals
        return ind

    parents = [individual([1, 2, 3], 0.5, (ok,)) for _ in range(PRUNED.population)]   # all clones
    offspring = [individual([i, 9, 9], WORST, (cut,)) for i in range(PRUNED.offspring)]
    survivors = run.survivors(parents + offspring)
    assert survivors == parents and not any(ind.pruned for ind in survivors)
    diverged = [individual([i, 8, 8], WORST, (replace(ok, status="diverged", diverged_epoch=1),))
                for i in range(3)]
    # unchanged for diverged ones: distinct gene lists first, so they come before the clones
    assert run.survivors(parents + diverged)[:4] == [parents[0], *diverged]


def test_the_cli_prunes_and_says_so(tmp_path):
    from helpers import ENV

    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "evoinit", "search", "--dataset", "iris", "--population", "6", "--offspring", "9",
           "--generations", "1", "--repeats", "2", "--epochs", "18", "--n-jobs", "1", "--out", str(out),
           "--prune", "halving", "--eta", "3", "--rungs", "2,6"]
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr
    pruned = sum(x["status"] == "pruned" for x in _lines(out))
    assert pruned > 0 and f"pruned {pruned}" in r.stdout
    assert json.loads((out / "config.json").read_text())["search"]["rungs"] == [2, 6]
    bad = subprocess.run(cmd[:-6] + ["--rungs", "2,x"], capture_output=True, text=True, env=ENV, timeout=120)
    assert bad.returncode == 2 and "--rungs must be comma-separated integers" in bad.stderr
    assert "Traceback" not in bad.stderr
