"""What a user sees (issue 31): one 95% interval rule for a paired gain everywhere it is shown,
a hall of fame of distinct setups, output that fits 80 columns and a pipe, a fast ``--help``."""

import io
import json
import math
import os
import statistics
import subprocess
import sys
from types import SimpleNamespace

import pytest
from rich.console import Console

import evoinit as S
from evoinit.cli import terminal
from evoinit.ga import baselines
from evoinit.ga.evaluate import objective_values
from evoinit.ga.genome import Genome, SearchSpace
from evoinit.ga.individuals import Individual, merge_by_genome
from evoinit.ga.interval import paired_interval, t95
from evoinit.ga.results import Baseline, Entry, Improvement, Stats, TestScores
from evoinit.nn.training import TrainSettings
from evoinit.reporting import page

PIPE_ENV = {**os.environ, "COLUMNS": "80", "OPENBLAS_NUM_THREADS": "1"}
PIPE_ENV.pop("FORCE_COLOR", None)


def _entry(diffs, stored_ci95=None) -> Entry:
    """A finished hall-of-fame entry whose paired test-error gains over its baseline are ``diffs``
    (its ``ci95`` as a folder stored it: by default the 1.96·sd/√n of folders before the rule)."""
    if stored_ci95 is None:
        stored_ci95 = 1.96 * statistics.stdev(diffs) / math.sqrt(len(diffs))
    ours = Stats(tuple(0.1 for _ in diffs), 0.1, 0.0, len(diffs))
    theirs_errors = tuple(0.1 + d for d in diffs)
    theirs = Stats(theirs_errors, statistics.fmean(theirs_errors), statistics.pstdev(theirs_errors), len(diffs))
    genome, base = Genome((32,), "sigmoid", "kwon_logistic_normal", 0.25), Genome((32,), "sigmoid", "glorot_uniform", 1.0)
    gain = Stats(tuple(diffs), statistics.fmean(diffs), statistics.pstdev(diffs), len(diffs), stored_ci95)
    return Entry(genome, str(genome), {"val_loss": 0.2}, False, 100, 0.2, 0.05, (("ga", 0, 0),), 1,
                 TestScores(ours, ours, ours, 0), Baseline(base, str(base), TestScores(theirs, theirs, theirs, 0)),
                 Improvement(gain, gain))


def _rendered(fn, *args, width: int = 80) -> str:
    buf = io.StringIO()
    saved = terminal.console
    terminal.console = Console(file=buf, width=width, force_terminal=False, color_system=None)
    try:
        fn(*args)
    finally:
        terminal.console = saved
    return buf.getvalue()


def test_one_interval_rule_for_a_gain_everywhere():
    diffs = [0.012, 0.030, 0.021]
    m, half = paired_interval(diffs)
    assert half == pytest.approx(t95(2) * statistics.stdev(diffs) / math.sqrt(3))
    assert paired_interval([0.01]) == (0.01, None) and paired_interval([None, math.inf]) == (None, None)
    shown = f"{half:.4f}"
    # an old folder's stored 1.96 interval is read, but not shown: the rule is applied to its values
    e = _entry(diffs)
    assert f"{e.improvement.test_error.ci95:.4f}" != shown
    assert e.gain == (m, half)
    # the JSON a new run writes (baselines._stats), and it reads back
    stored = baselines._stats(diffs, ci95=True)
    assert stored.ci95 == half and Stats.from_json(json.loads(json.dumps(stored.to_json()))).ci95 == half
    # the verdict, the terminal's table, report.html
    assert f"± {shown}" in baselines.verdict([e])
    assert f"± {shown}" in _rendered(terminal.print_hall_of_fame, [e], ("val_loss",), True)
    summary = {"finished": True, "hall_of_fame": [e], "objectives": ["val_loss"]}
    assert f"± {shown}" in page.verdict(summary) and f"± {shown}" in page.hall_of_fame(summary)


def test_the_hall_of_fame_at_80_columns_cuts_no_name():
    entries = [_entry([0.01, 0.02, 0.04])]
    long = Genome((179, 45), "sigmoid", "kwon_logistic_uniform", 0.0825)
    entries.append(Entry(**{**entries[0].__dict__, "genome": long, "text": str(long), "rank": 2}))
    out = _rendered(terminal.print_hall_of_fame, entries, ("val_loss",), True)
    assert "…" not in out and all(len(line) <= 80 for line in out.splitlines())
    for word in ("kwon_logistic_uniform", "kwon_logistic_normal", "glorot_uniform", "×0.0825"):
        assert word in out, word


def _fake_eval(loss, error=0.1):
    return SimpleNamespace(diverged=False, pruned=False, final_val_loss=loss, final_val_error=error, n_params=10)


def test_gene_lists_of_one_setup_merge_with_all_their_evaluations():
    space = SearchSpace(layers=(1, 2), widths=(8, 64))
    genome = Genome((16,), "tanh", "glorot_uniform", 1.0)
    import numpy as np

    rng = np.random.default_rng(0)
    a, b = space.encode(genome, rng), space.encode(genome, rng)
    b[2] = 64 if a[2] != 64 else 8     # the unused second width slot differs: another gene list
    assert list(a) != list(b) and space.decode(a) == space.decode(b) == genome
    inds = []
    for genes, keys, losses in ((a, (("ga", 0, 0), ("ga", 0, 1)), (0.1, 0.3)), (b, (("ga", 1, 0), ("ga", 0, 1)), (0.5, 0.3))):
        ind = Individual(genes)
        ind.keys, ind.evals = keys, tuple(_fake_eval(v) for v in losses)
        ind.fitness.values = objective_values(genome, ind.evals, ("val_loss",))
        inds.append(ind)
    fit = lambda g, evals: objective_values(g, evals, ("val_loss",))  # noqa: E731
    (merged,) = merge_by_genome(inds, space.decode, fit)
    assert merged.keys == (("ga", 0, 0), ("ga", 0, 1), ("ga", 1, 0))
    assert merged.fitness.values == (pytest.approx(0.3),)          # mean of 0.1, 0.3, 0.5
    assert merge_by_genome(inds[:1], space.decode, fit)[0] is inds[0]   # alone: untouched


def test_a_default_style_search_has_no_repeated_setup_in_its_hall_of_fame():
    # a depth gene and three width slots, as in the default space: a shallow setup has unused
    # slots, so two gene lists often decode to one setup; the space is small so that they do here
    # (before the hall of fame merged them, this search's held "5 tanh he_normal ×1" twice and
    # "5-5 tanh he_normal ×1" twice)
    space = SearchSpace(layers=(1, 3), widths=(4, 5), activations=("tanh",), inits=("glorot_uniform", "he_normal"),
                        scales=(1.0, 1.0))
    cfg = S.SearchConfig(dataset="iris", population=10, generations=4, repeats=2, seed=1, hall_of_fame=5,
                         space=space, train=TrainSettings(epochs=3), test=False)
    result = S.search(cfg.dataset, config=cfg, n_jobs=1)
    genomes = [e.genome for e in result.hall_of_fame]
    assert len(genomes) == 5 and len(set(genomes)) == len(genomes)
    assert any(len(e.seeds) > cfg.repeats for e in result.hall_of_fame)   # a setup's evaluations merged


def test_a_merged_hall_of_fame_resumes_bit_for_bit(tmp_path):
    space = SearchSpace(layers=(1, 3), widths=(4, 5), activations=("tanh",), inits=("glorot_uniform", "he_normal"),
                        scales=(1.0, 1.0))
    cfg = S.SearchConfig(dataset="iris", population=10, generations=4, repeats=2, seed=1, hall_of_fame=5,
                         space=space, train=TrainSettings(epochs=3))
    whole = S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "whole")
    S.search(cfg.dataset, config=cfg, n_jobs=1, out=tmp_path / "part", stop_after=2)
    done = S.resume(tmp_path / "part", n_jobs=1)
    assert done.hall_of_fame == whole.hall_of_fame
    for name in ("evaluations.jsonl", "hall_of_fame.json", "logbook.csv", "checkpoint.json", "generations.jsonl"):
        assert (tmp_path / "whole" / name).read_bytes() == (tmp_path / "part" / name).read_bytes(), name


def _cli(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "evoinit", *args], capture_output=True, text=True,
                          env=PIPE_ENV, timeout=timeout)


def test_piped_output_has_no_control_characters_and_one_line_per_generation(tmp_path):
    out = tmp_path / "run"
    r = _cli("search", "--dataset", "iris", "--population", "4", "--generations", "2", "--epochs", "3",
             "--repeats", "3", "--n-jobs", "1", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout and "\r" not in r.stdout and "━" not in r.stdout.split("hall of fame")[0]
    gens = [line for line in r.stdout.splitlines() if line.startswith("gen ")]
    assert len(gens) == 3 and all("best:" in line for line in gens)          # each generation: one line
    assert "…" not in r.stdout.split("hall of fame")[1]
    for entry in json.loads((out / "hall_of_fame.json").read_text())["entries"]:
        assert entry["genome"]["init"] in r.stdout
    # report prints the verdict the search printed
    verdict = next(line for line in r.stdout.splitlines() if "canonical start" in line and "paired" in line)
    rep = _cli("report", str(out))
    assert rep.returncode == 0, rep.stderr
    assert verdict in rep.stdout and "\x1b" not in rep.stdout and "\r" not in rep.stdout


def test_one_generation_and_resume_name_the_objective(tmp_path):
    out = tmp_path / "run"
    r = _cli("search", "--dataset", "iris", "--population", "4", "--generations", "1", "--epochs", "2",
             "--repeats", "1", "--n-jobs", "1", "--stop-after", "0", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert "1 generation," in r.stdout and "1 generations" not in r.stdout and "1 seeds" not in r.stdout
    resumed = _cli("resume", str(out), "--n-jobs", "1")
    assert resumed.returncode == 0, resumed.stderr
    assert "best val_loss" in resumed.stdout and "best fitness" not in resumed.stdout


def test_report_on_a_train_folder_says_what_the_folder_is(tmp_path):
    (tmp_path / "train.json").write_text("{}")
    r = _cli("report", str(tmp_path))
    assert r.returncode != 0 and "output of evoinit train" in r.stderr and "Traceback" not in r.stderr


HEAVY = ("sklearn", "deap", "matplotlib", "scipy", "distributed", "dask", "joblib")


@pytest.mark.parametrize("args", [["--help"], ["search", "--help"], ["report", "--help"], ["list", "--help"]])
def test_help_imports_no_heavy_module(args):
    code = ("import sys\nfrom typer.testing import CliRunner\nfrom evoinit.cli.app import app\n"
            f"r = CliRunner().invoke(app, {args!r})\nassert r.exit_code == 0, r.output\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=PIPE_ENV, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]", f"evoinit {' '.join(args)} imported {r.stdout.strip()}"
