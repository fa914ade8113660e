"""Tables that fit the terminal: a table wider than the screen is printed as several tables, each
repeating the key columns (as pandas wraps a wide frame), rather than squeezing every column into
a few unreadable characters. ``--wide`` (or ``AFTERMATH_WIDE=1``) prints one table, as wide as it
needs to be, for a pager or a file.

Used by ``run``, ``compare``, ``overlay``, ``sweep``, ``query`` and ``validate``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

#: A column's padding (a space either side) and its rule.
_PAD = 3


def wide_default() -> bool:
    """Whether tables are printed whole by default (``AFTERMATH_WIDE=1``)."""
    return os.environ.get("AFTERMATH_WIDE", "") not in ("", "0")


def _len(cell: Any) -> int:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return max((len(line) for line in text.splitlines()), default=0)


def blocks(widths: Sequence[int], keys: int, width: int, edge: bool = True) -> list[list[int]]:
    """Split column indices into blocks whose widths fit ``width``: each column takes its content,
    one space either side and a rule between columns (and the outer rules when ``edge``), and the
    key columns are repeated in every block. A column too wide for a block of its own gets one
    anyway (its cells then wrap)."""
    key_cols = list(range(min(keys, len(widths))))
    frame = 1 + (2 if edge else 0)  # n columns take n - 1 inner rules: count one less, plus the outer ones
    base = frame - 2 + sum(widths[i] + _PAD for i in key_cols)
    out: list[list[int]] = []
    current: list[int] = []
    used = base
    for i in range(len(key_cols), len(widths)):
        need = widths[i] + _PAD
        if current and used + need > width:
            out.append(key_cols + current)
            current, used = [], base
        current.append(i)
        used += need
    if current or not out:
        out.append(key_cols + current)
    return out


def fitted(headers: Sequence[Any], rows: Sequence[Sequence[Any]], *, title: str | None = None,
           justify: Sequence[str] | None = None, keys: int = 1, width: int | None = None,
           wide: bool = False, caption: str | None = None, squeeze: dict[int, int] | None = None,
           **table_kw: Any) -> RenderableType:
    """The table, or several tables that each fit ``width`` (the console's by default), the first
    ``keys`` columns repeated in each. ``squeeze`` lets text columns wrap down to a width (column
    index: narrowest width) before the table is split. ``wide`` returns one table however wide."""
    justify = list(justify or ["left"] * len(headers))
    widths = [max([_len(h), *(_len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    widths = [min(w, (squeeze or {}).get(i, w)) for i, w in enumerate(widths)]
    limit = width if width is not None else Console().width
    edge = bool(table_kw.get("show_edge", True))
    parts = [list(range(len(headers)))] if wide or wide_default() else blocks(widths, keys, limit, edge)
    tables: list[Table] = []
    for n, cols in enumerate(parts):
        label = title if n == 0 else (f"{title} (continued)" if title else None)
        t = Table(title=label, **table_kw)
        for i in cols:
            t.add_column(headers[i], justify=justify[i])  # type: ignore[arg-type]
        for r in rows:
            t.add_row(*(r[i] for i in cols))
        tables.append(t)
    if caption:
        tables[-1].caption = caption
    return tables[0] if len(tables) == 1 else Group(*tables)


def print_wide(console: Console, renderable: RenderableType, wide: bool) -> None:
    """Print ``renderable``; with ``wide``, at its own width rather than the terminal's."""
    if not (wide or wide_default()):
        console.print(renderable)
        return
    natural = console.measure(renderable, options=console.options.update_width(10_000)).maximum
    Console(file=console.file, width=max(natural, console.width), force_terminal=console.is_terminal,
            highlight=False).print(renderable)
