"""The words a run is told in: Aftermath's own, the SIR limit's (S, I, R) or Munz et al.'s (S, Z, R).

A scenario chooses its words with ``run.vocabulary`` (``docs/scenario.md``). The numbers never
change, only how they are grouped and named: the SIR limit's I is the ferals (and any latent or
hybrid infected), its R is every body out of the epidemic (D + R); Munz's S is the humans
(S + E + H), Z the ferals and R the dead (D + R, corpses that may rise). Every group list covers
all six states exactly once, so a plot drawn from it accounts for every person.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from aftermath.model.world import STATE_NAMES

if TYPE_CHECKING:
    from aftermath.scenario.schema import Scenario

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Group:
    """A compartment as a vocabulary names it: a label, the model states it sums, a colour."""

    key: str
    label: str
    states: tuple[str, ...]
    colour: str
    out: bool = False  # out of the epidemic (the dead and removed): drawn dashed among the curves


@dataclass(frozen=True)
class Vocabulary:
    """The words of one vocabulary."""

    name: str
    groups: tuple[Group, ...]
    humans: str  # the word for S + E + H in tables
    ferals: str  # the word for Z in tables
    infected: str  # the word for "infected at some point"

    def group(self, key: str) -> Group:
        return next(g for g in self.groups if g.key == key)

    def series(self, counts: F64) -> dict[str, F64]:
        """Each group's count over time from ``counts[..., state]`` (the last axis is the state)."""
        return {g.key: counts[..., [STATE_NAMES.index(s) for s in g.states]].sum(axis=-1) for g in self.groups}


_AFTERMATH = Vocabulary(
    "aftermath",
    (
        Group("S", "susceptible", ("S",), "#0072B2"),
        Group("E", "latent", ("E",), "#E69F00"),
        Group("H", "hybrid", ("H",), "#009E73"),
        Group("Z", "feral", ("Z",), "#D55E00"),
        Group("D", "corpse", ("D",), "#555555", out=True),
        Group("R", "removed", ("R",), "#BBBBBB", out=True),
    ),
    humans="survivors", ferals="ferals", infected="infected",
)
_SIR = Vocabulary(
    "sir",
    (
        Group("S", "S: susceptible", ("S",), "#0072B2"),
        Group("I", "I: infectious", ("E", "H", "Z"), "#D55E00"),
        Group("R", "R: recovered/removed", ("D", "R"), "#009E73", out=True),
    ),
    humans="S", ferals="I", infected="infected",
)
_SZR = Vocabulary(
    "szr",
    (
        Group("S", "S: susceptible humans", ("S", "E", "H"), "#0072B2"),
        Group("Z", "Z: zombies", ("Z",), "#D55E00"),
        Group("R", "R: removed (dead, may rise)", ("D", "R"), "#555555", out=True),
    ),
    humans="S", ferals="Z", infected="bitten",
)

VOCABULARIES: dict[str, Vocabulary] = {v.name: v for v in (_AFTERMATH, _SIR, _SZR)}


def vocabulary(scenario: Scenario | None = None) -> Vocabulary:
    """The vocabulary a scenario asks for (Aftermath's own without one)."""
    name = getattr(getattr(scenario, "run", None), "vocabulary", None)
    return VOCABULARIES.get(name or "aftermath", _AFTERMATH)


def _n(x: float) -> str:
    return f"{x:,.0f}"


def summary_lines(s: dict[str, Any], vocab: Vocabulary, removed_end: float) -> list[str]:
    """The run summary's sentences in a compartmental vocabulary (``sir`` or ``szr``), from the keys
    of :meth:`aftermath.result.Result.summary` and the dead and removed at the end (D + R).
    Rich markup: bold for the headline numbers."""
    peak = s["peak_ferals"]
    if vocab.name == "sir":
        # the whole is S + I + R at the end (the infectious at the start are people too: the boarding
        # school's 763 boys, not the 762 humans that initial_humans counts); the attack rate's
        # denominator is the initial humans, in the SIR limit the susceptible at the start
        infectious = s["ferals"] + s["latent"] + s["hybrids"]
        lines = [
            f"Of {_n(s['susceptible'] + infectious + removed_end)} people at the end, [bold]{_n(s['susceptible'])}[/] "
            f"are still susceptible (S), {_n(infectious)} infectious (I) and [bold]{_n(removed_end)}[/] "
            "recovered/removed (R).",
            f"{s['attack_rate']:.1%} of the {_n(s['initial_humans'])} susceptible at the start were infected at some "
            "point (the attack rate, or final size).",
        ]
        if peak is not None:
            lines.append(f"Infectious (I) peaked at [bold]{_n(peak)}[/] on day {s['peak_ferals_day']}.")
        if s["deaths"] >= 0.5:
            lines.append(f"{_n(s['deaths'])} died outright (bites that kill, natural deaths, policy).")
    else:
        lines = [
            f"Of {_n(s['initial_humans'])} humans (S) at the start, [bold]{_n(s['survivors'])}[/] remain at the "
            f"end; zombies (Z) number {_n(s['ferals'])} and the removed (R: dead, may rise) {_n(removed_end)}.",
            f"{_n(s['turned'])} humans turned into zombies and {_n(s['deaths'])} died "
            f"({s['attack_rate']:.1%} were bitten at some point).",
        ]
        if peak is not None:
            lines.append(f"Zombies (Z) peaked at [bold]{_n(peak)}[/] on day {s['peak_ferals_day']}.")
    if s["extinction_day"] is not None:
        lines.append(f"[bold red]No humans were left by day {s['extinction_day']}.[/]")
    if s["elimination_day"] is not None:
        lines.append(f"The infection was gone on day {s['elimination_day']}.")
    return lines


def joined(words: Sequence[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"`` (one word as it is; none: "")."""
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else "".join(words)


def count(n: float, one: str, many: str | None = None) -> str:
    """``n`` with thousands separators and the noun in the number it takes: "1 zone", "2 zones"."""
    return f"{_n(n)} {one if round(n) == 1 else (many or one + 's')}"


def start_words(vocab: Vocabulary, scenario: Scenario) -> str:
    """Who is there at the start of ``scenario``, in the vocabulary's words: the SIR limit's S and I
    (E + H + Z) and R (D + R, when any), Munz's humans (S + E + H) and zombies, or Aftermath's
    people (humans) and ferals."""
    pops = [z.population for z in scenario.zones]
    humans = sum(p.S + p.E + p.H for p in pops)
    ferals = sum(p.Z for p in pops)
    out = sum(p.D + p.R for p in pops)
    if vocab.name == "sir":
        infectious = sum(p.E + p.H + p.Z for p in pops)
        text = f"{_n(sum(p.S for p in pops))} susceptible (S) and {_n(infectious)} infectious (I)"
        return text + (f" and {_n(out)} recovered/removed (R)" if out >= 0.5 else "")
    if vocab.name == "szr":
        text = f"{count(humans, 'human')} (S) and {count(ferals, 'zombie')} (Z)"
        return text + (f" and {_n(out)} removed (R)" if out >= 0.5 else "")
    return f"{count(humans, 'person', 'people')} (humans: S + E + H) and {count(ferals, 'feral')}"


def sweep_metrics(vocab: Vocabulary) -> tuple[tuple[str, str], ...]:
    """The outcomes a sweep's table shows: (the summary column, its header in the vocabulary's
    words). The SIR limit's S is the susceptible (its I holds the latent and hybrids); Munz's S
    is the humans. ``--json`` keeps the summary's own names."""
    if vocab.name == "sir":
        first = ("susceptible", "S at end")
    elif vocab.name == "szr":
        first = ("survivors", "S at end")
    else:
        first = ("survivors", "survivors")
    return (first, ("deaths", "deaths"), ("peak_ferals", f"peak {vocab.ferals}"), ("peak_day", "peak day"),
            ("attack_rate", "attack rate"))


def ferals_words(vocab: Vocabulary) -> str:
    """The ferals as a sentence names them: "the infectious (I)", "the zombies (Z)", "the ferals"."""
    return {"sir": "the infectious (I)", "szr": "the zombies (Z)"}.get(vocab.name, "the ferals")


def shows_deaths(vocab: Vocabulary, deaths: Any) -> bool:
    """Whether a table of runs shows their deaths (an iterable of them, ``None`` or NaN for none):
    always, but in the SIR limit only when some run had any (its R holds everyone out of the
    epidemic; a column of zeros would say nothing)."""
    return vocab.name != "sir" or any(d is not None and d == d and d > 0 for d in deaths)


def header_lines(text: str) -> str:
    """A table header on two lines, broken at the space that leaves the longer line shortest
    ("peak day": "peak" over "day"; "S at end": "S at" over "end"), so that a column of short
    numbers is no wider than they are."""
    cuts = [i for i, ch in enumerate(text) if ch == " "]
    if not cuts:
        return text
    i = min(cuts, key=lambda i: max(i, len(text) - i - 1))
    return f"{text[:i]}\n{text[i + 1:]}"
