"""What a finished or stopped search says: its figures, which genes mattered, and one HTML page.

``report(RUN)`` reads the run folder read-only (it writes ``RUN/figures/`` and ``RUN/report.html``
and nothing else), draws the figures, measures each gene's importance for the fitness (see
``evoinit.importance`` for what that number is and is not) and writes ``report.html``: one
self-contained page — figures embedded, no network access, no script — with the settings, the
verdict against the canonical start, the hall of fame, the gene importance and the per-generation
table. A run that is still going or was interrupted is reported up to its last checkpoint.

``evoinit.report(RUN)`` is this module's ``report``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evoinit.data.spec import test_rows
from evoinit.errors import RunFolderError
from evoinit.ga.config import SearchConfig
from evoinit.nn import initializers
from evoinit.reporting import importance, plots
from evoinit.reporting import page as htmlpage
from evoinit.runfolder import read as checkpoint
from evoinit.runfolder import views
from evoinit.runfolder.files import atomic_write, own_file, own_folder
from evoinit.runfolder.folder import RunFolder


@dataclass(frozen=True)
class RunView:
    """A run folder as the report reads it, up to its last checkpoint."""

    path: Path
    config: SearchConfig
    settings: dict                # config.json
    finished: bool
    generation: int               # the last generation completed
    logbook: list                 # one dict per generation
    hall_of_fame: tuple           # ga.results.Entry values, best first, rebuilt from the checkpoint
    log: list                     # evaluations.jsonl as checkpoint.LogLine values
    generations: list             # generations.jsonl lines
    n_inputs: int | None          # the dataset's features (None: config.json does not say)
    by_model: bool = False        # the hall of fame is in the surrogate's order (``config.ranks_by_model``)

    @property
    def evaluations(self) -> list:
        """The search's evaluations (not the final test scoring)."""
        return [line.evaluation for line in self.log if line.stage != "final"]

    @property
    def final(self) -> list:
        """The evaluations of the final scoring of the hall of fame and its baselines."""
        return [line.evaluation for line in self.log if line.stage == "final"]


def read(run_dir) -> RunView:
    """The run folder up to its last checkpoint, checked as for ``resume`` but read-only (through
    ``checkpoint``); the hall of fame is rebuilt from the checkpoint, so it matches the logbook.
    A damaged or missing file is a ``RunFolderError`` naming it."""
    folder = RunFolder(run_dir)
    run, log = checkpoint.view(folder)
    settings = folder.read_config()
    generations = views.read_generations(folder, run.generation + 1)
    try:
        n_inputs = views.dataset_sizes(folder, settings)[0]
    except RunFolderError:
        n_inputs = None
    return RunView(folder.path, run.config, settings, run.finished, run.generation, list(run.logbook),
                   run.hall_of_fame(), log, generations, n_inputs, run.by_model)


# -- what the figures and the page show -------------------------------------------------------------


def importance_fitness(config: SearchConfig) -> str:
    """The per-evaluation fitness importance explains: the first objective when it is one
    (validation loss or error), else the validation loss."""
    first = config.objectives[0]
    return first if first in importance.FITNESS else "val_loss"


def gene_importance(run_dir, **options) -> importance.GeneImportance:
    """Gene importance of a run folder's search evaluations (``options``: see
    ``evoinit.reporting.importance.gene_importance``)."""
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
    n_in = run.n_inputs
    if n_in is None or n_in < 1:
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
    yield "scale_vs_fitness", lambda p: plots.scale_vs_fitness([line.row for line in run.log], p)
    yield "scale_by_family", lambda p: plots.scale_by_family(*scale_points(run), p)
    if found is not None:
        yield "importance", lambda p: plots.gene_importance(found.ranked(), found.r2, found.n, p)
    yield "diversity", lambda p: plots.diversity_in_error_space(run.generations, p)
    yield "top_vs_baselines", lambda p: plots.top_vs_baselines(run.final, run.hall_of_fame, p)


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
    figures, html = run.path / "figures", run.path / "report.html"
    own_file(html)            # checked before anything is written, as figures/ is
    try:
        own_folder(figures)   # a real folder of this run: a link to elsewhere is refused
    except OSError as e:
        raise RunFolderError(f"cannot write {figures}: {e.strerror or e}") from None
    paths = []
    for name, draw in _drawings(run, found):
        try:
            with plots.literal_text():   # names from the folder are drawn as text, never as formulas
                path = draw(figures / f"{name}.png")
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as e:
            skipped[f"{name}.png"] = checkpoint.why(e)  # one figure that cannot be drawn does not stop the others
            continue
        except OSError as e:
            raise RunFolderError(f"cannot write {figures / (name + '.png')}: {e.strerror or e}") from None
        if path is not None:
            paths.append(path)
    summary = {"hall_of_fame": run.hall_of_fame, "objectives": list(run.config.objectives),
               "finished": run.finished, "generation": run.generation, "by_model": run.by_model,
               "generations": run.config.generations, "logbook": run.logbook,
               "importance": None if found is None else found.to_json(), "figures": paths,
               "skipped": skipped, "test_rows": test_rows(run.settings.get("dataset"))}
    try:
        atomic_write(html, htmlpage.page(run.settings, summary))
    except OSError as e:
        raise RunFolderError(f"cannot write {html}: {e.strerror or e}") from None
    return summary | {"html": html}
