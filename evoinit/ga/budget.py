"""How big a search is, before it runs: trainings, floating-point work and memory, and the
checks and notes that follow from them (``api.opened`` refuses a search that cannot fit)."""

from __future__ import annotations

from evoinit.errors import UsageError
from evoinit.ga.config import SearchConfig

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
