"""The ``Genome`` — one network setup — and the space the search draws genomes from.

A genome is a plain frozen value: hidden widths, activation, init scheme, the scale that multiplies
the scheme's own std (or limit, or constant), optionally a learning rate and (for the ``inherited``
seed policy) a seed gene. Its string form reads like ``64-32 tanh glorot_uniform ×1.00`` and
parses back with ``Genome.parse``.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field, replace

import numpy as np

from evoinit import checks
from evoinit.errors import UsageError, quoted
from evoinit.nn import activations, initializers

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_FORM = re.compile(
    rf"^\s*(?P<hidden>\d+(?:-\d+)*)\s+(?P<act>[A-Za-z_]+)\s+(?P<init>[A-Za-z_]+)"
    rf"(?:\s+[×x\*](?P<scale>{_NUMBER}))?(?:\s+lr=(?P<lr>{_NUMBER}))?(?:\s+seed=(?P<seed>\d+))?\s*$"
)


#: Past these, one network's weights alone pass any machine's memory (the search space is bounded
#: far tighter: ``configfile.MAX_WIDTH``, ``configfile.MAX_LAYERS``).
MAX_HIDDEN = 1_000_000
MAX_HIDDEN_LAYERS = 1_000


@dataclass(frozen=True)
class Genome:
    """One network setup. ``scale`` multiplies the init scheme's own std/limit/constant."""

    hidden: tuple = (64,)
    activation: str = "tanh"
    init: str = "glorot_uniform"
    scale: float = 1.0
    learning_rate: float | None = None
    seed: int | None = field(default=None)

    def __post_init__(self):
        put = functools.partial(object.__setattr__, self)
        hidden = (self.hidden,) if checks.is_int(self.hidden) else self.hidden
        if not isinstance(hidden, (tuple, list)) or not hidden or \
                not all(checks.is_int(h) and h >= 1 for h in hidden):
            raise UsageError(f"hidden widths must be positive integers, got {quoted(self.hidden)}")
        if max(hidden) > MAX_HIDDEN or len(hidden) > MAX_HIDDEN_LAYERS:
            raise UsageError(f"hidden layers must be at most {MAX_HIDDEN_LAYERS} of at most {MAX_HIDDEN:,} units, "
                             f"got {len(hidden)} layers of up to {max(hidden):,} (no such network fits in memory)")
        put("hidden", tuple(int(h) for h in hidden))
        put("activation", activations.get(self.activation).name)
        put("init", initializers.canonical(self.init))
        put("scale", checks.number("scale", self.scale, 0, what="a finite number"))
        if self.learning_rate is not None:
            put("learning_rate", checks.number("learning rate", self.learning_rate, 0, low_open=True))
        if self.seed is not None:
            put("seed", checks.integer("seed", self.seed, 0))

    def __str__(self) -> str:
        text = f"{'-'.join(map(str, self.hidden))} {self.activation} {self.init} ×{self.scale:.3g}"
        if self.learning_rate is not None:
            text += f" lr={self.learning_rate:.3g}"
        if self.seed is not None:
            text += f" seed={self.seed}"
        return text

    @property
    def architecture(self) -> tuple:
        """What must match for networks to share a population: widths and activation."""
        return (self.hidden, self.activation)

    @classmethod
    def parse(cls, text: str) -> "Genome":
        """Read the string form, e.g. ``"64-32 tanh glorot_uniform ×1.5 lr=0.01"`` (x or * for ×)."""
        m = _FORM.match(str(text))
        if not m:
            raise UsageError(
                f"cannot read genome {quoted(text)}; expected e.g. '64-32 tanh glorot_uniform ×1.0'"
            )
        return cls(
            hidden=tuple(int(h) for h in m["hidden"].split("-")),
            activation=m["act"],
            init=m["init"],
            scale=float(m["scale"]) if m["scale"] else 1.0,
            learning_rate=float(m["lr"]) if m["lr"] else None,
            seed=int(m["seed"]) if m["seed"] else None,
        )

    def to_json(self) -> dict:
        """The genome as JSON: ``learning_rate`` and ``seed`` only when they are genes."""
        d = {"hidden": list(self.hidden), "activation": self.activation, "init": self.init,
             "scale": self.scale}
        if self.learning_rate is not None:
            d["learning_rate"] = self.learning_rate
        if self.seed is not None:
            d["seed"] = self.seed
        return d

    @classmethod
    def from_json(cls, d: dict) -> "Genome":
        return cls(hidden=tuple(d["hidden"]), activation=d["activation"], init=d["init"],
                   scale=d["scale"], learning_rate=d.get("learning_rate"), seed=d.get("seed"))

    def with_(self, **changes) -> "Genome":
        """A copy with the named fields changed (``genome.with_(scale=2.0)``)."""
        return replace(self, **changes)


def _pair(name: str, value, ok) -> None:
    """``value`` must be [min, max] of numbers that pass ``ok``."""
    if not isinstance(value, (tuple, list)) or len(value) != 2 or not all(ok(v) for v in value):
        kind = "integers" if ok is checks.is_int else "finite numbers"
        raise UsageError(f"{name} must be two {kind} (min, max), got {value!r}")


#: Largest seed gene (seeds are drawn uniformly below it).
SEED_LIMIT = 2**31


@dataclass(frozen=True)
class SearchSpace:
    """Where genomes come from: bounds, allowed activations and inits, and the gene layout.

    A genome is encoded as a flat list of genes (a DEAP individual):
    ``[depth, width_1 … width_max_layers, activation index, init index, scale,
    (learning rate), (seed)]``. Every width slot is kept even when the depth uses fewer, so
    uniform crossover always pairs like with like and always yields a valid genome.
    """

    layers: tuple = (1, 4)
    widths: tuple = (4, 256)
    activations: tuple = tuple(activations.names())
    inits: tuple = tuple(initializers.names())
    scales: tuple = (2.0**-4, 2.0**4)
    learning_rates: tuple | None = None
    seed_gene: bool = False

    def __post_init__(self):
        for name in ("layers", "widths", "scales") + (("learning_rates",) if self.learning_rates is not None else ()):
            _pair(name, getattr(self, name), checks.is_int if name in ("layers", "widths") else checks.is_real)
        lo, hi = (int(v) for v in self.layers)
        if not 1 <= lo <= hi:
            raise UsageError(f"layers must be 1 <= min <= max, got {self.layers}")
        wlo, whi = (int(v) for v in self.widths)
        if not 1 <= wlo <= whi:
            raise UsageError(f"widths must be 1 <= min <= max, got {self.widths}")
        slo, shi = (float(v) for v in self.scales)
        if not 0 < slo <= shi or not math.isfinite(shi):
            raise UsageError(f"scales must be 0 < min <= max, got {self.scales}")
        object.__setattr__(self, "layers", (lo, hi))
        object.__setattr__(self, "widths", (wlo, whi))
        object.__setattr__(self, "scales", (slo, shi))
        acts = tuple(dict.fromkeys(activations.get(a).name for a in self.activations))
        inits = tuple(dict.fromkeys(initializers.canonical(i) for i in self.inits))
        if not acts or not inits:
            raise UsageError("the search space needs at least one activation and one init")
        object.__setattr__(self, "activations", acts)
        object.__setattr__(self, "inits", inits)
        if self.learning_rates is not None:
            llo, lhi = (float(v) for v in self.learning_rates)
            if not 0 < llo <= lhi or not math.isfinite(lhi):
                raise UsageError(f"learning_rates must be finite with 0 < min <= max, got {self.learning_rates}")
            object.__setattr__(self, "learning_rates", (llo, lhi))

    # -- gene layout -------------------------------------------------------------------------------

    @property
    def n_genes(self) -> int:
        return 1 + self.layers[1] + 3 + (self.learning_rates is not None) + self.seed_gene

    def _log_width(self, rng: np.random.Generator) -> int:
        lo, hi = np.log2(self.widths[0]), np.log2(self.widths[1])
        return int(np.clip(round(2.0 ** rng.uniform(lo, hi)), *self.widths))

    def sample(self, rng: np.random.Generator) -> Genome:
        """A random genome: depth uniform, widths and scale log-uniform, categories uniform."""
        depth = int(rng.integers(self.layers[0], self.layers[1] + 1))
        hidden = tuple(self._log_width(rng) for _ in range(depth))
        lr = None
        if self.learning_rates is not None:
            lr = float(np.clip(2.0 ** rng.uniform(*np.log2(self.learning_rates)), *self.learning_rates))
        return Genome(hidden=hidden,
                      activation=self.activations[int(rng.integers(len(self.activations)))],
                      init=self.inits[int(rng.integers(len(self.inits)))],
                      scale=float(np.clip(2.0 ** rng.uniform(*np.log2(self.scales)), *self.scales)),
                      learning_rate=lr,
                      seed=int(rng.integers(SEED_LIMIT)) if self.seed_gene else None)

    def encode(self, genome: Genome, rng: np.random.Generator | None = None) -> list:
        """Genes of ``genome``; unused width slots repeat the last width."""
        self.check(genome)
        widths = list(genome.hidden) + [genome.hidden[-1]] * (self.layers[1] - len(genome.hidden))
        genes = [len(genome.hidden), *widths, self.activations.index(genome.activation),
                 self.inits.index(genome.init), genome.scale]
        if self.learning_rates is not None:
            genes.append(genome.learning_rate or math.sqrt(self.learning_rates[0] * self.learning_rates[1]))
        if self.seed_gene:
            genes.append(genome.seed if genome.seed is not None else
                         int((rng or np.random.default_rng(0)).integers(SEED_LIMIT)))
        return genes

    def decode(self, genes) -> Genome:
        """The genome a GA individual's flat gene list stands for (the inverse of ``encode``)."""
        n = self.layers[1]
        depth = int(genes[0])
        k = 1 + n
        lr = seed = None
        tail = list(genes[k + 3:])
        if self.learning_rates is not None:
            lr = tail.pop(0)
        if self.seed_gene:
            seed = int(tail.pop(0))
        return Genome(hidden=tuple(int(w) for w in genes[1:1 + depth]),
                      activation=self.activations[int(genes[k])], init=self.inits[int(genes[k + 1])],
                      scale=genes[k + 2], learning_rate=lr, seed=seed)

    def check(self, genome: Genome) -> Genome:
        """``genome`` if it lies in this space, else a UsageError saying which gene is out."""
        problems = []
        if not self.layers[0] <= len(genome.hidden) <= self.layers[1]:
            problems.append(f"{len(genome.hidden)} hidden layers not in {self.layers[0]}..{self.layers[1]}")
        if any(not self.widths[0] <= w <= self.widths[1] for w in genome.hidden):
            problems.append(f"widths {genome.hidden} not in {self.widths[0]}..{self.widths[1]}")
        if genome.activation not in self.activations:
            problems.append(f"activation {genome.activation} not allowed")
        if genome.init not in self.inits:
            problems.append(f"init {genome.init} not allowed")
        if not self.scales[0] <= genome.scale <= self.scales[1]:
            problems.append(f"scale {genome.scale:g} not in {self.scales[0]:g}..{self.scales[1]:g}")
        if problems:
            raise UsageError(f"genome '{genome}' is outside the search space: {'; '.join(problems)}")
        return genome

    # -- variation -----------------------------------------------------------------------------------

    def mutate(self, genes, rng: np.random.Generator, indpb: float = 0.3, sigma: float = 0.5) -> list:
        """Each gene changes with probability ``indpb``, by its type: depth ±1; a width ×2^N(0, σ)
        rounded; a category resampled among the others; scale ×2^N(0, σ) and learning rate
        ×10^N(0, σ/2) (log-normal steps), clipped to the bounds; the seed gene redrawn. Always valid."""
        genes = list(genes)
        n = self.layers[1]
        k = 1 + n
        if rng.random() < indpb:
            genes[0] = int(np.clip(genes[0] + rng.choice((-1, 1)), *self.layers))
        for i in range(1, k):
            if rng.random() < indpb:
                genes[i] = int(np.clip(round(genes[i] * 2.0 ** rng.normal(0, sigma)), *self.widths))
        for i, count in ((k, len(self.activations)), (k + 1, len(self.inits))):
            if count > 1 and rng.random() < indpb:
                other = int(rng.integers(count - 1))
                genes[i] = other + (other >= genes[i])
        if rng.random() < indpb:
            genes[k + 2] = float(np.clip(genes[k + 2] * 2.0 ** rng.normal(0, sigma), *self.scales))
        j = k + 3
        if self.learning_rates is not None:
            if rng.random() < indpb:
                genes[j] = float(np.clip(genes[j] * 10.0 ** rng.normal(0, sigma / 2), *self.learning_rates))
            j += 1
        if self.seed_gene and rng.random() < indpb:
            genes[j] = int(rng.integers(SEED_LIMIT))
        return genes

    def to_json(self) -> dict:
        """The search space as JSON, as config.json's ``space`` holds it."""
        return {"layers": list(self.layers), "widths": list(self.widths),
                "activations": list(self.activations), "inits": list(self.inits),
                "scales": list(self.scales),
                "learning_rates": None if self.learning_rates is None else list(self.learning_rates),
                "seed_gene": self.seed_gene}

    @classmethod
    def from_json(cls, d: dict) -> "SearchSpace":
        return cls(layers=tuple(d["layers"]), widths=tuple(d["widths"]),
                   activations=tuple(d["activations"]), inits=tuple(d["inits"]),
                   scales=tuple(d["scales"]),
                   learning_rates=None if d.get("learning_rates") is None else tuple(d["learning_rates"]),
                   seed_gene=bool(d.get("seed_gene", False)))
