"""A search written down: its TOML file read and checked, and merged options built into a
``SearchConfig``. The keys and their types are the options' (``options.OPTIONS``); every error
names the file, the line and the key."""

from __future__ import annotations

from dataclasses import fields, replace

from evoinit import checks
from evoinit.data.spec import DataSpec
from evoinit.errors import UsageError, clip, did_you_mean, quoted
from evoinit.ga import options as _options
from evoinit.ga.config import SearchConfig
from evoinit.ga.genome import SearchSpace
from evoinit.nn.training import TrainSettings

_KIND = {"int": int, "float": float, "str": str, "bool": bool, "list[str]": list[str], "list[int]": list[int],
         "pair[int]": list[int], "pair[float]": list[float]}
#: Execution settings: how a search runs, not what it finds.
EXECUTION = {o.key: _KIND[o.kind] for o in _options.OPTIONS if o.table == "run"}
_TOP = {key: _KIND[kind] for key, kind in _options.keys(None).items()}
_TABLES = {
    "space": {key: _KIND[kind] for key, kind in _options.keys("space").items()},
    "train": {f.name: f.type for f in fields(TrainSettings)},
    "data": {key: _KIND[kind] for key, kind in _options.keys("data").items()},
}
_PAIRS = tuple(o.key for o in _options.OPTIONS if o.kind.startswith("pair"))   # [min, max]
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


def _read_text(path) -> str:
    """A TOML file's text: UTF-8, at most ``MAX_TOML_BYTES``, each failure one line naming it."""
    import os
    import stat

    from evoinit.errors import ConfigError

    try:
        if not stat.S_ISREG(os.stat(path).st_mode):   # a named pipe would block, a device never end
            raise ConfigError(f"config file {path} is not a regular file")
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
    return text


def load_toml(path) -> dict:
    """Options from a TOML file, checked: syntax, unknown keys (with a suggestion), wrong types
    (also inside lists) and [min, max] pairs of the wrong length name the key and the line.
    Returns a flat dict (tables nested as dicts) for ``build``."""
    import tomllib
    from pathlib import Path

    from evoinit.errors import ConfigError

    path = Path(path)
    text = _read_text(path)
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
    test_file = options.pop("test_file", None)
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
        config = SearchConfig(dataset=DataSpec(dataset, target=target, test_file=test_file, **data),
                              space=SearchSpace(**space), train=replace(SearchConfig.train, **train),
                              **options)
    except (TypeError, ValueError) as e:
        raise UsageError(f"bad search settings: {e}") from None
    return config, execution
