"""The report's ledger never contradicts itself: counts made at each faction's gates and counts of
people filed under the faction where policy first acted on them are never read as one."""

from __future__ import annotations

import contextlib
import html
import re

import pytest

import aftermath as am
from aftermath.record.official import ledger_by_faction
from aftermath.report.html import FIRST_ACT_HEADING, _ledger_html
from aftermath.result import ledger_people
from aftermath.scenario.load import from_dict


@pytest.fixture(scope="module")
def port_and_capital():
    """Korea's dilemma in two zones: the south seals its port with everyone inside, then lifts the
    seal; the government's capital, in truce with the south, refuses everyone at its gates. The
    port's people refused at the capital were first sealed in by the south."""
    return am.simulate(from_dict({
        "name": "port and capital",
        "run": {"days": 40, "seed": 1},
        "pathogen": {"beta": 0.3, "latency": 2.0, "p_hybrid": 0.3},
        "factions": [{"id": "south", "name": "The south", "truces": ["gov"]},
                     {"id": "gov", "name": "The government", "truces": ["south"]}],
        "zones": [
            {"id": "port", "faction": "south", "population": {"S": 3000, "Z": 5}},
            {"id": "capital", "faction": "gov", "population": {"S": 3000}},
        ],
        "routes": [{"from": "port", "to": "capital", "rate": 0.05, "both_ways": True}],
        "policies": [
            {"type": "seal", "zones": ["port"], "until": "day >= 10"},
            {"type": "admission", "zones": ["capital"], "mode": "closed"},
        ],
    }), engine="abm")


def _tables(section: str) -> list[tuple[str, dict[str, dict[str, float]]]]:
    """Each table of a report's section, after the heading above it: {row label: {column: number}}."""
    out = []
    for m in re.finditer(r"<h3>(.*?)</h3>(?:<p>.*?</p>)?<table><thead><tr>(.*?)</tr></thead><tbody>(.*?)</tbody>",
                         section, re.S):
        heads = [html.unescape(h) for h in re.findall(r"<th>(.*?)</th>", m.group(2))]
        rows: dict[str, dict[str, float]] = {}
        for row in re.findall(r"<tr>(.*?)</tr>", m.group(3)):
            cells = [html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)]
            values = {}
            for h, c in zip(heads[1:], cells[1:], strict=True):
                with contextlib.suppress(ValueError):  # a text cell
                    values[h] = float(c.replace(",", ""))
            rows[cells[0]] = values
        out.append((html.unescape(m.group(1)), rows))
    return out


ATTEMPTS = "crossings refused at gates (attempts)"
PEOPLE = "people turned away"


def test_the_ledgers_two_attributions_differ_here(port_and_capital):
    """The premise (the ABM ledger's documented attribution): a person is filed under the zone of the
    first policy act on them, here the south's seal, though the south has no gate at all."""
    led = ledger_by_faction(port_and_capital).set_index(["faction", "cost"])["count"]
    assert led[("south", "turned_away_attempts")] == 0
    assert led[("south", "people_turned_away")] > 0
    assert led[("gov", "turned_away_attempts")] > 0


def test_no_table_of_the_ledger_contradicts_itself(port_and_capital):
    """Was: one table "what policy did to people, per faction" showed, for the south, 0 crossings
    refused at its gates beside 2,748 people turned away (korea: 0 and 2,332). Wherever both are in
    one table, a faction's people turned away are at most its refused crossings, and the healthy
    among them at most the crossings by healthy people."""
    tables = _tables(_ledger_html(port_and_capital))
    assert tables
    seen_people = False
    for heading, rows in tables:
        people = next((r for label, r in rows.items() if label == PEOPLE), None)
        attempts = rows.get(ATTEMPTS)
        if people is not None:
            seen_people = True
        if people is None or attempts is None:
            continue
        for faction, n in people.items():
            assert n <= attempts.get(faction, 0.0), (
                f"{heading!r}: {faction} turned away {n:,.0f} people in {attempts.get(faction, 0.0):,.0f} attempts")
        healthy = rows.get("of which healthy people turned away", {})
        healthy_attempts = rows.get("of which crossings by healthy people refused (attempts)", {})
        for faction, n in healthy.items():
            assert n <= healthy_attempts.get(faction, 0.0)
    assert seen_people  # the people are shown, in a table of their own


def test_the_people_table_says_how_it_files_people_and_adds_up(port_and_capital):
    tables = dict(_tables(_ledger_html(port_and_capital)))
    people = tables[FIRST_ACT_HEADING]
    assert PEOPLE in people
    assert set(people) <= {PEOPLE, "of which healthy people turned away", "concealed", "misclassified"}
    totals = ledger_people(port_and_capital.extras.get("ledger_totals"))
    for label, flag in ((PEOPLE, "people_turned_away"), ("of which healthy people turned away",
                                                         "healthy_people_turned_away")):
        assert sum(people[label].values()) == pytest.approx(totals[flag])
    where = tables["what policy did, per faction: at its gates and in its zones"]
    assert where[ATTEMPTS]["The south"] == 0 and where[ATTEMPTS]["The government"] > 0
    assert where["sealed in"]["The south"] == 3000 and where["sealed in"]["The government"] == 0
    section = _ledger_html(port_and_capital)
    assert "first policy act" in section and "not counts at each faction's gates" in section


def test_a_run_without_the_ledger_has_one_table_of_what_policy_did():
    res = am.simulate(am.load("hyosan"), engine="ode", days=10)
    headings = [h for h, _ in _tables(_ledger_html(res))]
    assert "what policy did, per faction: at its gates and in its zones" in headings
    assert FIRST_ACT_HEADING not in headings
