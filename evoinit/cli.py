"""The ``evoinit`` command: a thin typer skin over the library. It parses, calls, and prints.

Errors the user can fix (``EvoinitError``, click's usage errors, a full disk, no memory) become
one line on stderr and an exit code (2 for usage, 1 otherwise); anything else is a bug and gets
a traceback.

Stopping: SIGINT (Ctrl-C) and SIGTERM raise ``Interrupted`` in the main thread wherever it is —
training, waiting for workers (joblib then shuts them down) — except inside the library's
``rundir.critical()`` blocks, which hold the signal until the checkpoint's writes are done. The
command exits 128 + the signal number (130, 143) with one line saying how to resume. A second
signal while stopping exits at once: outside a critical block the folder is consistent anyway.
"""

from __future__ import annotations

import errno
import os
import shlex
import signal
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from evoinit import activations as _activations
from evoinit import data as _data
from evoinit import initializers as _initializers
from evoinit.checks import is_number as _number
from evoinit.config import OBJECTIVES, SEED_POLICIES, SearchConfig
from evoinit.errors import EvoinitError, RunFolderError, UsageError
from evoinit.network import TrainSettings

app = typer.Typer(
    help="""Search how a small neural network should be started.

A genetic algorithm evolves hidden layers, activation, weight-initialization scheme and its
scale, scoring every candidate by really training it (NumPy MLPs, many at once, on all cores).

Examples:

  evoinit search                                  # digits, small budget, all cores

  evoinit train --hidden 64,32 --init he_normal --activation relu --seeds 10

  evoinit list inits
""",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
list_app = typer.Typer(help="List the init schemes, activations and datasets evoinit knows.",
                       no_args_is_help=True)
app.add_typer(list_app, name="list")

#: The defaults the help texts show: the library's own, never repeated here.
_D, _T = SearchConfig(), TrainSettings()


def _pair_text(pair) -> str:
    return ",".join(f"{v:g}" for v in pair)


console = Console()
err_console = Console(stderr=True)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop now (a BaseException, so no ``except Exception`` swallows
    it). ``run`` is the run folder being written, if any, for the resume hint."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.run: Path | None = None


class _Signals:
    """The CLI's SIGINT/SIGTERM handlers (see the module docstring). ``main`` installs them for
    the rest of the process: a signal during the interpreter's shutdown (joining loky's threads)
    exits at once instead of printing a KeyboardInterrupt traceback."""

    def __init__(self):
        self.received: int | None = None
        self.done = False

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame):
        if self.received is not None or self.done:  # a second Ctrl-C, or one while exiting
            os._exit(128 + signum)
        self.received = signum
        raise Interrupted(signum)

    def check(self) -> None:
        """Raise ``Interrupted`` if a signal came and its exception got lost (a handler's
        exception raised inside a ``__del__`` is printed and dropped by Python)."""
        if self.received is not None:
            raise Interrupted(self.received)


_signals = _Signals()


def _fmt(x, digits: int = 4, sign: bool = False) -> str:
    if not _number(x):
        return "—"
    return f"{x:+.{digits}f}" if sign else f"{x:.{digits}f}"


# -- listings --------------------------------------------------------------------------------------


@list_app.command("inits")
def list_inits():
    """Every init scheme with its formula (fan_in, fan_out in Keras orientation).

    Example: evoinit list inits
    """
    table = Table(title="init schemes — `scale` multiplies the std, limit or constant")
    for col in ("name", "family", "formula", "parameters"):
        table.add_column(col)
    for name in _initializers.names():
        init = _initializers.get(name)
        params = ", ".join(f"{k}={v}" for k, v in init.params.items())
        table.add_row(name, init.family, init.formula, params)
    console.print(table)
    aliases = ", ".join(f"{a} → {c}" for a, c in sorted(_initializers.ALIASES.items()))
    console.print(f"aliases: {aliases}")


@list_app.command("activations")
def list_activations():
    """Every activation with its formula and the init gain that goes with it.

    Example: evoinit list activations
    """
    table = Table(title="activations")
    for col in ("name", "formula", "gain"):
        table.add_column(col)
    for name in _activations.names():
        act = _activations.get(name)
        table.add_row(name, act.formula, f"{act.gain:.4g}")
    console.print(table)


@list_app.command("datasets")
def list_datasets():
    """Built-in datasets (scikit-learn's bundled sets and generators); any .csv or .npz path works too.

    Example: evoinit list datasets
    """
    table = Table(title="datasets — or pass a .csv/.npz path (--target names the target column)")
    for col in ("name", "task", "description"):
        table.add_column(col)
    for row in _data.describe():
        table.add_row(*row)
    console.print(table)


# -- train -----------------------------------------------------------------------------------------


def _hidden(text: str) -> tuple:
    try:
        widths = tuple(int(w) for w in text.replace("-", ",").split(",") if w.strip())
    except ValueError:
        raise UsageError(f"--hidden must be comma-separated widths like 64,32, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise UsageError(f"--hidden must be positive widths like 64,32, got {text!r}")
    return widths


def _settings(**kw):
    from evoinit.network import TrainSettings

    return TrainSettings(**kw)


@app.command()
def train(
    dataset: str = typer.Option("digits", "--dataset", "-d", help="Dataset name or .csv/.npz path."),
    target: Optional[str] = typer.Option(None, help="Target column of a CSV file."),
    hidden: str = typer.Option("64", help="Hidden widths, comma-separated (e.g. 64,32)."),
    activation: str = typer.Option("tanh", help="Activation (see `evoinit list activations`)."),
    init: str = typer.Option("glorot_uniform", help="Init scheme (see `evoinit list inits`)."),
    scale: float = typer.Option(1.0, help="Multiplies the scheme's std, limit or constant."),
    genome: Optional[str] = typer.Option(None, help="A whole setup, e.g. '64-32 tanh glorot_uniform ×1' "
                                                    "(overrides --hidden/--activation/--init/--scale)."),
    seeds: int = typer.Option(10, help="Number of random starts, trained together."),
    seed: int = typer.Option(0, help="Root seed: the same seed gives the same weights and curves."),
    epochs: int = typer.Option(_T.epochs, help="Training epochs."),
    batch_size: int = typer.Option(_T.batch_size, help="Minibatch size."),
    optimizer: str = typer.Option(_T.optimizer, help="sgd or adam."),
    lr: float = typer.Option(_T.learning_rate, "--lr", help="Learning rate."),
    momentum: float = typer.Option(_T.momentum, help="SGD momentum."),
    nesterov: bool = typer.Option(_T.nesterov, help="Nesterov momentum."),
    weight_decay: float = typer.Option(_T.weight_decay, help="L2 weight decay λ (gradient += λ·w)."),
    dtype: str = typer.Option(_T.dtype, help="float32 or float64."),
    out: Optional[Path] = typer.Option(None, help="Write train.json (curves) and learning_curves.png here."),
):
    """Train one setup from several random seeds and summarise the spread.

    Examples:

      evoinit train --dataset digits --hidden 64,32 --activation tanh --init glorot_uniform --seeds 10

      evoinit train --genome '128 relu he_normal ×2' --seeds 20 --out runs/he2

      evoinit train --dataset data.csv --target label --init orthogonal
    """
    from evoinit.evaluate import train as run_train
    from evoinit.genome import Genome

    g = Genome.parse(genome) if genome else Genome(_hidden(hidden), activation, init, scale)
    settings = _settings(epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=lr,
                         momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, dtype=dtype)
    spec = _data.DataSpec(dataset, target=target)
    ds = _data.load(spec)
    with console.status(f"training {g} on {ds.name} from {seeds} seeds…"):
        trained = run_train(g, ds, seeds=seeds, seed=seed, settings=settings)
    _print_train(trained)
    if out is not None:
        from evoinit import plots
        from evoinit.rundir import write_json

        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "train.json", trained.to_json())
        plots.learning_curves({str(g): list(trained.evaluations)}, out / "learning_curves.png",
                              title=f"{g} on {ds.name}")
        console.print(f"wrote {out / 'train.json'} and {out / 'learning_curves.png'}")


def _print_train(trained) -> None:
    s = trained.summary()
    metric = "validation error" if s["metric"] == "val_error" else "validation 1 − R²"
    dead = f", {s['degenerate']} constant predictors" if s["degenerate"] else ""
    table = Table(title=f"{s['genome']} — {s['seeds']} seeds, {s['diverged']} diverged{dead}")
    for col in ("final", "mean ± std", "best", "worst"):
        table.add_column(col, justify="right" if col != "final" else "left")
    for label, key in (("validation loss", "val_loss"), (metric, "val_error")):
        st = s[key]
        if st is None:
            table.add_row(label, "all diverged", "—", "—")
        else:
            table.add_row(label, f"{st['mean']:.4f} ± {st['std']:.4f}", _fmt(st["best"]), _fmt(st["worst"]))
    console.print(table)


# -- search / resume / report ----------------------------------------------------------------------


def _csv_list(text: Optional[str]) -> Optional[list]:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def _pair(text: Optional[str], name: str, kind=float) -> Optional[list]:
    if text is None:
        return None
    parts = _csv_list(text.replace(":", ","))
    try:
        values = [kind(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2:
        raise UsageError(f"{name} must be two numbers MIN,MAX, got {text!r}")
    return values


class _Live:
    """Rich progress for a search: a bar over generations, the evaluations of the current one,
    the best so far and an ETA, plus one printed line per generation."""

    def __init__(self, objective: str, resumed: bool = False):
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeElapsedColumn, TimeRemainingColumn)

        self.objective, self.resumed = objective, resumed
        self.bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TextColumn("{task.fields[status]}"), TimeElapsedColumn(),
                            TextColumn("ETA"), TimeRemainingColumn(), console=console, transient=False)
        self.task = None

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        self.bar.__exit__(*exc)

    def __call__(self, p) -> None:
        _signals.check()
        if self.task is None:
            self.task = self.bar.add_task("generations", total=p.generations + 1, status="starting…")
            self.bar.update(self.task, completed=p.generation + 1 if p.kind != "start" else 0)
        if p.kind == "start":
            done = 0 if p.generation == 0 and not self.resumed else p.generation + 1
            self.bar.update(self.task, completed=min(done, p.generations + 1))
        elif p.kind == "evaluated":
            self.bar.update(self.task, status=f"evaluations {p.done}/{p.total}")
        elif p.kind == "generation":
            r = p.row
            best = _fmt(r["min"])
            self.bar.update(self.task, completed=r["gen"] + 1, status=f"best {self.objective} {best}")
            self.bar.console.print(
                f"gen {r['gen']:>3}  evals {r['nevals']:>4}  best {self.objective} {best}  "
                f"median {_fmt(r['median'])}  best error {_fmt(r['best_error'])}  diverged {r['diverged']}  "
                f"degenerate {r.get('degenerate', 0)}  "
                f"distinct {r['unique']}  best: {r['best']}", highlight=False)
        elif p.kind == "final":
            self.bar.update(self.task, status=f"scoring the hall of fame ({p.total}) and baselines on test")


def _check_jobs(n_jobs) -> None:
    if n_jobs == 0:
        raise UsageError("--n-jobs must be -1 (all cores), a positive number of workers, or -k for "
                         "all cores but k-1; got 0")


def _check_stop_after(stop_after) -> None:
    if stop_after is not None and stop_after < 0:
        raise UsageError(f"--stop-after must be a generation number >= 0, got {stop_after}")


@contextmanager
def _stopping(folder):
    """A signal inside becomes ``Interrupted`` naming the run folder (a KeyboardInterrupt
    re-raised from a worker that got the terminal's Ctrl-C first counts as SIGINT)."""
    try:
        yield
    except (Interrupted, KeyboardInterrupt) as e:
        stop = e if isinstance(e, Interrupted) else Interrupted(signal.SIGINT)
        stop.run = folder
        raise stop from None


def _hint(folder) -> str:
    return f"evoinit resume {shlex.quote(str(folder))}"


@app.command()
def search(
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d", help=f"Dataset name or .csv/.npz path [{_D.dataset.name}]."),
    target: Optional[str] = typer.Option(None, help="Target column of a CSV file."),
    population: Optional[int] = typer.Option(None, help=f"Population size μ [{_D.population}]."),
    offspring: Optional[int] = typer.Option(None, help="Offspring per generation λ [= population]."),
    generations: Optional[int] = typer.Option(None, help=f"Generations after the first [{_D.generations}]."),
    epochs: Optional[int] = typer.Option(None, help=f"Training epochs per candidate [{_D.train.epochs}]."),
    repeats: Optional[int] = typer.Option(None, help=f"Seeds per candidate; fitness is their mean [{_D.repeats}]."),
    seed: Optional[int] = typer.Option(None, help=f"Run seed: same seed, same result on any backend [{_D.seed}]."),
    seed_policy: Optional[str] = typer.Option(None, help=f"{' | '.join(SEED_POLICIES)} [{_D.seed_policy}]."),
    objectives: Optional[str] = typer.Option(None, help=f"Comma-separated: {', '.join(OBJECTIVES)}; "
                                                         f"two or more → NSGA-II [{','.join(_D.objectives)}]."),
    inits: Optional[str] = typer.Option(None, help="Allowed init schemes, comma-separated [all]."),
    activations: Optional[str] = typer.Option(None, help="Allowed activations, comma-separated [all]."),
    layers: Optional[str] = typer.Option(None, help=f"Hidden layers MIN,MAX [{_pair_text(_D.space.layers)}]."),
    widths: Optional[str] = typer.Option(None, help=f"Hidden widths MIN,MAX [{_pair_text(_D.space.widths)}]."),
    scales: Optional[str] = typer.Option(None, help=f"Init scale MIN,MAX, log-uniform [{_pair_text(_D.space.scales)}]."),
    learning_rates: Optional[str] = typer.Option(None, help="Make the learning rate a gene: MIN,MAX."),
    lr: Optional[float] = typer.Option(None, "--lr", help=f"Learning rate when it is not a gene [{_D.train.learning_rate:g}]."),
    n_jobs: Optional[int] = typer.Option(None, help="Worker processes; -1 = all cores (more than the cores there "
                                                   "are is capped, with a note) [-1]."),
    scheduler: Optional[str] = typer.Option(None, help="Run the evaluations on the Dask cluster whose "
                                                       "scheduler is at tcp://HOST:PORT (ignores --n-jobs)."),
    out: Optional[Path] = typer.Option(None, help="Run folder [runs/<dataset>-<timestamp>]."),
    overwrite: bool = typer.Option(False, help="Replace a run already in --out."),
    resume: bool = typer.Option(False, "--resume", help="If --out already holds this search, continue it "
                                                        "(as `evoinit resume`) instead of refusing."),
    config: Optional[Path] = typer.Option(None, help="A TOML file with any of these settings "
                                                     "(options given here override it)."),
    stop_after: Optional[int] = typer.Option(None, help="Pause after this generation (resume later)."),
):
    """Search network setups with a genetic algorithm, training every candidate for real.

    With no options: digits and a small budget (the defaults in brackets below), all cores, about
    two minutes on a 2-core machine. Writes a run folder you can resume and report on.
    Ctrl-C stops cleanly at any time (the last finished generation is kept); continue with
    `evoinit resume RUN`, or run the same command again with --resume.

    Examples:

      evoinit search

      evoinit search --dataset wine --generations 20 --repeats 3 --out runs/wine

      evoinit search --objectives val_error,n_params --inits glorot_uniform,he_normal,orthogonal

      evoinit search --config experiments/search_digits.toml --n-jobs 2 --out runs/exp --resume

      evoinit search --scheduler tcp://10.0.0.5:8786 --out runs/cluster
    """
    from evoinit import config as _config
    from evoinit import search as _search
    from evoinit.rundir import default_path

    _check_stop_after(stop_after)
    options = _config.load_toml(config) if config is not None else {}
    given = {"dataset": dataset, "target": target, "population": population, "offspring": offspring,
             "generations": generations, "epochs": epochs, "repeats": repeats, "seed": seed,
             "seed_policy": seed_policy, "objectives": _csv_list(objectives), "n_jobs": n_jobs,
             "scheduler": scheduler}
    options |= {k: v for k, v in given.items() if v is not None}
    space = {"inits": _csv_list(inits), "activations": _csv_list(activations),
             "layers": _pair(layers, "--layers", int), "widths": _pair(widths, "--widths", int),
             "scales": _pair(scales, "--scales"), "learning_rates": _pair(learning_rates, "--learning-rates")}
    options["space"] = dict(options.get("space", {})) | {k: v for k, v in space.items() if v is not None}
    if lr is not None:
        options["train"] = dict(options.get("train", {})) | {"learning_rate": lr}
    explicit = config is not None or lr is not None or any(
        v is not None for k, v in (given | space).items() if k not in ("n_jobs", "scheduler"))
    cfg, execution = _config.build(options)
    n = execution.get("n_jobs", -1)
    _check_jobs(n)
    if resume and overwrite:
        raise UsageError("--resume continues the run in --out and --overwrite replaces it: pass one of them")
    folder = out or execution.get("out")
    if resume and folder is None:
        raise UsageError("--resume continues the run in --out RUN: give --out")
    folder = Path(folder) if folder is not None else default_path(cfg.dataset.name)
    command = " ".join(["evoinit"] + sys.argv[1:])
    with _search.opened(config=cfg if explicit else None, n_jobs=n, out=folder, overwrite=overwrite,
                        resume=resume, scheduler=execution.get("scheduler"), command=command) as run:
        for note in run.notes:
            console.print(note, highlight=False, soft_wrap=True)
        if run.resumed:
            console.print(f"evoinit search --resume: continuing {folder}")
        else:
            console.print(f"evoinit search on [bold]{cfg.dataset.name}[/]: population {cfg.population}, "
                          f"{cfg.generations} generations, {cfg.repeats} seeds each, {cfg.train.epochs} epochs, "
                          f"seed policy {cfg.seed_policy}, objectives {', '.join(cfg.objectives)} → {folder}")
        with _stopping(folder), _Live("fitness" if run.resumed else cfg.objectives[0], run.resumed) as live:
            run.progress = live
            result = run.loop(stop_after=stop_after)
    _print_result(result)


@app.command()
def resume(
    run: Path = typer.Argument(..., help="The run folder to continue."),
    n_jobs: int = typer.Option(-1, help="Worker processes; -1 = all cores."),
    scheduler: Optional[str] = typer.Option(None, help="Run the evaluations on the Dask cluster whose "
                                                       "scheduler is at tcp://HOST:PORT (ignores --n-jobs)."),
    stop_after: Optional[int] = typer.Option(None, help="Pause again after this generation."),
):
    """Continue a stopped search from its last checkpoint; it ends exactly as an uninterrupted run.

    Works on a folder stopped any way: --stop-after, Ctrl-C, a kill, a power cut. A folder that
    is damaged, from another evoinit version or in use by another search is refused with the reason.

    Examples:

      evoinit resume runs/digits-20261129-101500

      evoinit resume runs/digits-20261129-101500 --scheduler tcp://10.0.0.5:8786
    """
    from evoinit import search as _search

    _check_jobs(n_jobs)
    _check_stop_after(stop_after)
    with _stopping(run), _Live("fitness", resumed=True) as live:
        result = _search.resume(run, n_jobs=n_jobs, scheduler=scheduler, progress=live, stop_after=stop_after)
    _print_result(result)


@app.command()
def report(run: Path = typer.Argument(..., help="A run folder."),
           open_page: bool = typer.Option(False, "--open", help="Open RUN/report.html in a web browser "
                                          "(its path is printed either way).")):
    """Write a run's figures into RUN/figures and its page RUN/report.html; print its summary.

    The page holds everything on one self-contained HTML file (no network needed): the settings,
    the verdict against the canonical start, the hall of fame with its baselines and paired gains,
    which genes mattered (gene importance), the figures and the per-generation table. Figures:
    fitness per generation, scheme and activation frequencies, scale vs fitness by scheme and by
    scheme family (canonical starts marked), gene importance, learning curves of the top setups
    against their baselines, and the population's diversity in error space. A run still going or
    stopped is reported up to its last finished generation.

    Examples:

      evoinit report runs/digits-20261129-101500
      evoinit report runs/digits-20261129-101500 --open
    """
    from evoinit import report as _report

    summary = _report.report(run)
    _print_hall_of_fame(summary["hall_of_fame"], summary["objectives"], summary["finished"])
    _print_importance(summary["importance"])
    for path in summary["figures"]:
        console.print(f"wrote {path}")
    for name, why in summary.get("skipped", {}).items():
        _say(f"warning: could not draw {name}: {why}")
    console.print(f"report: {summary['html']}")
    if open_page:
        import webbrowser

        if not webbrowser.open(summary["html"].resolve().as_uri()):
            console.print(f"no web browser found; open {summary['html']} yourself")


def _print_importance(found) -> None:
    if found is None:
        return
    log = "log " if found["fitness"] == "val_loss" else ""
    table = Table(title=f"gene importance: share of the {log}{found['fitness']} variance explained "
                        f"(all genes R² = {found['r2']:.2f}, {found['n']} evaluations)")
    for col in ("gene", "importance", "95% interval"):
        table.add_column(col, justify="left" if col == "gene" else "right")
    for r in found["genes"]:
        table.add_row(r["gene"], f"{r['importance']:.3f}", f"{r['low']:.3f} … {r['high']:.3f}")
    console.print(table)


def _print_result(result) -> None:
    from evoinit.baselines import verdict

    _print_hall_of_fame(result.hall_of_fame, result.config.objectives, result.finished)
    line = verdict(result.hall_of_fame) if result.finished else None
    if line:
        console.print(line, markup=False, highlight=False, soft_wrap=True)  # one line, even in a pipe
    if result.run_dir is not None:
        if result.finished:
            console.print(f"run folder: {result.run_dir}  (figures: evoinit report {result.run_dir})")
        else:
            console.print(f"paused; continue with: {_hint(result.run_dir)}")


def _print_hall_of_fame(entries, objectives, finished) -> None:
    from evoinit.checkpoint import final_scores

    if not entries:
        console.print("hall of fame: empty — every candidate so far diverged")
        return
    table = Table(title="hall of fame" + ("" if finished else " (search not finished)"))
    for col in ("#", "setup", *objectives, "val error"):
        table.add_column(col, justify="left" if col == "setup" else "right")
    if finished:
        for col in ("test error", "baseline test error", "gain (paired)"):
            table.add_column(col, justify="right")
    for e in entries:
        row = [str(e["rank"]), e["text"], *[_fmt(e["fitness"][o]) for o in objectives], _fmt(e["val_error"])]
        scores = final_scores(e) if finished else None
        if scores is not None:
            row.append(_fmt(scores.test_error))
            if scores.baseline is not None:
                gain, ci = scores.gain, scores.gain_ci95
                row += [f"{_fmt(scores.baseline_error)} ({scores.baseline})",
                        _fmt(gain, sign=True) + (f" ± {ci:.4f}" if _number(gain) and _number(ci) else "")]
            else:
                row += ["—", "—"]
        table.add_row(*row)
    console.print(table)




# -- export ----------------------------------------------------------------------------------------


@app.command()
def export(
    source: str = typer.Argument(..., metavar="RUN|GENOME",
                                 help="A run folder (its best setup) or a setup such as '64-32 tanh glorot_uniform ×1'."),
    to: str = typer.Option(..., "--to", help="torch or keras."),
    dataset: Optional[str] = typer.Option(None, "--dataset", "-d",
                                          help="Dataset giving the input/output sizes (default: the run's, "
                                               "or digits for a GENOME)."),
    target: Optional[str] = typer.Option(None, help="Target column of a CSV --dataset."),
    rank: int = typer.Option(1, help="Which hall-of-fame entry of a RUN (1 = best)."),
    out: Optional[Path] = typer.Option(None, help="Write the snippet to this file instead of printing it."),
):
    """Print PyTorch or Keras code that builds the same network with the same kind of start.

    The snippet names the matching initializer with its arguments (fan mode, gain, scale) in the
    framework's own weight orientation, and numbers computed per layer where the framework lacks
    the scheme. Neither framework is needed to export.

    Examples:

      evoinit export "64-32 relu he_normal ×2" --to torch

      evoinit export "32 tanh glorot_normal ×1.5" --to keras --dataset iris --out model.py

      evoinit export runs/digits-20261129-101500 --to keras --rank 2
    """
    from evoinit import export as _export

    if str(to).strip().lower() not in _export.FRAMEWORKS:
        raise UsageError(f"--to must be one of {', '.join(_export.FRAMEWORKS)}, got {to!r}")
    settings = None
    if Path(source).is_dir():
        setup = _export.read_run(source, rank)
        genome, n_in, n_out, task, settings = setup.genome, setup.n_in, setup.n_out, setup.task, setup.settings
    else:
        from evoinit.genome import Genome

        if not source.strip() or len(source.split()) == 1:  # one word: meant as a folder
            raise RunFolderError(f"no run folder at {source} (a setup reads like "
                                 "'64-32 tanh glorot_uniform ×1')")
        genome = Genome.parse(source)
        dataset = dataset or "digits"
    if dataset is not None:
        ds = _data.load(_data.DataSpec(dataset, target=target))
        n_in, n_out, task = ds.n_features, ds.n_outputs, ds.task
    code = _export.export(genome, n_in, n_out, task, to=to, settings=settings)
    if out is None:
        sys.stdout.write(code)
    else:
        from evoinit.rundir import atomic_write

        atomic_write(out, code)
        console.print(f"wrote {out}")


# -- entry point -----------------------------------------------------------------------------------


def main() -> None:
    """The console entry point: run the app, and turn what the user can fix — or chose — into
    one line on stderr and an exit code (see the module docstring)."""
    _signals.install()
    try:
        code = app(prog_name="evoinit", standalone_mode=False)
    except BaseException as e:
        _signals.done = True  # from here on, a signal exits at once
        code = _exit_code(e)
    _signals.done = True
    sys.exit(code if isinstance(code, int) else 0)


def _exit_code(e: BaseException) -> int:
    """Say what went wrong in one line and give the exit code; re-raise anything else (a bug)."""
    if isinstance(e, typer.TyperException):  # typer/click's own: bad option value, missing argument, …
        if _is_help(e):  # `evoinit` alone: the help, as click does
            e.show()
        else:
            _say(f"error: {e.format_message()}{_try_help(e)}")
        return e.exit_code
    if isinstance(e, typer.Abort):  # EOF at a prompt
        _say("error: aborted")
        return 1
    if isinstance(e, EvoinitError):
        _say(f"error: {e}")
        return e.exit_code
    if isinstance(e, Interrupted):
        _say(_interrupted(e))
        return 128 + e.signum
    if isinstance(e, MemoryError):
        _say("error: out of memory; try fewer or narrower layers (--widths, --layers), a smaller "
             "--population or fewer --n-jobs")
        return 1
    if isinstance(e, OSError) and e.errno == errno.EPIPE:  # `evoinit list inits | head`: say nothing
        os._exit(1)  # at once: flushing the closed pipe at exit would print a traceback
    if isinstance(e, OSError):  # a full disk, a folder not ours
        where = f" {e.filename}" if e.filename else ""
        _say(f"error: cannot use{where}: {e.strerror or e}")
        return 1
    raise e


def _say(line: str) -> None:
    err_console.print(line, markup=False, highlight=False, soft_wrap=True)


def _is_help(e) -> bool:
    """A group called with nothing (``evoinit``, ``evoinit list``): typer's vendored click raises
    a usage error (``NoArgsIsHelpError``, not public) whose message is the group's help. Told by
    what it says, not by its class name; ``test_cli`` fails if click changes it."""
    ctx = getattr(e, "ctx", None)
    return ctx is not None and e.format_message() == ctx.get_help()


def _try_help(e) -> str:
    ctx = getattr(e, "ctx", None)
    return f" (see '{ctx.command_path} --help')" if ctx is not None else ""


def _interrupted(e: Interrupted) -> str:
    name = signal.Signals(e.signum).name
    if e.run is None:
        return f"interrupted ({name})"
    from evoinit.checkpoint import saved_generation
    from evoinit.rundir import RunFolder

    folder = RunFolder(e.run)
    saved = saved_generation(folder)
    if saved is None:
        if not folder.holds_run():
            return f"interrupted ({name}) before the run folder {e.run} was made"
        what = "no generation had ended yet"
    else:
        generation, last, finished = saved
        what = ("the run is complete" if finished else f"generation {generation} of {last} is saved"
                + (" (the final scoring will be redone)" if generation == last else ""))
    return f"interrupted ({name}): {what} in {e.run}; continue with: {_hint(e.run)}"
