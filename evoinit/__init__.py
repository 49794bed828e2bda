"""evoinit: search how a small neural network should be started.

The Python API under the CLI::

    import evoinit
    result = evoinit.search("digits", generations=10, out="runs/digits")   # evoinit search
    print(result.best, result.hall_of_fame[0]["test"])
    report = evoinit.train("64-32 tanh glorot_uniform ×1", "digits", seeds=10)  # evoinit train
    evoinit.initializers.names(), evoinit.activations.names(), evoinit.data.names()
"""

from evoinit import activations, data, initializers, search  # evoinit.search(...) runs a search
from evoinit.config import SearchConfig
from evoinit.data import DataSpec, Dataset, load
from evoinit.evaluate import Evaluation, TrainReport, train
from evoinit.genome import Genome, SearchSpace
from evoinit.network import Start, TrainResult, TrainSettings, train_population
from evoinit.search import SearchResult, random_search, report, resume

__version__ = "0.1.0"

__all__ = ["DataSpec", "Dataset", "Evaluation", "Genome", "SearchConfig", "SearchResult",
           "SearchSpace", "Start", "TrainReport", "TrainResult", "TrainSettings", "activations",
           "data", "initializers", "load", "random_search", "report", "resume", "search", "train",
           "train_population", "__version__"]
