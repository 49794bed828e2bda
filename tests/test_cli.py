"""The real CLI in a subprocess: listings, `train`, and bad input as one clear line."""

import json
import os
import subprocess
import sys

import pytest

ENV = {**os.environ, "COLUMNS": "200", "OPENBLAS_NUM_THREADS": "1"}


def run(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "evoinit", *args], capture_output=True, text=True,
                          env=ENV, cwd=cwd, timeout=300)


@pytest.mark.parametrize("what, expect", [
    ("inits", ["glorot_uniform", "kwon_relu_normal", "he_general_normal", "xavier_uniform → glorot_uniform"]),
    ("activations", ["leaky_relu", "gelu", "1.667"]),
    ("datasets", ["digits", "spirals", "diabetes", "regression"]),
])
def test_listings(what, expect):
    r = run("list", what)
    assert r.returncode == 0, r.stderr
    for word in expect:
        assert word in r.stdout


def test_help_has_examples():
    for args in ([], ["train"], ["list", "inits"]):
        r = run(*args, "--help")
        assert r.returncode == 0 and "evoinit" in r.stdout and "Example" in r.stdout, args


@pytest.mark.parametrize("args", [[], ["list"]])
def test_a_group_alone_prints_its_help_not_an_error(args):
    """The hooks into typer's click (``exits.is_help`` and the ``TyperException`` base): a group
    called with nothing shows its help on stderr with click's usage exit code; were click to change
    either, this would print "error: …" or a traceback."""
    r = run(*args)
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert r.stderr.startswith("Usage: ") and "error:" not in r.stderr and "Commands" in r.stderr, r.stderr
    r = run(*args, "--no-such-option")
    assert r.returncode == 2 and r.stderr.startswith("error: No such option"), r.stderr


def test_train_writes_curves_and_plot(tmp_path):
    out = tmp_path / "t"
    r = run("train", "--dataset", "iris", "--hidden", "8", "--seeds", "3", "--epochs", "4",
            "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "validation loss" in r.stdout and "3 seeds" in r.stdout
    report = json.loads((out / "train.json").read_text())
    assert len(report["evaluations"]) == 3 and len(report["evaluations"][0]["val_loss"]) == 4
    assert (out / "learning_curves.png").stat().st_size > 10_000


def _bad_csv(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize("args_of, message", [
    (lambda t: ["--dataset", "digts"], "did you mean 'digits'"),
    (lambda t: ["--init", "glorot_unifrom"], "did you mean 'glorot_uniform'"),
    (lambda t: ["--activation", "relux"], "unknown activation"),
    (lambda t: ["--dataset", str(t / "missing.csv")], "missing.csv"),
    (lambda t: ["--dataset", _bad_csv(t, "empty.csv", "")], "empty"),
    (lambda t: ["--dataset", _bad_csv(t, "nan.csv", "a,b,target\n1,2,0\n1,nan,1\n" + "1,2,0\n3,4,1\n" * 10)], "NaN"),
    (lambda t: ["--dataset", _bad_csv(t, "text.csv", "a,b,target\n1,x,0\n" + "1,2,0\n3,4,1\n" * 10)], "non-numeric"),
    (lambda t: ["--dataset", _bad_csv(t, "one.csv", "a,b,target\n" + "1,2,0\n3,4,0\n" * 10)], "class"),
    (lambda t: ["--dataset", _bad_csv(t, "col.csv", "a,b,y\n" + "1,2,0\n3,4,1\n" * 10), "--target", "label"], "label"),
    (lambda t: ["--epochs", "0"], "epochs"),
    (lambda t: ["--hidden", "64,x"], "--hidden"),
])
def test_bad_input_is_one_line_and_nonzero(tmp_path, args_of, message):
    r = run("train", "--seeds", "1", "--epochs", "1", *args_of(tmp_path))
    assert r.returncode != 0
    assert "Traceback" not in r.stderr and "Traceback" not in r.stdout
    assert message.lower() in r.stderr.lower(), r.stderr
    assert len([line for line in r.stderr.splitlines() if line.strip()]) == 1, r.stderr


def test_search_flags_reselect_and_canonical_start_reach_the_search(tmp_path):
    """--reselect N retrains the hall of fame from N shared new seeds at the end; --canonical-start
    puts each activation's textbook init into generation 0; both are recorded in config.json, and
    a bad value is one clear line."""
    from evoinit.config import CANONICAL_INIT

    out = tmp_path / "r"
    r = run("search", "--dataset", "iris", "--population", "6", "--generations", "1", "--epochs", "2",
            "--repeats", "1", "--activations", "tanh,relu", "--reselect", "2", "--canonical-start",
            "--n-jobs", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    search = json.loads((out / "config.json").read_text())["search"]
    assert search["reselect"] == 2 and search["canonical_start"] is True
    lines = [json.loads(x) for x in (out / "evaluations.jsonl").read_text().splitlines()]
    reselected = [x for x in lines if x.get("stage") == "reselect"]
    assert reselected and {tuple(x["seed"]) for x in reselected} == {(7, 0), (7, 1)}  # seeding.RESELECT
    gen0 = json.loads((out / "generations.jsonl").read_text().splitlines()[0])["population"]
    for activation in ("tanh", "relu"):
        assert any(g["genome"]["activation"] == activation and g["genome"]["init"] == CANONICAL_INIT[activation]
                   and g["genome"]["scale"] == 1.0 for g in gen0)
    plain = tmp_path / "p"
    r = run("search", "--dataset", "iris", "--population", "2", "--generations", "0", "--epochs", "1",
            "--repeats", "1", "--no-canonical-start", "--n-jobs", "1", "--out", str(plain))
    assert r.returncode == 0, r.stderr
    search = json.loads((plain / "config.json").read_text())["search"]
    assert search["reselect"] == 0 and search["canonical_start"] is False
    assert not any(json.loads(x).get("stage") == "reselect" for x in (plain / "evaluations.jsonl").read_text().splitlines())
    bad = run("search", "--dataset", "iris", "--reselect", "-1", "--n-jobs", "1", "--out", str(tmp_path / "b"))
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "reselect" in bad.stderr
    assert "Traceback" not in bad.stderr
