"""The command's option text turned into the library's values: hidden widths, comma lists,
MIN,MAX pairs, the search's settings (a TOML file overridden by the options given) and its run
folder. Each error names the flag, as the user typed it."""

from __future__ import annotations

import inspect
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





def check_jobs(n_jobs) -> None:
    if n_jobs == 0:
        raise UsageError("--n-jobs must be -1 (all cores), a positive number of workers, or -k for "
                         "all cores but k-1; got 0")


def check_stop_after(stop_after) -> None:
    if stop_after is not None and stop_after < 0:
        raise UsageError(f"--stop-after must be a generation number >= 0, got {stop_after}")


def search_signature(defaults) -> inspect.Signature:
    """``evoinit search``'s parameters, one per option with a flag (``options.OPTIONS``), its help
    line ending in the default (read off ``defaults``, a ``SearchConfig``), then the command's own:
    --overwrite, --resume, --config, --stop-after."""
    import typer

    from evoinit.ga.options import flags

    kinds = {"int": Optional[int], "float": Optional[float]}
    params = []
    for o in flags():
        shown = _default_text(o, defaults)
        names = [o.flag] + (["-d"] if o.key == "dataset" else [])
        params.append(inspect.Parameter(o.param, inspect.Parameter.KEYWORD_ONLY, annotation=kinds.get(o.kind, Optional[str]),
                                        default=typer.Option(None, *names, help=f"{o.help}" + (f" [{shown}]." if shown else "."))))
    own = [("overwrite", bool, typer.Option(False, help="Replace a run already in --out.")),
           ("resume", bool, typer.Option(False, "--resume", help="If --out already holds this search, continue it "
                                         "(as `evoinit resume`) instead of refusing.")),
           ("config", Optional[Path], typer.Option(None, help="A TOML file with any of these settings (options "
                                                   "given here override it).")),
           ("stop_after", Optional[int], typer.Option(None, help="Pause after this generation (resume later)."))]
    params += [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, annotation=t, default=d) for n, t, d in own]
    return inspect.Signature(params)


def _default_text(option, defaults) -> str:
    """The default of ``option`` as its help shows it."""
    if option.default is not None:
        return option.default
    if option.key == "epochs":
        value = defaults.train.epochs
    elif option.table in ("space", "train"):
        value = getattr(getattr(defaults, option.table), option.key)
    else:
        value = getattr(defaults, option.key)
    if option.kind.startswith("pair"):
        return pair_text(value)
    if isinstance(value, (tuple, list)):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def search_options(config: Optional[Path], given: dict) -> tuple[dict, bool]:
    """The settings of ``search``: the TOML file's, overridden by the flags given (``given``: the
    command's parameters, as typed); and whether any setting was given at all (a bare ``--resume``
    takes the run's own settings)."""
    from evoinit.ga.configfile import load_toml
    from evoinit.ga.options import flags, parse

    options = load_toml(config) if config is not None else {}
    explicit = config is not None
    for o in flags():
        text = given.get(o.param)
        if text is None:
            continue
        value = parse(o, text) if o.kind in ("list[str]", "list[int]", "pair[int]", "pair[float]") else text
        if o.table in (None, "run"):
            options[o.key] = value
        else:
            options[o.table] = dict(options.get(o.table, {})) | {o.key: value}
        explicit = explicit or o.table != "run"
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
