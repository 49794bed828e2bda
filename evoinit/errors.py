"""Errors that speak to the user.

The library raises these; only the CLI turns them into one line on stderr and an exit code.
Anything else escaping to the CLI is a bug and gets a traceback.
"""

from __future__ import annotations

import difflib


class EvoinitError(Exception):
    """Base of every error meant for the user: its message is one clear line."""

    exit_code = 1


class UsageError(EvoinitError):
    """A bad name, number or option given by the user (exit 2, like typer's own usage errors)."""

    exit_code = 2


class DataError(EvoinitError):
    """A dataset or data file that cannot be used as given."""

    exit_code = 2


class ConfigError(UsageError):
    """A config file that cannot be read: syntax, unknown key, wrong type."""


class RunFolderError(EvoinitError):
    """A run folder that is missing, damaged, from another version or already in use."""

    exit_code = 1


class WorkerError(EvoinitError):
    """Evaluations could not be completed on the workers (after the allowed retry)."""

    exit_code = 1


def unknown(kind: str, name: str, known) -> UsageError:
    """`unknown init 'glorot_unifrom' (did you mean 'glorot_uniform'?); known: ...`"""
    known = sorted(known)
    return UsageError(f"unknown {kind} '{clip(name)}'{did_you_mean(name, known)}; known: {', '.join(known)}")


def one_line(e: BaseException, width: int | None = None) -> str:
    """An exception's message on one line, cut to ``width`` characters (ending "...") if given."""
    text = " ".join(str(e).split())
    return text if width is None or len(text) <= width else text[:width - 3] + "..."


def clip(text, width: int = 80) -> str:
    """User input as an error line shows it: at most ``width`` characters ("…" marks a cut), so a
    10 MB value gives a line, not a screenful."""
    text = str(text)
    return text if len(text) <= width else text[:width - 1] + "…"


def quoted(value, width: int = 80) -> str:
    """``clip`` of the value's ``repr``: ``'abc'``, ``[1, 2]``."""
    return clip(repr(value), width)


def lost_connection(e: BaseException) -> bool:
    """Whether an error is a lost network connection (to a Dask scheduler or worker), not the
    disk: a ``ConnectionError``, one of ``distributed``'s or ``tornado``'s own (``CommClosedError``,
    ``StreamClosedError``), or an ``OSError`` without an errno raised inside ``distributed``
    ("Timed out trying to connect …", "ConnectionPool closing")."""
    if not isinstance(e, OSError):
        return False
    if isinstance(e, ConnectionError) or type(e).__module__.split(".")[0] in ("distributed", "tornado"):
        return True
    tb = e.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    where = tb.tb_frame.f_code.co_filename.replace("\\", "/") if tb is not None else ""
    return e.errno is None and ("/distributed/" in where or "/tornado/" in where)


def did_you_mean(name: str, known) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or ''."""
    close = difflib.get_close_matches(str(name), list(known), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
