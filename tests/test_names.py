"""Names of a generated cast: the list suits the setting (``cast_names``), names follow the list's
order, each person's given name is recorded, and the shipped lists say where they come from."""

from __future__ import annotations

import tomllib
import typing
from functools import cache
from importlib import resources
from typing import Any

import numpy as np
import pytest

from aftermath.engines.driver import simulate
from aftermath.people.names import LANGUAGES, ORDERS, Namer, language_for, name_list
from aftermath.scenario import schema
from aftermath.scenario.load import ScenarioError, builtin_names, load, parse_toml, to_dict, with_overrides
from aftermath.scenario.scale import scale_population


def _file(language: str) -> str:
    return resources.files("aftermath.people").joinpath("data", f"names_{language}.toml").read_text(encoding="utf-8")


@cache
def _people(builtin: str, people: int | None = None, character: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The cast record's people of a short ABM run: 8 generated, and a character (name, then the
    names of their household) when given."""
    sc = load(builtin)
    if people is not None:
        sc = scale_population(sc, people)
    over: dict[str, Any] = {"cast": 8}
    if character:
        over["characters"] = [{"name": character[0], "household": list(character[1:])}]
    sc = with_overrides(sc, over)
    return simulate(sc, engine="abm", days=2, seed=3).extras["cast"]["people"]


def test_the_school_gets_english_names_given_name_first() -> None:
    en = name_list("en")
    people = _people("boarding-school")
    assert sum(p["cast"] for p in people) == 8 and len(people) > 8
    for p in people:
        given, family = p["name"].split()
        assert given in en.given and family in en.family, p["name"]
        assert p["given"] == given
    for p in people:  # a household shares the surname, which comes last
        if p["kin_of"] is not None:
            assert p["name"].split()[-1] == p["kin_of"].split()[-1]


def test_hyosan_keeps_korean_names_family_name_first() -> None:
    ko = name_list("ko")
    people = _people("hyosan", 4000)
    for p in people:
        family, given = p["name"].split()
        assert family in ko.family and given in ko.given, p["name"]
        assert p["given"] == given
        if p["kin_of"] is not None:
            assert family == p["kin_of"].split()[0]


@pytest.mark.parametrize("builtin, people", [("boarding-school", None), ("hyosan", 4000)])
def test_names_and_given_names_are_distinct(builtin: str, people: int | None) -> None:
    names = [p["name"] for p in _people(builtin, people)]
    given = [p["given"] for p in _people(builtin, people)]
    assert len(set(names)) == len(names)
    assert len(set(given)) == len(given), given  # fewer than the 60 given names of the list


def test_declared_characters_are_read_in_the_lists_order() -> None:
    """A character keeps the name as written; the given name is its first word under the English
    list, the last under the Korean one, and unnamed household members share the family name."""
    en = _people("boarding-school", None, ("Margaret Ann Hale", "Tom Hale"))
    hero = next(p for p in en if p["name"] == "Margaret Ann Hale")
    assert hero["given"] == "Margaret" and hero["cast"]
    kin = [p for p in en if p["kin_of"] == "Margaret Ann Hale"]
    assert kin and kin[0]["name"] == "Tom Hale" and kin[0]["given"] == "Tom"
    assert all(p["name"].endswith(" Hale") for p in kin)
    ko = _people("hyosan", 4000, ("Han Yu-na", "Han Jin-woo"))
    assert next(p for p in ko if p["name"] == "Han Yu-na")["given"] == "Yu-na"
    kin = [p for p in ko if p["kin_of"] == "Han Yu-na"]
    assert all(p["name"].startswith("Han ") and p["given"] == p["name"].split()[1] for p in kin)


def test_the_namer_builds_names_in_the_lists_order() -> None:
    namer = Namer(np.random.default_rng(5), language="en")
    names = [namer.full() for _ in range(40)] + [namer.full("Miller") for _ in range(10)]
    assert all(n.endswith(" Miller") for n in names[40:])
    given = [namer.given_of(n) for n in names]
    assert given == [n.split()[0] for n in names]
    assert len(set(given)) == len(given) and len(set(names)) == len(names)
    more = [namer.full("Miller") for _ in range(70)]  # past the list: still distinct names
    assert len(set(names + more)) == len(names) + len(more)
    assert all(namer.family_of(n) == "Miller" for n in more)
    ko = Namer(np.random.default_rng(5))
    name = ko.full("Kim")
    assert name.startswith("Kim ") and ko.given_of(name) == name.split()[1]


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_lists_state_their_source_and_order(language: str) -> None:
    text = _file(language)
    header = "\n".join(line for line in text.splitlines() if line.startswith("#"))
    assert "Source:" in header
    data = tomllib.loads(text)
    assert data["language"] == language and data["order"] in ORDERS
    assert len(set(data["given"])) == len(data["given"]) >= 60
    assert len(set(data["family"])) == len(data["family"]) >= 30
    assert not set(data["given"]) & set(data["family"])
    assert all(" " not in n for n in data["given"] + data["family"])


def test_the_english_list_names_its_public_sources() -> None:
    header = _file("en").split("\nlanguage")[0]
    assert "Social Security Administration" in header and "2010" in header and "Census" in header
    assert "not downloaded" in header
    assert name_list("en").order == "given-family" and name_list("ko").order == "family-given"


def test_the_key_takes_the_shipped_lists() -> None:
    literal = typing.get_args(schema.Scenario.model_fields["cast_names"].annotation)[0]
    assert set(typing.get_args(literal)) == set(LANGUAGES)


def test_a_bad_list_is_refused_naming_the_key() -> None:
    with pytest.raises(ScenarioError, match=r"cast_names: got 'fr', expected one of 'ko' or 'en'") as e:
        with_overrides(load("sir"), {"cast_names": "fr"})
    assert e.value.path == "cast_names"
    text = 'cast_names = "klingon"\n[[zones]]\nid = "a"\npopulation = { S = 10 }\n'
    with pytest.raises(ScenarioError, match=r"bad.toml: cast_names: got 'klingon', expected one of 'ko' or 'en'"):
        parse_toml(text, "bad.toml")


def test_every_builtin_sets_its_list() -> None:
    want = {"hyosan": "ko", "korea": "ko"}
    for key in builtin_names():
        assert load(key).cast_names == want.get(key, "en"), key


def test_unset_dumps_and_hashes_as_before() -> None:
    """An unset key is not written, so a file without it dumps and hashes as it did; unset means
    English in the textbook words (run.vocabulary sir or szr), Korean otherwise."""
    text = '[[zones]]\nid = "a"\npopulation = { S = 10 }\n'
    sc = parse_toml(text)
    assert sc.cast_names is None and "cast_names" not in to_dict(sc)
    assert language_for(sc) == "ko"
    for words, lang in (("sir", "en"), ("szr", "en"), ("aftermath", "ko")):
        assert language_for(parse_toml(f'[run]\nvocabulary = "{words}"\n' + text)) == lang
    unset = with_overrides(load("sir"), {"cast_names": None})
    assert "cast_names" not in to_dict(unset) and language_for(unset) == "en"
    assert language_for(with_overrides(load("sir"), {"cast_names": "ko"})) == "ko"


def _full_one_by_one(namer: Namer, surname: str | None = None) -> str:
    """:meth:`Namer.full` as it was first written: every draw one by one, the given names in use
    read from every name taken at each call (the reference its quicker form must equal)."""
    fam = surname or namer.surname()
    used = {namer.given_of(n) for n in namer.taken}
    for attempt in range(200):
        given = namer.given[int(namer.rng.integers(len(namer.given)))]
        name = namer.names.join(fam, given)
        if name not in namer.taken and (given not in used or attempt >= 100):
            return namer._take(name, fam, given)
    k = 2
    while f"{namer.names.join(fam, namer.given[0])} {k}" in namer.taken:
        k += 1
    return namer._take(f"{namer.names.join(fam, namer.given[0])} {k}", fam, namer.given[0])


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_namer_gives_the_names_it_gave_drawing_one_by_one(language: str) -> None:
    """Past the list's given names, :meth:`Namer.full` draws the 100 draws that must all fail at
    once: the same names as drawing them one by one (the generator's stream is the same either
    way), with names added by the caster between calls, as :func:`aftermath.people.cast.choose` does."""
    quick, slow = (Namer(np.random.default_rng(11), taken={"Kim Declared", "Ann Declared"}, language=language)
                   for _ in range(2))
    names: list[tuple[str, str]] = []
    for k in range(300):
        fam = None if k % 3 else "Lee"
        for namer in (quick, slow):
            namer.rng = np.random.default_rng([7, k])  # (choose gives each person their own draws)
        a, b = quick.full(fam), _full_one_by_one(slow, fam)
        names.append((a, b))
        if k % 50 == 0:  # a name the caster adds (a declared household member's)
            quick.taken.add(f"Extra {k}")
            slow.taken.add(f"Extra {k}")
    assert [a for a, _ in names] == [b for _, b in names]
    assert len({a for a, _ in names}) == 300
    assert quick.rng.integers(1 << 40) == slow.rng.integers(1 << 40)  # the same draws used, to the last
