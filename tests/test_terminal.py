"""The commands' consoles take their width from COLUMNS when they print, not when they were made.

Under pytest-xdist a command module was first imported inside a CliRunner call with COLUMNS=80, and
a later call with COLUMNS=300 still wrapped at 80 (tests/test_cli.py's costs line).
"""

from __future__ import annotations

import io

import pytest

from aftermath.terminal import LiveConsole


def test_the_width_follows_columns_after_the_console_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "40")
    monkeypatch.setenv("LINES", "10")
    buf = io.StringIO()
    c = LiveConsole(file=buf)
    assert c.width == 40 and c.height == 10
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setenv("LINES", "50")
    assert c.width == 300 and c.height == 50
    c.print("x" * 200)
    assert buf.getvalue() == "x" * 200 + "\n"  # one line: not folded at 40


def test_a_width_given_stays(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "300")
    assert LiveConsole(width=50, file=io.StringIO()).width == 50


def test_emoji_codes_are_shown_as_written() -> None:
    buf = io.StringIO()
    LiveConsole(file=buf, width=80).print("a :fire: b")
    assert buf.getvalue() == "a :fire: b\n"


def test_the_commands_consoles_are_live() -> None:
    from aftermath import cli
    from aftermath.calibrate import commands as calibrate
    from aftermath.run import commands as run

    for c in (cli.console, cli.err, run.out, run.err, calibrate.out, calibrate.err):
        assert isinstance(c, LiveConsole)


def test_jupyter_and_dumb_terminals_keep_their_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "150")
    monkeypatch.setenv("LINES", "40")
    monkeypatch.setenv("TERM", "dumb")
    assert LiveConsole(file=io.StringIO()).size == (150, 40)  # Rich's own: 80 x 25 on a dumb terminal
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.delenv("COLUMNS")
    monkeypatch.delenv("LINES")
    monkeypatch.setenv("JUPYTER_COLUMNS", "115")
    monkeypatch.setenv("JUPYTER_LINES", "100")
    assert LiveConsole(file=io.StringIO(), force_jupyter=True).size == (115, 100)
