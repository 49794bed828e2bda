"""The commands on one setup: ``evoinit train`` (one setup from N seeds) and ``evoinit export``
(a setup or a run's trained network as PyTorch / Keras code). ``app`` registers them."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer

from evoinit import data as _data
from evoinit.cli.args import (
    hidden_widths,
)
from evoinit.cli.terminal import (
    console,
    print_train,
    shown,
)
from evoinit.errors import RunFolderError, UsageError, clip
from evoinit.nn.training import TrainSettings

#: The defaults the help texts show: the library's own, never repeated here.
_T = TrainSettings()


def train(
    dataset: str = typer.Option("digits", "--dataset", "-d", help="Dataset name or .csv/.npz path."),
    target: Optional[str] = typer.Option(None, help="Target column of a CSV file."),
    test_file: Optional[str] = typer.Option(None, help="A second .csv/.npz file whose rows are the test "
                                                       "split (same columns; validation still comes from "
                                                       "--dataset's rows)."),
    val_size: float = typer.Option(0.2, help="Share of the training rows held out for validation. 0: train "
                                            "on every one (a dataset with its own test rows only; the "
                                            "curves are then drawn on the test rows, no early stopping)."),
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

      evoinit train --dataset mnist1d --val-size 0 --hidden 100,100 --activation relu --init glorot_uniform
        --optimizer adam --lr 0.01 --batch-size 100 --epochs 150   (the MNIST-1D paper's MLP)
    """
    from evoinit.ga.evaluate import train as run_train
    from evoinit.ga.genome import Genome

    g = Genome.parse(genome) if genome else Genome(hidden_widths(hidden), activation, init, scale)
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, optimizer=optimizer, learning_rate=lr,
                              momentum=momentum, nesterov=nesterov, weight_decay=weight_decay, dtype=dtype,
                              patience=patience, monitor=monitor)
    spec = _data.DataSpec(dataset, target=target, test_file=test_file, val_size=val_size)
    ds = _data.load(spec)
    if not len(ds.y_val):
        console.print("val_size 0: every training row is trained on; the validation columns are the test "
                      "rows (nothing is chosen on them)")
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
    from evoinit.interop.runsetup import read_run

    if str(to).strip().lower() not in _export.FRAMEWORKS:
        raise UsageError(f"--to must be one of {', '.join(_export.FRAMEWORKS)}, got {to!r}")
    if trained:
        export_trained(source, to, rank, out)
        return
    settings = None
    if os.path.isdir(source):  # False, not an error, for a setup's text (which may be too long for a path)
        setup = read_run(source, rank)
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


