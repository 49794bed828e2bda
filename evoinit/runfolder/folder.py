"""The run folder: the files that are the experiment, written atomically, read defensively.

Layout (schema 1)::

    config.json         resolved settings, versions, the exact command, the dataset summary
    evaluations.jsonl   one JSON line per evaluation (bit-reproducible: no wall-clock times)
    timings.jsonl       seconds and epochs trained per evaluation (seconds: the one value that
                        differs between machines)
    generations.jsonl   the population of every generation (genomes, fitness), for the report
    logbook.csv         per-generation statistics
    hall_of_fame.json   the best setups (or the Pareto front), and at the end their test scores
    checkpoint.json     everything needed to resume, rewritten atomically after each generation
    figures/            PNGs from ``evoinit report``

JSON and CSV only: opening somebody's run folder never runs their code.

Interruptions: every log is appended whole lines at a time and every other file is replaced
atomically, the checkpoint last, inside ``critical()`` — a block that SIGINT and SIGTERM do not cut
(they are held until it ends). So a folder stopped by a signal is consistent, and one stopped by
SIGKILL or a power cut holds a consistent checkpoint and logs at most one generation ahead of it,
which ``rewind`` cuts back on resume.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import math
import os
import signal
import stat
import threading
from contextlib import contextmanager
from pathlib import Path

from evoinit.errors import RunFolderError, UsageError, WorkerError, lost_connection, one_line

SCHEMA = 1

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


# -- the one rule for paths under a run folder --------------------------------------------------
#
# evoinit writes, replaces and deletes only regular files and folders it made, never through a
# symbolic link: each path it is about to open for writing, replace, delete or create a folder at
# is looked at with ``lstat`` first (files it opens in place also with ``O_NOFOLLOW``), and
# anything else there — a link, a pipe, a device — is refused in one line naming it. A shared
# run folder with ``.replaced``, ``.lock`` or ``figures`` linked elsewhere cannot make evoinit
# write, empty or delete anything outside it.

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


FILES = ("config.json", "evaluations.jsonl", "timings.jsonl", "generations.jsonl", "logbook.csv",
         "hall_of_fame.json", "checkpoint.json")
LOGS = ("evaluations.jsonl", "timings.jsonl", "generations.jsonl")
#: Where ``create(overwrite=True)`` keeps the run it replaces until the new one has a checkpoint.
REPLACED = ".replaced"


def default_path(dataset_name: str) -> Path:
    """``runs/<dataset>-<timestamp>``: where a search writes when no folder is given."""
    import datetime

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    return Path("runs") / f"{Path(dataset_name).stem}-{stamp}"


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


class RunFolder:
    """One run folder. Appends go through ``append_lines`` (flushed and fsynced per generation);
    everything else is rewritten whole and atomically, the checkpoint last, so a folder killed at
    any moment holds a consistent checkpoint and logs that are at most one generation ahead of it
    (``rewind`` cuts them back on resume, dropping a half-written last line too)."""

    def __init__(self, path):
        if isinstance(path, RunFolder):
            path = path.path
        if not isinstance(path, (str, os.PathLike)) or not str(path).strip():
            raise UsageError(f"a run folder must be a path (a string or pathlib.Path), got {path!r}")
        self.path = Path(path)

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def holds_run(self) -> bool:
        return (self / "config.json").exists() or (self / "checkpoint.json").exists()

    def create(self, config: dict, *, overwrite: bool = False) -> None:
        """Start a new run here: refuse a folder that already holds one unless ``overwrite``."""
        if self.holds_run() and not overwrite:
            raise RunFolderError(f"{self.path} already holds a run; continue it with "
                                 f"`evoinit resume {self.path}` or pass --overwrite to replace it")
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"{self.path} exists and is not a folder")
        self.path.mkdir(parents=True, exist_ok=True)
        if self.holds_run():
            self._move_aside()
        self._remove(FILES)
        for name in LOGS:
            os.close(new_file(self / name))
        write_json(self / "config.json", {"schema": SCHEMA} | config)

    def _remove(self, names, where: Path | None = None) -> None:
        """Delete the files ``names`` in this folder (or in ``where``); each must be a regular file
        or missing (``own_file``), and all are looked at before the first is deleted."""
        where = self.path if where is None else where
        present = [where / name for name in names if own_file(where / name)]
        for path in present:
            os.unlink(path)

    def _aside(self) -> bool:
        """Whether ``.replaced/`` is here: a real folder holding only regular files of a run
        (``FILES``); a link, or anything else in it, is refused before anything is moved."""
        aside = self / REPLACED
        if not own_folder(aside, create=False):
            return False
        for f in aside.iterdir():
            if f.name not in FILES:
                raise RunFolderError(f"{f} is not a file evoinit put there; {aside} holds only the files "
                                     "of a replaced run: remove it")
            own_file(f)
        return True

    def _move_aside(self) -> None:
        """Move the run here into ``.replaced/`` (kept until the new run's first checkpoint:
        ``settle`` deletes it, ``put_back`` restores it if the new run fails before)."""
        aside = self / REPLACED
        if self._aside():  # an earlier replacement that never settled: that run is the one to keep
            self._remove(FILES)
            return
        moved = [name for name in FILES if own_file(self / name)]
        own_folder(aside)
        for name in moved:
            os.replace(self / name, aside / name)

    def settle(self) -> None:
        """The new run has a checkpoint: the run it replaced is deleted."""
        aside = self / REPLACED
        if self._aside():
            self._remove(FILES, aside)
            aside.rmdir()

    def recover(self) -> None:
        """Finish a replacement a kill interrupted: with a checkpoint the new run had started
        cleanly (the old one goes); without, it had saved nothing (the old one comes back)."""
        if self._aside():
            self.settle() if self.has_checkpoint() else self.put_back()

    def put_back(self) -> None:
        """The new run ended before its first checkpoint: the run it replaced comes back."""
        aside = self / REPLACED
        if not self._aside():
            return
        self._remove(FILES)
        for f in aside.iterdir():
            os.replace(f, self / f.name)
        aside.rmdir()

    @contextmanager
    def writing(self):
        """A failed write in this folder (a full disk, a file size limit, a read-only mount)
        becomes one line naming the folder and what is left in it."""
        try:
            yield
        except OSError as e:
            if lost_connection(e):
                resume = (f"its last complete generation is kept: continue with `evoinit resume {self.path}` "
                          "once the scheduler is reachable" if self.has_checkpoint() else
                          "no generation had been saved yet: run the search again")
                raise WorkerError(f"lost the connection to the Dask cluster ({one_line(e, 80)}); {resume}") from None
            where = f" ({e.filename})" if e.filename and Path(e.filename).parent != self.path else ""
            kept = (f"its last complete generation is kept: continue with `evoinit resume {self.path}` "
                    "once there is room" if self.has_checkpoint() else
                    "no generation had been saved yet: run the search again once there is room")
            raise RunFolderError(f"cannot write the run folder {self.path}{where}: {e.strerror or e}; "
                                 f"{kept}") from None

    def append_lines(self, name: str, rows: list) -> None:
        """Append one JSON line per row, in one write, flushed and fsynced, inside ``critical()``."""
        if not rows:
            return
        text = "".join(dumps(r) + "\n" for r in rows).encode("utf-8")
        with critical(), os.fdopen(open_in_place(self / name, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "wb") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())

    def write_csv(self, name: str, rows: list[dict]) -> None:
        """Rows of dicts as CSV: columns from the first row (a missing cell empty, extra keys
        dropped), ``\\n`` line ends, fields quoted only when they must be; floats as ``repr``
        (``nan``, ``inf``), None empty."""
        if not rows:
            atomic_write(self / name, "")
            return
        columns = list(rows[0])
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow([csv_cell(c) for c in columns])
        writer.writerows([csv_cell(row.get(c)) for c in columns] for row in rows)
        atomic_write(self / name, text.getvalue())

    def read_config(self) -> dict:
        if not self.path.is_dir():
            raise RunFolderError(f"{self.path} is not a run folder (no such folder)")
        return _checked(read_json(self / "config.json", "run config"), self / "config.json")

    def read_checkpoint(self) -> dict:
        return _checked(read_json(self / "checkpoint.json", "checkpoint"), self / "checkpoint.json")

    def has_checkpoint(self) -> bool:
        return (self / "checkpoint.json").exists()

    def _lines(self, name: str, limit: int | None = None) -> list[str]:
        """The complete lines of a log (at most ``limit``); a half-written last line — cut by a
        kill mid-write — is left out. A missing log has none."""
        path = self / name
        lines: list[str] = []
        try:
            readable(path)
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if len(lines) == limit or not line.endswith("\n"):
                        break
                    lines.append(line)
        except FileNotFoundError:
            pass
        except UnicodeDecodeError:
            raise RunFolderError(f"{path} is damaged (not UTF-8 text after line {len(lines)})") from None
        except OSError as e:
            raise RunFolderError(f"cannot read {path}: {e.strerror or e}") from None
        return lines

    def read_lines(self, name: str, limit: int | None = None, *, exact: bool = False) -> list:
        """The complete JSON lines of a log (the first ``limit``); a half-written last line is
        ignored, a damaged one is a ``RunFolderError`` naming it."""
        rows = []
        for n, line in enumerate(self._lines(name, limit), 1):
            try:
                rows.append(json.loads(line))
            except (ValueError, RecursionError):
                raise RunFolderError(f"{self / name} line {n} is damaged (not valid JSON)") from None
        if exact:
            _expect(self / name, len(rows), limit)
        return rows

    def rewind(self, name: str, keep: int) -> None:
        """Keep only the first ``keep`` complete lines of a log (atomically)."""
        lines = self._lines(name, keep)
        _expect(self / name, len(lines), keep)
        atomic_write(self / name, "".join(lines))

    def cut_back(self, *, n_evaluations: int, n_generations: int) -> None:
        """Make the folder what its checkpoint accounts for (before a search continues): temp
        files of killed writes removed, the logs cut back to the lines the checkpoint counts."""
        self.clean()
        for name, keep in (("evaluations.jsonl", n_evaluations), ("timings.jsonl", n_evaluations),
                           ("generations.jsonl", n_generations)):
            self.rewind(name, keep)

    def clean(self) -> None:
        """Remove temp files left by a write that was killed before its rename."""
        for name in FILES:
            for tmp in self.path.glob(f".{name}.*.tmp"):
                own_file(tmp)
                tmp.unlink(missing_ok=True)

    @contextmanager
    def lock(self, *, create: bool = False):
        """Hold this folder for one search: a second ``search``/``resume`` on it while the first
        runs would interleave their writes, so it is refused. The lock (``flock`` on ``.lock``)
        dies with the process, however it ends. ``create`` makes the folder first (a new search);
        otherwise a missing folder is left for the reader to report. No-op without ``fcntl``."""
        try:
            import fcntl
        except ImportError:  # Windows
            yield
            return
        if self.path.exists() and not self.path.is_dir():
            raise RunFolderError(f"{self.path} exists and is not a folder")
        if not self.path.is_dir():
            if not create:
                yield
                return
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise RunFolderError(f"cannot create the run folder {self.path}: {e.strerror or e}") from None
        try:
            f = os.fdopen(open_in_place(self / ".lock", os.O_RDWR | os.O_CREAT), "r+", encoding="utf-8")
        except OSError as e:
            raise RunFolderError(f"cannot write in the run folder {self.path}: {e.strerror or e}") from None
        with f:
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                f.seek(0)
                holder = " ".join(f.read(200).split())[:80] or "another process"
                raise RunFolderError(f"{self.path} is in use by a running search ({holder}); wait for "
                                     "it to end or stop it first") from None
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}\n")
            f.flush()
            try:
                yield
            finally:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


def _expect(path, have: int, want: int) -> None:
    if have < want:
        raise RunFolderError(f"{path} has {have} complete lines but the checkpoint counts {want}: "
                             "the folder is damaged")


def _checked(d, path) -> dict:
    if not isinstance(d, dict) or "schema" not in d:
        raise RunFolderError(f"{path} is not an evoinit file (no schema version)")
    if d["schema"] != SCHEMA:
        raise RunFolderError(f"{path} has schema version {d['schema']!r}; this evoinit reads "
                             f"version {SCHEMA}")
    return d
