"""The chronicle rendered as a timeline a person reads: "Day 112 — Ferals got through ...".

Repetitive events (the same policy acting every two weeks, daily breaches) are folded into one
line with a count, so a year reads as a story rather than a log.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aftermath.result import Result

#: Kinds that recur; after the first, later ones in the same zone are folded into a count.
RECURRING = {"policy_sweep", "breach"}


def render_timeline(result: Result, limit: int = 200) -> list[str]:
    """Lines of the chronicle, oldest first, folded, at most ``limit`` lines."""
    lines: list[str] = []
    folded: dict[tuple[str, str], int] = {}
    first_line: dict[tuple[str, str], int] = {}
    for ev in result.chronicle:
        key = (ev.kind, ev.zone)
        if ev.kind in RECURRING and key in first_line:
            folded[key] = folded.get(key, 0) + 1
            continue
        first_line[key] = len(lines)
        lines.append(f"Day {ev.day:>4} — {ev.text[:1].upper()}{ev.text[1:]}")
    for key, n in folded.items():
        i = first_line[key]
        lines[i] += f"; {n} more time{'s' if n > 1 else ''} after"
    if not lines:
        return ["Nothing of note happened."]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {len(lines) - limit} more events"]
    return lines
