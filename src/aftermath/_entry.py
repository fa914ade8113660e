"""The ``aftermath`` command's entry point: a Ctrl-C while the command line is still loading.

A command interrupted at its work says one line and exits 130 (:class:`aftermath.cli.App`); before
the application exists (while its modules are imported) nothing could say it, and the user got
Python's traceback of ``KeyboardInterrupt``. This module imports nothing of the project's until
that is guarded, so that a Ctrl-C at any point of the start is the same one line and exit 130.
"""

from __future__ import annotations

import sys


def main() -> None:
    """Load the command line and run it; a Ctrl-C while loading: one line on stderr, exit 130."""
    try:
        from aftermath.cli import app
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)
    app()  # a Ctrl-C from here on is the application's own (App.__call__): the same line and exit


if __name__ == "__main__":  # pragma: no cover - ``python -m aftermath._entry``
    main()
