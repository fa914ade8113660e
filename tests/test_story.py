"""Stories (issue 13): every sentence is made from recorded events and says what they say; the
recorded events agree with the run's own flows; no sentence shape twice in a row; the CLI, JSON,
Python and HTML ways of telling them."""

from __future__ import annotations

import copy
import itertools
import json
import re
from functools import cache

import numpy as np
import pytest
from typer.testing import CliRunner

from aftermath.engines.driver import simulate
from aftermath.model.flows import Flow
from aftermath.people.names import Namer
from aftermath.people.story import DEATHS, NUMBERS, SIR_TEMPLATES, SOON, TEMPLATES, Life, tell
from aftermath.record.chronicle import mid_sentence
from aftermath.result import Result
from aftermath.scenario.load import load, with_overrides
from aftermath.scenario.scale import scale_population

#: Each event kind, the flow that must have counted it that day, and where (its zone, or ``to``).
FLOW_OF = {"infected": (Flow.INFECTION, "zone"), "killed_by_bite": (Flow.BITE_DEATH, "zone"),
           "starved": (Flow.STARVATION, "zone"), "died": (Flow.NATURAL_DEATH, "zone"),
           "culled": (Flow.CULL, "zone"), "turned_away": (Flow.EXCLUDED, "zone"),
           "walked": (Flow.HUMAN_ARRIVED, "to"), "followed_band": (Flow.HUMAN_ARRIVED, "to"),
           "relapsed": (Flow.RELAPSE, "zone"),
           "turned": (Flow.ONSET_FERAL, "zone"), "became_hybrid": (Flow.ONSET_HYBRID, "zone"),
           "destroyed": (Flow.FERAL_DESTROYED, "zone"), "rose": (Flow.REANIMATION, "zone"),
           "burned": (Flow.DISPOSAL, "zone"), "transferred": (Flow.HYBRID_MOVED, "to")}
#: A person's own events after which their life's story is no longer theirs (they died or turned).
ENDS = ("killed_by_bite", "died", "starved", "culled", "swept", "turned", "relapsed")


@cache
def run() -> Result:
    sc = with_overrides(scale_population(load("hyosan"), 8000), {"cast": 10, "characters": [
        {"name": "Han Yu-na", "zone": "quarantine", "role": "nurse", "household": ["Han Jin-woo", "Han Bo-ra"]}]})
    return simulate(sc, engine="abm", days=200, seed=2)


def test_the_record_agrees_with_the_flows() -> None:
    r = run()
    events = r.extras["cast"]["events"]
    checked = 0
    for ev in events:
        if ev["kind"] in FLOW_OF:
            flow, where = FLOW_OF[ev["kind"]]
            assert r.flows[ev["day"], flow, ev[where]] >= 1, ev
            checked += 1
    assert checked >= 20


def days_told(text: str) -> set[int]:
    """The days a sentence names: "day 12", "days 3, 5 and 9"."""
    return {int(d) for run in re.findall(r"\bdays? ((?:\d+(?:, | and ))*\d+)", text, re.IGNORECASE)
            for d in re.findall(r"\d+", run)}


def check_sentences(r: Result, lives: list[Life]) -> None:
    """Every sentence is made from recorded events and says their day, who and where; no frame
    twice in a row; the fate says what the final record says; every loss of the household while
    the character lived (a death, a turn, a bite that turned them at once) and every grief of
    theirs is told."""
    cast = r.extras["cast"]
    recorded = cast["events"]
    zones = [z.name or z.id for z in r.scenario.zones]
    sir = r.scenario.run.vocabulary == "sir"
    for life in lives:
        assert life.sentences[0].kind == "start" and life.sentences[-1].kind == "fate"
        for prev, s in zip(life.sentences, life.sentences[1:], strict=False):
            assert s.frame != prev.frame, (life.name, prev.text, s.text)  # no shape twice in a row
        for s in life.sentences:
            assert s.events, s.text
            for ev in s.events:
                if ev["kind"] == "final":
                    assert ev["name"] == life.name
                    continue
                assert ev in recorded
                if s.kind != "start":
                    assert ev["day"] in days_told(s.text), (s.text, ev)
            main = s.events[0]
            who = main.get("who", life.name)
            short = who.split()[1] if len(who.split()) == 2 else who
            assert short in s.text or who in s.text, (s.text, main)
            if "zone" in main and s.kind not in ("memory_rose", "memory_faded", "grieved", "grieved_often", "fate"):
                name = zones[main["zone"]]
                assert name in s.text or mid_sentence(name) in s.text, (s.text, main)
            if s.kind not in ("start", "fate") and s.kind in TEMPLATES:
                templates = SIR_TEMPLATES.get(s.kind, TEMPLATES[s.kind]) if sir else TEMPLATES[s.kind]
                assert s.frame in {f for f, _ in templates}
        own = [e for e in recorded if e["who"] == life.name]
        fate = life.sentences[-1].events[0]
        died = any(e["kind"] in DEATHS for e in own)
        if sir and fate["state"] == "gone" and not died:
            assert "had recovered (R)" in life.sentences[-1].text
        elif fate["state"] in ("dead", "gone"):
            assert "did not live" in life.sentences[-1].text
        else:
            assert mid_sentence(zones[fate["zone"]]) in life.sentences[-1].text
        # every loss is told: the household's, until the character's own end, and their grief
        told = [ev for s in life.sentences for ev in s.events]
        end = min((e["day"], e["step"]) for e in own if e["kind"] in ENDS or (
            e["kind"] == "infected" and e.get("state") == "feral")) if any(
            e["kind"] in ENDS or (e["kind"] == "infected" and e.get("state") == "feral") for e in own) else (10**9, 0)
        kin = {p["name"] for p in cast["people"] if p["kin_of"] == life.name}
        for ev in recorded:
            loss = ev["kind"] in ENDS or (ev["kind"] == "infected" and ev.get("state") == "feral")
            if ev["who"] in kin and loss and (ev["day"], ev["step"]) < end:
                assert ev in told, (life.name, ev)
            if ev["who"] == life.name and ev["kind"] == "grieved" and (ev["day"], ev["step"]) < end:
                assert ev in told, (life.name, ev)


def test_every_sentence_tells_its_events() -> None:
    r = run()
    lives = tell(r)
    assert len(lives) == 11
    check_sentences(r, lives)


def test_the_nurse_and_her_household() -> None:
    r = run()
    text = r.story("Han Yu-na")
    assert text.startswith("Han Yu-na (nurse)\nHan Yu-na, a nurse in Eastern quarantine district")
    assert "Jin-woo" in text and "Bo-ra" in text
    assert "sealed" in text and "(seal the quarantine)" in text  # the seal policy, by its name
    with pytest.raises(KeyError, match="no character called"):
        r.story("Nobody")


def test_a_bite_says_how_long_it_took_to_show() -> None:
    """A bite that left the person latent says how many days it took to show (the gap to their
    next onset), and says nothing of it when the turn came within ``SOON`` days."""
    r = run()
    own = {}
    for ev in r.extras["cast"]["events"]:
        own.setdefault(ev["who"], []).append(ev)
    checked = {"told": 0, "soon": 0}
    for life in tell(r):
        for s in life.sentences:
            ev = s.events[0]
            if s.kind != "infected" or ev.get("state") != "latent":
                continue
            later = [e for e in own[life.name] if (e["day"], e["step"]) > (ev["day"], ev["step"])
                     and e["kind"] in ("turned", "became_hybrid")]
            said = re.search(r"it would take (\w+) days to show", s.text)
            if not later:
                assert said is None and "no one could see it yet" in s.text, s.text
                continue
            gap = later[0]["day"] - ev["day"]
            if gap <= SOON:
                assert said is None and "days to show" not in s.text, (s.text, gap)
                checked["soon"] += 1
            else:
                assert said is not None and said.group(1) in (str(gap), NUMBERS[gap] if gap < len(NUMBERS) else ""), (
                    s.text, gap)
                checked["told"] += 1
    assert checked["told"] >= 1 and checked["soon"] >= 1, checked


def test_griefs_are_told_together_and_memory_in_words() -> None:
    """A run of a character's griefs is one sentence; memory is told in words, the rule it follows
    once a life; the figures stay in the JSON."""
    r = run()
    lives = tell(r)
    merged = 0
    for life in lives:
        kinds = [s.kind for s in life.sentences]
        for a, b in itertools.pairwise(kinds):
            assert not (a in ("grieved", "grieved_often") and b in ("grieved", "grieved_often")), life.text()
        merged += kinds.count("grieved_often")
        assert life.text().count("flee sooner") <= 1, life.text()
        assert not any(s.text.count(": ") > 1 for s in life.sentences), life.text()  # one colon a sentence
        assert not re.search(r"memory (of loss of )?\d", life.text()), life.text()
    assert merged >= 1
    data = r.story_json()
    assert any("memory" in ev for life in data["lives"] for s in life["sentences"] for ev in s["events"])


def test_the_rule_of_memory_is_told_once() -> None:
    """Two separate rises of a character's memory: both told, the rule memory follows only with the first."""
    r = run()
    cast = copy.deepcopy(r.extras["cast"])
    hero = "Han Yu-na"
    cast["events"] = [e for e in cast["events"] if e["who"] != hero or e["kind"] == "start"]
    for day, kind, extra in ((10, "grieved", {"lost": None, "policy": False}), (10, "memory_rose", {"memory": 0.4}),
                             (20, "walked", {"to": 1, "memory": 0.1}), (30, "grieved", {"lost": None, "policy": False}),
                             (30, "memory_rose", {"memory": 0.7})):
        cast["events"].append({"day": day, "step": 99, "who": hero, "kind": kind, "zone": 0, **extra})
    r2 = copy.copy(r)
    r2.extras = {**r.extras, "cast": cast}
    life = tell(r2, hero)[0]
    check_sentences(r2, [life])
    assert [s.kind for s in life.sentences].count("memory_rose") == 2, life.text()
    assert life.text().count("flee sooner") == 1, life.text()
    assert not any(s.text.count(": ") > 1 for s in life.sentences), life.text()  # one colon a sentence
    assert "very heavily" in life.text() and "weighed heavily" in life.text()


def test_a_weight_already_told_is_not_told_again_until_it_eased() -> None:
    """A new user read "weighed very heavily" four times in one life: rises that leave memory's
    weight as last told say nothing new. Told: the rise to heavily, then to very heavily; not the
    next rise (still very heavily); after it eased, very heavily again."""
    r = run()
    cast = copy.deepcopy(r.extras["cast"])
    hero = "Han Yu-na"
    cast["events"] = [e for e in cast["events"] if e["who"] != hero or e["kind"] == "start"]
    plan = ((10, "memory_rose", {"memory": 0.4}), (30, "memory_rose", {"memory": 0.7}),
            (50, "memory_rose", {"memory": 0.8}), (70, "memory_faded", {"memory": 0.5}),
            (90, "memory_rose", {"memory": 0.75}))
    for day, kind, extra in plan:
        cast["events"].append({"day": day, "step": 99, "who": hero, "kind": kind, "zone": 0, **extra})
        cast["events"].append({"day": day + 5, "step": 99, "who": hero, "kind": "walked", "zone": 0,
                               "to": 1, "memory": 0.1})  # (apart: each its own run of mourning)
    r2 = copy.copy(r)
    r2.extras = {**r.extras, "cast": cast}
    life = tell(r2, hero)[0]
    check_sentences(r2, [life])
    rises = [s for s in life.sentences if s.kind == "memory_rose"]
    assert [s.events[0]["day"] for s in rises] == [10, 30, 90], life.text()
    assert life.text().count("very heavily") == 2, life.text()


def test_memory_sentences_with_their_rule_have_one_colon() -> None:
    """Every shape of 'memory rose', with the rule it follows, reads as one sentence (one colon at most)."""
    from aftermath.people.story import RULE, RULE_DEFAULT

    for table, rule in ((TEMPLATES, RULE_DEFAULT), (SIR_TEMPLATES, RULE["sir"])):
        for _frame, tpl in table["memory_rose"]:
            text = tpl.format(name="Min-seo", day=12, weight="heavily", rule=rule)
            assert text.count(":") <= 1 and text.endswith("."), text


def test_people_who_share_a_given_name_are_called_in_full() -> None:
    """Stories call people by their given names, except two who share one: both by their full names."""
    r = run()
    cast = copy.deepcopy(r.extras["cast"])
    hero = next(p for p in cast["people"] if p["cast"] and p["name"] == "Han Yu-na")
    kin = next(p for p in cast["people"] if p["kin_of"] == "Han Yu-na")
    other = next(p for p in cast["people"] if p["cast"] and p["name"] != "Han Yu-na")
    twin = other["name"].split()[0] + " Yu-na"
    rename = {other["name"]: twin}
    for p in cast["people"]:
        p["name"] = rename.get(p["name"], p["name"])
        p["kin_of"] = rename.get(p["kin_of"], p["kin_of"])
    for ev in cast["events"]:
        ev["who"] = rename.get(ev["who"], ev["who"])
    for f in cast["final"]:
        f["name"] = rename.get(f["name"], f["name"])
    r2 = copy.copy(r)
    r2.extras = {**r.extras, "cast": cast}
    text = r2.story("Han Yu-na")
    assert "Han Yu-na" in text.split("\n", 1)[1] and kin["name"].split()[1] in text
    assert " Yu-na " not in text.replace("Han Yu-na", "")  # never the bare given name
    assert twin in r2.story(twin).split("\n", 1)[1]
    assert hero["cast"]


def test_a_generated_cast_has_distinct_given_names() -> None:
    """While the list lasts (60 given names), a run's generated names do not share a given name."""
    namer = Namer(np.random.default_rng(5))
    names = [namer.full() for _ in range(40)] + [namer.full("Kim") for _ in range(10)]
    given = [n.split()[1] for n in names]
    assert len(set(given)) == len(given), given
    assert len(set(names)) == len(names)


def test_stories_need_individuals() -> None:
    r = simulate(load("hyosan"), engine="ode", days=5)
    with pytest.raises(ValueError, match="agent-based engine"):
        r.story()


def test_the_story_command() -> None:
    from aftermath.cli import app

    runner = CliRunner()
    res = runner.invoke(app, ["story", "hyosan", "--days", "30", "--seed", "1", "--cast", "3", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert len(data["lives"]) == 3 and data["memory_on"]
    assert all(s["events"] for life in data["lives"] for s in life["sentences"])
    bad = runner.invoke(app, ["story", "hyosan", "--days", "3", "--cast", "2", "--character", "Nobody"])
    assert bad.exit_code == 2
    too_many = runner.invoke(app, ["story", "hyosan", "--days", "3", "--cast", "51"])
    assert too_many.exit_code == 2



@pytest.mark.parametrize("n", ["0", "-2"])
def test_a_cast_of_no_one_is_refused_before_the_run(n: str) -> None:
    from aftermath.cli import app

    res = CliRunner().invoke(app, ["story", "hyosan", "--cast", n])
    assert res.exit_code == 2, res.output
    assert res.output.strip() == f"error: --cast: got {n}, expected at least 1", res.output


def test_the_report_has_the_people() -> None:
    from aftermath.report.html import people_html

    section = people_html(run())
    assert "Han Yu-na (nurse)" in section and "<svg" in section and "timeline" in section
    assert section.count("<h3>") == 12  # eleven lives and who is left out
    assert people_html(simulate(load("sir"), engine="ode", days=3)) == ""  # no one followed: no section


def test_the_chronicle_names_places_and_factions() -> None:
    """Display names in the chronicle's text (ids stay in ``Event.zone``, which is what a user types)."""
    r = simulate(load("hyosan"), engine="ode", days=3)
    texts = {e.text for e in r.chronicle}
    assert "Eastern quarantine district was sealed (seal the quarantine)" in texts
    assert "Fort Namsan garrison began screening arrivals (screen at the garrison gate)" in texts
    assert any(t.startswith("The survivors' network began protecting hybrids in the hidden valley") for t in texts)
    assert {e.zone for e in r.chronicle} <= {"", *r.zone_ids}


def test_the_timeline_reads_as_sentences() -> None:
    """The terminal's timeline: each line's text starts with a capital; a recurring event says how
    many more times it came after, once, outside the event's own brackets; a wrapped line starts
    under the text, not under the day; counts have thousands separators."""
    from rich.console import Console

    from aftermath.cli import print_chronicle
    from aftermath.record.timeline import render_timeline

    r = simulate(load("hyosan"), engine="ode", days=240)
    lines = render_timeline(r)
    assert all(re.match(r"Day +\d+ — [A-Z]", line) for line in lines), lines
    folded = [line for line in lines if "more time" in line]
    assert folded and all(re.search(r"; \d+ more times? after$", line) for line in folded), folded
    assert not any(") (" in line for line in lines)
    out = Console(width=60, record=True)
    print_chronicle(r, out=out)
    printed = out.export_text().splitlines()
    assert len(printed) > len(lines)  # some wrapped
    assert all(line.startswith(("Day ", " " * len("Day  123 — "))) for line in printed), printed
    fell = [e.text for e in r.chronicle if e.kind == "enclave_fallen"]
    assert fell and all(re.search(r"of its \d{1,3}(,\d{3})* people remain", t) for t in fell), fell
    assert any("," in t.split("of its")[1] for t in fell), fell  # one of them had over a thousand


@cache
def band_run() -> Result:
    """Two zones, households of two and deaths every few weeks: the lost join bands, which walk."""
    from aftermath.scenario.load import from_dict

    return simulate(from_dict({
        "name": "bands", "run": {"days": 60, "dt": 0.25},
        "pathogen": {"beta": 0.0, "mutation": {"mu": 0.0}}, "demography": {"death": 0.03},
        "zones": [{"id": "a", "name": "The river camp", "faction": "gov", "population": {"S": 150},
                   "household_size": 2},
                  {"id": "b", "name": "The mill", "faction": "gov", "population": {"S": 150}, "household_size": 2}],
        "routes": [{"from": "a", "to": "b", "rate": 0.2, "both_ways": True}],
        "factions": [{"id": "gov"}],
        "policies": [{"type": "admission", "faction": "gov", "zones": ["b"], "mode": "screen", "specificity": 0.7}],
        "cast": 40,
    }), engine="abm", seed=1)


def test_a_follower_story_tells_the_truth() -> None:
    """Bands move together: a follower's move is recorded as ``followed_band`` (or a turn-away at
    the same gate), counted in the day's arrivals, and told in a sentence that names the day and
    both places."""
    r = band_run()
    recorded = r.extras["cast"]["events"]
    zones = [z.name or z.id for z in r.scenario.zones]
    follows = [e for e in recorded if e["kind"] == "followed_band"]
    assert len(follows) >= 3, len(follows)
    for ev in follows:
        assert r.flows[ev["day"], Flow.HUMAN_ARRIVED, ev["to"]] >= 1, ev
    for ev in (e for e in recorded if e["kind"] == "turned_away" and e.get("band")):
        assert r.flows[ev["day"], Flow.EXCLUDED, ev["zone"]] >= 1, ev
    told = 0
    for life in tell(r):
        for prev, s in zip(life.sentences, life.sentences[1:], strict=False):
            assert s.frame != prev.frame, (life.name, prev.text, s.text)
        for s in life.sentences:
            if s.kind != "followed_band":
                continue
            ev = s.events[0]
            assert ev in recorded and ev["who"] == life.name
            low = s.text.lower()
            assert f"day {ev['day']}" in low
            assert zones[ev["zone"]].lower() in low and zones[ev["to"]].lower() in low, s.text
            told += 1
    assert told >= 1


@cache
def school_run(words: str | None) -> Result:
    """The boarding school (the SIR limit, 763 boys, 14 days): a bite turns at once, households go fast."""
    sc = with_overrides(load("boarding-school"), {"cast": 8, "run.vocabulary": words})
    return simulate(sc, engine="abm", seed=0)


def test_a_household_lost_at_once_is_told() -> None:
    """Kin infected with state feral (turned at once, no latency) are a loss: told, with the grief."""
    r = school_run(None)
    lives = tell(r)
    check_sentences(r, lives)
    at_once = [s for life in lives for s in life.sentences
               if s.kind == "kin" and s.events[0]["kind"] == "infected"]
    assert len(at_once) >= 3, [life.text() for life in lives]
    for s in at_once:
        assert s.events[0]["state"] == "feral" and "turned feral at once" in s.text
    assert any(len(s.events) > 1 and s.events[1]["kind"] == "grieved" for s in at_once)  # grief told with it


#: Words that speak of bites, ferals, rotting or death: false in an SIR world without a recorded death.
ZOMBIE_WORDS = re.compile(r"\b(bit|bites?|bitten|ferals?|zombies?|rot|rott(ed|ing)|decay(ed)?|dead|death|died|dies|"
                          r"kill(ed|s)?|did not live|corpses?|bod(y|ies)|bereaved|turned)\b", re.IGNORECASE)


@pytest.mark.parametrize("name", ["boarding-school", "sir"])
def test_an_sir_world_is_told_in_its_words(name: str) -> None:
    """run.vocabulary = "sir": the feral compartment is I and the removed R, so people fall ill, are
    infectious and recover; no sentence speaks of bites, ferals, rotting or death unless one of its
    events is a death the model recorded."""
    if name == "sir":
        r = simulate(with_overrides(load("sir"), {"cast": 8, "run.days": 60, "pathogen.beta": 0.6,
                                                  "zones.0.population": {"S": 2970, "Z": 30}}), engine="abm", seed=1)
    else:
        r = school_run("sir")
    assert r.scenario.run.vocabulary == "sir"
    lives = tell(r)
    check_sentences(r, lives)
    kinds = {s.kind for life in lives for s in life.sentences}
    assert {"infected", "decayed"} <= kinds, kinds  # the story has illness and recovery to tell
    for life in lives:
        died = any(ev["kind"] in DEATHS for s in life.sentences for ev in s.events)
        for s in life.sentences:
            if (s.kind == "fate" and died) or any(ev["kind"] in DEATHS or ev.get("state") == "dead"
                                                  for ev in s.events):
                continue  # a death the model recorded may be told as one
            assert not ZOMBIE_WORDS.search(s.text), (life.name, s.text)
        if not died and life.fate["state"] == "gone":
            assert "had recovered (R)" in life.sentences[-1].text
    recovered = [s for life in lives for s in life.sentences if s.kind == "decayed"]
    assert all("recovered" in s.text for s in recovered)


def test_a_place_inside_a_sentence_takes_a_small_article() -> None:
    assert mid_sentence("The hidden valley") == "the hidden valley"
    assert mid_sentence("A well-mixed town") == "a well-mixed town"
    assert mid_sentence("An old mill") == "an old mill"
    for name in ("A Coruña", "Anyang", "Hyosan city", "Eastern quarantine district", "An"):
        assert mid_sentence(name) == name


def test_the_people_frame_has_whole_zone_numbers_and_names() -> None:
    """``Result.people_frame()``: zones as whole numbers (missing where an event has none, not a
    float column) and their display names beside them."""
    frame = run().people_frame()
    assert str(frame["zone"].dtype) == "Int64" and str(frame["to"].dtype) == "Int64"
    names = [z.name or z.id for z in run().scenario.zones]
    has = frame["zone"].notna()
    assert has.any() and (frame.loc[has, "zone_name"] == [names[int(z)] for z in frame.loc[has, "zone"]]).all()
    assert frame.loc[frame["to"].notna(), "to_name"].isin(names).all()
