"""The ``evoinit`` command: a thin typer skin over the library. It parses, calls, and prints.

The commands and their options live here; what they print is ``terminal.py``'s, and how the
command ends (signals, exit codes, the one-line error) is ``exits.py``'s.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from evoinit import data as _data
from evoinit.cli.args import (
    check_jobs,
    check_stop_after,
    hidden_widths,
    run_folder,
    search_options,
    search_signature,
)
from evoinit.cli.exits import exit_code, say, signals, stopping
from evoinit.cli.terminal import (
    Live,
    console,
    print_activations,
    print_datasets,
    print_hall_of_fame,
    print_importance,
    print_inits,
    print_result,
    print_search_start,
    print_train,
    print_verdict,
    shown,
)
from evoinit.errors import RunFolderError, UsageError, clip
from evoinit.ga.config import SearchConfig
from evoinit.nn.training import TrainSettings

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


# -- listings --------------------------------------------------------------------------------------


@list_app.command("inits")
def list_inits():
    """Every init scheme with its formula (fan_in, fan_out in Keras orientation).

    Example: evoinit list inits
    """
    print_inits()


@list_app.command("activations")
def list_activations():
    """Every activation with its formula and the init gain that goes with it.

    Example: evoinit list activations
    """
    print_activations()


@list_app.command("datasets")
def list_datasets():
    """Built-in datasets (scikit-learn's bundled sets and generators); any .csv or .npz path works too.

    Example: evoinit list datasets
    """
    print_datasets()


# -- train -----------------------------------------------------------------------------------------


@app.command()
def train(
    dataset: str = typer.Option("digits", "--dataset", "-d", help="Dataset name or .csv/.npz path."),
    target: Optional[str] = typer.Option(None, help="Target column of a CSV file."),
    test_file: Optional[str] = typer.Option(None, help="A second .csv/.npz file whose rows are the test "
                                                       "split (same columns; validation still comes from "
                                                       "--dataset's rows)."),
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
    patience: int = typer.Option(0, help="Early stopping: a network stops after N epochs without a better "
                                         "validation score and is kept at its best epoch; 0 = off."),
    monitor: str = typer.Option(_T.monitor, help="What early stopping watches: val_loss or val_error "
                                                 "(1 − R² for regression)."),
    out: Optional[Path] = typer.Option(None, help="Write train.json (curves) and learning_curves.png here."),
):
    """Train one setup from several random seeds and summarise the spread on the validation and
    test rows (the dataset's own test rows where it has them: mnist1d, an .npz with X_test/y_test,
    --test-file).

    Examples:

      evoinit train --dataset digits --hidden 64,32 --activation tanh --init glorot_uniform --seeds 10

      evoinit train --genome '128 relu he_normal ×2' --seeds 20 --out runs/he2

      evoinit train --dataset data.csv --target label --init orthogonal

      evoinit train --optimizer adam --lr 0.01 --epochs 100 --patience 10

      evoinit train --dataset train.csv --test-file test.csv --hidden 100,100 --activation relu
    """
    from evoinit.ga.evaluate import train as run_train
    from evoinit.ga.genome import Genome

    g = Genome.parse(genome) if genome else Genome(hidden_widths(hidden), activation, init, scale)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=lr,
                              momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, dtype=dtype,
                              patience=patience, monitor=monitor)
    spec = _data.DataSpec(dataset, target=target, test_file=test_file)
    ds = _data.load(spec)
    with console.status(f"training {shown(g)} on {shown(ds.name)} from {seeds} seeds…"):
        trained = run_train(g, ds, seeds=seeds, seed=seed, settings=settings, test=True)
    print_train(trained)
    if out is not None:
        from evoinit.reporting import plots
        from evoinit.runfolder.files import write_json

        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "train.json", trained.to_json())
        with plots.literal_text():   # a file name with $…$ is a name, not a formula
            plots.learning_curves({str(g): list(trained.evaluations)}, out / "learning_curves.png",
                                  title=f"{g} on {ds.name}")
        console.print(f"wrote {shown(out / 'train.json')} and {shown(out / 'learning_curves.png')}")


# -- search / resume / report ----------------------------------------------------------------------


def search(**given):
    """Search network setups with a genetic algorithm, training every candidate for real.

    With no options: digits and the budget in brackets below (about 3,000 trainings; 2 min 19 s
    measured once on a shared 2-core machine with --n-jobs 2 — it varies with the machine; each
    run records its times in timings.jsonl), all cores. Writes a run folder you can resume and
    report on.
    Ctrl-C stops cleanly at any time (the last finished generation is kept); continue with
    `evoinit resume RUN`, or run the same command again with --resume. Every option can also be
    written in a TOML file (--config; the [space] and [train] ones in those tables).

    Examples:

      evoinit search

      evoinit search --dataset wine --generations 20 --repeats 3 --out runs/wine

      evoinit search --objectives val_error,n_params --inits glorot_uniform,he_normal,orthogonal

      evoinit search --config experiments/search_digits.toml --n-jobs 2 --out runs/exp --resume

      evoinit search --scheduler tcp://10.0.0.5:8786 --out runs/cluster

      evoinit search --dataset spirals --surrogate 30 --population 12 --generations 8
    """
    from evoinit import api
    from evoinit.ga.configfile import build

    stop_after, config = given.pop("stop_after"), given.pop("config")
    resume, overwrite = given.pop("resume"), given.pop("overwrite")
    check_stop_after(stop_after)
    options, explicit = search_options(config, given)
    cfg, execution = build(options)
    n = execution.get("n_jobs", -1)
    check_jobs(n)
    folder = run_folder(execution.get("out"), cfg, resume=resume, overwrite=overwrite)
    command = " ".join(["evoinit"] + sys.argv[1:])
    with api.opened(config=cfg if explicit else None, n_jobs=n, out=folder, overwrite=overwrite,
                    resume=resume, scheduler=execution.get("scheduler"), command=command) as run:
        print_search_start(run, cfg, folder)
        with stopping(folder), Live(None if run.resumed else cfg.objectives[0], run.resumed) as live:
            run.progress = live
            result = run.loop(stop_after=stop_after)
    print_result(result)


search.__signature__ = search_signature(SearchConfig())
app.command()(search)


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
    from evoinit import api as _search

    check_jobs(n_jobs)
    check_stop_after(stop_after)
    with stopping(run), Live(resumed=True) as live:
        result = _search.resume(run, n_jobs=n_jobs, scheduler=scheduler, progress=live, stop_after=stop_after)
    print_result(result)


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
    from evoinit.reporting import report as _report

    summary = _report.report(run)
    print_hall_of_fame(summary["hall_of_fame"], summary["objectives"], summary["finished"], summary["by_model"],
                       summary.get("test_rows"))
    print_verdict(summary["hall_of_fame"], summary.get("test_rows"), summary["finished"])
    print_importance(summary["importance"])
    for path in summary["figures"]:
        console.print(f"wrote {shown(path)}")
    for name, why in summary.get("skipped", {}).items():
        say(f"warning: could not draw {name}: {why}")
    console.print(f"report: {shown(summary['html'])}")
    if open_page:
        import webbrowser

        if not webbrowser.open(summary["html"].resolve().as_uri()):
            console.print(f"no web browser found; open {shown(summary['html'])} yourself")


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
    trained: bool = typer.Option(False, "--trained",
                                 help="The RUN's trained network (its kept weights, in an .npz beside --out)."),
):
    """Print PyTorch or Keras code that builds the same network with the same kind of start.

    With --trained, write code that builds a RUN's trained network and loads its weights from an
    .npz of plain arrays written beside it (a state_dict for torch, set_weights for keras).

    The snippet names the matching initializer with its arguments (fan mode, gain, scale) in the
    framework's own weight orientation, and numbers computed per layer where the framework lacks
    the scheme. Neither framework is needed to export.

    Examples:

      evoinit export "64-32 relu he_normal ×2" --to torch

      evoinit export "32 tanh glorot_normal ×1.5" --to keras --dataset iris --out model.py

      evoinit export runs/digits-20261129-101500 --to keras --rank 2

      evoinit export runs/digits-20261129-101500 --trained --to torch --out model.py
    """
    from evoinit.interop import export as _export

    if str(to).strip().lower() not in _export.FRAMEWORKS:
        raise UsageError(f"--to must be one of {', '.join(_export.FRAMEWORKS)}, got {to!r}")
    if trained:
        export_trained(source, to, rank, out)
        return
    settings = None
    if os.path.isdir(source):  # False, not an error, for a setup's text (which may be too long for a path)
        setup = _export.read_run(source, rank)
        genome, n_in, n_out, task, settings = setup.genome, setup.n_in, setup.n_out, setup.task, setup.settings
    else:
        from evoinit.ga.genome import Genome

        if not source.strip() or len(source.split()) == 1 or "/" in source or os.sep in source:
            # one word, or a path: meant as a folder
            raise RunFolderError(f"no run folder at {clip(source)} (a setup reads like "
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
        from evoinit.runfolder.files import atomic_write

        atomic_write(out, code)
        console.print(f"wrote {shown(out)}")


def export_trained(source: str, to: str, rank: int, out: Optional[Path]) -> None:
    """``export --trained``: the code to ``out``, its weights beside it (``out`` as .npz)."""
    from evoinit.interop.trained import write

    if not os.path.isdir(source):
        raise RunFolderError(f"no run folder at {clip(source)} (--trained exports a run's trained network)")
    weights = write(source, rank, to=to, out=out)
    console.print(f"wrote {shown(out)} and its weights {shown(weights)}")


# -- entry point -----------------------------------------------------------------------------------


def main() -> None:
    """The console entry point: run the app, and turn what the user can fix — or chose — into
    one line on stderr and an exit code (see ``exits.py``)."""
    signals.install()
    try:
        code = app(prog_name="evoinit", standalone_mode=False)
    except BaseException as e:
        signals.done = True  # from here on, a signal exits at once
        code = exit_code(e)
    signals.done = True
    sys.exit(code if isinstance(code, int) else 0)
