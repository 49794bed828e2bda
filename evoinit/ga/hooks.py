"""What a variant of the search may change, as four small protocols the engine calls.

The engine (``ga.engine``) is the plain (μ+λ) GA; a variant plugs into one of these seams and the
engine knows it only through them — as Optuna's study knows samplers and pruners only through
``BaseSampler`` and ``BasePruner``. ``ga.variants.of(config)`` maps a config to its ``Hooks``; a
seam left None is the plain GA's own step. Removing a variant is deleting its file, its flag and
its line in that factory.

- ``Breeder``: which of the offspring bred by ``varOr`` are trained (the surrogate's forest).
- ``Racer``: how a generation's candidates are trained (successive halving through rungs).
- ``Ranker``: the finished hall of fame's order (the surrogate's forest, past enough setups).
- ``Shape``: how generations are scheduled (the steady shape: no barrier), and its part of the
  checkpoint (``Checkpoint.extra``), which it checks when a run folder is read back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from evoinit.ga.engine import Search
    from evoinit.ga.results import SearchResult


class Breeder(Protocol):
    factor: int   # the engine breeds factor × λ offspring for ``choose``

    def choose(self, search: "Search", bred: list) -> list:
        """The offspring to train out of ``bred`` (individuals, in breeding order)."""


class Racer(Protocol):
    def train(self, search: "Search", plans: list, generation: int, progress) -> tuple[list, list]:
        """Train the candidates ``plans`` [(genome, seed keys)] of generation ``generation``:
        ``(tasks, evaluations)`` for the (genome, key) tasks not in ``search.cache``, in order."""


class Ranker(Protocol):
    def rank(self, search: "Search", members: list) -> tuple[list, bool]:
        """The finished hall of fame ``members`` (in fitness order), best first, and whether the
        order is a model's rather than the measured fitness."""


class Shape(Protocol):
    def loop(self, search: "Search", stop_after: int | None) -> "SearchResult":
        """Run the search to its end (or to ``stop_after``) in this shape."""

    def checked(self, extra: dict, config) -> dict:
        """This shape's part of a checkpoint read back, checked (``ValueError`` if damaged)."""


@dataclass(frozen=True)
class Hooks:
    """The variants a search runs with; None: the plain GA's step."""

    breeder: Breeder | None = None
    racer: Racer | None = None
    ranker: Ranker | None = None
    shape: Shape | None = None
