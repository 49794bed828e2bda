"""evoinit: search how a small neural network should be started.

The Python API under the CLI::

    import evoinit
    result = evoinit.search("digits", generations=10, out="runs/digits")     # evoinit search
    result = evoinit.resume("runs/digits")                                    # evoinit resume
    summary = evoinit.report("runs/digits")                                   # evoinit report
    trained = evoinit.train("64-32 tanh glorot_uniform ×1", "digits", seeds=10)  # evoinit train
    evoinit.initializers.names(), evoinit.activations.names(), evoinit.data.names()
    code = evoinit.export.export(evoinit.Genome.parse("64 relu he_normal ×1"), 64, 10, "classification",
                                 to="torch")                                   # evoinit export
    model = evoinit.EvoMLPClassifier("64 relu he_normal ×1").fit(X, y)        # scikit-learn

The package, one folder per layer (arrows point down only; ``tests/test_architecture.py``)::

    errors, checks, seeding   leaves used everywhere
    nn/         activations, initializers, the population trainer, diagnostics
    data/       built-in datasets, CSV/NPZ files, split and scaling
    ga/         config, genome, evaluation, backends, the engine; variants/ beside it
    runfolder/  the run folder: writing, locking, the typed read side
    reporting/  figures, gene importance, the HTML page
    interop/    scikit-learn estimators, export to PyTorch / Keras
    cli/        the typer app

Names are imported on first use (PEP 562), so ``import evoinit`` — and the start of the
``evoinit`` command, which must answer Ctrl-C from its first instant — costs nothing until
NumPy, scikit-learn or DEAP is needed.
"""

import importlib

__version__ = "0.1.0"

#: Modules reachable as attributes: the registries, the datasets, export and the estimators.
_MODULES = {"activations": "nn.activations", "initializers": "nn.initializers", "data": "data",
            "export": "interop.export", "sklearn": "interop.sklearn"}
#: Public names and the module that defines each.
_NAMES = {
    "search": "api", "resume": "api", "opened": "api", "random_search": "ga.baselines",
    "report": "reporting.report",
    "SearchConfig": "ga.config",
    "DataSpec": "data.spec", "Dataset": "data.spec", "load": "data.dataset",
    "from_arrays": "data.dataset",
    "Evaluation": "ga.evaluate", "TrainOutcome": "ga.evaluate", "train": "ga.evaluate",
    "fitness": "ga.evaluate",
    "Genome": "ga.genome", "SearchSpace": "ga.genome",
    "Start": "nn.training", "TrainResult": "nn.training", "TrainSettings": "nn.training",
    "TrainState": "nn.training", "train_population": "nn.network", "initial_states": "nn.network",
    "continue_training": "nn.network",
    "Candidate": "ga.results", "Progress": "ga.results", "SearchResult": "ga.results",
    "EvoMLPClassifier": "interop.sklearn", "EvoMLPRegressor": "interop.sklearn",
}

__all__ = sorted([*_MODULES, *_NAMES, "__version__"])


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"evoinit.{_MODULES[name]}")
    if name in _NAMES:
        value = getattr(importlib.import_module(f"evoinit.{_NAMES[name]}"), name)
        globals()[name] = value  # once is enough
        return value
    raise AttributeError(f"module 'evoinit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
