"""experiments/mnist1d_mlp.py --fast: the paper's MLP by two trainers, two searches (final-epoch
and early-stopping fitness), their best setups refit beside the canonical start and the paper's MLP."""

import json
import sys
from pathlib import Path

import pytest

EXPERIMENTS = Path(__file__).resolve().parents[1] / "experiments"
sys.path.insert(0, str(EXPERIMENTS))

import mnist1d_mlp  # noqa: E402


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("mnist1d")
    returned = mnist1d_mlp.run(True, out)
    written = json.loads((out / "mnist1d_mlp.json").read_text())
    assert set(written) == set(returned) and (out / "mnist1d_mlp.png").stat().st_size > 10_000
    return written, out


def test_the_paper_mlp_is_trained_by_both_trainers_from_every_seed(result):
    r, _ = result
    seeds = r["setup"]["seeds"]
    for trainer in ("evoinit", "scikit-learn"):
        s = r["reproduced"][trainer]
        assert s["n"] == seeds and all(0 <= v <= 1 for v in s["values"])
        assert s["ci95"] is not None
    assert r["paper_mlp"]["values"] == r["reproduced"]["evoinit"]["values"]
    assert r["setup"]["paper"]["MLP"] == 68


def test_each_search_is_refit_and_its_gains_are_paired_by_seed(result):
    r, out = result
    assert list(r["searches"]) == list(mnist1d_mlp.FITNESS)
    for label, s in r["searches"].items():
        ours, base, paper = (s["test_accuracy"]["values"], s["canonical_accuracy"]["values"],
                             r["paper_mlp"]["values"])
        gains = s["gain_over_canonical"]["values"]
        assert gains == pytest.approx([a - b for a, b in zip(ours, base)], abs=1e-3)
        assert s["gain_over_paper_mlp"]["values"] == pytest.approx([a - b for a, b in zip(ours, paper)], abs=1e-3)
        acc = s["test_accuracy"]
        assert s["beats_paper"] == (acc["mean"] - acc["ci95"] > 0.68)
        assert s["trainings"] > 0 and s["best"] and s["canonical"]
        config = json.loads((out / "runs" / label.replace(" ", "-") / "config.json").read_text())
        assert config["search"]["objectives"] == [s["objective"]]
    es = r["searches"]["early stopping"]
    assert es["objective"] == "val_error" and es["monitor"] == "val_error" and es["patience"] >= 1
    assert r["searches"]["final-epoch"]["patience"] is None
    assert len(r["summary"]) == 1 + len(mnist1d_mlp.FITNESS)
