"""What several test files share: the result files of a run folder, the CLI's environment, the
digits search the worker-loss tests compare against."""

import os
from pathlib import Path

from evoinit.ga.config import SearchConfig
from evoinit.ga.genome import SearchSpace
from evoinit.nn.training import TrainSettings

RESULT_FILES = ("evaluations.jsonl", "hall_of_fame.json", "logbook.csv", "checkpoint.json",
                "generations.jsonl")
ENV = {**os.environ, "COLUMNS": "200", "OPENBLAS_NUM_THREADS": "1"}
# Populations of 0.1-0.4 s each, several per generation: a worker killed after the first result of
# a generation is still holding work (test_workers, test_dask).
DIGITS = SearchConfig(dataset="digits", population=8, generations=2, repeats=2, seed=5, hall_of_fame=3,
                      space=SearchSpace(layers=(1, 2), widths=(16, 64)), train=TrainSettings(epochs=60))


def files(folder, names=RESULT_FILES) -> dict:
    return {name: (Path(folder) / name).read_bytes() for name in names}


def copy_run(src: Path, dst: Path) -> Path:
    """A copy of a run folder's files (not its subfolders)."""
    dst.mkdir()
    for f in src.iterdir():
        if f.is_file():
            (dst / f.name).write_bytes(f.read_bytes())
    return dst


def killed_after_checkpoint(config: SearchConfig, out: Path, generation: int = 1) -> None:
    """Run ``config``'s search in a subprocess (2 workers) and SIGKILL its process group once its
    checkpoint reaches ``generation``: a run folder killed mid-run, to resume."""
    import json
    import signal
    import subprocess
    import sys
    import time

    code = (f"from evoinit.ga.config import SearchConfig; from evoinit.api import search; "
            f"import json; cfg = SearchConfig.from_json(json.loads({json.dumps(json.dumps(config.to_json()))})); "
            f"search(cfg.dataset, config=cfg, n_jobs=2, out={str(out)!r})")
    proc = subprocess.Popen([sys.executable, "-c", code], env=ENV, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if json.loads((Path(out) / "checkpoint.json").read_text())["generation"] >= generation:
                break
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(0.05)
    assert proc.poll() is None, proc.stderr.read()
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def seeded_starts(sizes, schemes, seed=0, scale=1.0):
    """One start and one order generator per scheme, seeded by position (as ``evoinit train``)."""
    from evoinit import seeding
    from evoinit.ga.evaluate import start_and_order

    root = seeding.root(seed)
    pairs = [start_and_order(sizes, scheme, seeding.child(root, seeding.TRAIN, p), scale=scale)
             for p, scheme in enumerate(schemes)]
    return [start for start, _ in pairs], [order for _, order in pairs]
