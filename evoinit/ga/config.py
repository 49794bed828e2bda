"""What a search is: the ``SearchConfig`` value and its validation.

Everything here determines a search's result; how the search is executed (workers, a cluster,
the output folder) is not part of it. Each field's rule is its option's (``options.OPTIONS``);
the rules that tie fields together are here. Reading a TOML file is ``configfile``'s, the size
of a search ``budget``'s.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields, replace

from evoinit import checks, seeding
from evoinit.data.spec import DataSpec
from evoinit.errors import UsageError
from evoinit.ga.genome import SearchSpace
from evoinit.ga.options import CHECKED, MAX_GENERATIONS, MAX_POPULATION, OBJECTIVES
from evoinit.nn.training import TrainSettings

#: The canonical start per activation: Glorot for saturating ones, He for rectifiers, LeCun for SELU.
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
    space: SearchSpace = SearchSpace()
    train: TrainSettings = TrainSettings(epochs=30)
    prune: str = "off"                    # "halving": offspring race through rungs of epochs
    eta: int = 3                          # 1/eta of the offspring go on at each rung
    rungs: tuple = ()                     # epochs where they are ranked; () = E/eta², E/eta
    surrogate: int | None = None          # k > 0: train the best λ of k·λ offspring by a model (surrogate.py);
                                          # None: DEFAULT_SURROGATE wherever it runs, else 0
    shape: str = "generations"            # "steady": the steady-state GA with a fixed lag (evoinit.ga.variants.steady)
    lag: int | None = None                # steady: candidate n is bred once n − lag are folded in; None = offspring

    def __post_init__(self):
        if isinstance(self.dataset, str):
            object.__setattr__(self, "dataset", DataSpec(self.dataset))
        checks.instance("dataset", self.dataset, (DataSpec, type(None)), "a dataset name, path or DataSpec")
        if self.dataset is not None and self.dataset.val_size == 0:
            raise UsageError("val_size must be above 0 for a search: it chooses setups on the validation rows")
        checks.instance("space", self.space, SearchSpace, "a SearchSpace")
        checks.instance("train", self.train, TrainSettings, "a TrainSettings")
        put = functools.partial(object.__setattr__, self)
        if self.offspring is None:
            put("offspring", self.population)
        if self.surrogate is None:   # the default: the model-guided GA wherever it runs (measured)
            single = isinstance(self.objectives, str) or (isinstance(self.objectives, (tuple, list))
                                                          and len(self.objectives) == 1)
            put("surrogate", DEFAULT_SURROGATE if single and self.prune == "off" and self.shape == "generations" else 0)
        for option in CHECKED:   # each field's own rule
            put(option.key, option.check(option.key, getattr(self, option.key)))
        checks.require(self.cxpb + self.mutpb <= 1, "cxpb and mutpb must be >= 0 with cxpb + mutpb <= 1")
        objectives = (self.objectives,) if isinstance(self.objectives, str) else self.objectives
        checks.instance("objectives", objectives, (tuple, list), "a list of objective names")
        objectives = tuple(objectives)
        put("objectives", objectives)
        checks.require(len(objectives) >= 1, "at least one objective is needed")
        for name in objectives:
            checks.choice("objective", name, tuple(OBJECTIVES))
        if len(set(objectives)) != len(objectives):
            raise UsageError(f"objectives repeat themselves: {', '.join(objectives)}")
        if "spread" in objectives and self.repeats < 2:
            raise UsageError("the 'spread' objective needs repeats >= 2")
        if self.space.seed_gene != (self.seed_policy == "inherited"):
            object.__setattr__(self, "space", replace(self.space, seed_gene=self.seed_policy == "inherited"))
        self._check_pruning(put)
        self._check_shape(put)
        checks.require(not self.surrogate or (self.prune == "off" and len(objectives) == 1
                                              and self.shape == "generations"),
                       "surrogate pre-selection runs with one objective, no pruning and the "
                       "generations shape; choose one")

    def _check_shape(self, put) -> None:
        if self.shape == "generations":
            checks.require(self.lag is None, "lag applies to shape = 'steady'; with 'generations' leave it out")
            return
        checks.require(self.prune == "off", "shape = 'steady' runs without pruning; choose one")
        put("lag", checks.integer("lag", self.offspring if self.lag is None else self.lag, 0,
                                  MAX_POPULATION * MAX_GENERATIONS))

    def _check_pruning(self, put) -> None:
        rungs = self.rungs
        checks.instance("rungs", rungs, (tuple, list), "a list of epochs, e.g. [3, 10]")
        rungs = tuple(checks.integer("rungs", r, 1, self.train.epochs - 1,
                                     why=" (a rung is an epoch before the last, where offspring are ranked)")
                      for r in rungs)
        checks.require(list(rungs) == sorted(set(rungs)), f"rungs must increase, got {list(rungs)}")
        put("rungs", rungs)
        checks.require(self.prune != "off" or (self.eta == 3 and not rungs),
                       "eta and rungs apply to prune = 'halving'; with prune 'off' leave them out")

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
        """The settings as JSON. The pruning and shape settings are written only when they are not
        the default, so older run folders resume with their settings given; ``surrogate`` is always
        written (a folder without it is from before it was the default: 0)."""
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
        d = {"surrogate": 0} | dict(d)   # written only when not 0 before it became the default
        for name, default in REMOVED.items():   # older run folders: accepted while they did nothing
            if name in d and d.pop(name) != default:
                raise UsageError(f"this run used '{name}', which evoinit no longer has (the benchmark showed "
                                 "no gain: docs/bench_search.md, docs/cluster.md); run it with the version "
                                 "that wrote it")
        return cls(**d | {"dataset": None if d["dataset"] is None else DataSpec.from_json(d["dataset"]),
                          "objectives": tuple(d["objectives"]), "rungs": tuple(d.get("rungs", ())),
                          "space": SearchSpace.from_json(d["space"]),
                          "train": TrainSettings.from_json(d["train"])})


#: Settings evoinit had and removed (no gain beyond noise on the benchmark), with the value that
#: meant "off": a run folder that recorded them off still resumes; one that used them is refused.
REMOVED = {"reselect": 0, "canonical_start": False, "islands": 1, "migration_interval": 5, "migrants": 1}

def current(settings):
    """Recorded search settings (config.json's ``search``) without the removed ones that were off:
    what today's ``SearchConfig.to_json`` writes for the same search. Anything else unchanged."""
    if not isinstance(settings, dict):
        return settings
    return {"surrogate": 0} | {k: v for k, v in settings.items() if not (k in REMOVED and v == REMOVED[k])}


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
_UNLESS_DEFAULT = ("shape", "lag")
#: The default pool factor of the model-guided GA: on the search benchmark's held-out run seeds it
#: beat the plain GA beyond the 95% interval at ≈ 200 trainings (−19.9% [−43.5, −1.8] of the task's
#: mean test error) and at the default budget (−26.0% [−44.4, −6.6]); docs/bench_search.md.
DEFAULT_SURROGATE = 30
