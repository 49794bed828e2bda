"""A run folder's setup for export: the hall-of-fame entry's genome at a rank, its dataset's sizes
and its training settings, each read and checked by the run folder's readers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from evoinit.errors import RunFolderError, UsageError
from evoinit.ga.genome import Genome


@dataclass(frozen=True)
class RunSetup:
    """What an export needs from a run folder: a genome of its hall of fame and the data sizes."""

    genome: Genome
    n_in: int
    n_out: int
    task: str
    settings: object = None  # TrainSettings, when the config has readable ones
    dataset: str = ""


def read_run(folder, rank: int = 1) -> RunSetup:
    """Genome number ``rank`` (1 = best) of a run's hall of fame, with its dataset's sizes.

    Reads ``hall_of_fame.json`` (``{"schema": 1, "entries": [{"genome": {...}}, ...]}``, best
    first) and ``config.json`` (``{"dataset": {"n_features", "n_outputs", "task", ...},
    "search": {"train": {...TrainSettings...}}}``; the settings only fill the optimizer line).
    Anything missing or unreadable is a ``RunFolderError`` naming the file.
    """
    from evoinit.runfolder import views
    from evoinit.runfolder.folder import RunFolder

    if not Path(folder).is_dir():
        raise RunFolderError(f"no run folder at {folder}")
    folder = RunFolder(folder)
    entries = views.read_hall_of_fame(folder)
    if not isinstance(rank, int) or not 1 <= rank <= len(entries):
        raise UsageError(f"--rank must be 1..{len(entries)} (the hall of fame's size), got {rank!r}")
    genome = views.entry_genome(folder, entries, rank)
    config_file = folder.read_config()
    n_in, n_out, task, name = views.dataset_sizes(folder, config_file)
    settings = views.train_settings(config_file)
    return RunSetup(genome, n_in, n_out, task, settings, name)
