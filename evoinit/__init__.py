"""evoinit: search how a small neural network should be started.

The Python API under the CLI::

    import evoinit
    result = evoinit.search("digits", generations=10, out="runs/digits")   # evoinit search
    print(result.best, result.hall_of_fame[0]["test"])
    trained = evoinit.train("64-32 tanh glorot_uniform ×1", "digits", seeds=10)  # evoinit train
    evoinit.initializers.names(), evoinit.activations.names(), evoinit.data.names()
    code = evoinit.export.export(evoinit.Genome.parse("64 relu he_normal ×1"), 64, 10, "classification",
                                 to="torch")                                           # evoinit export
    states = evoinit.continue_training(evoinit.initial_states(starts, orders), ds, activation="tanh",
                                       until=5)                 # the trainer, paused and continued

Names are imported on first use (PEP 562), so ``import evoinit`` — and the start of the
``evoinit`` command, which must answer Ctrl-C from its first instant — costs nothing until
NumPy, scikit-learn or DEAP is needed.
"""

import importlib

__version__ = "0.1.0"

#: Submodules reachable as attributes (``evoinit.search(...)`` runs a search and
#: ``evoinit.report(RUN)`` reports on one: those modules are callable).
_MODULES = ("activations", "data", "export", "initializers", "report", "search", "sklearn")
#: Public names and the module each comes from.
_NAMES = {
    "SearchConfig": "config",
    "DataSpec": "data", "Dataset": "data", "load": "data", "from_arrays": "data",
    "Evaluation": "evaluate", "TrainOutcome": "evaluate", "train": "evaluate", "fitness": "evaluate",
    "Genome": "genome", "SearchSpace": "genome",
    "Start": "network", "TrainResult": "network", "TrainSettings": "network", "train_population": "network",
    "TrainState": "network", "initial_states": "network", "continue_training": "network",
    "Candidate": "search", "Progress": "search", "SearchResult": "search", "opened": "search",
    "random_search": "search", "resume": "search",
}

__all__ = sorted([*_MODULES, *_NAMES, "__version__"])


def __getattr__(name: str):
    if name in _MODULES:
        return importlib.import_module(f"evoinit.{name}")
    if name in _NAMES:
        value = getattr(importlib.import_module(f"evoinit.{_NAMES[name]}"), name)
        globals()[name] = value  # once is enough
        return value
    raise AttributeError(f"module 'evoinit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
