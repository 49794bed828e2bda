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
from evoinit.cliargs import (check_jobs, check_stop_after, csv_list, hidden_widths, integers, pair, pair_text,
                             run_folder, search_options)
from evoinit.config import OBJECTIVES, PRUNING, SEED_POLICIES, SearchConfig
from evoinit.errors import RunFolderError, UsageError, clip
from evoinit.exits import exit_code, say, signals, stopping
from evoinit.network import TrainSettings
from evoinit.terminal import (Live, console, print_activations, print_datasets, print_hall_of_fame, print_importance,
                              print_inits, print_result, print_search_start, print_train, shown)

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

    g = Genome.parse(genome) if genome else Genome(hidden_widths(hidden), activation, init, scale)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=lr,
                              momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, dtype=dtype)
    spec = _data.DataSpec(dataset, target=target)
    ds = _data.load(spec)
    with console.status(f"training {shown(g)} on {shown(ds.name)} from {seeds} seeds…"):
        trained = run_train(g, ds, seeds=seeds, seed=seed, settings=settings)
    print_train(trained)
    if out is not None:
        from evoinit import plots
        from evoinit.rundir import write_json

        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "train.json", trained.to_json())
        with plots.literal_text():   # a file name with $…$ is a name, not a formula
            plots.learning_curves({str(g): list(trained.evaluations)}, out / "learning_curves.png",
                                  title=f"{g} on {ds.name}")
        console.print(f"wrote {shown(out / 'train.json')} and {shown(out / 'learning_curves.png')}")


# -- search / resume / report ----------------------------------------------------------------------


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
    reselect: Optional[int] = typer.Option(None, help="Retrain the hall of fame from N new seeds (the same for "
                                                      "every member) and rank it over all its seeds, so a lucky "
                                                      f"seed cannot pick the winner; 0 = off [{_D.reselect}]."),
    canonical_start: Optional[bool] = typer.Option(None, "--canonical-start/--no-canonical-start",
                                                   help="Put each activation's canonical start (Glorot / He / "
                                                        "LeCun) at ×1, ×½, ×2 into the first generation "
                                                        f"[{'on' if _D.canonical_start else 'off'}]."),
    surrogate: Optional[int] = typer.Option(None, help="Breed K×λ offspring and train the λ a random forest of "
                                                       "everything trained so far expects to improve most; "
                                                       "the forest also ranks the final hall of fame once "
                                                       "64 setups are trained; 30 "
                                                       f"suits small budgets; 0 = off [{_D.surrogate}]."),
    objectives: Optional[str] = typer.Option(None, help=f"Comma-separated: {', '.join(OBJECTIVES)}; "
                                                         f"two or more → NSGA-II [{','.join(_D.objectives)}]."),
    islands: Optional[int] = typer.Option(None, help="Islands that evolve on their own between migrations, "
                                                     f"sharing the population (docs/cluster.md) [{_D.islands}]."),
    migration_interval: Optional[int] = typer.Option(None, help="Generations between two migrations of "
                                                                f"the islands [{_D.migration_interval}]."),
    migrants: Optional[int] = typer.Option(None, help="Best individuals each island sends to the next at a "
                                                      f"migration [{_D.migrants}]."),
    shape: Optional[str] = typer.Option(None, help="generations | steady: steady breeds candidate n from the "
                                                   "population once the results of candidates before n - LAG "
                                                   "are folded in, in order, so workers never wait for a "
                                                   "generation's slowest network; same files on any workers "
                                                   f"(docs/cluster.md) [{_D.shape}]."),
    lag: Optional[int] = typer.Option(None, help="With --shape steady: candidates bred ahead of the last one "
                                                 "folded in; larger keeps more workers busy, breeds from older "
                                                 "populations [--offspring]."),
    inits: Optional[str] = typer.Option(None, help="Allowed init schemes, comma-separated [all]."),
    activations: Optional[str] = typer.Option(None, help="Allowed activations, comma-separated [all]."),
    layers: Optional[str] = typer.Option(None, help=f"Hidden layers MIN,MAX [{pair_text(_D.space.layers)}]."),
    widths: Optional[str] = typer.Option(None, help=f"Hidden widths MIN,MAX [{pair_text(_D.space.widths)}]."),
    scales: Optional[str] = typer.Option(None, help=f"Init scale MIN,MAX, log-uniform [{pair_text(_D.space.scales)}]."),
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
    prune: Optional[str] = typer.Option(None, help=f"{' | '.join(PRUNING)}: halving races each generation's "
                                                   f"offspring through rungs of epochs [{_D.prune}]."),
    eta: Optional[int] = typer.Option(None, help=f"With --prune halving: 1/eta of the offspring go on at each "
                                                 f"rung [{_D.eta}]."),
    rungs: Optional[str] = typer.Option(None, help="With --prune halving: the epochs where offspring are "
                                                   "ranked, comma-separated [E/eta², E/eta]."),
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

      evoinit search --prune halving --eta 3 --offspring 96
    """
    from evoinit import config as _config
    from evoinit import search as _search

    check_stop_after(stop_after)
    given = {"dataset": dataset, "target": target, "population": population, "offspring": offspring,
             "generations": generations, "epochs": epochs, "repeats": repeats, "seed": seed,
             "seed_policy": seed_policy, "reselect": reselect, "canonical_start": canonical_start,
             "surrogate": surrogate, "objectives": csv_list(objectives), "n_jobs": n_jobs,
             "scheduler": scheduler, "islands": islands, "migration_interval": migration_interval,
             "migrants": migrants, "prune": prune, "eta": eta, "rungs": integers(rungs, "--rungs"),
             "shape": shape, "lag": lag}
    space = {"inits": csv_list(inits), "activations": csv_list(activations),
             "layers": pair(layers, "--layers", int), "widths": pair(widths, "--widths", int),
             "scales": pair(scales, "--scales"), "learning_rates": pair(learning_rates, "--learning-rates")}
    options, explicit = search_options(config, given, space, lr)
    cfg, execution = _config.build(options)
    n = execution.get("n_jobs", -1)
    check_jobs(n)
    folder = run_folder(out or execution.get("out"), cfg, resume=resume, overwrite=overwrite)
    command = " ".join(["evoinit"] + sys.argv[1:])
    with _search.opened(config=cfg if explicit else None, n_jobs=n, out=folder, overwrite=overwrite,
                        resume=resume, scheduler=execution.get("scheduler"), command=command) as run:
        print_search_start(run, cfg, folder)
        with stopping(folder), Live("fitness" if run.resumed else cfg.objectives[0], run.resumed) as live:
            run.progress = live
            result = run.loop(stop_after=stop_after)
    print_result(result)


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

    check_jobs(n_jobs)
    check_stop_after(stop_after)
    with stopping(run), Live("fitness", resumed=True) as live:
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
    from evoinit import report as _report

    summary = _report.report(run)
    print_hall_of_fame(summary["hall_of_fame"], summary["objectives"], summary["finished"], summary["by_model"])
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
    if os.path.isdir(source):  # False, not an error, for a setup's text (which may be too long for a path)
        setup = _export.read_run(source, rank)
        genome, n_in, n_out, task, settings = setup.genome, setup.n_in, setup.n_out, setup.task, setup.settings
    else:
        from evoinit.genome import Genome

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
        from evoinit.rundir import atomic_write

        atomic_write(out, code)
        console.print(f"wrote {shown(out)}")


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
