"""What a search is: the ``SearchConfig`` value, its validation, and reading it from TOML.

Everything here determines a search's result; how the search is executed (workers, a cluster,
the output folder) is not part of it. Validation happens here, at the edge, with messages that
name the setting and the allowed values.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace

from evoinit import checks, seeding
from evoinit.data import DataSpec
from evoinit.errors import UsageError, clip, did_you_mean, quoted
from evoinit.genome import SearchSpace
from evoinit.network import TrainSettings

OBJECTIVES = {
    "val_loss": "mean final validation loss over the repeats",
    "val_error": "mean final validation error (1 − R² for regression) over the repeats",
    "n_params": "number of weights and biases",
    "spread": "standard deviation of the final validation loss across the repeats' seeds",
}
SEED_POLICIES = ("distinct", "shared", "inherited")
#: ``prune``: "off", or "halving" — successive halving of each generation's offspring (``rungs``).
PRUNING = ("off", "halving")
#: ``shape``: "generations" (the (μ+λ) GA, a barrier per generation) or "steady" (``steady``: the
#: steady-state GA with a fixed lag, no barrier).
SHAPES = ("generations", "steady")
MAX_ETA = 100
#: The canonical start per activation: Glorot for saturating ones, He for rectifiers, LeCun for SELU.
#: Upper bounds: a population is held in memory as Python objects and every generation trains
#: ``offspring × repeats`` networks; past these a search cannot finish on any machine.
MAX_POPULATION = 10_000
MAX_GENERATIONS = 100_000
MAX_REPEATS = 1_000
_MEMORY = " (every candidate and its evaluations are held in memory)"
CANONICAL_INIT = {"linear": "glorot_uniform", "sigmoid": "glorot_uniform", "tanh": "glorot_uniform",
                  "softsign": "glorot_uniform", "relu": "he_normal", "leaky_relu": "he_normal",
                  "elu": "he_normal", "gelu": "he_normal", "selu": "lecun_normal"}


@dataclass(frozen=True)
class SearchConfig:
    """Everything that determines a search's result (how it is executed — workers, cluster,
    output folder — is not part of it)."""

    dataset: DataSpec | None = DataSpec("digits")   # None: in-memory data (not resumable)
    population: int = 32
    offspring: int | None = None          # λ; default: the population size
    generations: int = 30
    repeats: int = 3
    seed: int = 0
    seed_policy: str = "distinct"
    objectives: tuple = ("val_loss",)
    cxpb: float = 0.5
    mutpb: float = 0.4
    indpb: float = 0.3
    tournament: int = 3
    hall_of_fame: int = 5
    baselines: bool = True
    test: bool = True                     # end by scoring the hall of fame on the test split
    reselect: int = 0                     # new seeds per hall-of-fame member to rank it at the end
    canonical_start: bool = False         # generation 0 holds each activation's canonical start
    space: SearchSpace = SearchSpace()
    train: TrainSettings = TrainSettings(epochs=30)
    islands: int = 1                      # > 1: the island model (evoinit.islands)
    migration_interval: int = 5           # islands: generations between migrations
    migrants: int = 1                     # islands: best individuals each island sends its neighbour
    prune: str = "off"                    # "halving": offspring race through rungs of epochs
    eta: int = 3                          # 1/eta of the offspring go on at each rung
    rungs: tuple = ()                     # epochs where they are ranked; () = E/eta², E/eta
    surrogate: int = 0                    # k > 0: train the best λ of k·λ offspring by a model (surrogate.py)
    shape: str = "generations"            # "steady": the steady-state GA with a fixed lag (evoinit.steady)
    lag: int | None = None                # steady: candidate n is bred once n − lag are folded in; None = offspring

    def __post_init__(self):
        if isinstance(self.dataset, str):
            object.__setattr__(self, "dataset", DataSpec(self.dataset))
        checks.instance("dataset", self.dataset, (DataSpec, type(None)), "a dataset name, path or DataSpec")
        checks.instance("space", self.space, SearchSpace, "a SearchSpace")
        checks.instance("train", self.train, TrainSettings, "a TrainSettings")
        put = functools.partial(object.__setattr__, self)
        put("population", checks.integer("population", self.population, 2, MAX_POPULATION, why=_MEMORY))
        if self.offspring is None:
            put("offspring", self.population)
        put("offspring", checks.integer("offspring", self.offspring, 1, MAX_POPULATION, why=_MEMORY))
        put("generations", checks.integer("generations", self.generations, 0, MAX_GENERATIONS, below="must be >= 0"))
        put("repeats", checks.integer("repeats", self.repeats, 1, MAX_REPEATS))
        put("seed", checks.integer("seed", self.seed, 0, 2**63 - 1, below="must be a non-negative integer"))
        for name in ("cxpb", "mutpb"):
            put(name, checks.number(name, getattr(self, name), 0, 1))
        checks.require(self.cxpb + self.mutpb <= 1, "cxpb and mutpb must be >= 0 with cxpb + mutpb <= 1")
        put("indpb", checks.number("indpb", self.indpb, 0, 1, low_open=True))
        put("tournament", checks.integer("tournament", self.tournament, 2, MAX_POPULATION))
        put("hall_of_fame", checks.integer("hall_of_fame", self.hall_of_fame, 1, MAX_POPULATION))
        put("baselines", checks.flag("baselines", self.baselines))
        put("reselect", checks.integer("reselect", self.reselect, 0, MAX_POPULATION))
        put("canonical_start", checks.flag("canonical_start", self.canonical_start))
        put("test", checks.flag("test", self.test))
        objectives = (self.objectives,) if isinstance(self.objectives, str) else self.objectives
        checks.instance("objectives", objectives, (tuple, list), "a list of objective names")
        objectives = tuple(objectives)
        put("objectives", objectives)
        checks.require(len(objectives) >= 1, "at least one objective is needed")
        checks.choice("seed policy", self.seed_policy, SEED_POLICIES)
        for name in objectives:
            checks.choice("objective", name, tuple(OBJECTIVES))
        if len(set(objectives)) != len(objectives):
            raise UsageError(f"objectives repeat themselves: {', '.join(objectives)}")
        if "spread" in objectives and self.repeats < 2:
            raise UsageError("the 'spread' objective needs repeats >= 2")
        put("islands", checks.integer("islands", self.islands, 1, self.population // 2,
                                      why=" (every island needs a population of at least 2)"))
        checks.require(self.offspring >= self.islands,
                       f"offspring ({self.offspring}) must be at least islands ({self.islands}): every island breeds")
        put("migration_interval", checks.integer("migration_interval", self.migration_interval, 1,
                                                 MAX_GENERATIONS))
        put("migrants", checks.integer("migrants", self.migrants, 0, max(0, self.population // self.islands - 1),
                                       why=" (fewer than an island's population)"))
        if self.space.seed_gene != (self.seed_policy == "inherited"):
            object.__setattr__(self, "space", replace(self.space, seed_gene=self.seed_policy == "inherited"))
        self._check_pruning(put)
        self._check_shape(put)
        put("surrogate", checks.integer("surrogate", self.surrogate, 0, MAX_SURROGATE))
        checks.require(not self.surrogate or (self.islands == 1 and self.prune == "off" and len(objectives) == 1
                                              and self.shape == "generations"),
                       "surrogate pre-selection runs with one objective, no islands, no pruning and the "
                       "generations shape; choose one")

    def _check_shape(self, put) -> None:
        checks.choice("shape", self.shape, SHAPES)
        if self.shape == "generations":
            checks.require(self.lag is None, "lag applies to shape = 'steady'; with 'generations' leave it out")
            return
        checks.require(self.islands == 1 and self.prune == "off",
                       "shape = 'steady' runs without islands and without pruning; choose one")
        put("lag", checks.integer("lag", self.offspring if self.lag is None else self.lag, 0,
                                  MAX_POPULATION * MAX_GENERATIONS))

    def _check_pruning(self, put) -> None:
        checks.choice("prune", self.prune, PRUNING)
        put("eta", checks.integer("eta", self.eta, 2, MAX_ETA))
        rungs = self.rungs
        checks.instance("rungs", rungs, (tuple, list), "a list of epochs, e.g. [3, 10]")
        rungs = tuple(checks.integer("rungs", r, 1, self.train.epochs - 1,
                                     why=" (a rung is an epoch before the last, where offspring are ranked)")
                      for r in rungs)
        checks.require(list(rungs) == sorted(set(rungs)), f"rungs must increase, got {list(rungs)}")
        put("rungs", rungs)
        checks.require(self.prune != "off" or (self.eta == 3 and not rungs),
                       "eta and rungs apply to prune = 'halving'; with prune 'off' leave them out")
        checks.require(self.prune == "off" or self.islands == 1,
                       "prune = 'halving' and islands > 1 do not run together yet; choose one")

    @property
    def rung_epochs(self) -> tuple:
        """The epochs where offspring are ranked (none without pruning): ``rungs``, or E/η², E/η
        rounded down, those of at least one epoch and before E."""
        if self.prune == "off":
            return ()
        if self.rungs:
            return self.rungs
        epochs = self.train.epochs
        return tuple(sorted({epochs // self.eta**k for k in (2, 1)} - {0, epochs}))

    def to_json(self) -> dict:
        """The settings as JSON. The island, pruning and surrogate settings are written only when
        they are not the default, so a plain search writes the files it wrote before they existed
        (and older run folders resume with their settings given)."""
        d = {f.name: getattr(self, f.name) for f in fields(self)
             if f.name not in _UNLESS_DEFAULT or getattr(self, f.name) != f.default}
        if self.prune == "off":
            for name in ("prune", "eta", "rungs"):
                d.pop(name)
        else:
            d["rungs"] = list(self.rungs)
        return d | {"dataset": None if self.dataset is None else self.dataset.to_json(),
                    "objectives": list(self.objectives),
                    "space": self.space.to_json(), "train": self.train.to_json()}

    @classmethod
    def from_json(cls, d: dict) -> "SearchConfig":
        d = dict(d)
        return cls(**d | {"dataset": None if d["dataset"] is None else DataSpec.from_json(d["dataset"]),
                          "objectives": tuple(d["objectives"]), "rungs": tuple(d.get("rungs", ())),
                          "space": SearchSpace.from_json(d["space"]),
                          "train": TrainSettings.from_json(d["train"])})


#: Largest pool factor of ``surrogate`` (candidates bred per offspring trained).
MAX_SURROGATE = 1000
#: Setups a surrogate search must have trained before its forest ranks the final hall of fame.
#: Measured (docs/bench_search.md, ranked against the measured order, 5 tasks × 10 run seeds): at
#: 18 and 32 setups the ranking is worse (1/43/6, 2/40/8), at 64 even (4/43/3), at 96 better (5/43/2).
RANK_MIN = 64


def ranks_by_model(config: "SearchConfig", evaluations: dict) -> bool:
    """Whether a finished search orders its hall of fame by the forest's prediction
    (``Search._rank``) rather than by measured fitness: a surrogate search that trained at least
    ``RANK_MIN`` setups. ``evaluations``: (genome, seed key) → evaluation, as the search's cache
    or a run folder's log holds them (final scoring and re-estimates are not setups trained)."""
    if not config.surrogate or len(config.objectives) != 1:
        return False
    return len({g for (g, key), e in evaluations.items() if key[0] in seeding.CANDIDATES and not e.pruned}) >= RANK_MIN

#: Fields written to JSON only when they differ from their default.
_UNLESS_DEFAULT = ("islands", "migration_interval", "migrants", "surrogate", "shape", "lag")

#: Floating-point operations per second one core gives the trainer (PERFORMANCE.md: ≈ 40·10⁹ on
#: digits); a rough figure for the estimate of a search's length, not a measurement of this machine.
FLOPS_PER_CORE = 3e10
#: Memory of one curve value as the search keeps it (a Python float in a tuple) and of the rest
#: of one evaluation record: the basis of ``check_fits``.
_BYTES_PER_VALUE = 32
_BYTES_PER_EVALUATION = 600


def work(config: SearchConfig, dataset) -> dict:
    """A rough size of a search: trainings (first population + offspring per generation, × repeats,
    + the hall of fame and baselines scored at the end), training rows, and floating-point
    operations for a typical network of the space (mean depth, geometric-mean width): ≈ 6 per
    weight per row per epoch (forward 2, backward 4). ``seconds`` is that on one core."""
    space = config.space
    depth = (space.layers[0] + space.layers[1]) / 2
    width = (space.widths[0] * space.widths[1]) ** 0.5
    weights = dataset.n_features * width + (depth - 1) * width * width + width * dataset.n_outputs
    trainings = (config.population + config.offspring * config.generations + 2 * config.hall_of_fame) * config.repeats
    rows = len(dataset.y_train)
    operations = 6.0 * weights * rows * config.train.epochs * trainings
    return {"trainings": trainings, "rows": rows, "operations": operations,
            "seconds": operations / FLOPS_PER_CORE,
            "memory": trainings * (3 * config.train.epochs * _BYTES_PER_VALUE + _BYTES_PER_EVALUATION)}


def check_fits(config: SearchConfig, dataset, memory_bytes: int | None) -> None:
    """Refuse a search whose evaluations (kept in memory, three curves each, for the hall of fame,
    resume and the report) would not fit in ``memory_bytes`` (this machine's RAM; None: unknown)."""
    need = work(config, dataset)["memory"]
    if memory_bytes and need > memory_bytes:
        raise UsageError(f"this search keeps up to {work(config, dataset)['trainings']:,} evaluations of "
                         f"{config.train.epochs:,} epochs in memory, about {need / 2**30:,.0f} GiB; this "
                         f"machine has {memory_bytes / 2**30:,.0f} GiB: lower population, offspring, "
                         "generations, repeats or epochs")


def long_search(config: SearchConfig, dataset, workers: int) -> str | None:
    """A line with the estimated work of a search expected to take more than an hour on
    ``workers`` processes, else None."""
    w = work(config, dataset)
    hours = w["seconds"] / 3600 / workers
    if hours < 1:
        return None
    return (f"note: estimated work: {w['trainings']:,} trainings × {config.train.epochs:,} epochs on "
            f"{w['rows']:,} rows ≈ {w['operations']:.1e} floating-point operations, roughly "
            f"{hours:,.0f} hours on {workers} worker{'s' if workers > 1 else ''} (a typical network of "
            "the space; a first guess, not a promise)")


# -- building a config from options and TOML files ----------------------------------------------------

#: Execution settings: how a search runs, not what it finds.
EXECUTION = {"n_jobs": int, "scheduler": str, "out": str}
_TOP = {"dataset": str, "target": str, "population": int, "offspring": int, "generations": int,
        "repeats": int, "seed": int, "seed_policy": str, "objectives": list[str], "cxpb": float,
        "mutpb": float, "indpb": float, "tournament": int, "hall_of_fame": int, "baselines": bool, "test": bool,
        "reselect": int, "canonical_start": bool, "islands": int, "migration_interval": int,
        "migrants": int, "prune": str, "eta": int, "rungs": list[int], "surrogate": int, "shape": str,
        "lag": int, "epochs": int} | EXECUTION
_TABLES = {
    "space": {"layers": list[int], "widths": list[int], "activations": list[str], "inits": list[str],
              "scales": list[float], "learning_rates": list[float]},
    "train": {f.name: f.type for f in fields(TrainSettings)},
    "data": {"val_size": float, "test_size": float, "n_samples": int, "noise": float, "seed": int},
}
_PAIRS = ("layers", "widths", "scales", "learning_rates")   # [min, max]
_TYPES = {"int": int, "float": float, "bool": bool, "str": str}
#: Bounds of the search space the CLI and config files accept: beyond them a network is no longer
#: "small" and one population of them would not fit in memory.
MAX_WIDTH = 4096
MAX_LAYERS = 16


#: A config file is a few lines: past these it is not a search's settings (and would be echoed or
#: recursed into at length).
MAX_TOML_BYTES = 2**20
MAX_TOML_TEXT = 4096          # characters in one string (a path is at most 4096 bytes on Linux)
MAX_TOML_DEPTH = 4            # lists inside lists (no setting nests deeper than a list)


def _bounded(value, name: str, fail, depth: int = 0) -> None:
    """Refuse a string longer than ``MAX_TOML_TEXT`` or lists nested past ``MAX_TOML_DEPTH``."""
    if isinstance(value, str) and len(value) > MAX_TOML_TEXT:
        raise fail(f"{name} is a string of {len(value):,} characters ({quoted(value)}); at most "
                   f"{MAX_TOML_TEXT:,} are read")
    if isinstance(value, list):
        if depth >= MAX_TOML_DEPTH:
            raise fail(f"{name} nests lists more than {MAX_TOML_DEPTH} deep")
        for v in value:
            _bounded(v, name, fail, depth + 1)


def _type_ok(value, expected) -> bool:
    """``value`` is of ``expected``: a type, ``list[T]``, or a TrainSettings annotation string."""
    if isinstance(expected, str):
        return any(_type_ok(value, _TYPES.get(t.strip(), type(None))) for t in expected.split("|"))
    if hasattr(expected, "__origin__"):  # list[T]
        return isinstance(value, list) and all(_type_ok(v, expected.__args__[0]) for v in value)
    if expected is float:
        return checks.is_real(value) or isinstance(value, float)  # inf/nan: the setting's own check says why
    if expected is int:
        return checks.is_int(value)
    return isinstance(value, expected)


def _type_name(expected) -> str:
    if isinstance(expected, str):
        return expected.replace("str", "string").replace("int", "integer").replace("float", "number")
    if hasattr(expected, "__origin__"):
        return f"a list of {_type_name(expected.__args__[0])}s"
    return {int: "integer", float: "number", str: "string", bool: "true or false"}.get(expected, expected.__name__)


def _line_of(text: str, key: str, table: str | None) -> str:
    """' (line N)' where ``key =`` is written in the TOML text (inside ``[table]`` if given, or as
    ``table.key =``); for ``key=None``, where ``[table]`` starts."""
    import re

    in_table = table is None
    for n, line in enumerate(text.splitlines(), 1):
        header = re.match(r"\s*\[([^\]]+)\]", line)
        if header:
            in_table = header.group(1).strip() == table
            if table and in_table and key is None:
                return f" (line {n})"
            continue
        if key and in_table and re.match(rf"\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return f" (line {n})"
        if key and table and re.match(rf"\s*{re.escape(table)}\s*\.\s*{re.escape(key)}\s*=", line):
            return f" (line {n})"
    return ""


def load_toml(path) -> dict:
    """Options from a TOML file, checked: syntax, unknown keys (with a suggestion), wrong types
    (also inside lists) and [min, max] pairs of the wrong length name the key and the line.
    Returns a flat dict (tables nested as dicts) for ``build``."""
    import tomllib
    from pathlib import Path

    from evoinit.errors import ConfigError

    path = Path(path)
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_TOML_BYTES + 1)
        text = data.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file {path} does not exist") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text; is it a TOML file?") from None
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror or e}") from None
    if len(data) > MAX_TOML_BYTES:
        raise ConfigError(f"config file {path} is larger than {MAX_TOML_BYTES // 2**20} MiB; a search's "
                          "settings take a few lines")
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: TOML syntax error: {clip(e, 120)}") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to be a search's settings (tables and lists "
                          f"go {MAX_TOML_DEPTH} levels deep at most)") from None

    def fail(key, table, message):
        where = _line_of(text, key, table) or (_line_of(text, None, table) if table else "")
        return ConfigError(f"{path}{where}: {message}")

    def unknown_key(key, known, table=None):
        hint = did_you_mean(key, known) if len(key) <= MAX_TOML_TEXT else ""
        inside = f" in [{table}]" if table else ""
        listing = ", ".join(list(known) + ([] if table else [f"[{t}]" for t in _TABLES]))
        return fail(key, table, f"unknown key '{clip(key)}'{inside}{hint}; known: {listing}")

    def check(key, value, expected, table=None):
        name = f"[{table}] {key}" if table else key
        if not _type_ok(value, expected):
            raise fail(key, table, f"{name} has the wrong type ({type(value).__name__}: {quoted(value)}; "
                                   f"expected {_type_name(expected)})")
        if table == "space" and key in _PAIRS and len(value) != 2:
            raise fail(key, table, f"{name} must be [min, max], got {quoted(value)}")
        _bounded(value, name, lambda message: fail(key, table, message))

    for key, value in raw.items():
        if key in _TABLES:
            if not isinstance(value, dict):
                raise fail(key, None, f"{key} must be a table ([{key}] with keys "
                                      f"{', '.join(_TABLES[key])}), got {type(value).__name__}")
            for sub, v in value.items():
                if sub not in _TABLES[key]:
                    raise unknown_key(sub, _TABLES[key], key)
                check(sub, v, _TABLES[key][sub], key)
        elif key in _TOP:
            check(key, value, _TOP[key])
        else:
            raise unknown_key(key, _TOP)
    return raw


def build(options: dict) -> tuple[SearchConfig, dict]:
    """A ``SearchConfig`` and the execution settings from merged options (CLI over TOML over
    defaults). ``options`` uses the TOML layout: top-level keys plus [space], [train], [data]."""
    options = dict(options)
    execution = {k: options.pop(k) for k in list(options) if k in EXECUTION}
    space = dict(options.pop("space", {}) or {})
    train = dict(options.pop("train", {}) or {})
    data = dict(options.pop("data", {}) or {})
    if "epochs" in options:
        train["epochs"] = options.pop("epochs")
    dataset = options.pop("dataset", "digits")
    target = options.pop("target", None)
    if "objectives" in options:
        options["objectives"] = tuple(options["objectives"])
    for key in _TABLES["space"]:
        if key in space and space[key] is not None:
            space[key] = tuple(space[key])
            if key in _PAIRS and len(space[key]) != 2:
                raise UsageError(f"space {key} must be [min, max], got {list(space[key])}")
    try:
        for key, most in (("widths", MAX_WIDTH), ("layers", MAX_LAYERS)):
            if space.get(key) is not None and not max(space[key]) <= most:
                raise UsageError(f"{key} must be at most {most}, got {list(space[key])}")
        config = SearchConfig(dataset=DataSpec(dataset, target=target, **data),
                              space=SearchSpace(**space), train=replace(SearchConfig.train, **train),
                              **options)
    except (TypeError, ValueError) as e:
        raise UsageError(f"bad search settings: {e}") from None
    return config, execution
