"""What the search writes into its run folder, in the byte layout of schema 1: config.json's
content, the checkpoint, the hall of fame and its summaries, the evaluation and timing lines.

``checkpoint.py`` reads all of it back (and re-exports these names for the search); ``rundir``
does the atomic writes. ``checkpoint_json`` and ``hall_of_fame_json`` fix the exact key order.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from evoinit.ga.config import SearchConfig
from evoinit.ga.genome import Genome
from evoinit.runfolder.folder import RunFolder, critical, write_json


@dataclass(frozen=True)
class Member:
    """One individual as the checkpoint keeps it: its genes, fitness values and the seed keys of
    its evaluations (which the evaluations log holds)."""

    genes: tuple
    fitness: tuple
    keys: tuple

    def to_json(self) -> dict:
        return {"genes": list(self.genes), "fitness": list(self.fitness),
                "keys": [list(k) for k in self.keys]}


@dataclass(frozen=True)
class Checkpoint:
    """The search's state after a generation: everything ``resume`` needs."""

    generation: int               # the last generation completed
    finished: bool
    counter: int                  # evaluation numbers handed out (distinct seed policy)
    n_evaluations: int            # lines of evaluations.jsonl this state accounts for
    population: tuple             # Members
    hall_of_fame: tuple           # Members, best first
    logbook: tuple                # one dict per generation
    final: tuple                  # the hall of fame's test scores once finished (dicts)
    python_random: tuple          # random.Random().getstate()
    numpy_random: dict            # Generator.bit_generator.state
    pending: tuple = ()           # shape "steady": the genes of the candidates bred, not yet folded in


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
         "logbook": list(ck.logbook), "final": list(ck.final),
         "python_random": [state[0], list(state[1]), state[2]],
         "numpy_random": ck.numpy_random}
    if ck.pending:   # the steady shape only
        d["pending"] = [list(genes) for genes in ck.pending]
    return d


def summary(config: SearchConfig, genome: Genome, fitness: tuple, evaluations: tuple, keys: tuple) -> dict:
    """An individual as hall_of_fame.json and generations.jsonl show it."""
    diverged = any(e.diverged for e in evaluations)
    unscored = diverged or any(e.pruned for e in evaluations)   # no final value
    return {"genome": genome.to_json(), "text": str(genome),
            "fitness": dict(zip(config.objectives, fitness)),
            "diverged": diverged, "n_params": evaluations[0].n_params if evaluations else None,
            "val_loss": None if unscored else statistics.fmean(e.final_val_loss for e in evaluations),
            "val_error": None if unscored else statistics.fmean(e.final_val_error for e in evaluations),
            "seeds": [list(k) for k in keys]}


def hall_of_fame_json(config: SearchConfig, generation: int, finished: bool, summaries: list,
                      final: tuple) -> dict:
    """The content of hall_of_fame.json: the summaries ranked, with their test scores once the
    search has finished."""
    entries = []
    for rank, entry in enumerate(summaries, 1):
        entry = {"rank": rank} | entry
        if finished and rank <= len(final):
            entry |= final[rank - 1]
        entries.append(entry)
    return {"schema": 1, "objectives": list(config.objectives), "generation": generation,
            "final": finished, "entries": entries}


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
