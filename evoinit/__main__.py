"""``python -m evoinit`` and the ``evoinit`` command.

``run`` answers SIGINT/SIGTERM from its first instant: while Python imports NumPy, scikit-learn
and the rest (about a second), a Ctrl-C ends the command quietly with 130 (143 for SIGTERM)
instead of a KeyboardInterrupt traceback; nothing has been written yet. ``evoinit.cli.app.main`` then
installs the handlers that stop a search cleanly.
"""

import os
import signal


def _quit(signum, frame):
    os.write(2, b"evoinit: interrupted while starting; nothing was written\n")
    os._exit(128 + signum)


def run() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _quit)
    from evoinit.cli.app import main

    main()


if __name__ == "__main__":
    run()
