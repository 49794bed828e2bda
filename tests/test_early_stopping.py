"""Early stopping (DESIGN.md contract 9): a network stopped at its best validation epoch and
restored there has the bits of training exactly that many epochs with early stopping off — alone
or in a population, in one go or resumed, raced through successive halving or not; its evaluation,
fitness and test scores are the restored network's; the settings are written only when set."""

import json
import pickle
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from helpers import ENV, seeded_starts

import evoinit as S
from evoinit import data, seeding
from evoinit.errors import ConfigError, UsageError
from evoinit.ga.config import SearchConfig
from evoinit.ga.configfile import build, load_toml
from evoinit.ga.evaluate import objective_values, run_tasks
from evoinit.ga.evaluation import Evaluation
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.ga.variants.halving import race, survivors
from evoinit.nn.network import (
    continue_training,
    initial_states,
    layer_sizes,
    train_population,
)
from evoinit.nn.training import TrainSettings, watched

ADAM = dict(optimizer="adam", learning_rate=0.01)   # overfits digits within a few dozen epochs
MIXED = ["he_normal", "glorot_uniform", "orthogonal", "lecun_normal", "he_uniform", "uniform"] * 2






def _same(a, b) -> bool:
    """Two results with the same bits: curves, best epoch, divergence, weights."""
    return (all(np.array_equal(getattr(a, n), getattr(b, n)) for n in ("train_loss", "val_loss", "val_metric"))
            and (a.best_epoch, a.diverged_epoch) == (b.best_epoch, b.diverged_epoch)
            and all(np.array_equal(x, y) for x, y in zip(a.weights + a.biases, b.weights + b.biases)))


# -- the trainer ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name, activation, monitor, dtype", [
    ("digits", "relu", "val_loss", "float32"),
    ("digits", "tanh", "val_error", "float64"),
    ("diabetes", "relu", "val_error", "float32"),        # regression: 1 − R²
])
def test_the_restored_network_is_the_network_trained_to_its_best_epoch(digits, diabetes, name, activation,
                                                                        monitor, dtype):
    ds = {"digits": digits, "diabetes": diabetes}[name]
    sizes = layer_sizes(ds.n_features, (32,), ds.n_outputs)
    patience, epochs = 3, 40
    settings = TrainSettings(epochs=epochs, patience=patience, monitor=monitor, dtype=dtype, **ADAM)
    results = train_population(*seeded_starts(sizes, MIXED[:6], seed=2), ds, activation=activation, settings=settings)
    again, orders = seeded_starts(sizes, MIXED[:6], seed=2)
    assert any(r.epochs < epochs for r in results)                     # some stopped early
    for p, r in enumerate(results):
        curve = watched(monitor, r.val_loss, r.val_metric, r.metric)
        assert r.best_epoch == 1 + int(np.argmin(curve))                # the first of the best
        assert r.epochs == min(epochs, r.best_epoch + patience)         # patience epochs past it, no more
        plain = replace(settings, epochs=r.best_epoch, patience=None, monitor="val_loss")
        ref = train_population([again[p]], [orders[p]], ds, activation=activation, settings=plain)[0]
        assert ref.best_epoch is None
        assert all(np.array_equal(x, y) for x, y in zip(ref.weights + ref.biases, r.weights + r.biases)), p
        for n in ("train_loss", "val_loss", "val_metric"):
            assert np.array_equal(getattr(ref, n), getattr(r, n)[:r.best_epoch]), (p, n)


def test_alone_in_a_population_and_in_chunks_are_bit_identical(digits):
    """Contract 2 with early stopping: networks leave the stack at different epochs (one diverges)
    and no other network's bits move."""
    sizes = layer_sizes(64, (24, 12), 10)

    def population():
        starts, orders = seeded_starts(sizes, MIXED, seed=7)
        big, big_order = seeded_starts(sizes, ["he_normal"], seed=8, scale=64.0)
        starts[4], orders[4] = big[0], big_order[0]
        return starts, orders

    lrs = np.linspace(0.02, 0.2, len(MIXED))
    settings = TrainSettings(epochs=30, patience=2)           # SGD: the scale-64 start diverges
    together = train_population(*population(), digits, activation="relu", settings=settings, learning_rates=lrs)
    assert together[4].diverged and not any(r.diverged for p, r in enumerate(together) if p != 4)
    assert len({r.epochs for r in together}) > 2
    chunked = train_population(*population(), digits, activation="relu", settings=settings,
                               learning_rates=lrs, chunk_size=5)
    assert all(_same(a, b) for a, b in zip(chunked, together))
    for p in (0, 3, 4, 11):
        starts, orders = population()
        alone = train_population([starts[p]], [orders[p]], digits, activation="relu", settings=settings,
                                 learning_rates=lrs[p:p + 1])[0]
        assert _same(alone, together[p]), p


def test_paused_and_continued_equals_one_go(digits):
    """0 → k, pickled, then k → E (some networks already stopped at k) gives the bits of 0 → E."""
    sizes = layer_sizes(64, (32,), 10)
    settings = TrainSettings(epochs=30, patience=2, monitor="val_error", **ADAM)
    whole = train_population(*seeded_starts(sizes, MIXED, seed=4), digits, activation="relu", settings=settings)
    k = sorted(r.epochs for r in whole)[len(whole) // 2]                # half of them stopped by then
    states = continue_training(initial_states(*seeded_starts(sizes, MIXED, seed=4), settings=settings), digits,
                               activation="relu", settings=settings, until=k)
    assert any(st.stopped(settings.patience) for st in states) and not all(st.stopped(2) for st in states)
    states = pickle.loads(pickle.dumps(states))
    done = continue_training(states, digits, activation="relu", settings=settings)
    for st, r in zip(done, whole):
        assert _same(st.result(), r)
    # the networks still going, continued on their own
    going = [i for i, st in enumerate(states) if not st.stopped(2)]
    alone = continue_training([states[i] for i in going], digits, activation="relu", settings=settings)
    assert all(_same(st.result(), whole[i]) for st, i in zip(alone, going))


# -- the settings ----------------------------------------------------------------------------------


def test_settings_are_written_only_when_set_and_checked_in_one_line(tmp_path):
    assert TrainSettings(patience=0) == TrainSettings()                 # 0 is off
    assert not {"patience", "monitor"} & set(TrainSettings().to_json())
    on = TrainSettings(patience=5, monitor="val_error")
    assert on.to_json()["patience"] == 5 and on.to_json()["monitor"] == "val_error"
    assert "monitor" not in TrainSettings(patience=5).to_json()
    assert TrainSettings.from_json(on.to_json()) == on
    for options, message in [(dict(patience=-1), "patience must be at least 0"),
                             (dict(patience=2.5), "patience must be an integer"),
                             (dict(patience=3, monitor="loss"), "did you mean 'val_loss'"),
                             (dict(monitor="val_error"), "needs a patience")]:
        with pytest.raises(UsageError, match=message) as e:
            TrainSettings(**options)
        assert "\n" not in str(e.value)
    path = tmp_path / "s.toml"
    path.write_text('dataset = "iris"\n[train]\npatience = 4\nmonitor = "val_error"\n')
    config, _ = build(load_toml(path))
    assert (config.train.patience, config.train.monitor, config.train.epochs) == (4, "val_error", 30)
    assert SearchConfig.from_json(config.to_json()) == config
    path.write_text('[train]\npatience = "4"\n')
    with pytest.raises(ConfigError, match=r"line 2.*patience has the wrong type"):
        load_toml(path)


# -- the evaluation, the fitness and the test scores ------------------------------------------------


DIGITS = data.DataSpec("digits")


def test_fitness_and_test_scores_come_from_the_restored_network():
    genome = Genome.parse("48 relu he_normal ×1")
    settings = TrainSettings(epochs=40, patience=3, **ADAM)
    keys = [(seeding.FINAL, r) for r in range(3)]
    stopped = run_tasks([(genome, k) for k in keys], DIGITS, settings, 9, test=True)
    for e in stopped:
        plain = replace(settings, epochs=e.best_epoch, patience=None)
        [ref] = run_tasks([(genome, e.key)], DIGITS, plain, 9, test=True)
        assert e.best_epoch < e.epochs_trained <= 40 and ref.best_epoch is None
        assert (e.final_val_loss, e.final_val_error) == (ref.final_val_loss, ref.final_val_error)
        assert (e.test_loss, e.test_metric) == (ref.test_loss, ref.test_metric)
        assert e.final_val_loss == e.val_loss[e.best_epoch - 1] < e.val_loss[-1]
        line = e.to_json()
        assert line["best_epoch"] == e.best_epoch and "best_epoch" not in ref.to_json()
        assert Evaluation.from_json(json.loads(json.dumps(line))) == e
        for bad in (0, len(e.val_loss) + 1, "3", 2.0):
            with pytest.raises(ValueError, match="best_epoch"):
                Evaluation.from_json(line | {"best_epoch": bad})
    objectives = ("val_loss", "val_error", "spread")
    refs = [run_tasks([(genome, e.key)], DIGITS, replace(settings, epochs=e.best_epoch, patience=None), 9)[0]
            for e in stopped]
    assert objective_values(genome, stopped, objectives) == objective_values(genome, refs, objectives)


# -- successive halving and the search ---------------------------------------------------------------


PATIENT = SearchConfig(dataset="iris", population=6, offspring=9, generations=2, repeats=2, seed=5,
                       hall_of_fame=3, space=SearchSpace(layers=(1, 2), widths=(4, 16)),
                       train=TrainSettings(epochs=18, patience=2, optimizer="adam", learning_rate=0.2),
                       prune="halving")


def test_halving_survivors_have_the_bits_of_an_unpruned_early_stopped_training():
    space, rng = PATIENT.space, np.random.default_rng(1)
    candidates = [(space.sample(rng), ((0, n, 0), (0, n, 1))) for n in range(10)]
    tasks, evals = race(candidates, {}, PATIENT.dataset, PATIENT.train, 5, rungs=(2, 6), eta=3)
    full = run_tasks(tasks, PATIENT.dataset, PATIENT.train, 5)
    assert any(f.epochs_trained < 18 and not f.diverged for f in full)      # early stopping did stop some
    assert any(e.pruned for e in evals)
    for e, f in zip(evals, full):
        if e.pruned:
            n = len(e.val_loss)
            assert n <= (2, 6)[e.rung] and e.val_loss == f.val_loss[:n]
        else:
            assert e == f

    def restored_loss(f, epoch):     # the loss of the network kept after `epoch` epochs
        n = min(epoch, len(f.val_loss))
        return f.val_loss[int(np.argmin(watched("val_loss", f.val_loss[:n], f.val_metric[:n], f.metric)))]

    stopped_at = {e.key[1]: e.rung for e in evals if e.pruned}
    going = 10
    for rung, epoch in enumerate((2, 6)):                  # ranked by the restored networks' losses
        losses = {n: sum(restored_loss(f, epoch) for f in full if f.key[1] == n) / 2 for n in range(10)
                  if stopped_at.get(n, 9) >= rung}
        kept = sorted(losses, key=lambda n: (losses[n], n))[:survivors(going, 3)]
        assert sorted(kept) == sorted(n for n in losses if stopped_at.get(n, 9) > rung)
        going = len(kept)
    # a network that stopped before the last rung still raced past it on its best epoch
    assert any(len(f.val_loss) < 6 and stopped_at.get(f.key[1], 9) > 1 for f in full)


@pytest.mark.parametrize("variant", [dict(), dict(prune="off", surrogate=2)], ids=["halving", "surrogate"])
def test_a_patient_search_resumes_to_the_same_files(tmp_path, variant):
    cfg = replace(PATIENT, **variant)
    whole = S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "whole")
    S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "part", stop_after=1)
    done = S.resume(tmp_path / "part", n_jobs=2)
    assert done.finished and whole.hall_of_fame == done.hall_of_fame
    for name in ("evaluations.jsonl", "hall_of_fame.json", "logbook.csv", "checkpoint.json", "generations.jsonl"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "part" / name).read_bytes(), name
    lines = [json.loads(x) for x in (tmp_path / "whole" / "evaluations.jsonl").read_text().splitlines()]
    assert all("best_epoch" in x for x in lines if x["status"] != "diverged")
    saved = json.loads((tmp_path / "whole" / "config.json").read_text())["search"]["train"]
    assert saved["patience"] == 2 and "monitor" not in saved


# -- the command line --------------------------------------------------------------------------------


def _train(*args):
    return subprocess.run([sys.executable, "-m", "evoinit", "train", "--dataset", "iris", "--hidden", "8",
                           "--seeds", "3", *args], capture_output=True, text=True, env=ENV, timeout=300)


def test_train_flags_patience_and_monitor(tmp_path):
    r = _train("--epochs", "60", "--optimizer", "adam", "--lr", "0.05", "--patience", "2",
               "--monitor", "val_error", "--out", str(tmp_path / "t"))
    assert r.returncode == 0, r.stderr
    assert "at the best epoch" in r.stdout and "validation error" in r.stdout
    report = json.loads((tmp_path / "t" / "train.json").read_text())
    assert report["settings"]["patience"] == 2 and report["settings"]["monitor"] == "val_error"
    assert all(1 <= e["best_epoch"] <= len(e["val_loss"]) for e in report["evaluations"])
    assert report["summary"]["best_epoch"]["mean"] >= 1
    for args, message in [(["--patience", "-1"], "patience must be at least 0"),
                          (["--patience", "2", "--monitor", "loss"], "did you mean 'val_loss'"),
                          (["--monitor", "val_error"], "needs a patience")]:
        r = _train("--epochs", "2", *args)
        assert r.returncode != 0 and "Traceback" not in r.stderr, r.stderr
        assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr
