"""evoinit: search how a small neural network should be started.

The Python API under the CLI::

    import evoinit
    report = evoinit.train("64-32 tanh glorot_uniform ×1", "digits", seeds=10)
"""

from evoinit.data import DataSpec, Dataset, load
from evoinit.evaluate import Evaluation, TrainReport, train
from evoinit.genome import Genome, SearchSpace
from evoinit.network import Start, TrainResult, TrainSettings, train_population

__version__ = "0.1.0"

__all__ = ["DataSpec", "Dataset", "Evaluation", "Genome", "SearchSpace", "Start", "TrainReport",
           "TrainResult", "TrainSettings", "load", "train", "train_population", "__version__"]
