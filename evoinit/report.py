"""What a finished or stopped search says: its figures, which genes mattered, and one HTML page.

``report(RUN)`` reads the run folder read-only (it writes ``RUN/figures/`` and ``RUN/report.html``
and nothing else), draws the figures, measures each gene's importance for the fitness (see
``evoinit.importance`` for what that number is and is not) and writes ``report.html``: one
self-contained page — figures embedded, no network access, no script — with the settings, the
verdict against the canonical start, the hall of fame, the gene importance and the per-generation
table. A run that is still going or was interrupted is reported up to its last checkpoint.

``evoinit.report(RUN)`` is this module's ``report`` (the module is callable).
"""

from __future__ import annotations

import math
import sys
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evoinit import htmlpage, importance, initializers, plots
from evoinit.config import SearchConfig
from evoinit.errors import EvoinitError, RunFolderError, one_line
from evoinit.evaluate import Evaluation
from evoinit.rundir import RunFolder, atomic_write


@dataclass(frozen=True)
class RunView:
    """A run folder as the report reads it, up to its last checkpoint."""

    path: Path
    config: SearchConfig
    settings: dict                # config.json
    finished: bool
    generation: int               # the last generation completed
    logbook: list                 # one dict per generation
    hall_of_fame: dict            # hall_of_fame.json's content, rebuilt from the checkpoint
    rows: list                    # evaluations.jsonl lines (dicts), for the figures
    evaluations: list             # the search's evaluations (not the final test scoring)
    generations: list             # generations.jsonl lines


def read(run_dir) -> RunView:
    """The run folder up to its last checkpoint, checked as for ``resume`` but read-only; a damaged
    or missing file is a ``RunFolderError`` naming it."""
    from evoinit.search import Search   # the checkpoint's reader lives there for now

    folder = RunFolder(run_dir)
    run = Search.from_folder(folder, read_only=True, n_jobs=1)
    rows = run.log_rows
    generations = folder.read_lines("generations.jsonl", run.generation + 1, exact=True)
    _check_generations(generations, folder / "generations.jsonl")
    evaluations = [Evaluation.from_json(r) for r in rows if r.get("stage") != "final"]
    return RunView(folder.path, run.config, folder.read_config(), run.finished, run.generation,
                   list(run.logbook), run._hall_of_fame_file(), rows, evaluations, generations)


def _check_generations(rows: list, path) -> None:
    """generations.jsonl as the report reads it: lines ``{"gen", "population": [{"genome",
    "val_error"}, …]}``."""
    for n, row in enumerate(rows, 1):
        ok = (isinstance(row, dict) and row.get("gen") == n - 1 and isinstance(row.get("population"), list)
              and all(isinstance(ind, dict) and isinstance(ind.get("genome"), dict)
                      and isinstance(ind["genome"].get("activation"), str)
                      and isinstance(ind["genome"].get("init"), str)
                      and (ind.get("val_error") is None or isinstance(ind.get("val_error"), (int, float)))
                      for ind in row["population"]))
        if not ok:
            raise RunFolderError(f"{path} line {n} is damaged (not a generation's population)")


def _why(e: BaseException) -> str:
    text = one_line(e, 100)
    return f"{type(e).__name__}: {text}" if not isinstance(e, EvoinitError) else text


# -- what the figures and the page show -------------------------------------------------------------


def importance_fitness(config: SearchConfig) -> str:
    """The per-evaluation fitness importance explains: the first objective when it is one
    (validation loss or error), else the validation loss."""
    first = config.objectives[0]
    return first if first in importance.FITNESS else "val_loss"


def gene_importance(run_dir, **options) -> importance.GeneImportance:
    """Gene importance of a run folder's search evaluations (``options``: see
    ``evoinit.importance.gene_importance``)."""
    run = read(run_dir)
    return importance.gene_importance(run.evaluations, fitness=importance_fitness(run.config), **options)


def family(init: str) -> str:
    """The scheme family a report groups by: Glorot, He, LeCun, Kwon, or the registry's kind."""
    prefix = init.split("_")[0]
    if prefix in ("glorot", "he", "lecun", "kwon"):
        return prefix
    kind = initializers.get(init).family
    return "other variance scaling" if kind == "variance_scaling" else kind


def scale_points(run: RunView) -> tuple[list[dict], dict]:
    """(points, marks) for ``plots.scale_by_family``: each finished search evaluation's first-layer
    weight RMS × √fan_in (scale × the scheme's own value, drawn once per scheme and shape) and its
    final validation loss; marks: Glorot, He and LeCun at scale 1 for each activation (Glorot at
    the median first width)."""
    n_in = (run.settings.get("dataset") or {}).get("n_features")
    if not isinstance(n_in, int) or n_in < 1:
        raise ValueError("config.json does not say the dataset's number of features")
    unit: dict = {}
    points, widths = [], {}
    for e in run.evaluations:
        if e.diverged or not math.isfinite(e.final_val_loss):
            continue
        key = (e.genome.init, e.genome.hidden[0])
        if key not in unit:
            W = initializers.draw(e.genome.init, (n_in, key[1]), np.random.default_rng(0))
            unit[key] = float(np.sqrt(np.mean(np.square(W))) * math.sqrt(n_in))
        x = unit[key] * e.genome.scale
        if x > 0 and e.final_val_loss > 0:
            points.append({"activation": e.genome.activation, "family": family(e.genome.init),
                           "x": x, "y": e.final_val_loss})
            widths.setdefault(e.genome.activation, []).append(key[1])
    marks = {act: {"LeCun": 1.0, "He": math.sqrt(2.0),
                   "Glorot": math.sqrt(2.0 * n_in / (n_in + float(np.median(w))))}
             for act, w in widths.items()}
    return points, marks


def _drawings(run: RunView, found):
    objective = run.config.objectives[0]
    yield "fitness", lambda p: plots.fitness_per_generation(run.logbook, objective, p)
    yield "frequencies", lambda p: plots.frequencies_per_generation(run.generations, p)
    yield "scale_vs_fitness", lambda p: plots.scale_vs_fitness(run.rows, p)
    yield "scale_by_family", lambda p: plots.scale_by_family(*scale_points(run), p)
    if found is not None:
        yield "importance", lambda p: plots.gene_importance(found.ranked(), found.r2, found.n, p)
    yield "diversity", lambda p: plots.diversity_in_error_space(run.generations, p)
    yield "top_vs_baselines", lambda p: plots.top_vs_baselines(run.rows, run.hall_of_fame, p)


def report(run_dir, *, resamples: int = 20) -> dict:
    """Write a run folder's figures into ``figures/`` and its page ``report.html``; return its
    summary: hall of fame, objectives, whether it finished, the logbook, gene importance (a dict,
    None when it cannot be measured: then ``skipped`` says why), the figure paths, the page's path
    (``html``) and the figures that could not be drawn with the reason (``skipped``, e.g. a
    scale plot when every candidate diverged).

    The state comes from the checkpoint, restored and checked as for ``resume`` but read-only
    (the hall of fame is rebuilt from it, so it always matches the logbook); a damaged or
    missing file is a ``RunFolderError`` naming it, and nothing in the folder but ``figures/``
    and ``report.html`` is written. ``resamples``: bootstrap resamples of the gene importance."""
    run = read(run_dir)
    skipped = {}
    try:
        found = importance.gene_importance(run.evaluations, fitness=importance_fitness(run.config),
                                           resamples=resamples)
    except ValueError as e:
        found, skipped["importance"] = None, str(e)
    figures = run.path / "figures"
    paths = []
    for name, draw in _drawings(run, found):
        try:
            path = draw(figures / f"{name}.png")
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            skipped[f"{name}.png"] = _why(e)  # one figure that cannot be drawn does not stop the others
            continue
        except OSError as e:
            raise RunFolderError(f"cannot write {figures / (name + '.png')}: {e.strerror or e}") from None
        if path is not None:
            paths.append(path)
    summary = {"hall_of_fame": run.hall_of_fame["entries"], "objectives": list(run.config.objectives),
               "finished": run.finished, "generation": run.generation,
               "generations": run.config.generations, "logbook": run.logbook,
               "importance": None if found is None else found.to_json(), "figures": paths,
               "skipped": skipped}
    html = run.path / "report.html"
    try:
        atomic_write(html, htmlpage.page(run.settings, summary))
    except OSError as e:
        raise RunFolderError(f"cannot write {html}: {e.strerror or e}") from None
    return summary | {"html": html}


class _CallableModule(types.ModuleType):
    """``evoinit.report(RUN)`` reports on a run, as ``evoinit report RUN`` does, while
    ``evoinit.report.gene_importance`` and the rest stay reachable on the module."""

    def __call__(self, *args, **kwargs) -> dict:
        return report(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
