"""The one-line verdict after the hall of fame: the library says whether the search beat the
canonical start beyond noise, the CLI prints it."""

import subprocess
import sys

from evoinit.ga.baselines import t95, verdict
from evoinit.ga.genome import Genome
from evoinit.ga.results import Baseline, Entry, Improvement, Stats, TestScores


def scores(mean):
    stats = Stats((mean,), mean, 0.0, 1)
    return TestScores(stats, stats, stats, 0)


def entry(diffs, ours=0.01, theirs=0.2, baseline=True):
    genome = Genome((8, 8), "tanh", "glorot_uniform")
    paired = Stats(tuple(diffs), None, None, len(diffs))
    return [Entry(genome, str(genome), {"val_loss": 0.1}, False, 10, 0.1, 0.1, (), 1, scores(ours),
                  Baseline(genome, "8-8 tanh glorot_uniform ×1", scores(theirs)) if baseline else None,
                  Improvement(paired, paired) if baseline else None)]


def test_the_verdict_says_beyond_noise_by_how_much_or_that_the_canonical_start_is_enough():
    paid = verdict(entry([0.19, 0.2, 0.18, 0.21]))
    assert paid.startswith("The search paid off") and "+0.1950" in paid and "over 4 seeds" in paid
    noisy = verdict(entry([0.3, -0.28, 0.01], ours=0.1, theirs=0.11))
    assert noisy.startswith("The canonical start is enough here: the best setup is within noise")
    worse = verdict(entry([-0.05, -0.06, -0.05], ours=0.1, theirs=0.05))
    assert worse.startswith("The canonical start is enough here: it beat the best setup")
    assert verdict(entry([0.2, 0.2])).startswith("Cannot tell")  # two seeds cannot tell noise apart
    assert verdict(entry([0.1], baseline=False)) is None and verdict([]) is None
    assert t95(1) == 12.706 and t95(11) == 2.179 and t95(100) == 1.96


def test_evoinit_search_prints_the_verdict_after_the_hall_of_fame(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "evoinit", "search", "--dataset", "spirals",
                           "--activations", "tanh", "--inits", "glorot_uniform,kwon_logistic_uniform",
                           "--layers", "2,2", "--widths", "8,16", "--population", "4", "--generations", "1",
                           "--repeats", "3", "--epochs", "10", "--n-jobs", "1", "--out", str(tmp_path / "r")],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.splitlines()
    verdicts = [n for n, line in enumerate(lines) if line.startswith(("The search paid off", "The canonical start is"))]
    assert len(verdicts) == 1 and "gain" in lines[verdicts[0]] and lines[verdicts[0]].rstrip().endswith(").")
    assert "hall of fame" in "\n".join(lines[:verdicts[0]])
