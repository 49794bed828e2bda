"""How the ``evoinit`` command ends: signals, exit codes and the one line on stderr.

Errors the user can fix (``EvoinitError``, click's usage errors, a full disk, no memory) become
one line on stderr and an exit code (2 for usage, 1 otherwise); anything else is a bug and gets
a traceback.

Stopping: SIGINT (Ctrl-C) and SIGTERM raise ``Interrupted`` in the main thread wherever it is —
training, waiting for workers (joblib then shuts them down) — except inside the library's
``rundir.critical()`` blocks, which hold the signal until the checkpoint's writes are done. The
command exits 128 + the signal number (130, 143) with one line saying how to resume. A second
signal while stopping exits at once: outside a critical block the folder is consistent anyway.
"""

from __future__ import annotations

import errno
import os
import re
import shlex
import signal
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console

from evoinit.errors import EvoinitError, lost_connection, one_line

err_console = Console(stderr=True)


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived: stop now (a BaseException, so no ``except Exception`` swallows
    it). ``run`` is the run folder being written, if any, for the resume hint."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum
        self.run: Path | None = None


class _Signals:
    """The CLI's SIGINT/SIGTERM handlers (see the module docstring). ``cli.main`` installs them for
    the rest of the process: a signal during the interpreter's shutdown (joining loky's threads)
    exits at once instead of printing a KeyboardInterrupt traceback."""

    def __init__(self):
        self.received: int | None = None
        self.done = False

    def install(self) -> None:
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, self._handle)

    def _handle(self, signum, frame):
        if self.received is not None or self.done:  # a second Ctrl-C, or one while exiting
            os._exit(128 + signum)
        self.received = signum
        raise Interrupted(signum)

    def check(self) -> None:
        """Raise ``Interrupted`` if a signal came and its exception got lost (a handler's
        exception raised inside a ``__del__`` is printed and dropped by Python)."""
        if self.received is not None:
            raise Interrupted(self.received)


signals = _Signals()


@contextmanager
def stopping(folder):
    """A signal inside becomes ``Interrupted`` naming the run folder (a KeyboardInterrupt
    re-raised from a worker that got the terminal's Ctrl-C first counts as SIGINT)."""
    try:
        yield
    except (Interrupted, KeyboardInterrupt) as e:
        stop = e if isinstance(e, Interrupted) else Interrupted(signal.SIGINT)
        stop.run = folder
        raise stop from None


def hint(folder) -> str:
    return f"evoinit resume {shlex.quote(str(folder))}"

def exit_code(e: BaseException) -> int:
    """Say what went wrong in one line and give the exit code; re-raise anything else (a bug)."""
    if isinstance(e, typer.TyperException):  # typer/click's own: bad option value, missing argument, …
        if is_help(e):  # `evoinit` alone: the help, as click does
            e.show()
        else:
            say(f"error: {e.format_message()}{_try_help(e)}")
        return e.exit_code
    if isinstance(e, typer.Abort):  # EOF at a prompt
        say("error: aborted")
        return 1
    if isinstance(e, EvoinitError):
        say(f"error: {e}")
        return e.exit_code
    if isinstance(e, Interrupted):
        say(_interrupted(e))
        return 128 + e.signum
    if isinstance(e, MemoryError):
        say("error: out of memory; try fewer or narrower layers (--widths, --layers), a smaller "
             "--population or fewer --n-jobs")
        return 1
    if isinstance(e, OSError) and e.errno == errno.EPIPE:  # `evoinit list inits | head`: say nothing
        os._exit(1)  # at once: flushing the closed pipe at exit would print a traceback
    if isinstance(e, OSError) and lost_connection(e):  # not the disk: the network
        say(f"error: lost the connection to the Dask cluster ({one_line(e, 80)}); start the search "
            "again, or `evoinit resume RUN` if it had a run folder")
        return 1
    if isinstance(e, OSError):  # a full disk, a folder not ours
        where = f" {e.filename}" if e.filename else ""
        say(f"error: cannot use{where}: {e.strerror or e}")
        return 1
    raise e


def say(line: str) -> None:
    """One line on stderr, printed as text: no markup, control characters shown as escapes."""
    err_console.print(printable(line), markup=False, highlight=False, soft_wrap=True)


#: Characters a terminal acts on instead of showing: C0 and C1 controls (ESC starts colour, link
#: and title sequences; CR and BS overwrite), DEL, and the bidirectional overrides.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def printable(text) -> str:
    """``text`` safe to print on a terminal: every character of ``_UNSAFE`` written as its
    Python escape (``\\x1b``, ``\\n``), so text from a file or a run folder cannot move the cursor,
    recolour, retitle or add links, nor make one line look like two."""
    return _UNSAFE.sub(lambda m: ascii(m.group())[1:-1], str(text))


def is_help(e) -> bool:
    """A group called with nothing (``evoinit``, ``evoinit list``): typer's vendored click raises
    a usage error (``NoArgsIsHelpError``, not public) whose message is the group's help. Told by
    what it says, not by its class name; ``test_cli`` fails if click changes it."""
    ctx = getattr(e, "ctx", None)
    return ctx is not None and e.format_message() == ctx.get_help()


def _try_help(e) -> str:
    ctx = getattr(e, "ctx", None)
    return f" (see '{ctx.command_path} --help')" if ctx is not None else ""


def _interrupted(e: Interrupted) -> str:
    name = signal.Signals(e.signum).name
    if e.run is None:
        return f"interrupted ({name})"
    from evoinit.runfolder.folder import RunFolder
    from evoinit.runfolder.views import saved_generation

    folder = RunFolder(e.run)
    saved = saved_generation(folder)
    if saved is None:
        if not folder.holds_run():
            return f"interrupted ({name}) before the run folder {e.run} was made"
        what = "no generation had ended yet"
    else:
        generation, last, finished = saved
        what = ("the run is complete" if finished else f"generation {generation} of {last} is saved"
                + (" (the final scoring will be redone)" if generation == last else ""))
    return f"interrupted ({name}): {what} in {e.run}; continue with: {hint(e.run)}"
