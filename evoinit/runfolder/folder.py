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
    networks/           the hall of fame's trained networks as plain arrays, written when the
                        search finishes (``networks``; a run from before has none)
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
import io
import json
import os
from contextlib import contextmanager
from pathlib import Path

from evoinit.errors import (
    RunFolderError,
    UsageError,
    WorkerError,
    lost_connection,
    one_line,
)
from evoinit.runfolder.files import (
    atomic_write,
    critical,
    csv_cell,
    dumps,
    new_file,
    open_in_place,
    own_file,
    own_folder,
    read_json,
    readable,
    write_json,
)

SCHEMA = 1


# -- the one rule for paths under a run folder --------------------------------------------------
#
# evoinit writes, replaces and deletes only regular files and folders it made, never through a
# symbolic link: each path it is about to open for writing, replace, delete or create a folder at
# is looked at with ``lstat`` first (files it opens in place also with ``O_NOFOLLOW``), and
# anything else there — a link, a pipe, a device — is refused in one line naming it. A shared
# run folder with ``.replaced``, ``.lock`` or ``figures`` linked elsewhere cannot make evoinit
# write, empty or delete anything outside it.


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
        if not (self / "config.json").exists() and (self / "train.json").exists():
            raise RunFolderError(f"{self.path} holds the output of evoinit train (train.json), not a "
                                 "search's run folder: report, resume and export read a folder "
                                 "evoinit search wrote")
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
