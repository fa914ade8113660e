"""The scenario schema: every key of a scenario file, its unit, default and bounds.

A scenario is validated once, when it is loaded, and is immutable afterwards (docs/architecture.md,
habit 6). Unknown keys are errors. ``docs/scenario.md`` documents every key; keep the two in step
(``tests/test_docs.py`` checks that every field here is named there).

Units: rates are per day, durations in days, populations in people, supplies in person-days.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from aftermath.scenario.conditions import Condition, ConditionError

# -- bounds (docs/scenario.md, "Bounds") ------------------------------------------------------------
#: The most people in one state of one zone, and in the whole scenario (every zone and state).
MAX_PEOPLE = 1e12
#: The largest rate per day (per person, per feral, per pair, per corpse): one event every ~90 s.
MAX_RATE = 1000.0
#: The largest duration in days (latency, quarantine, days between sweeps, calm days).
MAX_DURATION = 100_000.0
#: The largest gain of society's daily updates (fear gains, trust lost per breach, lineage_ratio).
MAX_GAIN = 1e6
#: The largest relative weight that multiplies a rate (eta, hybrid_weight, flight).
MAX_WEIGHT = 1000.0
#: The most births per zone per day.
MAX_BIRTHS = 1e9
#: The most food in a zone's store, in person-days.
MAX_SUPPLIES = 1e18
#: The most zones, routes (as written), factions, policies and extra strains in one scenario.
MAX_ZONES, MAX_ROUTES, MAX_FACTIONS, MAX_POLICIES, MAX_STRAINS = 10_000, 100_000, 1_000, 1_000, 1_000
#: The shortest ABM step: 1000 steps a day.
MIN_DT = 0.001
#: The shortest non-zero mean latent period, in days: its rate 1 / latency is then at most MAX_RATE.
MIN_LATENCY = 1.0 / MAX_RATE


class _Expect(ValueError):
    """A field's own check failed: carries what was expected, for the error message."""

    def __init__(self, expected: str) -> None:
        self.expected = expected
        super().__init__(expected)


def _printable(text: str, newlines: bool = False) -> str:
    """Printable text only: no control, format, surrogate, private or unassigned characters, no
    line or paragraph separators (a description may have line breaks and tabs)."""
    for i, ch in enumerate(text):
        if newlines and ch in "\n\t":
            continue
        cat = unicodedata.category(ch)
        if (cat[0] == "C" and ch not in "\u200c\u200d") or cat in ("Zl", "Zp"):
            raise _Expect(f"printable text (character {i} is {ch!r}, a control or non-printing character)")
    return text


def _printable_text(text: str) -> str:
    return _printable(text, newlines=True)


# Numbers are strict: a boolean or a string is not a number (an integer is, where a float is expected).
Rate = Annotated[float, Field(ge=0.0, le=MAX_RATE, allow_inf_nan=False, strict=True)]
Prob = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False, strict=True)]
Count = Annotated[float, Field(ge=0.0, le=MAX_PEOPLE, allow_inf_nan=False, strict=True)]
Duration = Annotated[float, Field(ge=0.0, le=MAX_DURATION, allow_inf_nan=False, strict=True)]
Gain = Annotated[float, Field(ge=0.0, le=MAX_GAIN, allow_inf_nan=False, strict=True)]
Weight = Annotated[float, Field(ge=0.0, le=MAX_WEIGHT, allow_inf_nan=False, strict=True)]
Births = Annotated[float, Field(ge=0.0, le=MAX_BIRTHS, allow_inf_nan=False, strict=True)]
Food = Annotated[float, Field(ge=0.0, le=MAX_SUPPLIES, allow_inf_nan=False, strict=True)]
def _latency(v: float) -> float:
    if 0.0 < v < MIN_LATENCY:
        raise _Expect(f"0 (an immediate outcome) or a latent period of at least {MIN_LATENCY:g} days (its rate "
                      f"1/latency is then at most {MAX_RATE:g} per day)")
    return v


Latency = Annotated[float, Field(ge=0.0, le=MAX_DURATION, allow_inf_nan=False, strict=True),
                    AfterValidator(_latency)]
Ident = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]*$", max_length=64, strict=True)]
Name = Annotated[str, Field(max_length=120, strict=True), AfterValidator(_printable)]
Text = Annotated[str, Field(max_length=4000, strict=True), AfterValidator(_printable_text)]

STATES = ("S", "E", "H", "Z", "D", "R")


class _Base(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)  # keys by their TOML names only: `from`, never `from_`


class RunSettings(_Base):
    """How to run: horizon, step, seed, engine and mixing."""

    days: int = Field(365, ge=1, le=100_000, strict=True, description="days simulated")
    dt: float = Field(
        0.25, ge=MIN_DT, le=1.0, allow_inf_nan=False, strict=True,
        description="ABM time step in days (must divide a day evenly: 1/dt whole)",
    )
    seed: int = Field(0, ge=0, lt=2**63, strict=True, description="master seed; a seed gives bit-identical results")
    engine: Literal["ode", "ssa", "abm"] = "ode"  # = aftermath.engines.base.ENGINES (a test holds it)
    mixing: Literal["frequency", "mass_action"] = "frequency"
    denominator: Literal["living", "all"] = Field(
        "living",
        description="who N counts under frequency mixing: living bodies S+E+H+Z (docs/model.md), or all "
        "bodies in the zone including D and R (the closed population of the textbook SIR)",
    )

    # unset (None) by default, so scenarios that do not use them dump and hash as before
    record_every: float | None = Field(
        None, ge=0.01, le=1.0, allow_inf_nan=False, strict=True,
        description="days between recorded samples within a day (1/record_every whole); unset = daily. Finer "
        "samples are kept beside the daily record (ode and ssa at any step, abm at multiples of dt)",
    )
    abm_mode: Literal["scan", "events"] | None = Field(
        None,
        description="how the abm engine steps: 'scan' visits every person every step (unset = scan); "
        "'events' draws how many susceptibles of a zone have an event and then who, and visits only "
        "them and the infected (the same model and distribution, another path for a seed; faster when "
        "most people have nothing happening)",
    )
    vocabulary: Literal["aftermath", "sir", "szr"] | None = Field(
        None,
        description="the words of summaries, plots and tables; unset = aftermath's (ferals, corpses); 'sir' "
        "for the SIR limit (S, I, R: recovered/removed); 'szr' for Munz et al. (S, Z, R)",
    )

    @field_validator("record_every")
    @classmethod
    def _whole_samples(cls, v: float | None) -> float | None:
        if v is None:
            return v
        samples = 1.0 / v
        if abs(samples - round(samples)) > 1e-9:
            raise ValueError(f"1/record_every must be a whole number of samples per day (1/{v} = {samples:.4g})")
        return v

    @field_validator("dt")
    @classmethod
    def _whole_steps(cls, v: float) -> float:
        steps = 1.0 / v
        if abs(steps - round(steps)) > 1e-9:
            raise ValueError(f"1/dt must be a whole number of steps per day (1/{v} = {steps:.4g})")
        return v


class StrainTraits(_Base):
    """Traits that a strain carries and that mutation can change (docs/model.md#strains)."""

    beta: Rate = Field(0.5, description="bite rate per feral per day (frequency) or per pair (mass action)")
    p_hybrid: Prob = Field(0.0, description="chance that a latent infection ends as a hybrid, at resistance 0.5")
    relapse: Rate = Field(0.0, description="hybrid -> feral rate (r)")
    latency: Latency = Field(0.0, description="mean latent period in days (1/sigma); 0 = immediate outcome")
    breach: Prob = Field(0.0, description="share of a wall's stopping power that this strain's ferals defeat")
    stealth: Prob = Field(0.0, description="share of screening sensitivity this strain evades")


class StrainSpec(_Base):
    """An additional fixed strain present from day 0; unset traits are the founder's."""

    id: Ident
    beta: Rate | None = None
    p_hybrid: Prob | None = None
    relapse: Rate | None = None
    latency: Latency | None = None
    breach: Prob | None = None
    stealth: Prob | None = None


class Mutation(_Base):
    """Mutation at infection (ABM only; the ODE and SSA use the fixed strain set)."""

    mu: Prob = Field(0.0, description="probability that an infection mutates the infecting strain")
    sd: float = Field(0.1, ge=0.0, le=10.0, allow_inf_nan=False, strict=True,
                      description="s.d. of the log-normal multiplier applied to each trait")
    max_strains: int = Field(4096, ge=1, le=1_000_000, strict=True, description="strain table capacity")
    lineage_ratio: float = Field(
        1.25, gt=1.0, le=MAX_GAIN, allow_inf_nan=False, strict=True,
        description="a strain whose R0-like fitness exceeds its parent's by this ratio is a new lineage",
    )


class Pathogen(StrainTraits):
    """The founding strain, infection outcome and resistance, and evolution settings."""

    eta: Weight = Field(0.0, description="hybrid bite rate relative to a feral's")
    kappa: Prob = Field(0.0, description="chance a bite kills outright (S -> D)")
    latency_shape: int = Field(1, ge=1, le=20, strict=True, description="Erlang shape k of the latent period")
    k_res: float = Field(0.0, ge=-20, le=20, allow_inf_nan=False, strict=True,
                         description="logit shift of p_hybrid per unit resistance")
    resistance_mean: Prob = Field(0.5, description="mean individual resistance")
    resistance_sd: float = Field(0.0, ge=0.0, lt=0.5, allow_inf_nan=False, strict=True,
                                 description="s.d. of resistance (Beta); 0 = uniform")
    strains: list[StrainSpec] = Field(default_factory=list, max_length=MAX_STRAINS)
    mutation: Mutation = Field(default_factory=Mutation)


class Defence(_Base):
    """How humans fight back and what becomes of destroyed ferals and corpses (docs/model.md,
    #encounters and #progression)."""

    alpha: Rate = Field(0.0, description="feral destruction rate per defender")
    hybrid_weight: Weight = Field(0.5, description="a hybrid's fighting weight relative to a human (h)")
    q: Prob = Field(0.0, description="chance a destroyed feral leaves a corpse that can rise (Munz: 1)")
    decay: Rate = Field(0.0, description="feral decay rate Z -> R (gamma_z)")
    reanimation: Rate = Field(0.0, description="corpse reanimation rate D -> Z (zeta)")
    disposal: Rate = Field(0.0, description="corpse disposal rate D -> R (phi), unless a zone sets its own")


class Demography(_Base):
    """Births and background deaths, for long horizons."""

    births: Births = Field(0.0, description="births into S per zone per day (Pi), unless a zone sets its own")
    death: Rate = Field(0.0, description="background death rate of S, E and H (delta), into D")


class Fear(_Base):
    """Fear per zone: rises with infections, deaths and breaches, spreads to neighbours, decays."""

    initial: Prob = 0.0
    decay: Prob = Field(0.05, description="share of fear lost per day")
    per_infection: Gain = Field(20.0, description="fear added per new infection per capita of the zone")
    per_death: Gain = Field(20.0, description="fear added per death per capita of the zone")
    per_breach: Gain = Field(0.02, description="fear added per feral that breached the wall")
    neighbour_share: Prob = Field(0.1, description="share of the gap to a route-neighbour's fear closed per day")
    flight: Weight = Field(2.0, description="movement multiplier gain: 1 + flight * max(0, fear_from - fear_to)")
    production_loss: Prob = Field(0.5, description="share of production lost at fear 1")


class Vigilance(_Base):
    """Vigilance multiplies the defence rate; exhausted by threat, restored by calm or rotation."""

    exhaustion: Rate = Field(0.01, description="share lost per day while ferals are present")
    recovery: Rate = Field(0.05, description="share of the gap to 1 recovered per calm day")
    floor: Prob = Field(0.2, description="lowest vigilance")


class Supplies(_Base):
    """Food: consumption, production and starvation."""

    starvation: Rate = Field(0.02, description="death rate of S, E and H per day while supplies are empty")
    starvation_fear: Prob = Field(0.1, description="fear added per day while supplies are empty")


class Trust(_Base):
    """Trust between factions and the truces that rest on it."""

    per_breach: Gain = Field(0.002, description="trust lost per feral breaching from the other side")
    fear_erosion: Rate = Field(0.01, description="trust lost per day per unit of mean fear")
    recovery: Rate = Field(0.002, description="trust regained per calm day")
    threshold: Prob = Field(0.2, description="a truce breaks when trust falls below this")
    share_supplies: Prob = Field(
        0.0, description="share of the gap in days of food closed per day between zones of factions in a truce"
    )


class Concealment(_Base):
    """Households hiding infected members from screening and culls (ABM only)."""

    base: Prob = Field(0.05, description="chance a household hides an infected member under no harsh policy")
    harshness: Prob = Field(0.5, description="added chance under culling (isolation counts half)")
    trust_weight: Prob = Field(0.3, description="chance removed per unit of trust in the faction")


# -- people: memory of loss, ties and the cast (issue 13; docs/model.md "People") ---------------
class Memory(_Base):
    """A person's memory of loss, in [0, 1] (one byte in the ABM): what raises it, how it fades and
    what it changes. Every gain 0 (and ``distrust`` 0) is the model without memory, exactly."""

    per_loss: Prob = Field(0.15, description="added when someone of one's household or band dies, turns or is "
                           "culled")
    per_turned_away: Prob = Field(0.1, description="added to a person turned away at a gate, and to each living "
                                  "member of their household or band (at the end of the day, once a day)")
    per_sealed: Prob = Field(0.1, description="added to everyone alive in a zone the morning it is sealed")
    per_breach: Prob = Field(0.02, description="added to everyone alive in a zone for each day ferals breach it in "
                             "numbers (1 in 1,000 of its people, at least 5), at the end of the week")
    fade: Prob = Field(0.01, description="share of memory lost per day (applied weekly)")
    flight: Weight = Field(1.0, description="walking rate multiplier gain: 1 + fear.flight * flight * memory")
    conceal: Weight = Field(1.0, description="the harshness term of concealment is multiplied by 1 + conceal * "
                            "memory")
    distrust: Gain = Field(1.0, description="trust lost per share of a faction's people bereaved by its culls")
    band_size: int = Field(8, ge=0, le=100, strict=True,
                           description="the last of a household joins a band of at most this many in their zone; "
                           "0 = no bands")
    band_moves: bool = Field(True, description="bands move together: a member's walk takes the band along (with "
                             "chance one over the members who can walk), each through the gate on their own draw")

    def gains_zero(self) -> bool:
        """Whether nothing raises memory (and culls cost no trust): the model without memory."""
        return (self.per_loss == self.per_turned_away == self.per_sealed == self.per_breach == 0.0
                and self.distrust == 0.0)


class Character(_Base):
    """A named person to follow (observation only: casting picks an existing person who fits)."""

    name: Name = Field(description="the character's name")
    zone: Ident | None = Field(None, description="where they start; unset = any zone with people")
    role: Name | None = Field(None, description="a role (guard, nurse, student...): a label for the story")
    household: list[Name] = Field(default_factory=list, max_length=20,
                                  description="names for the other members of their household")
    resistance: Prob | None = Field(None, description="cast the person whose resistance is nearest this")
    state: Literal["S", "E", "H"] | None = Field(None, description="cast someone in this state at day 0")
# -- end of people -------------------------------------------------------------------------------


class Society(_Base):
    fear: Fear = Field(default_factory=Fear)
    vigilance: Vigilance = Field(default_factory=Vigilance)
    supplies: Supplies = Field(default_factory=Supplies)
    trust: Trust = Field(default_factory=Trust)
    concealment: Concealment = Field(default_factory=Concealment)
    memory: Memory = Field(default_factory=Memory)


class Population(_Base):
    """Initial population of a zone by state (the founding strain for E, H, Z and D)."""

    S: Count = 0.0
    E: Count = 0.0
    H: Count = 0.0
    Z: Count = 0.0
    D: Count = 0.0
    R: Count = 0.0

    def total(self) -> float:
        return self.S + self.E + self.H + self.Z + self.D + self.R


class Zone(_Base):
    """A place where people mix (docs/model.md#places)."""

    id: Ident
    kind: Ident = "city"
    name: Name | None = Field(None, description="a display name")
    faction: Ident | None = None
    population: Population = Field(default_factory=Population)
    wall: Prob = Field(0.0, description="share of crossing attempts into the zone that fail")
    supplies: Food | None = Field(None, description="person-days of food; unset = unlimited")
    production: Rate = Field(1.0, description="person-days produced per working human per day")
    disposal: Rate | None = Field(None, description="corpse disposal rate here; unset = defence.disposal")
    births: Births | None = Field(None, description="births per day here; unset = demography.births")
    household_size: float = Field(3.0, ge=1.0, le=100.0, allow_inf_nan=False, strict=True,
                                  description="mean household size (ABM)")
    # unset (None) by default, so zones that do not use them dump and hash as before
    lat: float | None = Field(None, ge=-90.0, le=90.0, allow_inf_nan=False,
                              description="latitude, degrees north: where maps draw the zone (a [regions] table "
                              "sets it); unset = no place on a map")
    lon: float | None = Field(None, ge=-180.0, le=180.0, allow_inf_nan=False,
                              description="longitude, degrees east (with lat)")


class Route(_Base):
    """A directed link along which people and ferals move."""

    from_: Ident = Field(alias="from")
    to: Ident
    rate: Rate = Field(0.0, description="movement rate per human per day")
    feral_rate: Rate = Field(0.0, description="wander rate per feral per day")
    both_ways: bool = Field(False, strict=True, description="also add the reverse route with the same rates")


class Faction(_Base):
    """A governing body: owns zones, sets policies, keeps truces."""

    id: Ident
    name: Name | None = None
    truces: list[Ident] = Field(default_factory=list, max_length=MAX_FACTIONS,
                                description="factions it has a truce with at day 0")
    trust: dict[Ident, Prob] = Field(default_factory=dict, max_length=MAX_FACTIONS,
                                     description="initial trust in other factions")
    default_trust: Prob = Field(0.6, description="initial trust in factions not listed in trust")


class _Policy(_Base):
    """Fields every policy has. ``when``/``until`` are conditions evaluated each morning."""

    name: Name | None = None
    faction: Ident | None = Field(None, description="applies to every zone of this faction")
    zones: list[Ident] = Field(default_factory=list, max_length=MAX_ZONES, description="applies to these zones")
    when: str = Field("true", strict=True, description="switches on when this holds")
    until: str | None = Field(None, strict=True, description="switches off when this holds")
    repeat: bool = Field(False, strict=True, description="may switch on again after switching off")

    @field_validator("when", "until")
    @classmethod
    def _parse_condition(cls, v: str | None) -> str | None:
        if v is not None:
            try:
                Condition.parse(v)
            except ConditionError as exc:
                raise ValueError(str(exc)) from None
        return v


class SealPolicy(_Policy):
    type: Literal["seal"]
    inbound: bool = Field(False, strict=True, description="also let no one in")


class AdmissionPolicy(_Policy):
    type: Literal["admission"]
    mode: Literal["open", "screen", "closed"] = "screen"
    sensitivity: Prob = Field(0.8, description="chance screening detects a latent or hybrid arrival")
    specificity: Prob = Field(0.95, description="chance screening clears a healthy arrival")
    quarantine_days: Duration = Field(0.0, description="days admitted arrivals are held (ABM only)")


class HybridPolicy(_Policy):
    type: Literal["hybrids"]
    action: Literal["protect", "isolate", "cull", "ignore"]
    rate: Rate = Field(0.2, description="per-day rate at which hybrids are found and acted on")
    care: Prob = Field(0.8, description="relapse reduction for protected hybrids (protect)")
    sanctuary: Ident | None = Field(None, description="zone where protected hybrids are cared for")
    isolation: Ident | None = Field(None, description="zone where isolated hybrids are sent")


class SweepPolicy(_Policy):
    type: Literal["sweep"]
    every: float = Field(10.0, ge=1.0, le=MAX_DURATION, allow_inf_nan=False, strict=True,
                         description="days between sweeps (Munz's impulsive eradication)")
    kill: Prob = Field(0.5, description="share of ferals destroyed in a sweep")
    hybrids: bool = Field(False, strict=True, description="also kill hybrids")


class CurePolicy(_Policy):
    type: Literal["cure"]
    rate: Rate = Field(0.1, description="E, H, Z -> S rate")


class DisposalPolicy(_Policy):
    type: Literal["disposal"]
    rate: Rate = Field(0.5, description="corpses burned per corpse per day, added to the zone's own")


class ReopenPolicy(_Policy):
    type: Literal["reopen"]
    calm_days: int = Field(14, ge=1, le=int(MAX_DURATION), strict=True,
                           description="lift seals and closures after this many calm days")


class RotationPolicy(_Policy):
    type: Literal["rotation"]
    restore: Prob = Field(0.2, description="share of the vigilance gap restored per day")
    cost: Prob = Field(0.1, description="share of production given up")


class TrucePolicy(_Policy):
    type: Literal["truce"]
    action: Literal["make", "break"]
    other: Ident = Field(description="the other faction")


Policy = Annotated[
    SealPolicy
    | AdmissionPolicy
    | HybridPolicy
    | SweepPolicy
    | CurePolicy
    | DisposalPolicy
    | ReopenPolicy
    | RotationPolicy
    | TrucePolicy,
    Field(discriminator="type"),
]


class Scenario(_Base):
    """A whole scenario, validated and immutable."""

    name: Name = "unnamed"
    description: Text = ""
    run: RunSettings = Field(default_factory=RunSettings)
    pathogen: Pathogen = Field(default_factory=Pathogen)
    defence: Defence = Field(default_factory=Defence)
    demography: Demography = Field(default_factory=Demography)
    society: Society = Field(default_factory=Society)
    zones: list[Zone] = Field(min_length=1, max_length=MAX_ZONES)
    routes: list[Route] = Field(default_factory=list, max_length=MAX_ROUTES)
    factions: list[Faction] = Field(default_factory=list, max_length=MAX_FACTIONS)
    policies: list[Policy] = Field(default_factory=list, max_length=MAX_POLICIES)
    # -- people (issue 13) --
    # unset (None) by default, so scenarios without a cast dump and hash as before
    characters: list[Character] | None = Field(None, max_length=50, description="named people to follow (ABM)")
    cast: int | None = Field(None, ge=0, le=50, strict=True,
                             description="people to follow, chosen by seed (ABM); unset = 0")
    cast_zones: list[Ident] | None = Field(None, max_length=MAX_ZONES,
                                           description="zones the generated cast comes from; unset = every zone")
    cast_names: Literal["ko", "en"] | None = Field(
        None,
        description="the shipped list a generated cast is named from (aftermath/people/data/names_<list>.toml): "
        "'ko' Korean names, family name first; 'en' English names, given name first; unset = 'en' when "
        "run.vocabulary is 'sir' or 'szr', else 'ko'. Declared characters' names are read in the list's order",
    )  # = aftermath.people.names.LANGUAGES (tests/test_names.py holds it)

    @model_validator(mode="after")
    def _people(self) -> Scenario:
        zs = sorted(z.id for z in self.zones)
        _unique([c.name for c in self.characters or []], "characters", "name")
        for i, c in enumerate(self.characters or []):
            if c.zone is not None and c.zone not in zs:
                raise _RefError(f"characters.{i}.zone", c.zone, f"one of the zones {zs}")
        for i, zid in enumerate(self.cast_zones or []):
            if zid not in zs:
                raise _RefError(f"cast_zones.{i}", zid, f"one of the zones {zs}")
        return self
    # -- end of people --

    # -- regions (issue 14) --
    @model_validator(mode="before")
    @classmethod
    def _regions(cls, data: Any) -> Any:
        """A ``[regions]`` table becomes ordinary zones and routes before anything is validated
        (:mod:`aftermath.scenario.regions`, docs/regions.md); every engine sees plain zones."""
        if isinstance(data, dict) and "regions" in data:
            from aftermath.scenario.regions import expand

            return expand(data)
        return data
    # -- end of regions --

    @model_validator(mode="after")
    def _references(self) -> Scenario:
        zone_ids = [z.id for z in self.zones]
        faction_ids = [f.id for f in self.factions]
        _unique(zone_ids, "zones", "id")
        _unique(faction_ids, "factions", "id")
        _unique([s.id for s in self.pathogen.strains], "pathogen.strains", "id")
        zs, fs = set(zone_ids), set(faction_ids)
        total = self.initial_population()
        if total <= 0:
            raise _RefError("zones", 0, "someone in the scenario: at least one zone's population with a count > 0")
        if total > MAX_PEOPLE:
            raise _RefError("zones", _People(total), f"at most {MAX_PEOPLE:,.0f} people in all zones and states "
                            "together")
        if self.pathogen.latency == 0:
            for i, z in enumerate(self.zones):
                if z.population.E > 0:
                    raise _RefError(f"zones.{i}.population.E", z.population.E,
                                    "0: with pathogen.latency = 0 infections resolve at once, so none is latent")
        for i, z in enumerate(self.zones):
            if z.faction is not None and z.faction not in fs:
                raise _RefError(f"zones.{i}.faction", z.faction, f"one of the factions {sorted(fs)}")
            if (z.lat is None) != (z.lon is None):  # a place needs both, or neither
                key, other, value = ("lat", "lon", z.lat) if z.lon is None else ("lon", "lat", z.lon)
                raise _RefError(f"zones.{i}.{key}", value, f"{other} set too (a place needs both, or neither)")
        for i, r in enumerate(self.routes):
            for key, zid in (("from", r.from_), ("to", r.to)):
                if zid not in zs:
                    raise _RefError(f"routes.{i}.{key}", zid, f"one of the zones {sorted(zs)}")
            if r.from_ == r.to:
                raise _RefError(f"routes.{i}.to", r.to, "a zone other than the route's origin")
        for i, f in enumerate(self.factions):
            for j, other in enumerate(f.truces):
                if other not in fs or other == f.id:
                    raise _RefError(f"factions.{i}.truces.{j}", other, f"another faction of {sorted(fs)}")
            for other in f.trust:
                if other not in fs:
                    raise _RefError(f"factions.{i}.trust.{other}", other, f"one of the factions {sorted(fs)}")
        for i, p in enumerate(self.policies):
            if p.faction is not None and p.faction not in fs:
                raise _RefError(f"policies.{i}.faction", p.faction, f"one of the factions {sorted(fs)}")
            for j, zid in enumerate(p.zones):
                if zid not in zs:
                    raise _RefError(f"policies.{i}.zones.{j}", zid, f"one of the zones {sorted(zs)}")
            for key in ("sanctuary", "isolation"):
                target: str | None = getattr(p, key, None)
                if target is not None and target not in zs:
                    raise _RefError(f"policies.{i}.{key}", target, f"one of the zones {sorted(zs)}")
            if isinstance(p, TrucePolicy):
                if p.faction is None:
                    raise _RefError(f"policies.{i}.faction", None, "the faction that makes or breaks the truce")
                if p.other not in fs or p.other == p.faction:
                    raise _RefError(f"policies.{i}.other", p.other, f"another faction of {sorted(fs)}")
            elif p.faction is None and not p.zones:
                raise _RefError(f"policies.{i}.zones", [], "a faction or at least one zone to apply to")
        return self

    # -- convenience -------------------------------------------------------------------------
    def zone_index(self, zone_id: str) -> int:
        return [z.id for z in self.zones].index(zone_id)

    def faction_index(self, faction_id: str) -> int:
        return [f.id for f in self.factions].index(faction_id)

    def initial_population(self) -> float:
        """Every body at the start, the dead and ferals included (what scaling scales)."""
        return sum(z.population.total() for z in self.zones)

    def initial_humans(self) -> float:
        """The headcount: humans (S + E + H) at the start, as everywhere (aftermath.record.measures)."""
        return sum(z.population.S + z.population.E + z.population.H for z in self.zones)


class _People(float):
    """A number of people, shown with thousands separators in an error message."""

    def __repr__(self) -> str:
        return f"{float(self):,.0f} people" if float(self).is_integer() else f"{float(self):,} people"


class _RefError(ValueError):
    """A reference to something that does not exist; carries its key path for the error message."""

    def __init__(self, path: str, value: object, expected: str) -> None:
        self.path, self.value, self.expected = path, value, expected
        super().__init__(f"{path}: got {value!r}, expected {expected}")


def _unique(ids: list[str], path: str, key: str) -> None:
    seen: set[str] = set()
    for i, x in enumerate(ids):
        if x in seen:
            raise _RefError(f"{path}.{i}.{key}", x, "an id not used before")
        seen.add(x)
