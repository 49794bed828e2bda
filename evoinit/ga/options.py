"""Every option of a search, declared once: the one table the rest is derived from.

As scikit-learn's ``_parameter_constraints``, each ``Option`` says where its value lives (a
``SearchConfig`` field, or a key of the ``[space]``, ``[train]`` or ``[data]`` table, or how the
search runs), its type, its help line, its CLI flag and the rule that checks it. From ``OPTIONS``:

- ``SearchConfig`` checks its fields with the options' rules (one wording, in ``checks``);
- ``configfile.load_toml`` takes the TOML keys and their types;
- ``cli`` builds ``evoinit search``'s flags, their help and the defaults it shows, and turns the
  text typed after them into values (``parse``).

Adding a search option is one line here, a field of ``SearchConfig`` (or the trainer's settings),
and the code that uses it. Options without a flag are set in a TOML file or from Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Callable

from evoinit import checks
from evoinit.errors import UsageError

#: Upper bounds: a population is held in memory as Python objects and every generation trains
#: ``offspring × repeats`` networks; past these a search cannot finish on any machine.
MAX_POPULATION = 10_000
MAX_GENERATIONS = 100_000
MAX_REPEATS = 1_000
MAX_ETA = 100
MAX_SURROGATE = 1000   # candidates bred per offspring trained
_MEMORY = " (every candidate and its evaluations are held in memory)"

OBJECTIVES = {
    "val_loss": "mean final validation loss over the repeats",
    "val_error": "mean final validation error (1 − R² for regression) over the repeats",
    "n_params": "number of weights and biases",
    "spread": "standard deviation of the final validation loss across the repeats' seeds",
}
SEED_POLICIES = ("distinct", "shared", "inherited")
#: ``prune``: "off", or "halving" — successive halving of each generation's offspring.
PRUNING = ("off", "halving")
#: ``shape``: "generations" (the (μ+λ) GA, a barrier per generation) or "steady" (the steady-state
#: GA with a fixed lag, no barrier).
SHAPES = ("generations", "steady")


@dataclass(frozen=True)
class Option:
    """One option. ``table``: None (a ``SearchConfig`` field or the ``epochs`` shortcut), "space",
    "train" or "data" (a key of that TOML table), or "run" (how the search runs, not what it
    finds: never part of its config). ``kind``: the TOML type — "int", "float", "str", "bool",
    "list[str]", "list[int]", "pair[int]", "pair[float]". ``flag``: the CLI flag (None: none).
    ``default``: the default as help shows it (None: read off ``SearchConfig()``). ``check``: the
    rule of a top-level field, ``check(name, value) -> value``."""

    key: str
    kind: str
    help: str
    table: str | None = None
    flag: str | None = None
    default: str | None = None
    check: Callable | None = None

    @property
    def param(self) -> str:
        """The name of the CLI function's parameter."""
        return (self.flag or self.key).lstrip("-").replace("-", "_")


def _int(low=None, high=None, **kw):
    return partial(checks.integer, low=low, high=high, **kw)


def _prob(**kw):
    return partial(checks.number, low=0, high=1, **kw)


def _choice(allowed):
    return lambda name, value: checks.choice(name.replace("_", " "), value, allowed)


def _flag(name, value):
    return checks.flag(name, value)


O = Option
OPTIONS: tuple[Option, ...] = (
    O("dataset", "str", "Dataset name or .csv/.npz path", flag="--dataset", default="digits"),
    O("target", "str", "Target column of a CSV file", flag="--target", default=""),
    O("test_file", "str", "A file of test rows (same columns); the final scores use exactly these rows",
      flag="--test-file", default=""),
    O("population", "int", "Population size μ", flag="--population",
      check=_int(2, MAX_POPULATION, why=_MEMORY)),
    O("offspring", "int", "Offspring per generation λ", flag="--offspring", default="= population",
      check=_int(1, MAX_POPULATION, why=_MEMORY)),
    O("generations", "int", "Generations after the first", flag="--generations",
      check=_int(0, MAX_GENERATIONS, below="must be >= 0")),
    O("epochs", "int", "Training epochs per candidate (the [train] table's epochs)", flag="--epochs"),
    O("repeats", "int", "Seeds per candidate; fitness is their mean", flag="--repeats", check=_int(1, MAX_REPEATS)),
    O("seed", "int", "Run seed: same seed, same result on any backend", flag="--seed",
      check=_int(0, 2**63 - 1, below="must be a non-negative integer")),
    O("seed_policy", "str", " | ".join(SEED_POLICIES), flag="--seed-policy", check=_choice(SEED_POLICIES)),
    O("objectives", "list[str]", f"Comma-separated: {', '.join(OBJECTIVES)}; two or more → NSGA-II. "
      "Where good networks overfit (long trainings, e.g. MNIST-1D with Adam), the last epoch's val_loss "
      "rewards networks too small to: use --patience 20 --monitor val_error --objectives val_error",
      flag="--objectives"),
    O("surrogate", "int", "Breed K×λ offspring and train the λ a random forest of everything trained so far "
      "expects to improve most; the forest also ranks the final hall of fame once 64 setups are trained. "
      "On by default wherever it runs (one objective, no pruning, the generations shape): it beat the "
      "plain GA on the benchmark at both budgets (docs/bench_search.md); 0 = the plain GA",
      flag="--surrogate", check=_int(0, MAX_SURROGATE), default="30"),
    O("prune", "str", f"{' | '.join(PRUNING)}: halving races each generation's offspring through rungs of "
      "epochs; saves CPU time, no better search at equal time (docs/bench_search.md)", flag="--prune",
      check=_choice(PRUNING)),
    O("eta", "int", "With --prune halving: 1/eta of the offspring go on at each rung", flag="--eta",
      check=_int(2, MAX_ETA)),
    O("rungs", "list[int]", "With --prune halving: the epochs where offspring are ranked, comma-separated",
      flag="--rungs", default="E/eta², E/eta"),
    O("shape", "str", f"{' | '.join(SHAPES)}: steady breeds candidate n once the results of candidates before "
      "n - LAG are folded in, in order, so cluster workers never wait for a generation's slowest network; "
      "same files on any workers (docs/cluster.md)", flag="--shape", check=_choice(SHAPES)),
    O("lag", "int", "With --shape steady: candidates bred ahead of the last one folded in; larger keeps more "
      "workers busy, breeds from older populations", flag="--lag", default="--offspring"),
    O("cxpb", "float", "Probability an offspring is a crossover", check=_prob()),
    O("mutpb", "float", "Probability an offspring is a mutation", check=_prob()),
    O("indpb", "float", "Probability each gene of a mutated offspring changes", check=_prob(low_open=True)),
    O("tournament", "int", "Tournament size of parent selection", check=_int(2, MAX_POPULATION)),
    O("hall_of_fame", "int", "Setups kept in the hall of fame", check=_int(1, MAX_POPULATION)),
    O("baselines", "bool", "Score the canonical start beside each hall-of-fame setup", check=_flag),
    O("test", "bool", "End by scoring the hall of fame on the test split", check=_flag),
    O("inits", "list[str]", "Allowed init schemes, comma-separated", table="space", flag="--inits", default="all"),
    O("activations", "list[str]", "Allowed activations, comma-separated", table="space", flag="--activations",
      default="all"),
    O("layers", "pair[int]", "Hidden layers MIN,MAX", table="space", flag="--layers"),
    O("widths", "pair[int]", "Hidden widths MIN,MAX", table="space", flag="--widths"),
    O("scales", "pair[float]", "Init scale MIN,MAX, log-uniform", table="space", flag="--scales"),
    O("learning_rates", "pair[float]", "Make the learning rate a gene: MIN,MAX", table="space",
      flag="--learning-rates", default=""),
    O("learning_rate", "float", "Learning rate when it is not a gene", table="train", flag="--lr"),
    O("optimizer", "str", "sgd or adam", table="train", flag="--optimizer"),
    O("batch_size", "int", "Minibatch size", table="train", flag="--batch-size"),
    O("momentum", "float", "SGD momentum", table="train", flag="--momentum"),
    O("weight_decay", "float", "L2 weight decay λ (gradient += λ·w)", table="train", flag="--weight-decay"),
    O("patience", "int", "Early stopping: stop each network this many epochs past its best validation "
      "epoch and keep it there (fitness and test scores from that epoch)", table="train", flag="--patience",
      default="off"),
    O("monitor", "str", "With --patience: val_loss or val_error, the score whose best epoch is kept",
      table="train", flag="--monitor"),
    O("val_size", "float", "Share of the rows held out for validation", table="data"),
    O("test_size", "float", "Share of the rows held out for the final test", table="data"),
    O("n_samples", "int", "Rows a generated dataset draws", table="data"),
    O("noise", "float", "Noise of a generated dataset", table="data"),
    O("seed", "int", "Seed of the split (and of a generated dataset)", table="data"),
    O("n_jobs", "int", "Worker processes; -1 = all cores (more than the cores there are is capped, with a note)",
      table="run", flag="--n-jobs", default="-1"),
    O("scheduler", "str", "Run the evaluations on the Dask cluster whose scheduler is at tcp://HOST:PORT "
      "(ignores --n-jobs)", table="run", flag="--scheduler", default=""),
    O("out", "str", "Run folder", table="run", flag="--out", default="runs/<dataset>-<timestamp>"),
)
del O

#: The top-level keys of a search's TOML file and ``SearchConfig`` fields with a rule.
CHECKED = tuple(o for o in OPTIONS if o.table is None and o.check is not None)


def keys(table: str | None) -> dict[str, str]:
    """TOML key -> kind of the options of ``table`` (None: the top level, with the run's own)."""
    return {o.key: o.kind for o in OPTIONS if o.table == table or (table is None and o.table == "run")}


def flags() -> tuple[Option, ...]:
    """The options ``evoinit search`` has a flag for, in the order ``--help`` shows them."""
    return tuple(o for o in OPTIONS if o.flag)


def parse(option: Option, text: str):
    """The value of ``option`` from the text typed after its flag; a bad text is one line naming
    the flag, as the user typed it."""
    kind, flag = option.kind, option.flag
    parts = [t.strip() for t in text.replace(":", ",").split(",") if t.strip()] if kind != "str" else [text]
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
        if kind == "list[str]":
            return parts
        if kind == "list[int]":
            return [int(p) for p in parts]
        if kind.startswith("pair"):
            values = [(int if kind == "pair[int]" else float)(p) for p in parts]
            if len(values) == 2:
                return values
            raise ValueError
    except ValueError:
        what = {"int": "an integer", "float": "a number", "list[int]": "comma-separated integers like 3,10"}
        raise UsageError(f"{flag} must be {what.get(kind, 'two numbers MIN,MAX')}, got {text[:80]!r}") from None
    return text
