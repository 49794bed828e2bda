"""The ``evoinit`` command: a thin typer skin over the library. It parses, calls, and prints.

The commands and their options live here; what they print is ``terminal.py``'s, and how the
command ends (signals, exit codes, the one-line error) is ``exits.py``'s.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer

from evoinit.cli.args import (
    check_jobs,
    check_stop_after,
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
    print_verdict,
    shown,
)
from evoinit.ga.config import SearchConfig

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


from evoinit.cli.setup import export, train  # noqa: E402  (registered in this order)

app.command()(train)


def search(**given):
    """Search network setups with a genetic algorithm, training every candidate for real.

    With no options: the model-guided GA (--surrogate 30) on digits with the budget in brackets
    below (2,976 trainings; 2 min 50 s measured once on an idle 2-core machine with
    --n-jobs 2 — it varies with the machine; each run records its times in timings.jsonl), all
    cores. Writes a run folder you can resume and
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


app.command()(export)


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
