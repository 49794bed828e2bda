"""What the report, export and the command's messages read of a run folder besides the search's
state: the generations log, the hall of fame's entries, the dataset's sizes and training settings,
and how far a run got. Each value checked where it is read; a damaged file is a ``RunFolderError``
naming it."""

from __future__ import annotations

from evoinit import checks
from evoinit.errors import EvoinitError, RunFolderError
from evoinit.ga.genome import Genome
from evoinit.nn.training import TrainSettings
from evoinit.runfolder.files import read_json
from evoinit.runfolder.folder import RunFolder
from evoinit.runfolder.read import dataset_block, read, read_config

_number = checks.is_number


def read_generations(folder: RunFolder, n: int) -> list[dict]:
    """The first ``n`` lines of generations.jsonl as the report reads them: lines ``{"gen",
    "population": [{"genome", "val_error"}, …]}``."""
    path = folder / "generations.jsonl"
    rows = folder.read_lines("generations.jsonl", n, exact=True)
    for i, row in enumerate(rows, 1):
        ok = (isinstance(row, dict) and row.get("gen") == i - 1 and isinstance(row.get("population"), list)
              and all(isinstance(ind, dict) and isinstance(ind.get("genome"), dict)
                      and isinstance(ind["genome"].get("activation"), str)
                      and isinstance(ind["genome"].get("init"), str)
                      and (ind.get("val_error") is None or _number(ind.get("val_error")))
                      for ind in row["population"]))
        if not ok:
            raise RunFolderError(f"{path} line {i} is damaged (not a generation's population)")
    return rows


def read_hall_of_fame(folder: RunFolder) -> list[dict]:
    """The entries of hall_of_fame.json, best first (at least one)."""
    path = folder / "hall_of_fame.json"
    if not path.is_file():
        raise RunFolderError(f"{folder.path}: no hall_of_fame.json (the hall of fame); "
                             "is this an evoinit run folder?")
    fame = read_json(path, "hall of fame")
    if isinstance(fame, dict) and fame.get("schema", 1) != 1:
        raise RunFolderError(f"{path}: schema {fame.get('schema')!r}, this evoinit reads schema 1")
    entries = fame.get("entries") if isinstance(fame, dict) else None
    if not isinstance(entries, list):
        raise RunFolderError(f"{path}: damaged (no list of entries)")
    if not entries:
        raise RunFolderError(f"{path}: the hall of fame is empty (has the search finished a generation?)")
    return entries


def entry_genome(folder: RunFolder, entries: list, rank: int) -> Genome:
    """The genome of hall-of-fame entry ``rank`` (1 = best)."""
    path = folder / "hall_of_fame.json"
    try:
        return Genome.from_json(entries[rank - 1]["genome"])
    except EvoinitError as e:
        raise RunFolderError(f"{path}: entry {rank}: {e}") from None
    except (KeyError, TypeError, ValueError) as e:
        raise RunFolderError(f"{path}: entry {rank} has no readable genome ({type(e).__name__}: {e})") from None


def dataset_sizes(folder: RunFolder, config_file: dict) -> tuple[int, int, str, str]:
    """(inputs, outputs, task, name) of the run's dataset, from its config.json."""
    ds = dataset_block(folder, config_file) if isinstance(config_file.get("dataset"), dict) else None
    if ds is None or not all(k in ds for k in ("n_features", "n_outputs", "task")):
        raise RunFolderError(f"{folder / 'config.json'}: no dataset sizes (dataset.n_features, "
                             "dataset.n_outputs, dataset.task)")
    return ds["n_features"], ds["n_outputs"], ds["task"], ds.get("name", "")


def train_settings(config_file: dict) -> TrainSettings | None:
    """The run's training settings, or None where config.json has no readable ones."""
    search = config_file.get("search")
    train = search.get("train") if isinstance(search, dict) else config_file.get("settings")
    if not isinstance(train, dict):
        return None
    try:
        return TrainSettings.from_json(train)
    except (TypeError, ValueError, EvoinitError):
        return None


def saved_generation(folder: RunFolder) -> tuple[int, int, bool] | None:
    """(last generation saved, generations in all, finished) of a run folder, or None when it has
    no readable checkpoint."""
    try:
        config, config_file = read_config(folder, resumable=False)
        ck, _ = read(folder, config, config_file["search"])
    except EvoinitError:
        return None
    return ck.generation, config.generations, ck.finished
