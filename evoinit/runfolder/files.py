"""Writing and reading single files of a run folder safely: atomic replacement, whole JSON values,
spreadsheet-safe CSV cells, and the one rule for paths under a run folder — evoinit writes, replaces
and deletes only regular files and folders of its own, never through a symbolic link — plus
``critical()``, the block that SIGINT and SIGTERM do not cut."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import stat
import threading
from contextlib import contextmanager
from pathlib import Path

from evoinit.errors import (
    RunFolderError,
    one_line,
)

#: Signals ``critical()`` holds back: the polite ways to stop a process.
HELD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM") if hasattr(signal, name))


@contextmanager
def critical():
    """Run a block of writes that SIGINT and SIGTERM must not cut in the middle.

    A signal arriving inside the block is held; when the block ends, the handlers in place before
    are restored and the signal is raised again, so whatever they do (KeyboardInterrupt, the CLI's
    clean stop, the default termination) happens after the writes, never between them. Only the
    main thread receives signals in Python, so elsewhere this is a plain block. SIGKILL cannot be
    held: the writes are atomic for that.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = []
    try:
        for signum in HELD_SIGNALS:
            if signal.getsignal(signum) is not None:  # None: set outside Python, cannot be put back
                previous.append((signum, signal.signal(signum, lambda s, frame: held.append(s))))
        yield
    finally:
        _restore(previous)
        for signum in dict.fromkeys(held):
            _deliver(signum)


def _deliver(signum: int) -> None:
    """Act on a held signal now, as its handler would have.

    A Python handler is called here, synchronously: re-raising the signal would leave Python to
    run the handler at some later bytecode, and if that lands inside a ``__del__`` (a garbage
    collection at the wrong moment) its KeyboardInterrupt is printed and dropped. The default
    action (e.g. SIGTERM's termination) needs the real signal; an ignored one does nothing.
    """
    handler = signal.getsignal(signum)
    if callable(handler):
        handler(signum, None)
    elif handler == signal.SIG_DFL:
        signal.raise_signal(signum)


def _restore(handlers: list) -> None:
    """Put back (signal, handler) pairs; each one even if a signal raises while the others are."""
    if handlers:
        try:
            signal.signal(*handlers[0])
        finally:
            _restore(handlers[1:])


def _clean(obj):
    """JSON has no NaN or inf: write them as strings that read back as floats."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return "nan" if math.isnan(obj) else ("inf" if obj > 0 else "-inf")
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    return obj


def dumps(obj) -> str:
    return json.dumps(_clean(obj), separators=(",", ":"), allow_nan=False)


def atomic_write(path, text) -> None:
    """Write ``text`` (str, or bytes as they are) to ``path`` via a temp file in the same folder,
    fsync and rename: readers (and a folder killed at any instant) see the old file or the new
    one, never a mix. ``path`` and the temp file obey ``own_file``: a link there is refused."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        raise IsADirectoryError(errno.EISDIR, "it is a folder; give a file name", str(path))
    own_file(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    data = text.encode("utf-8") if isinstance(text, str) else text
    try:
        with os.fdopen(new_file(tmp), "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:  # the user's path in the message, not the temp file's
        _drop(tmp)
        raise OSError(e.errno, e.strerror, str(path)) from None
    except BaseException:
        _drop(tmp)
        raise


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a regular file"


def _refuse(path, mode: int) -> RunFolderError:
    return RunFolderError(f"{path} is {_kind(mode)}; evoinit reads, writes and deletes only regular "
                          "files and folders of its own, never through a link: remove it")


def _lstat(path):
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None


def readable(path) -> None:
    """Refuse to read what is not a regular file of the run folder: a named pipe would block, a
    device never end, a link could show another file's content in the report. A missing file is
    left for the reader to report."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return
    if not stat.S_ISREG(mode):
        raise _refuse(path, mode)


def own_file(path) -> bool:
    """Whether a regular file is at ``path`` (False: nothing is); anything else there — a
    symbolic link, a pipe, a folder — is a ``RunFolderError`` naming it."""
    st = _lstat(path)
    if st is not None and not stat.S_ISREG(st.st_mode):
        raise _refuse(path, st.st_mode)
    return st is not None


def own_folder(path, *, create: bool = True) -> bool:
    """Whether a real folder is at ``path`` (made if missing and ``create``); a symbolic link or
    anything else there is a ``RunFolderError`` naming it."""
    st = _lstat(path)
    if st is None:
        if create:
            os.mkdir(path)
        return create
    if not stat.S_ISDIR(st.st_mode):
        raise _refuse(path, st.st_mode)
    return True


def new_file(path) -> int:
    """A descriptor on a new, empty regular file at ``path`` (a leftover regular file there is
    removed first), created with ``O_EXCL | O_NOFOLLOW``: never a file some link points at."""
    if own_file(path):
        os.unlink(path)
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC, 0o666)


def open_in_place(path, flags: int) -> int:
    """A descriptor on the regular file at ``path`` (``flags`` | ``O_NOFOLLOW``; with
    ``O_CREAT`` made if missing); a link or anything but a regular file is refused."""
    own_file(path)
    try:
        fd = os.open(path, flags | _NOFOLLOW | _CLOEXEC, 0o666)
    except OSError as e:
        if e.errno == errno.ELOOP:   # became a link since the look
            raise _refuse(path, stat.S_IFLNK) from None
        raise
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise _refuse(path, mode)
    return fd


def _drop(path) -> None:
    """Remove a temp file of ours if it is there (a regular file; nothing else is touched)."""
    st = _lstat(path)
    if st is not None and stat.S_ISREG(st.st_mode):
        os.unlink(path)


def write_json(path, obj) -> None:
    atomic_write(path, json.dumps(_clean(obj), indent=1, allow_nan=False) + "\n")


def read_json(path, what: str = "file") -> dict:
    path = Path(path)
    try:
        readable(path)
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RunFolderError(f"{what} {path} is missing") from None
    except (OSError, UnicodeDecodeError) as e:
        raise RunFolderError(f"cannot read {what} {path}: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise RunFolderError(f"{what} {path} is damaged (not valid JSON at line {e.lineno}, "
                             f"column {e.colno})") from None
    except (ValueError, RecursionError) as e:  # e.g. a 5000-digit number, nesting 10⁵ deep
        raise RunFolderError(f"{what} {path} is damaged ({one_line(e, 120) or type(e).__name__})") from None


#: What a spreadsheet reads as the start of a formula (OWASP's list for CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell as written: text that a spreadsheet would run as a formula (it starts with one
    of ``FORMULA_START`` and is not a number) gets a leading ``'``, OWASP's neutralisation, and a
    carriage return inside text is written as ``\\r`` (the writer quotes only what holds ``\\n``:
    a bare CR would start a row a spreadsheet reads); numbers, None (an empty cell) and other text
    are written as they are."""
    if not isinstance(value, str):
        return value
    formula = False
    if value.startswith(FORMULA_START):
        try:
            float(value)
        except ValueError:
            formula = True
    return "'" * formula + value.replace("\r", "\\r")
