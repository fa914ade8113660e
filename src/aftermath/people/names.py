"""Names for a generated cast, from the lists shipped in ``aftermath/people/data`` (each notes its
source at the top of the file): ``names_ko.toml``, Korean names written family name first ("Kim
Min-jun"), and ``names_en.toml``, English names written given name first ("Susan Miller"). Each
file says its order (``order = "family-given"`` or ``"given-family"``).

The scenario key ``cast_names`` chooses the list (:func:`language_for`); unset, a scenario in the
words of the SIR or SZR textbooks (``run.vocabulary = "sir"`` or ``"szr"``) gets the English list,
any other the Korean one (docs/scenario.md). A declared character's name is read in the order of
the chosen list too: its given name is its first word under ``given-family``, its last under
``family-given``."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from aftermath.scenario.schema import Scenario

#: The lists shipped (``data/names_<language>.toml``): the values of the scenario key ``cast_names``.
LANGUAGES = ("ko", "en")
#: The orders a list may write its names in.
ORDERS = ("given-family", "family-given")


@dataclass(frozen=True)
class NameList:
    """One shipped list: its family and given names and the order a full name puts them in."""

    language: str
    order: str
    family: tuple[str, ...]
    given: tuple[str, ...]

    def join(self, family: str, given: str) -> str:
        """The full name of ``given`` of the family ``family`` in this list's order."""
        return f"{given} {family}" if self.order == "given-family" else f"{family} {given}"

    def given_of(self, name: str) -> str:
        """The given name of a name written in this list's order: its first word (given-family)
        or its last (family-given); a one-word name is its own given name."""
        parts = name.split()
        if not parts:
            return name
        return parts[0] if self.order == "given-family" else parts[-1]

    def family_of(self, name: str) -> str | None:
        """The family name of a name written in this list's order: its last word (given-family)
        or its first (family-given); None for a one-word name (no family to share)."""
        parts = name.split()
        if len(parts) < 2:
            return None
        return parts[-1] if self.order == "given-family" else parts[0]


@cache
def name_list(language: str = "ko") -> NameList:
    """The shipped list for ``language`` (one of :data:`LANGUAGES`)."""
    if language not in LANGUAGES:
        raise ValueError(f"no name list {language!r}: expected one of {list(LANGUAGES)}")
    text = resources.files("aftermath.people").joinpath("data", f"names_{language}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    order = data.get("order")
    if order not in ORDERS:
        raise ValueError(f"names_{language}.toml: order {order!r}, expected one of {list(ORDERS)}")
    return NameList(language, str(order), tuple(data["family"]), tuple(data["given"]))


def language_for(scenario: Scenario) -> str:
    """The list a scenario's generated cast is named from: ``cast_names`` when set; unset, "en"
    for a scenario in the SIR or SZR textbooks' words (``run.vocabulary``), else "ko"."""
    if scenario.cast_names is not None:
        return scenario.cast_names
    return "en" if scenario.run.vocabulary in ("sir", "szr") else "ko"


class Namer:
    """Draws distinct full names from the list with a seeded generator; a family shares a surname."""

    def __init__(self, rng: np.random.Generator, taken: set[str] | None = None, language: str = "ko") -> None:
        self.rng = rng
        self.names = name_list(language)
        self.family, self.given = self.names.family, self.names.given
        self.taken: set[str] = set(taken or ())
        #: (family, given) of each name this namer made (the others are read in the list's order)
        self.parts: dict[str, tuple[str, str]] = {}
        self._seen: set[str] = set()  # the names whose given names are in ``_used`` (:meth:`_used_given`)
        self._used: set[str] = set()

    def surname(self) -> str:
        return str(self.family[int(self.rng.integers(len(self.family)))])

    def given_of(self, name: str) -> str:
        """The given name of ``name``: the one drawn if this namer made it, else read in the list's order."""
        return self.parts[name][1] if name in self.parts else self.names.given_of(name)

    def family_of(self, name: str) -> str | None:
        """The family name of ``name`` (None for a one-word name), as :meth:`given_of`."""
        return self.parts[name][0] if name in self.parts else self.names.family_of(name)

    def full(self, surname: str | None = None) -> str:
        """A name not given yet in this run, with a given name no one else has while the list
        lasts (stories call people by their given names); a numeral is added if it runs out."""
        fam = surname or self.surname()
        used = self._used_given()
        first = 0
        if used.issuperset(self.given):  # no given name is free: the first 100 draws all fail, whatever they are
            self.rng.integers(len(self.given), size=100)  # (drawn at once: the same stream as one by one, a test)
            first = 100
        for attempt in range(first, 200):
            given = self.given[int(self.rng.integers(len(self.given)))]
            name = self.names.join(fam, given)
            if name not in self.taken and (given not in used or attempt >= 100):
                return self._take(name, fam, given)
        k = 2
        while f"{self.names.join(fam, self.given[0])} {k}" in self.taken:
            k += 1
        return self._take(f"{self.names.join(fam, self.given[0])} {k}", fam, self.given[0])

    def _used_given(self) -> set[str]:
        """The given names of the names taken, kept as ``taken`` grows (by :meth:`_take` and by the
        caster) rather than read again from every name at each draw."""
        if not self._seen.issubset(self.taken):  # a name was taken back: read them all again
            self._seen, self._used = set(), set()
        if len(self._seen) != len(self.taken):
            for name in self.taken - self._seen:
                self._used.add(self.given_of(name))
            self._seen = set(self.taken)
        return self._used

    def _take(self, name: str, family: str, given: str) -> str:
        self.taken.add(name)
        self.parts[name] = (family, given)
        return name
