"""The command's option text turned into the library's values: hidden widths, comma lists,
MIN,MAX pairs, the search's settings (a TOML file overridden by the options given) and its run
folder. Each error names the flag, as the user typed it."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from evoinit.errors import UsageError


def pair_text(values) -> str:
    """A MIN,MAX pair as the options take it (for the help texts' defaults)."""
    return ",".join(f"{v:g}" for v in values)


def hidden_widths(text: str) -> tuple:
    try:
        widths = tuple(int(w) for w in text.replace("-", ",").split(",") if w.strip())
    except ValueError:
        raise UsageError(f"--hidden must be comma-separated widths like 64,32, got {text!r}") from None
    if not widths or min(widths) < 1:
        raise UsageError(f"--hidden must be positive widths like 64,32, got {text!r}")
    return widths


def csv_list(text: Optional[str]) -> Optional[list]:
    return None if text is None else [t.strip() for t in text.split(",") if t.strip()]


def integers(text: Optional[str], name: str) -> Optional[list]:
    """Comma-separated integers (e.g. --rungs 3,10)."""
    if text is None:
        return None
    try:
        return [int(p) for p in csv_list(text)]
    except ValueError:
        raise UsageError(f"{name} must be comma-separated integers like 3,10, got {text!r}") from None


def pair(text: Optional[str], name: str, kind=float) -> Optional[list]:
    if text is None:
        return None
    parts = csv_list(text.replace(":", ","))
    try:
        values = [kind(p) for p in parts]
    except ValueError:
        values = []
    if len(values) != 2:
        raise UsageError(f"{name} must be two numbers MIN,MAX, got {text!r}")
    return values


def check_jobs(n_jobs) -> None:
    if n_jobs == 0:
        raise UsageError("--n-jobs must be -1 (all cores), a positive number of workers, or -k for "
                         "all cores but k-1; got 0")


def check_stop_after(stop_after) -> None:
    if stop_after is not None and stop_after < 0:
        raise UsageError(f"--stop-after must be a generation number >= 0, got {stop_after}")


def search_options(config: Optional[Path], given: dict, space: dict, lr: Optional[float]) -> tuple[dict, bool]:
    """The settings of ``search``: the TOML file's, overridden by the options given; and whether
    any setting was given at all (a bare ``--resume`` takes the run's own settings)."""
    from evoinit.ga.config import load_toml

    options = load_toml(config) if config is not None else {}
    options |= {k: v for k, v in given.items() if v is not None}
    options["space"] = dict(options.get("space", {})) | {k: v for k, v in space.items() if v is not None}
    if lr is not None:
        options["train"] = dict(options.get("train", {})) | {"learning_rate": lr}
    explicit = config is not None or lr is not None or any(
        v is not None for k, v in (given | space).items() if k not in ("n_jobs", "scheduler"))
    return options, explicit


def run_folder(folder, cfg, *, resume: bool, overwrite: bool) -> Path:
    """``--out`` (or the TOML file's ``out``), checked against --resume/--overwrite; by default a
    new folder named after the dataset and the time."""
    from evoinit.runfolder.folder import default_path

    if resume and overwrite:
        raise UsageError("--resume continues the run in --out and --overwrite replaces it: pass one of them")
    if resume and folder is None:
        raise UsageError("--resume continues the run in --out RUN: give --out")
    return Path(folder) if folder is not None else default_path(cfg.dataset.name)
