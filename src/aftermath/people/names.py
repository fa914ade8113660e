"""Names for a generated cast, from the list shipped in ``aftermath/people/data`` (its source is
noted at the top of the file). One list today: Korean names (``names_ko.toml``), family name first."""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources

import numpy as np


@cache
def name_list(language: str = "ko") -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(family names, given names) of the shipped list for ``language``."""
    text = resources.files("aftermath.people").joinpath("data", f"names_{language}.toml").read_text(encoding="utf-8")
    data = tomllib.loads(text)
    return tuple(data["family"]), tuple(data["given"])


class Namer:
    """Draws distinct full names from the list with a seeded generator; a family shares a surname."""

    def __init__(self, rng: np.random.Generator, taken: set[str] | None = None, language: str = "ko") -> None:
        self.rng = rng
        self.family, self.given = name_list(language)
        self.taken: set[str] = set(taken or ())

    def surname(self) -> str:
        return str(self.family[int(self.rng.integers(len(self.family)))])

    def full(self, surname: str | None = None) -> str:
        """A name not given yet in this run, with a given name no one else has while the list
        lasts (stories call people by their given names); a numeral is added if it runs out."""
        fam = surname or self.surname()
        used = {n.split()[1] for n in self.taken if len(n.split()) >= 2}
        for attempt in range(200):
            given = self.given[int(self.rng.integers(len(self.given)))]
            name = f"{fam} {given}"
            if name not in self.taken and (given not in used or attempt >= 100):
                self.taken.add(name)
                return name
        k = 2
        while f"{fam} {self.given[0]} {k}" in self.taken:
            k += 1
        name = f"{fam} {self.given[0]} {k}"
        self.taken.add(name)
        return name
