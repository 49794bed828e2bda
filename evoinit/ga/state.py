"""The search's state after a generation, as a value: everything ``resume`` needs.

The engine hands a ``Checkpoint`` to its recorder; the run folder writes it (``runfolder.write``)
and reads it back, checked (``runfolder.read``). ``extra`` is what a variant keeps of its own
(the steady shape's bred candidates): written after the engine's keys, only when there is any, so
a plain search's checkpoint keeps its bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Member:
    """One individual as the checkpoint keeps it: its genes, fitness values and the seed keys of
    its evaluations (which the evaluations log holds)."""

    genes: tuple
    fitness: tuple
    keys: tuple

    def to_json(self) -> dict:
        return {"genes": list(self.genes), "fitness": list(self.fitness),
                "keys": [list(k) for k in self.keys]}


@dataclass(frozen=True)
class Checkpoint:
    """The search's state after generation ``generation``."""

    generation: int               # the last generation completed
    finished: bool
    counter: int                  # evaluation numbers handed out (distinct seed policy)
    n_evaluations: int            # lines of evaluations.jsonl this state accounts for
    population: tuple             # Members
    hall_of_fame: tuple           # Members, best first
    logbook: tuple                # one dict per generation
    final: tuple                  # FinalScores of the hall of fame once finished
    python_random: tuple          # random.Random().getstate()
    numpy_random: dict            # Generator.bit_generator.state
    extra: dict = field(default_factory=dict)   # a variant's own part (JSON values)
