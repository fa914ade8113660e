"""``aftermath story``: run a scenario on the agent-based engine and tell the cast's lives.

Stories need individuals, so ``story`` always runs the agent-based engine (the ODE and the SSA
have compartments, not people). Without ``--cast`` and without characters in the scenario, six
people are followed.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer

#: People followed when neither the scenario nor ``--cast`` says how many.
DEFAULT_CAST = 6


Seed = Annotated[int | None, typer.Option("--seed", "-s", help="master seed (default: the scenario's)")]
Days = Annotated[int | None, typer.Option("--days", "-d", help="days to simulate (default: the scenario's)")]
Sets = Annotated[list[str] | None, typer.Option(
    "--set", help="override a value by scenario path, e.g. --set society.memory.per_loss=0.3 (repeatable)")]
Cast = Annotated[int | None, typer.Option(
    "--cast", "-c", help="people to follow, 1 to 50, chosen by seed (default: the scenario's characters, else 6)")]
Character = Annotated[str | None, typer.Option(
    "--character", help="tell only this person's life: their full name or the given name the story calls them by")]
AsJson = Annotated[bool, typer.Option("--json", help="the lives as JSON: sentences and the events they tell")]


def with_cast(sc: Any, cast: int | None, engine: str) -> Any:
    """``sc`` following ``cast`` people (refused below 1 or above the schema's bound), or, when
    ``cast`` is None and the scenario names no one, :data:`DEFAULT_CAST`: what ``story`` tells and
    a report's People section shows. Only the agent-based engine has people: on another engine a
    ``cast`` given is refused and none is added. Errors exit 2 naming ``--cast``."""
    from aftermath.cli import fail
    from aftermath.scenario.load import ScenarioError, with_overrides

    if engine != "abm":
        if cast is not None:
            raise fail(f"--cast: got {cast}, expected no --cast with the {engine} engine (only the agent-based "
                       "engine has people to follow)")
        return sc
    if cast is not None and cast < 1:  # refused before the run: a story needs someone to follow
        raise fail(f"--cast: got {cast}, expected at least 1")
    want = cast if cast is not None else (None if sc.characters or sc.cast is not None else DEFAULT_CAST)
    try:
        return with_overrides(sc, {"cast": want}, source="--cast") if want is not None else sc
    except ScenarioError as exc:
        raise fail(f"--cast: got {exc.value!r}, expected {exc.expected}") from None


def story_cmd(
    scenario: Annotated[str, typer.Argument(help="a built-in name or a TOML file")] = "hyosan",
    seed: Seed = None,
    days: Days = None,
    cast: Cast = None,
    character: Character = None,
    as_json: AsJson = False,
    sets: Sets = None,
) -> None:
    """Tell the lives of a cast: where they were, whom they lost, what each policy did to them, their fate.

    Always runs the agent-based engine: the other engines have no individuals.
    """
    from aftermath.cli import console, fail, load_scenario, run_options
    from aftermath.engines.driver import simulate
    from aftermath.people.cast import CastError
    from aftermath.people.story import find_character, story_json, story_text
    from aftermath.scenario.load import ScenarioError

    sc = with_cast(load_scenario(scenario, sets), cast, "abm")
    sc = run_options(sc, days=days, seed=seed, engine="abm")

    def check_character(eng: Any) -> None:
        """The character asked for is in the cast: known once the cast is chosen, before any day runs."""
        nonlocal character
        if character is None or eng.cast is None:
            return
        cast_people = [p for p in eng.cast.people if p["cast"]]
        try:
            character = find_character(character, cast_people)
        except KeyError:
            raise fail(f"--character: got {character!r}, expected one of the cast (a full name, or a given name "
                       f"only one of them has): {', '.join(p['name'] for p in cast_people)}") from None

    try:
        res = simulate(sc, on_start=check_character)
    except (ScenarioError, CastError) as exc:
        raise fail(str(exc)) from None
    if not isinstance(res.extras.get("cast"), dict):  # cannot happen with a cast of 1 or more; said plainly if it does
        raise fail(f"--cast: the run of {scenario!r} followed no one, expected a cast of at least 1")
    if as_json:
        sys.stdout.write(json.dumps(story_json(res, character), indent=2, ensure_ascii=False) + "\n")
        return
    for block in story_text(res, character).split("\n\n"):
        console.print(block, highlight=False, markup=False)
        console.print()


def register(app: Any) -> None:
    """Add ``story`` to ``app``."""
    app.command("story")(story_cmd)
