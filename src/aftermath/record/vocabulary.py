"""The words a run is told in: Aftermath's own, the SIR limit's (S, I, R) or Munz et al.'s (S, Z, R).

A scenario chooses its words with ``run.vocabulary`` (``docs/scenario.md``). The numbers never
change, only how they are grouped and named: the SIR limit's I is the ferals (and any latent or
hybrid infected), its R is every body out of the epidemic (D + R); Munz's S is the humans
(S + E + H), Z the ferals and R the dead (D + R, corpses that may rise). Every group list covers
all six states exactly once, so a plot drawn from it accounts for every person.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


def summary_lines(s: dict[str, Any], vocab: Vocabulary, counts: NDArray[np.float64]) -> list[str]:
    """The run summary's sentences in a compartmental vocabulary (``sir`` or ``szr``), from the keys
    of :meth:`aftermath.result.Result.summary` and the run's ``counts`` [time, zone, state] (the
    dead and removed at the end, D + R; the SIR limit's I, E + H + Z, whose peak is not the
    ferals'). Rich markup: bold for the headline numbers."""
    from aftermath.model.world import State
    from aftermath.record.measures import peak_after_low

    removed_end = float(counts[-1][:, [State.D, State.R]].sum())
    peak = s["peak_ferals"]
    if vocab.name == "sir":
        peak, peak_day = peak_after_low(counts[:, :, [State.E, State.H, State.Z]].sum(axis=(1, 2)))
        s = {**s, "peak_ferals_day": peak_day}
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


# -- the record's keys in words (the HTML reports and the terminal's comparison) --------------------

#: The key numbers of a run report: (summary key, label) in Aftermath's words; each names what it
#: counts (``docs/report.md``, "The record").
KEY_NUMBERS: tuple[tuple[str, str], ...] = (
    ("initial_humans", "people at the start (humans: S + E + H)"),
    ("survivors", "survivors (humans at the end)"), ("deaths", "deaths"), ("turned", "turned feral"),
    ("ferals_at_start", "ferals at the start"), ("peak_ferals", "ferals' peak (after their low)"),
    ("peak_ferals_day", "day of the ferals' peak"), ("attack_rate", "attack rate"),
    ("killed_by_policy", "killed by policy"), ("culled", "hybrids culled"),
    ("hybrids_swept", "hybrids killed in sweeps"),
    ("turned_away_attempts", "crossings refused at gates (attempts)"), ("starved", "starved"))

#: How a key of the record (``docs/report.md``, "The record") or a column is named where a reader
#: sees it, in Aftermath's words. The keys stay as they are in the JSON, the store and scripts.
WORDS: dict[str, str] = {
    **dict(KEY_NUMBERS),
    "susceptible": "susceptible at the end (S)", "latent": "latent at the end (E)",
    "hybrids": "hybrids at the end (H)", "ferals": "ferals at the end (Z)", "infections": "infections",
    "peak_infections": "most infections in one day", "peak_infections_day": "day of the most infections",
    "elimination_day": "day the infection was gone", "extinction_day": "day no human was left",
    "births": "births", "breaches": "ferals through a wall (breaches)",
    "turned_away_attempts_healthy": "crossings by healthy people refused (attempts)",
    "ferals_swept": "ferals destroyed in sweeps",
    # the agent-based ledger's people, each counted once per flag
    "people_turned_away": "people turned away", "healthy_people_turned_away": "healthy people turned away",
    "sealed_in": "sealed in", "sacrificed": "sacrificed", "concealed": "concealed",
    "misclassified": "misclassified", "lives_saved": "lives saved",
    # a zone at the end, a policy, the official record
    "fear": "fear at the end", "days_sealed": "days sealed", "days_acted": "days acted",
    "first_day_acted": "first day acted", "left_out": "left out", "who": "who is left out",
    "cost": "what policy did", "flag": "flag",
    # across runs, and a batch of a store
    "q05": "5th percentile", "q25": "25th percentile", "q50": "median", "q75": "75th percentile",
    "q95": "95th percentile", "first_day": "first day",
    "batch_id": "batch", "scenario_hash": "scenario hash (SHA-256)", "master_seed": "master seed",
    "created_at": "made", "point_overrides": "points and their overrides", "seed_scheme": "seed scheme",
    "aftermath_version": "aftermath version", "versions": "library versions",
}

#: The keys whose words differ in the SIR limit's and Munz's vocabularies (the rest are as
#: :data:`WORDS`). The SIR limit's I is E + H + Z (the model's Z is its infectious proper), its R
#: the dead and removed; Munz's S is every human (S + E + H), Z the zombies.
VOCABULARY_WORDS: dict[str, dict[str, str]] = {
    "sir": {
        "initial_humans": "susceptible at the start (S)", "survivors": "humans at the end (S + E + H)",
        "deaths": "died outright", "turned": "turned infectious (to Z)",
        "ferals_at_start": "infectious at the start (Z)", "peak_ferals": "infectious' peak (Z, after their low)",
        "peak_ferals_day": "day of the infectious' peak", "attack_rate": "attack rate (final size)",
        "killed_by_policy": "killed by policy", "culled": "infected people culled (H)",
        "hybrids_swept": "infected people killed in sweeps (H)",
        "latent": "latent at the end (E, counted in I)", "hybrids": "infected humans at the end (H, counted in I)",
        "ferals": "infectious at the end (Z)", "breaches": "infectious through a wall (breaches)",
        "ferals_swept": "infectious destroyed in sweeps (Z)",
        "elimination_day": "day no one was infectious",
    },
    "szr": {
        "initial_humans": "humans at the start (S)", "survivors": "humans at the end (S)",
        "turned": "turned into zombies", "ferals_at_start": "zombies at the start (Z)",
        "peak_ferals": "zombies' peak (Z, after their low)", "peak_ferals_day": "day of the zombies' peak",
        "attack_rate": "bitten at some point (attack rate)", "culled": "bitten humans culled (H)",
        "hybrids_swept": "bitten humans killed in sweeps (H)",
        "susceptible": "never bitten at the end (counted in S)", "latent": "bitten, not yet turned (E, counted in S)",
        "hybrids": "bitten, still human (H, counted in S)", "ferals": "zombies at the end (Z)",
        "breaches": "zombies through a wall (breaches)", "ferals_swept": "zombies destroyed in sweeps",
        "elimination_day": "day the last zombie was gone",
    },
}

#: The engines as a reader knows them (``--engine`` takes the ids).
ENGINE_WORDS = {"ode": "ODE", "ssa": "SSA (stochastic)", "abm": "agent-based"}


def words(vocab: Vocabulary | None = None) -> dict[str, str]:
    """Every key in words (:data:`WORDS`), in ``vocab``'s words where they differ."""
    return {**WORDS, **VOCABULARY_WORDS.get(vocab.name if vocab is not None else "aftermath", {})}


def word(key: str, vocab: Vocabulary | None = None) -> str:
    """``key`` (a key of the record or a column) in words, in ``vocab``'s where given: a ledger
    column (``ledger_<flag>``) as its flag with "(ledger)", an unknown key with spaces for
    underscores."""
    key = str(key)
    said = words(vocab)
    if key in said:
        return said[key]
    if key.startswith("ledger_"):
        return f"{word(key[len('ledger_'):], vocab)} (ledger)"
    return key.replace("_", " ")


def key_numbers(vocab: Vocabulary | None = None) -> tuple[tuple[str, str], ...]:
    """A run report's key numbers, (summary key, label), in ``vocab``'s words. The SIR limit's
    first number after the start is the susceptible left (its I holds the latent and hybrids)."""
    said = words(vocab)
    keys = [k for k, _ in KEY_NUMBERS]
    if vocab is not None and vocab.name == "sir":
        keys[keys.index("survivors")] = "susceptible"
    return tuple((k, said[k]) for k in keys)


def engine_words(engine: Any) -> str:
    """An engine id in words ("abm" -> "agent-based"); an unknown one as it is."""
    return ENGINE_WORDS.get(str(engine), str(engine))


def state_label(vocab: Vocabulary, state: str) -> str:
    """One model state (S, E, H, Z, D, R) as ``vocab`` names it: its group's label, with the state
    where the group holds several ("I: infectious (Z)" in the SIR limit)."""
    g = next(g for g in vocab.groups if state in g.states)
    return g.label if len(g.states) == 1 else f"{g.label} ({state})"


def scenario_vocabulary(scenario: Any) -> Vocabulary:
    """:func:`vocabulary` of a scenario, or of its dict (as a store keeps it), or Aftermath's."""
    if isinstance(scenario, dict):
        run = scenario.get("run")
        name = run.get("vocabulary") if isinstance(run, dict) else None
        return VOCABULARIES.get(str(name or "aftermath"), _AFTERMATH)
    return vocabulary(scenario)


#: What a comparison's metrics count (:data:`aftermath.compare.METRICS`' ``meaning``), where a
#: vocabulary says it in other words.
MEANING_WORDS: dict[str, dict[str, str]] = {
    "sir": {
        "deaths": "people who died: killed by the infection, natural deaths, starved, culled, and infected people "
                  "killed in sweeps (becoming infectious is not a death)",
        "killed_by_policy": "people killed by a policy: infected people (H) culled or killed in sweeps (a person "
                            "dies once, so no one is counted twice)",
        "culled": "infected people (H) killed by a cull", "hybrids_swept": "infected people (H) killed in sweeps",
    },
    "szr": {
        "deaths": "people who died: bitten to death, natural deaths, starved, culled, and bitten humans killed in "
                  "sweeps (turning into a zombie is not a death)",
        "killed_by_policy": "people killed by a policy: bitten humans (H) culled or killed in sweeps (a person dies "
                            "once, so no one is counted twice)",
        "culled": "bitten humans (H) killed by a cull", "hybrids_swept": "bitten humans (H) killed in sweeps",
    },
}


def meaning_words(name: str, meaning: str, vocab: Vocabulary | None = None) -> str:
    """What metric ``name`` counts (``meaning``, in Aftermath's words) in ``vocab``'s words."""
    return MEANING_WORDS.get(vocab.name if vocab is not None else "aftermath", {}).get(name, meaning)


def faction_names(scenario: Any) -> dict[str, str]:
    """Faction id -> its name (the id where it has none)."""
    return {f.id: f.name or f.id for f in scenario.factions}


def zone_fear(zone: Mapping[str, Any]) -> float | None:
    """A zone's fear at the end as the terminal and the reports show it (a zone of a summary's
    ``zones``): none where no one is left to be afraid (fewer than half a person survives). The
    summary's JSON keeps the number."""
    from aftermath.record.measures import NONE_BELOW

    return None if zone["survivors"] < NONE_BELOW else float(zone["fear"])


def zone_names(scenario: Any) -> dict[str, str]:
    """Zone id -> its name (the id where it has none)."""
    return {z.id: z.name or z.id for z in scenario.zones}


def costs_in_words(costs: Sequence[str], vocab: Vocabulary | None = None) -> list[str]:
    """Costs (metrics of :data:`aftermath.compare.METRICS`, in their order) in ``vocab``'s words; a
    cost that is part of another shown among ``costs`` reads "of which ...", as
    :func:`aftermath.compare.metric_label` nests it by the metric's ``part_of`` (hybrids culled and
    hybrids killed in sweeps both under killed by policy), not by the row above it."""
    from aftermath.compare import METRIC

    shown, out = set(costs), []
    for c in costs:
        parent = METRIC[c].part_of if c in METRIC else None
        while parent is not None and parent not in shown:  # a parent not shown: nest under its own
            parent = METRIC[parent].part_of
        out.append(f"of which {word(c, vocab)}" if parent is not None else word(c, vocab))
    return out


def key_order(keys: Sequence[str], vocab: Vocabulary | None = None) -> list[str]:
    """``keys`` (of the record or a store's columns) in the order a reader reads them: the key
    numbers of a run report (:func:`key_numbers`), then a comparison's metrics
    (:data:`aftermath.compare.METRICS`), then the rest as they come."""
    from aftermath.compare import METRIC_NAMES

    first = [k for k, _ in key_numbers(vocab)] + [k for k, _ in KEY_NUMBERS] + list(METRIC_NAMES)
    rank = {k: i for i, k in reversed(list(enumerate(first)))}
    return sorted(keys, key=lambda k: rank.get(k, len(first)))  # stable: the rest keep their order
