"""What every experiment script shares: the command line, seeds, the JSON + PNG it writes.

Each script ``experiments/<name>.py`` exposes ``run(fast: bool, out: Path, seed: int = 0) -> dict``
(the tests call it in-process) and ends with ``common.main(NAME, run)``, which gives it::

    python experiments/<name>.py [--fast] [--out DIR] [--seed N]

``--fast`` is the seconds-long version the tests run; the default is the full version whose
figure goes into the documentation. Results go to ``DIR/<name>.json`` and ``DIR/<name>.png``
(default DIR: ``experiments/out/<name>``). Every random draw comes from ``seeding.root(seed)``
and a key naming what it is for, so a run is a pure function of (script, mode, seed).
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path
from typing import Callable

import numpy as np
from threadpoolctl import threadpool_limits

import evoinit
from evoinit import seeding
from evoinit.ga.evaluate import start_and_order
from evoinit.reporting import plots
from evoinit.runfolder.files import write_json

HERE = Path(__file__).resolve().parent
SCHEMA = 1


def parse(name: str, argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"experiments/{name}.py",
                                     description=sys.modules["__main__"].__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fast", action="store_true", help="the seconds-long version used by the tests")
    parser.add_argument("--out", type=Path, default=HERE / "out" / name,
                        help=f"folder for {name}.json and {name}.png (default experiments/out/{name})")
    parser.add_argument("--seed", type=int, default=0, help="root seed of every random draw (default 0)")
    return parser.parse_args(argv)


def main(name: str, run: Callable[..., dict], argv=None) -> dict:
    """Parse the command line, run the experiment with BLAS on one thread, print its summary."""
    args = parse(name, argv)
    t0 = time.perf_counter()
    with threadpool_limits(limits=1):
        result = run(args.fast, args.out, args.seed)
    print(f"{name}{' (fast)' if args.fast else ''}: {time.perf_counter() - t0:.1f} s -> "
          f"{args.out / (name + '.json')}")
    print(f"claim: {result['claim']}")
    for line in result.get("summary", []):
        print(f"  {line}")
    return result


def header(name: str, claim: str, fast: bool, seed: int, **setup) -> dict:
    """The part of every result JSON that says what was run and how to run it again."""
    return {"schema": SCHEMA, "experiment": name, "claim": claim, "fast": bool(fast), "seed": int(seed),
            "command": f"python experiments/{name}.py{' --fast' if fast else ''}"
                       + (f" --seed {seed}" if seed else ""),
            "versions": {"evoinit": evoinit.__version__, "numpy": np.__version__,
                         "python": platform.python_version()},
            "setup": setup}


def save(out: Path, name: str, result: dict, fig) -> dict:
    """Write ``<name>.json`` (atomically, NaN/inf as strings) and ``<name>.png``; return the result."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plots.save(fig, out / f"{name}.png")
    write_json(out / f"{name}.json", result)
    return result


def stream(seed: int, *key: int) -> np.random.SeedSequence:
    """The seed sequence of one draw: ``child(root(seed), *key)``."""
    return seeding.child(seeding.root(seed), *key)


def short(values, digits: int = 4) -> list[float]:
    """Curve values to ``digits`` significant digits, so result files stay small (NaN/inf kept)."""
    return [float(f"{float(v):.{digits}g}") for v in values]


def starts_and_orders(sizes, scheme: str, seed: int, keys, params: dict | None = None) -> tuple[list, list]:
    """One start (scheme ``scheme``) and one data order per key, both drawn from ``stream(seed, *key)``."""
    pairs = [start_and_order(sizes, scheme, stream(seed, *key), params=params) for key in keys]
    return [start for start, _ in pairs], [order for _, order in pairs]
