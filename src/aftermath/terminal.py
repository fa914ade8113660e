"""The consoles the commands print to.

Rich fixes a console's width when the console is made, if ``COLUMNS`` (or ``LINES``) is set then.
The commands' consoles are made when their module is first imported, which for a lazily imported
command is inside whichever command ran first: a program (or a test runner) that runs several
commands with different ``COLUMNS`` got the first one's width for all of them. :class:`LiveConsole`
reads ``COLUMNS`` and ``LINES`` each time it measures, as Rich does when they were unset at first.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console


class LiveConsole(Console):
    """A :class:`rich.console.Console` whose size follows ``COLUMNS``/``LINES`` as they are when it
    prints (a ``width`` or ``height`` given here stays fixed). ``emoji`` is off by default: Rich would
    show a user's ``:x:`` (in a file name, a value) as an emoji."""

    def __init__(self, *, emoji: bool = False, **options: Any) -> None:
        super().__init__(emoji=emoji, **options)
        # Rich stores the size it read from the environment in _width/_height and then never reads
        # the environment again; None makes Console.size read it at each call (tests/test_terminal.py).
        # Not in Jupyter (the size there is Rich's own, from JUPYTER_COLUMNS), nor on a dumb
        # terminal (whose size Rich takes as 80 x 25 when it reads it later).
        if self.is_jupyter or self.is_dumb_terminal:
            return
        if options.get("width") is None:
            self._width = None
        if options.get("height") is None:
            self._height = None
