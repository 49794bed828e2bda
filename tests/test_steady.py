"""The steady-state GA with a fixed lag (issue 13): no generational barrier, yet the same files
whatever the workers (n_jobs 1, 2; a local Dask cluster: test_dask.py) and after a stop or a
SIGKILL and a resume."""

import json
import subprocess
import sys

import pytest
from helpers import ENV, files, killed_after_checkpoint

from evoinit.api import resume, search
from evoinit.errors import UsageError
from evoinit.ga.config import SearchConfig
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.ga.variants import steady
from evoinit.nn.training import TrainSettings

STEADY = SearchConfig(dataset="iris", population=8, offspring=6, generations=4, repeats=2, seed=5,
                      hall_of_fame=3, shape="steady", lag=5,
                      space=SearchSpace(layers=(1, 2), widths=(4, 48)), train=TrainSettings(epochs=8))


@pytest.fixture(scope="module")
def one_process(tmp_path_factory):
    out = tmp_path_factory.mktemp("steady") / "run"
    result = search(STEADY.dataset, config=STEADY, n_jobs=1, out=out)
    assert result.finished
    return out


def test_steady_writes_the_same_files_on_one_and_two_processes(one_process, tmp_path):
    search(STEADY.dataset, config=STEADY, n_jobs=2, out=tmp_path / "two")
    assert files(tmp_path / "two") == files(one_process)
    lines = [json.loads(x) for x in (one_process / "evaluations.jsonl").read_text().splitlines()]
    searched = [d for d in lines if d["generation"] is not None]
    assert len(searched) == (8 + 4 * 6) * 2                     # every candidate once, its repeats
    n = [d["seed"][1] for d in searched]
    assert n == sorted(n)                                       # written in candidate order
    assert [d["generation"] for d in searched] == sorted(d["generation"] for d in searched)


def test_generation_0_is_the_plain_gas_and_the_lag_changes_the_search(one_process, tmp_path):
    plain = SearchConfig(**{**STEADY.__dict__, "shape": "generations", "lag": None})
    search(plain.dataset, config=plain, n_jobs=1, out=tmp_path / "plain")
    first = lambda run: [x for x in (run / "evaluations.jsonl").read_text().splitlines()  # noqa: E731
                         if '"generation":0' in x]
    assert first(tmp_path / "plain") == first(one_process)
    other = SearchConfig(**{**STEADY.__dict__, "lag": 0})
    search(other.dataset, config=other, n_jobs=1, out=tmp_path / "lag0")
    assert files(tmp_path / "lag0")["evaluations.jsonl"] != files(one_process)["evaluations.jsonl"]


def test_a_stop_then_resume_equals_an_undisturbed_run(one_process, tmp_path):
    search(STEADY.dataset, config=STEADY, n_jobs=2, out=tmp_path / "part", stop_after=2)
    ck = json.loads((tmp_path / "part" / "checkpoint.json").read_text())
    assert ck["generation"] == 2 and ck["counter"] == 8 + 2 * 6
    assert len(ck["pending"]) == STEADY.lag + 1                 # bred ahead, sent again on resume
    resume(tmp_path / "part", n_jobs=1)
    assert files(tmp_path / "part") == files(one_process)


def test_killed_mid_run_then_resumed_equals_undisturbed(tmp_path):
    long = SearchConfig(**{**STEADY.__dict__, "train": TrainSettings(epochs=300)})
    out = tmp_path / "run"
    killed_after_checkpoint(long, out)
    resume(out, n_jobs=1)
    undisturbed = search(long.dataset, config=long, n_jobs=1, out=tmp_path / "undisturbed")
    assert undisturbed.finished
    assert files(out) == files(tmp_path / "undisturbed")


def test_send_now_takes_the_oldest_for_the_idle_workers():
    a = Genome(hidden=(8,), activation="tanh", init="glorot_uniform", scale=1.0)
    b = Genome(hidden=(32,), activation="relu", init="he_normal", scale=1.0)
    tasks = [(a, (0, 0, 0)), (a, (0, 0, 1)), (b, (0, 1, 0)), (b, (0, 1, 1)), (a, (0, 2, 0))]
    one = steady.send_now(tasks, 1)
    assert len(one) == 1 and 0 in one[0]                        # the oldest goes first
    many = steady.send_now(tasks, 8)
    assert sorted(i for idx in many for i in idx) == list(range(5)) and len(many) <= 8
    assert [min(idx) for idx in many] == sorted(min(idx) for idx in many)


def test_steady_settings_are_checked_and_stay_out_of_a_plain_searchs_files():
    for bad, words in (({"prune": "halving"}, "without pruning"),
                       ({"lag": -1}, "lag"), ({"shape": "async"}, "shape")):
        with pytest.raises(UsageError, match=words):
            SearchConfig(**{**STEADY.__dict__, **bad})
    with pytest.raises(UsageError, match="lag applies to shape = 'steady'"):
        SearchConfig(lag=3)
    assert "shape" not in SearchConfig().to_json() and "lag" not in SearchConfig().to_json()
    assert SearchConfig(shape="steady").lag == SearchConfig().offspring
    assert SearchConfig.from_json(STEADY.to_json()) == STEADY


def test_the_command_line_takes_the_steady_settings(tmp_path):
    cli = [sys.executable, "-m", "evoinit", "search", "--dataset", "iris", "--population", "6",
           "--generations", "1", "--epochs", "3", "--repeats", "1", "--n-jobs", "1"]
    p = subprocess.run(cli + ["--shape", "steady", "--lag", "4", "--out", str(tmp_path / "run")],
                       env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    saved = json.loads((tmp_path / "run" / "config.json").read_text())["search"]
    assert saved["shape"] == "steady" and saved["lag"] == 4
    p = subprocess.run(cli + ["--shape", "steady", "--prune", "halving", "--out", str(tmp_path / "bad")],
                       env=ENV, capture_output=True, text=True, timeout=120)
    assert p.returncode != 0 and len(p.stderr.strip().splitlines()) == 1, p.stderr
    assert "without pruning" in p.stderr and "Traceback" not in p.stderr
    help_text = subprocess.run([sys.executable, "-m", "evoinit", "search", "--help"], env=ENV,
                               capture_output=True, text=True, timeout=120).stdout
    assert "--shape" in help_text and "--lag" in help_text
