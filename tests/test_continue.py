"""Pause and continue in the trainer (network.initial_states / continue_training): 0 → E in one go
gives the same bits as 0 → k, then k → E, alone, inside a population of any size, across pickle
and across processes (DESIGN.md contract 2 extended)."""

import pickle
import subprocess
import sys

import numpy as np
import pytest

from evoinit import data, seeding
from evoinit.errors import UsageError
from evoinit.nn.network import (
    continue_training,
    initial_start,
    initial_states,
    layer_sizes,
    train_population,
)
from evoinit.nn.training import TrainSettings

SCHEMES = ["glorot_uniform", "he_normal", "orthogonal", "lecun_normal", "uniform", "normal", "zeros"]
OPTIMIZERS = {
    "sgd": dict(optimizer="sgd", momentum=0.0),
    "momentum": dict(optimizer="sgd", momentum=0.9),
    "nesterov": dict(optimizer="sgd", momentum=0.9, nesterov=True),
    "adam": dict(optimizer="adam", learning_rate=0.01),
}


@pytest.fixture(scope="module")
def iris():
    return data.load("iris")


def _population(sizes, schemes=SCHEMES, seed=3):
    root = seeding.root(seed)
    starts, orders = [], []
    for p, scheme in enumerate(schemes):
        seq = seeding.child(root, seeding.TRAIN, p)
        starts.append(initial_start(sizes, scheme, seeding.weight_rng(seq), bias="normal" if p % 2 else 0.0))
        orders.append(seeding.order_rng(seq))
    return starts, orders


def _same(a, b):
    """Two training results (or states) with the same bits: curves, weights, biases."""
    for name in ("train_loss", "val_loss", "val_metric"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.diverged_epoch == b.diverged_epoch
    for x, y in zip(a.weights + a.biases, b.weights + b.biases):
        assert x.dtype == y.dtype and np.array_equal(x, y)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_one_go_equals_paused_and_continued(iris, optimizer, dtype):
    E = 6
    settings = TrainSettings(epochs=E, batch_size=16, dtype=dtype, weight_decay=1e-3, **OPTIMIZERS[optimizer])
    sizes = layer_sizes(4, (7, 5), 3)
    lrs = np.linspace(0.5, 1.5, len(SCHEMES)) * settings.learning_rate
    once = train_population(*_population(sizes), iris, activation="tanh", settings=settings, learning_rates=lrs)
    for k in (1, 2, 5):
        starts, orders = _population(sizes)
        states = initial_states(starts, orders, settings=settings, learning_rates=lrs)
        paused = continue_training(states, iris, activation="tanh", settings=settings, until=k)
        assert all(st.epoch == k and len(st.train_loss) == k for st in paused)
        paused = pickle.loads(pickle.dumps(paused))  # plain data: what another process would get
        done = continue_training(paused, iris, activation="tanh", settings=settings)
        for a, b in zip(once, done):
            _same(a, b.result())
        assert all(st.epoch == E for st in done)


def test_a_slice_of_a_population_continued_alone_or_in_chunks(iris):
    settings = TrainSettings(epochs=5, batch_size=8, momentum=0.9)
    sizes = layer_sizes(4, (6,), 3)
    schemes = SCHEMES * 3
    once = train_population(*_population(sizes, schemes), iris, activation="relu", settings=settings)
    paused = continue_training(initial_states(*_population(sizes, schemes), settings=settings), iris,
                               activation="relu", settings=settings, until=2)
    keep = [1, 4, 5, 11, 19]  # what a pruner keeps
    survivors = continue_training([paused[p] for p in keep], iris, activation="relu", settings=settings,
                                  chunk_size=2)
    for p, st in zip(keep, survivors):
        _same(once[p], st.result())
    alone = continue_training([paused[19]], iris, activation="relu", settings=settings, until=3)
    alone = continue_training(alone, iris, activation="relu", settings=settings)
    _same(once[19], alone[0].result())
    # the paused states themselves are not modified by continuing them
    assert all(st.epoch == 2 for st in paused)


def test_continued_in_another_process(iris, tmp_path):
    settings = TrainSettings(epochs=4, batch_size=16, optimizer="adam", learning_rate=0.01)
    sizes = layer_sizes(4, (5,), 3)
    once = train_population(*_population(sizes), iris, activation="tanh", settings=settings)
    paused = continue_training(initial_states(*_population(sizes), settings=settings), iris,
                               activation="tanh", settings=settings, until=1)
    (tmp_path / "paused.pkl").write_bytes(pickle.dumps(paused))
    code = (
        "import pickle, sys\n"
        "from evoinit import data\n"
        "from evoinit.nn.network import continue_training; from evoinit.nn.training import TrainSettings\n"
        "states = pickle.loads(open(sys.argv[1], 'rb').read())\n"
        "s = TrainSettings(epochs=4, batch_size=16, optimizer='adam', learning_rate=0.01)\n"
        "done = continue_training(states, data.load('iris'), activation='tanh', settings=s)\n"
        "open(sys.argv[2], 'wb').write(pickle.dumps([st.result() for st in done]))\n")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "paused.pkl"), str(tmp_path / "done.pkl")],
                   check=True, timeout=120)
    for a, b in zip(once, pickle.loads((tmp_path / "done.pkl").read_bytes())):
        _same(a, b)


def test_divergence_after_the_pause_is_the_same_and_diverged_states_pass_through(iris):
    settings = TrainSettings(epochs=6, batch_size=16)
    sizes = layer_sizes(4, (8,), 3)
    lrs = [0.05, 40.0, 0.05, 8.0]
    starts, orders = _population(sizes, SCHEMES[:4])
    once = train_population(starts, orders, iris, activation="relu", settings=settings, learning_rates=lrs)
    assert once[1].diverged_epoch == 1 and once[3].diverged_epoch > 1 and not once[0].diverged
    paused = continue_training(initial_states(*_population(sizes, SCHEMES[:4]), settings=settings,
                                              learning_rates=lrs), iris, activation="relu",
                               settings=settings, until=1)
    done = continue_training(paused, iris, activation="relu", settings=settings)
    for a, b in zip(once, done):
        _same(a, b.result())
    again = continue_training(done, iris, activation="relu", settings=settings, until=6)
    assert all(a is b for a, b in zip(again, done))


def test_states_at_different_epochs_or_past_the_end_are_refused(iris):
    settings = TrainSettings(epochs=3)
    sizes = layer_sizes(4, (5,), 3)
    states = initial_states(*_population(sizes, SCHEMES[:2]), settings=settings)
    one = continue_training(states[:1], iris, activation="tanh", settings=settings, until=1)
    with pytest.raises(UsageError, match="same epoch"):
        continue_training([one[0], states[1]], iris, activation="tanh", settings=settings)
    with pytest.raises(UsageError, match="before"):
        continue_training(one, iris, activation="tanh", settings=settings, until=0)
    with pytest.raises(UsageError, match="dtype"):
        continue_training(one, iris, activation="tanh", settings=TrainSettings(epochs=3, dtype="float64"))


def test_weighted_training_pauses_and_continues_too(iris):
    settings = TrainSettings(epochs=4, batch_size=16, momentum=0.9)
    sizes = layer_sizes(4, (6,), 3)
    weights = np.random.default_rng(0).uniform(0, 2, len(iris.X_train))
    once = train_population(*_population(sizes), iris, activation="tanh", settings=settings,
                            sample_weight=weights)
    paused = continue_training(initial_states(*_population(sizes), settings=settings), iris,
                               activation="tanh", settings=settings, until=3, sample_weight=weights)
    done = continue_training(paused, iris, activation="tanh", settings=settings, sample_weight=weights)
    for a, b in zip(once, done):
        _same(a, b.result())
