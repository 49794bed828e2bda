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


def test_removed_options_old_folders_resume_while_they_were_off(tmp_path):
    """--reselect, --canonical-start and the islands are gone (no gain on the benchmark): the flags are
    refused in one line; a run folder that recorded them off (as every folder before did) still
    resumes, one that used them is refused in one line naming the setting."""
    out = tmp_path / "r"
    r = run("search", "--dataset", "iris", "--population", "4", "--generations", "2", "--epochs", "2",
            "--repeats", "1", "--n-jobs", "1", "--stop-after", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    config = json.loads((out / "config.json").read_text())
    assert not {"reselect", "canonical_start", "islands"} & set(config["search"])
    older = config | {"search": config["search"] | {"reselect": 0, "canonical_start": False}}
    (out / "config.json").write_text(json.dumps(older))   # what older versions wrote
    checkpoint = json.loads((out / "checkpoint.json").read_text())
    (out / "checkpoint.json").write_text(json.dumps(checkpoint | {"config": older["search"]}))
    r = run("resume", str(out), "--n-jobs", "1")
    assert r.returncode == 0, r.stderr
    assert json.loads((out / "checkpoint.json").read_text())["config"] == older["search"]  # its own bytes
    older["search"]["reselect"] = 2
    (out / "config.json").write_text(json.dumps(older))
    bad = run("resume", str(out), "--n-jobs", "1")
    assert bad.returncode != 0 and "reselect" in bad.stderr and "Traceback" not in bad.stderr
    for flag in ("--reselect", "--canonical-start", "--islands"):
        bad = run("search", "--dataset", "iris", flag, "2", "--n-jobs", "1", "--out", str(tmp_path / "b"))
        assert bad.returncode == 2 and flag in bad.stderr and "Traceback" not in bad.stderr
