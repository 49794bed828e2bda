"""The ``evoinit`` command: a thin typer skin over the library. It parses, calls, and prints.

Errors the user can fix (``EvoinitError``) become one line on stderr and an exit code; nothing
else is caught here, so a traceback always means a bug.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from evoinit import activations as _activations
from evoinit import data as _data
from evoinit import initializers as _initializers
from evoinit.errors import EvoinitError, UsageError

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

console = Console()
err_console = Console(stderr=True)


def _fmt(x: float, digits: int = 4) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


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
    epochs: int = typer.Option(20, help="Training epochs."),
    batch_size: int = typer.Option(32, help="Minibatch size."),
    optimizer: str = typer.Option("sgd", help="sgd or adam."),
    lr: float = typer.Option(0.05, "--lr", help="Learning rate."),
    momentum: float = typer.Option(0.9, help="SGD momentum."),
    nesterov: bool = typer.Option(False, help="Nesterov momentum."),
    weight_decay: float = typer.Option(0.0, help="L2 weight decay λ (gradient += λ·w)."),
    dtype: str = typer.Option("float32", help="float32 or float64."),
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
        report = run_train(g, ds, seeds=seeds, seed=seed, settings=settings)
    _print_train(report)
    if out is not None:
        from evoinit import plots
        from evoinit.rundir import write_json

        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "train.json", report.to_json())
        plots.learning_curves({str(g): list(report.evaluations)}, out / "learning_curves.png",
                              title=f"{g} on {ds.name}")
        console.print(f"wrote {out / 'train.json'} and {out / 'learning_curves.png'}")


def _print_train(report) -> None:
    s = report.summary()
    metric = "validation error" if s["metric"] == "val_error" else "validation 1 − R²"
    table = Table(title=f"{s['genome']} — {s['seeds']} seeds, {s['diverged']} diverged")
    for col in ("final", "mean ± std", "best", "worst"):
        table.add_column(col, justify="right" if col != "final" else "left")
    for label, key in (("validation loss", "val_loss"), (metric, "val_error")):
        st = s[key]
        if st is None:
            table.add_row(label, "all diverged", "—", "—")
        else:
            table.add_row(label, f"{st['mean']:.4f} ± {st['std']:.4f}", _fmt(st["best"]), _fmt(st["worst"]))
    console.print(table)


# -- entry point -----------------------------------------------------------------------------------


def main() -> None:
    try:
        app()
    except EvoinitError as e:
        err_console.print(f"error: {e}", markup=False, highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)


if __name__ == "__main__":
    main()
