"""Finer tasks when workers outnumber them (issue 13): ``schedule.plan`` splits populations down to
single networks, the longest first, only when they are too few for the workers — and no result
changes, bit for bit."""

from helpers import RESULT_FILES, files

from evoinit.api import opened
from evoinit.data.spec import DataSpec
from evoinit.ga import backends
from evoinit.ga.config import SearchConfig
from evoinit.ga.evaluate import run_tasks
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.ga.schedule import plan, populations
from evoinit.nn.training import TrainSettings


def _genome(width, activation="tanh", lr=None, layers=1):
    return Genome(hidden=(width,) * layers, activation=activation, init="glorot_uniform", scale=1.0,
                  learning_rate=lr)


def _tasks():
    """Five architectures, one of them much wider, 3-20 networks each, one repeated task."""
    out = []
    for w, n in ((96, 20), (8, 3), (12, 5), (16, 4), (8, 6)):
        for r in range(n):
            out.append((_genome(w, "relu" if n == 6 else "tanh"), (0, w, r)))
    return out + [out[0]]


def _covers(parts, tasks):
    flat = sorted(i for idx in parts for i in idx)
    return flat == sorted(i for idx in populations(tasks) for i in idx)


def test_the_plan_keeps_populations_whole_while_they_fill_the_workers():
    tasks = _tasks()
    whole = plan(tasks, 1)
    assert sorted(map(tuple, whole)) == sorted(map(tuple, populations(tasks)))
    assert whole == plan(tasks, 64, split=False)
    assert whole[0][0] == 0 and len(whole[0]) == 16                 # the widest population first
    # without the wide ones no population is longer than a worker's share on 2 workers: kept whole
    narrow = [t for t in tasks if t[0].hidden != (96,)]
    assert plan(narrow, 2) == plan(narrow, 1) and len(plan(narrow, 2)) == 4
    # with them, on 2 workers the wide population (more than half the work) is halved
    assert [len(idx) for idx in plan(tasks, 2)][:3] == [8, 8, 4]


def test_with_many_workers_the_longest_is_split_first_down_to_single_networks():
    tasks = _tasks()
    for workers in (4, 8, 64):
        parts = plan(tasks, workers)
        assert _covers(parts, tasks) and parts == plan(tasks, workers)   # deterministic
        wide = [idx for idx in parts if tasks[idx[0]][0].hidden == (96,)]
        assert len(wide) > 2                                           # the wide ones were split
        assert parts[0] == wide[0]                                     # and go first
    many = plan(tasks, 64)
    assert all(len(idx) == 1 for idx in many if tasks[idx[0]][0].hidden == (96,))
    assert any(len(idx) > 1 for idx in many)      # the cheap populations stay together
    singles = plan(tasks, 1, split=True)
    assert _covers(singles, tasks) and all(len(idx) == 1 for idx in singles)


def test_split_and_unsplit_evaluations_are_identical():
    tasks = [(_genome(w, a, lr, layers), (3, w, r)) for w, a, lr, layers in
             ((16, "tanh", None, 1), (24, "relu", 0.05, 2), (24, "relu", 2.0, 2), (8, "elu", None, 1))
             for r in range(5)]
    spec = DataSpec("iris", seed=2)
    settings = TrainSettings(epochs=12, batch_size=16)
    whole = run_tasks(tasks, spec, settings, 7, split=False)
    alone = run_tasks(tasks, spec, settings, 7, split=True)
    assert [e.to_json() for e in whole] == [e.to_json() for e in alone]
    assert {e.status for e in whole} >= {"ok", "diverged"}    # the lr 2.0 ones diverge, in a population with others
    with backends.parallel(2) as workers:
        assert workers.n_workers == 2
        halves = run_tasks(tasks, spec, settings, 7, parallel=workers, split=True)
    assert [e.to_json() for e in halves] == [e.to_json() for e in whole]


CONFIG = SearchConfig(dataset="iris", population=6, generations=2, repeats=2, seed=3, hall_of_fame=2,
                      space=SearchSpace(layers=(1, 2), widths=(4, 48)), train=TrainSettings(epochs=8))


def _run(out, n_jobs, split):
    with opened(CONFIG.dataset, config=CONFIG, n_jobs=n_jobs, out=out) as run:
        run.split = split
        assert run.loop().finished


def test_a_search_with_every_population_split_writes_the_same_files(tmp_path):
    _run(tmp_path / "whole", 1, False)
    _run(tmp_path / "split", 1, True)
    _run(tmp_path / "split2", 2, True)
    assert files(tmp_path / "split") == files(tmp_path / "whole") == files(tmp_path / "split2")
    # what differs: the seconds each evaluation records (its own, not a population's share)
    lines = lambda name: (tmp_path / name / "timings.jsonl").read_text().splitlines()  # noqa: E731
    assert len(lines("split")) == len(lines("whole")) and lines("split") != lines("whole")
    assert set(RESULT_FILES) <= {p.name for p in (tmp_path / "split").iterdir()}
