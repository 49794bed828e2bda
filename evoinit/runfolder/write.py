"""What the search writes into its run folder, in the byte layout of schema 1: config.json's
content, the evaluation and timing lines, the generations log, and the checkpoint with the
logbook and hall of fame beside it.

The engine writes nothing itself: it hands its records to a ``Recorder`` (this module), which
``folder`` turns into atomic writes and whole lines. ``read`` reads all of it back.
"""

from __future__ import annotations

from pathlib import Path

from evoinit.ga.config import SearchConfig
from evoinit.ga.state import Checkpoint
from evoinit.runfolder.files import critical, write_json
from evoinit.runfolder.folder import RunFolder


class Recorder:
    """The engine's recorder for one run folder (``ga.engine.Search(recorder=...)``)."""

    def __init__(self, folder: RunFolder):
        self.folder = folder

    @property
    def path(self) -> Path:
        return self.folder.path

    def evaluations(self, first: int, evaluations: list, **extra) -> None:
        log_evaluations(self.folder, first, evaluations, **extra)

    def generation(self, g: int, population: list[dict]) -> None:
        self.folder.append_lines("generations.jsonl", [{"gen": g, "population": population}])

    def state(self, settings: dict, checkpoint: Checkpoint, hall_of_fame: dict) -> None:
        write_state(self.folder, settings, checkpoint, hall_of_fame)

    def networks(self, networks) -> None:
        """The hall of fame's kept networks (``ga.kept.Network``), into ``networks/``."""
        from evoinit.runfolder import networks as _networks

        _networks.write(self.folder, networks)


def config_json(config: SearchConfig, dataset, *, versions: dict, n_jobs: int, scheduler: str | None,
                command: str | None) -> dict:
    """The content of config.json (``RunFolder.create`` adds the schema): versions, the exact
    command, how the search runs, the settings and the dataset's summary."""
    import datetime

    import evoinit

    return {"evoinit": evoinit.__version__, "versions": versions,
            "command": command or "evoinit.search(...) from Python",
            "created": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
            "execution": {"n_jobs": n_jobs, "scheduler": scheduler},
            "search": config.to_json(), "dataset": dataset.summary()}


def checkpoint_json(settings: dict, ck: Checkpoint) -> dict:
    """The checkpoint's content; ``settings`` are the search's as its config.json records them."""
    state = ck.python_random
    d = {"schema": 1, "config": settings, "generation": ck.generation,
         "finished": ck.finished, "counter": ck.counter, "n_evaluations": ck.n_evaluations,
         "population": [m.to_json() for m in ck.population],
         "hall_of_fame": [m.to_json() for m in ck.hall_of_fame],
         "logbook": list(ck.logbook), "final": [f.to_json() for f in ck.final],
         "python_random": [state[0], list(state[1]), state[2]],
         "numpy_random": ck.numpy_random}
    return d | ck.extra   # a variant's own part, after the engine's (none: the bytes of a plain search)


def write_state(folder: RunFolder, settings: dict, ck: Checkpoint, hall_of_fame: dict) -> None:
    """Logbook, hall of fame, then the checkpoint — each atomically, all three inside
    ``critical()`` so SIGINT/SIGTERM land before or after them, never between. ``settings``: the
    search's settings as config.json records them (an older folder's keep their bytes)."""
    checkpoint = checkpoint_json(settings, ck)
    with critical():
        folder.write_csv("logbook.csv", list(ck.logbook))
        write_json(folder / "hall_of_fame.json", hall_of_fame)
        write_json(folder / "checkpoint.json", checkpoint)
    folder.settle()  # a run replaced with overwrite goes once this one has a checkpoint


def log_evaluations(folder: RunFolder | None, first: int, evaluations: list, **extra) -> None:
    """Append evaluations numbered from ``first`` to evaluations.jsonl, their seconds and the
    epochs they actually trained (fewer when diverged or pruned) to timings.jsonl (nothing without
    a folder)."""
    if folder is None:
        return
    lines = [{"n": first + i, **extra, **e.to_json()} for i, e in enumerate(evaluations)]
    times = [{"n": first + i, "seconds": e.seconds, "epochs": e.epochs_trained}
             for i, e in enumerate(evaluations)]
    folder.append_lines("evaluations.jsonl", lines)
    folder.append_lines("timings.jsonl", times)
