"""The lives of the cast as prose, from the events a run recorded (:mod:`.cast`).

Every sentence is made from one or more event records by a template, and keeps them
(:attr:`Sentence.events`), so a test can hold each sentence against what happened. Templates
come in several *frames* (where the day and the person go in the sentence); consecutive sentences
never share a frame, so a life does not read as a log. The text is deterministic: the same run
tells the same story. Places, factions and policies are called by their display names. The words
follow ``run.vocabulary``: in an SIR world (``"sir"``) the feral compartment is I and the removed R,
so people fall ill, are infectious and recover (:data:`SIR_TEMPLATES`); Munz's (``"szr"``) calls
the ferals zombies.

A life is told in time order: where the person was and with whom; what befell them and their
household (bites, hunger, a seal, a gate, a cull, a band joined); how the weight of it grew and
faded (memory, when the scenario has it on); their fate at the end. After the lives, who among
the cast the official record leaves out, and why (:func:`left_out`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aftermath.record.vocabulary import joined, vocabulary
from aftermath.scenario.schema import AdmissionPolicy, HybridPolicy, SealPolicy, SweepPolicy

if TYPE_CHECKING:
    from aftermath.result import Result

#: (frame, template) per event kind; a frame is the sentence's shape, never used twice in a row.
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "infected": (("on-day", "On day {day}, {name} was bitten in {zone}{outcome}."),
                 ("subject", "{name} was bitten in {zone} on day {day}{outcome}."),
                 ("day-colon", "Day {day} brought the bite: {name} was infected in {zone}{outcome}.")),
    "became_hybrid": (("on-day", "On day {day} the fever broke in {zone} and {name} was still themselves: a hybrid "
                                 "now."),
                      ("subject", "{name} came through the fever in {zone} on day {day} with their mind intact, a "
                                  "hybrid.")),
    "turned": (("on-day", "On day {day}, {name} turned feral in {zone}."),
               ("subject", "{name} was lost to the fever on day {day} and turned feral in {zone}.")),
    "relapsed": (("subject", "{name}, a hybrid, relapsed on day {day} and turned feral in {zone}."),
                 ("on-day", "On day {day} the hybrid in {name} gave way: they turned feral in {zone}.")),
    "killed_by_bite": (("subject", "{name} was killed by a bite in {zone} on day {day}."),
                       ("on-day", "On day {day}, a feral's bite killed {name} in {zone}.")),
    "died": (("subject", "{name} died in {zone} on day {day}, of age or illness rather than the virus."),
             ("on-day", "On day {day}, {name} died in {zone}, not of the virus.")),
    "starved": (("subject", "{name} starved in {zone} on day {day}, after its food ran out."),
                ("on-day", "On day {day}, hunger killed {name} in {zone}.")),
    "culled": (("on-day", "On day {day}, {faction} culled {name}, a hybrid still themselves, in {zone}{policy}."),
               ("subject", "{name} was culled in {zone} on day {day} by {faction}{policy}: a hybrid, still a person.")),
    "hidden_from_cull": (("on-day", "On day {day}, when {faction} came for the hybrids of {zone}{policy}, "
                                    "{name}'s household hid them."),
                         ("subject", "{name}'s household hid them from {faction}'s cull in {zone} on day {day}.")),
    "transferred": (("on-day", "On day {day}, {name} was taken from {zone} to {to}{policy}."),
                    ("subject", "{name} was moved from {zone} to {to} on day {day}{policy}.")),
    "hidden_from_transfer": (("subject", "{name}'s household hid them in {zone} on day {day} rather than let them be "
                                         "taken to {to}."),
                             ("on-day", "On day {day} the household kept {name} in {zone}, away from the transfer to "
                                        "{to}.")),
    "walked": (("subject", "{name} left {zone} for {to} on day {day}."),
               ("on-day", "On day {day}, {name} made it from {zone} to {to}."),
               ("then", "Then {name} set out from {zone} for {to}, and got there on day {day}.")),
    # a journey with a heavy memory: what they had lost drove them (memory multiplies the walking rate)
    "walked_grieving": (("subject", "Carrying what they had lost, {name} left {zone} for {to} on day {day}."),
                        ("on-day", "On day {day}, with grief at their heels, {name} fled {zone} for {to}.")),
    "followed_band": (("subject", "{name} went with their band from {zone} to {to} on day {day}{leader}."),
                      ("on-day", "On day {day}, when the band left {zone}{leader}, {name} followed it to {to}.")),
    "turned_away": (("on-day", "On day {day}, {name} was turned away at the gate of {zone}{health}{policy}."),
                    ("subject", "{name} reached the gate of {zone} on day {day}{health_} and was turned "
                                "away{policy}.")),
    "hidden_at_gate": (("subject", "The screening at {zone} caught {name}, {state}, on day {day}, and the household "
                                   "got them through anyway."),
                       ("on-day", "On day {day} the household hid {name}'s infection at the gate of {zone}.")),
    "let_in_by_mistake": (("subject", "The screening at {zone} missed {name}'s infection on day {day}."),
                          ("on-day", "On day {day} the gate of {zone} let {name} in, {state}, by mistake.")),
    "sealed_in": (("on-day", "On day {day}, {zone} was sealed with {name} inside{policy}."),
                  ("subject", "{name} was sealed into {zone} on day {day}{policy}.")),
    "sacrificed": (("subject", "{name} is one of {zone}'s sacrificed: sealed in healthy, and harmed there "
                               "(day {day})."),
                   ("on-day", "On day {day}, {name} became one of the sacrificed of {zone}.")),
    "swept": (("on-day", "On day {day}, a sweep in {zone} killed {name}, {was}{policy}."),
              ("subject", "{name}, {was}, was killed in a sweep of {zone} on day {day}{policy}.")),
    "joined_band": (("subject", "With no one of their household left, {name} joined a band of {size} in {zone} on "
                                "day {day}{with_}."),
                    ("on-day", "On day {day}, alone now, {name} fell in with a band of {size} in {zone}{with_}.")),
    # the last of a household alone in a zone with no open band starts one (a ``joined_band`` of size 1)
    "started_band": (("subject", "With no one of their household left, {name} started a band of their own in "
                                 "{zone} on day {day}."),
                     ("on-day", "On day {day}, alone now, {name} started a band of their own in {zone}.")),
    "started_band_again": (("subject", "Their band gone, {name} started another in {zone} on day {day}."),
                           ("on-day", "On day {day}, with their band gone, {name} started another in {zone}.")),
    # a band joined after an earlier one was lost (told of a second ``joined_band``)
    "joined_band_again": (("subject", "Their band gone, {name} joined another, of {size}, in {zone} on day "
                                      "{day}{with_}."),
                          ("on-day", "On day {day}, with their band gone, {name} fell in with another band of "
                                     "{size} in {zone}{with_}.")),
    "grieved": (("on-day", "On day {day}, {name}'s band lost {lost}."),
                ("subject", "{name} grieved on day {day}: the band had lost {lost}.")),
    # several griefs one after another, in one sentence ({days}: "days 135, 139 and 142")
    "grieved_often": (("on-day", "On {days}, {name}'s band lost {lost}, one after another."),
                      ("subject", "{name}'s band lost {lost}, on {days}.")),
    # memory in words (:func:`_weight`); the rule it follows is told the first time only ({rule})
    "memory_rose": (("by-day", "By day {day}, what {name} had lived through weighed {weight} on them{rule}."),
                    ("subject", "{name} carried it with them now: by day {day} it weighed {weight} on them{rule}.")),
    "memory_faded": (("by-day", "By day {day} the worst of it had eased for {name}."),
                     ("subject", "{name}'s grief faded a little with the weeks, by day {day}.")),
    "destroyed": (("subject", "As a feral, {name} was destroyed in {zone} on day {day}."),
                  ("on-day", "On day {day}, the feral that had been {name} was destroyed in {zone}.")),
    "decayed": (("subject", "The feral that had been {name} rotted away in {zone} by day {day}."),
                ("on-day", "On day {day}, what was left of {name} rotted away in {zone}.")),
    "rose": (("on-day", "On day {day}, {name}'s body rose as a feral in {zone}."),
             ("subject", "{name}'s body rose again in {zone} on day {day}.")),
    "burned": (("subject", "{name}'s body was burned in {zone} on day {day}."),
               ("on-day", "On day {day}, {name}'s body was burned in {zone}.")),
    "wandered": (("subject", "As a feral, {name} wandered from {zone} to {to} on day {day}."),
                 ("on-day", "On day {day}, the feral that had been {name} drifted from {zone} to {to}.")),
    "cured": (("on-day", "On day {day}, {name} was cured in {zone}."),
              ("subject", "{name} was cured in {zone} on day {day}.")),
    # a kin's turn in the character's life
    "kin": (("subject", "{kin}, of {name}'s household, {verb} on day {day}."),
            ("on-day", "On day {day}, {name} lost {kin}, who {verb}."),
            ("then", "Then {kin} {verb} on day {day}, and {name}'s household grew smaller.")),
    "kin_hybrid": (("subject", "{kin}, of {name}'s household, became a hybrid in {zone} on day {day}."),
                   ("on-day", "On day {day}, {kin} of {name}'s household kept their mind through the fever in "
                              "{zone}: a hybrid.")),
    "kin_hidden": (("on-day", "On day {day}, {name}'s household hid {kin}, a hybrid, from {faction}'s cull in "
                              "{zone}{policy}."),
                   ("subject", "{name}'s household hid {kin}, a hybrid, from the cull in {zone} on day {day}.")),
    # a kin turned away at a gate: told where memory counts it (the household remembers)
    "kin_turned_away": (("subject", "{kin}, of {name}'s household, was turned away at the gate of {zone} on day "
                                    "{day}{health}."),
                        ("on-day", "On day {day}, {kin} of {name}'s household was turned away at the gate of "
                                   "{zone}{health}.")),
    # the same kin hidden from the cull again and again, in one sentence ({days}: "days 5, 19 and 32")
    "kin_hidden_again": (("subject", "{name}'s household hid {kin} from the cull again on {days}."),
                         ("on-day", "On {days}, the cull came back and {name}'s household hid {kin} again.")),
    # the character hidden again and again
    "hidden_again": (("subject", "{name}'s household hid them from the cull again on {days}."),
                     ("on-day", "On {days}, the cull came back and {name}'s household hid them again.")),
    # what befell a feral or a body after the last told ({what}: "rose again twice and was destroyed
    # three times"), so that the fate does not contradict the last thing told
    "afterlife": (("after", "After that, what had been {name} {what}, the last time on day {day}{where}."),
                  ("later", "In the days that followed, what had been {name} {what}; the last of it on day "
                            "{day}{where}.")),
}

#: The SIR limit's words (``run.vocabulary = "sir"``): the feral compartment is I (infectious), the
#: removed R (recovered), so nobody there is bitten, turns feral or rots away; a death is told only
#: where the model recorded one (an event of :data:`DEATHS`). Kinds not listed keep their words.
SIR_TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "infected": (("on-day", "On day {day}, {name} fell ill in {zone}{outcome}."),
                 ("subject", "{name} caught the infection in {zone} on day {day}{outcome}."),
                 ("day-colon", "Day {day} brought the illness: {name} was infected in {zone}{outcome}.")),
    "became_hybrid": (("on-day", "On day {day}, {name} was infectious in {zone}, though it stayed mild."),
                      ("subject", "{name} became infectious in {zone} on day {day}, a mild case.")),
    "turned": (("on-day", "On day {day}, {name} became infectious in {zone}."),
               ("subject", "{name} fell ill and became infectious in {zone} on day {day}.")),
    "relapsed": (("subject", "{name}'s mild illness worsened on day {day} in {zone}."),
                 ("on-day", "On day {day}, {name}'s illness in {zone} worsened.")),
    "killed_by_bite": (("subject", "{name} died of the infection in {zone} on day {day}."),
                       ("on-day", "On day {day}, the infection killed {name} in {zone}.")),
    "swept": (("on-day", "On day {day}, a sweep in {zone} killed {name}, {was}{policy}."),
              ("subject", "{name}, {was}, was killed in a sweep of {zone} on day {day}{policy}.")),
    "joined_band": (("subject", "With all of their household ill or recovered, {name} joined a band of {size} in "
                                "{zone} on day {day}{with_}."),
                    ("on-day", "On day {day}, their household all ill or recovered, {name} fell in with a band of "
                               "{size} in {zone}{with_}.")),
    "grieved": (("on-day", "On day {day}, {name}'s band lost {lost}."),
                ("subject", "{name}'s band was one fewer on day {day}: it had lost {lost}.")),
    "memory_rose": (("by-day", "By day {day}, what {name} had lived through weighed {weight} on them{rule}."),
                    ("subject", "{name} carried it with them now: by day {day} it weighed {weight} on them{rule}.")),
    "destroyed": (("subject", "While infectious, {name} was killed in {zone} on day {day}."),
                  ("on-day", "On day {day}, {name}, still infectious, was killed in {zone}.")),
    "decayed": (("subject", "{name} recovered in {zone} on day {day}."),
                ("on-day", "On day {day}, {name} had recovered in {zone}: no longer infectious.")),
    "rose": (("on-day", "On day {day}, {name}, removed, was infectious again in {zone}."),
             ("subject", "{name} was infectious again in {zone} on day {day}.")),
    "wandered": (("subject", "While infectious, {name} went from {zone} to {to} on day {day}."),
                 ("on-day", "On day {day}, {name}, infectious, went from {zone} to {to}.")),
    "kin": (("subject", "{kin}, of {name}'s household, {verb} on day {day}."),
            ("on-day", "On day {day}, {kin} of {name}'s household {verb}."),
            ("then", "Then {kin} {verb} on day {day}, one more of {name}'s household.")),
    "kin_hybrid": (("subject", "{kin}, of {name}'s household, fell ill in {zone} on day {day}, a mild case."),
                   ("on-day", "On day {day}, {kin} of {name}'s household fell ill in {zone}, a mild case.")),
    "started_band": (("subject", "With all of their household ill or recovered, {name} started a band of their own "
                                 "in {zone} on day {day}."),
                     ("on-day", "On day {day}, their household all ill or recovered, {name} started a band of their "
                                "own in {zone}.")),
    "afterlife": (("after", "After that, {name} {what}, the last time on day {day}{where}."),
                  ("later", "In the days that followed, {name} {what}; the last of it on day {day}{where}.")),
}
#: Events that are a death (or a feral's destruction) in the model's own record.
DEATHS = ("killed_by_bite", "died", "starved", "culled", "swept", "destroyed")

#: Kin events told in a character's life, and what each says happened to the kin (an ``infected``
#: kin is told only when they turned at once, ``state = "feral"``: a loss like ``turned``).
KIN_VERBS = {"infected": "was bitten in {zone} and turned feral at once", "died": "died in {zone}",
             "starved": "starved in {zone}", "killed_by_bite": "was killed by a bite in {zone}",
             "turned": "turned feral in {zone}", "relapsed": "relapsed into a feral in {zone}",
             "culled": "was culled, a hybrid still themselves, in {zone}", "swept": "was killed in a sweep of {zone}"}
SIR_KIN_VERBS = {**KIN_VERBS, "infected": "fell ill and was infectious at once in {zone}",
                 "killed_by_bite": "died of the infection in {zone}", "turned": "became infectious in {zone}",
                 "relapsed": "fell ill again in {zone}"}
#: What the afterlife summary says of each kind of event after a life's end (:data:`AFTERLIFE`).
AFTER_VERBS = {"destroyed": "was destroyed", "rose": "rose again", "burned": "was burned", "decayed": "rotted away",
               "wandered": "wandered", "swept": "was caught in a sweep", "transferred": "was moved",
               "walked": "moved on", "infected": "was bitten again", "turned": "turned again"}
SIR_AFTER_VERBS = {**AFTER_VERBS, "destroyed": "was killed while infectious", "rose": "was infectious again",
                   "decayed": "recovered", "wandered": "went elsewhere while infectious",
                   "infected": "was infected again", "turned": "became infectious again"}
#: Kinds told once in full and, when they come again and again, in one sentence naming the days.
AGAIN = {"hidden_from_cull": ("hidden_again", "kin_hidden_again")}
#: Memory from which a journey is told as flight from grief (a third of full memory).
GRIEVING = 1 / 3
#: What memory does, told once in a life (the first time it is said to weigh on them).
#: Who memory's rule is about, in the scenario's words, and what it makes them do (told once, with
#: only the effects the scenario gives memory: no flight where no route leads out, no hiding
#: where concealment has no harshness term).
RULE_WHO = {"sir": "the shaken"}
RULE_ACTS = ("flee sooner", "hide their own")
RULE = {"sir": f"; the shaken {RULE_ACTS[0]} and {RULE_ACTS[1]}"}
RULE_DEFAULT = f"; the bereaved {RULE_ACTS[0]} and {RULE_ACTS[1]}"
#: A bite whose turn came within this many days is told without "it would take days to show".
SOON = 2
NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def _number(n: int) -> str:
    """A count in words up to twelve, then in figures (with thousands separators)."""
    return NUMBERS[n] if 0 <= n < len(NUMBERS) else f"{n:,}"


def _weight(memory: float) -> str:
    """How heavily a memory of loss (0 to 1) weighs, in words (the figure stays in the JSON)."""
    return "lightly" if memory < 1 / 3 else "heavily" if memory < 2 / 3 else "very heavily"


def _and(words: list[str]) -> str:
    """``["a", "b", "c"]`` -> ``"a, b and c"``."""
    return joined(words)


def _days(days: list[int]) -> str:
    """The days of several events, each once, in order, with how many fell on a day that had more
    than one: ``[135, 135, 139, 142]`` -> ``"days 135 (two), 139 and 142"``."""
    seen = sorted(set(days))
    words = [f"{d} ({_number(days.count(d))})" if days.count(d) > 1 else str(d) for d in seen]
    return f"day {seen[0]}" if len(seen) == 1 else "days " + _and(words)


def _times(n: int) -> str:
    """``1`` -> ``"once"``, ``2`` -> ``"twice"``, ``3`` -> ``"three times"``."""
    return "once" if n == 1 else "twice" if n == 2 else f"{_number(n)} times"
#: Events told after a person's death (their body rising, destroyed, burned); the rest are not.
AFTERLIFE = 2
OWN_KINDS = tuple(k for k in TEMPLATES if not k.startswith("kin") and k != "walked_grieving")
FATE = {"healthy": "alive and well in {where}", "latent": "alive in {where}, carrying an infection no one had seen yet",
        "hybrid": "alive in {where}, a hybrid still themselves", "feral": "feral", "dead": "dead", "gone": "dead"}
SIR_FATE = {"healthy": "was well", "latent": "was infected, not yet infectious",
            "hybrid": "was ill, infectious (I), a mild case", "feral": "was still ill, infectious (I)",
            "gone": "had recovered (R)"}


def _kin_hybrid(ev: dict[str, Any]) -> bool:
    """A kin's event that made them a hybrid: the fever's end (``became_hybrid``), or a bite with no
    latency whose outcome was a hybrid at once (``infected`` in state ``hybrid``)."""
    return ev["kind"] == "became_hybrid" or (ev["kind"] == "infected" and ev.get("state") == "hybrid")


def _kin_loss(ev: dict[str, Any]) -> bool:
    """A kin's event that is a loss to the household (told with the character's grief that day)."""
    return ev["kind"] in KIN_VERBS and (ev["kind"] != "infected" or ev.get("state") == "feral")


def _szr(text: str) -> str:
    """Munz et al.'s words: their Z are zombies."""
    return text.replace("turned feral", "became a zombie").replace("Feral", "Zombie").replace("feral", "zombie")


@dataclass
class Sentence:
    text: str
    frame: str
    kind: str
    events: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"text": self.text, "kind": self.kind, "frame": self.frame, "events": self.events}


@dataclass
class Life:
    name: str
    role: str | None
    sentences: list[Sentence]
    fate: dict[str, Any]
    left_out: list[str]

    def text(self) -> str:
        return " ".join(s.text for s in self.sentences)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "role": self.role, "fate": self.fate, "left_out": self.left_out,
                "sentences": [s.as_dict() for s in self.sentences]}


class Teller:
    """Names and policies of one run, to fill the templates."""

    def __init__(self, result: Result) -> None:
        cast = result.extras.get("cast")
        if not isinstance(cast, dict):
            raise ValueError("this run followed no one: stories need the agent-based engine and a cast "
                             "(engine='abm' with cast = N or [[characters]] in the scenario)")
        self.result, self.cast = result, cast
        sc = result.scenario
        # mid-sentence, "The hidden valley" reads "the hidden valley"
        self.zone_names = [_mid(z.name or z.id) for z in sc.zones]
        fnames = {f.id: _the(f.name or f.id) for f in sc.factions}
        self.zone_faction = [fnames.get(z.faction or "", "the authorities") for z in sc.zones]
        self.people = {p["name"]: p for p in cast["people"]}
        #: the scenario's words (run.vocabulary): "aftermath", "sir" or "szr"
        self.words = vocabulary(sc).name
        self.templates = {**TEMPLATES, **SIR_TEMPLATES} if self.words == "sir" else TEMPLATES
        self.kin_verbs = SIR_KIN_VERBS if self.words == "sir" else KIN_VERBS
        self.final = {f["name"]: f for f in cast["final"]}
        mem = sc.society.memory
        acts = [RULE_ACTS[0]] if sc.routes and sc.society.fear.flight * mem.flight > 0 else []
        acts += [RULE_ACTS[1]] if sc.society.concealment.harshness * mem.conceal > 0 else []
        #: a kin turned away at a gate is told where their household remembers it
        self.kin_turned_remembered = bool(cast.get("memory_on")) and mem.per_turned_away > 0
        #: memory's rule, told the first time a memory is said to weigh on someone ("" if it acts on nothing)
        self.rule = f"; {RULE_WHO.get(self.words, 'the bereaved')} {_and(acts)}" if acts else ""
        #: each person's given name: the record's (the name list's order), else guessed from the name
        self.given_of = {p["name"]: p.get("given") or self._given(p["name"]) for p in cast["people"]}
        given = list(self.given_of.values())
        #: given names two people of the record share: those people are called by their full names
        self.shared = {g for g in given if given.count(g) > 1}

    def policy(self, day: int, zone: int, kind: type) -> tuple[str, str]:
        """(" (label)", faction name) of the policy of ``kind`` that acted in ``zone`` on ``day``."""
        res, sc = self.result, self.result.scenario
        if 0 <= day < res.policy_acted.shape[0]:
            for i, p in enumerate(sc.policies):
                if isinstance(p, kind) and res.policy_acted[day, i, zone]:
                    fac = next((_the(f.name or f.id) for f in sc.factions if f.id == p.faction), None)
                    return f" ({res.policy_labels[i]})", fac or self.zone_faction[zone]
        return "", self.zone_faction[zone]

    @staticmethod
    def _given(name: str) -> str:
        parts = name.split()
        return parts[1] if len(parts) == 2 and "-" in parts[1] else name

    def short(self, name: str) -> str:
        """A person's given name ("Choi Min-seo" -> "Min-seo", "Susan Miller" -> "Susan"); the full
        name when someone else in the story has the same given name."""
        given = self.given_of.get(name) or self._given(name)
        return name if given in self.shared else given


def _the(name: str) -> str:
    """A faction inside a sentence: "the Provisional Government", "the survivors' network"."""
    return "the " + name[4:] if name.startswith("The ") else name if name.startswith("the ") else "the " + name


def _mid(name: str) -> str:
    """A place inside a sentence: "The hidden valley" -> "the hidden valley", "A well-mixed town"
    -> "a well-mixed town" (:func:`aftermath.record.chronicle.place`'s rule)."""
    from aftermath.record.chronicle import mid_sentence

    return mid_sentence(name)


def _fields(t: Teller, ev: dict[str, Any], name: str) -> dict[str, Any]:
    zn = t.zone_names
    z = int(ev.get("zone", 0))
    f: dict[str, Any] = {"day": ev["day"], "name": name, "zone": zn[z], "to": zn[int(ev.get("to", z))]}
    kind = ev["kind"]
    pol_kind = {"culled": HybridPolicy, "hidden_from_cull": HybridPolicy, "transferred": HybridPolicy,
                "hidden_from_transfer": HybridPolicy, "turned_away": AdmissionPolicy, "sealed_in": SealPolicy,
                "swept": SweepPolicy}.get(kind)
    f["policy"], f["faction"] = t.policy(int(ev["day"]), z, pol_kind) if pol_kind else ("", t.zone_faction[z])
    f["outcome"] = ({"latent": ", not yet infectious", "hybrid": ", infectious (a mild case)",
                     "feral": ", infectious at once"} if t.words == "sir" else
                    {"latent": "; it would take days to show", "hybrid": " and kept their mind",
                     "feral": " and turned feral at once"}).get(str(ev.get("state", "")), "")
    f["health"] = " while healthy" if ev.get("healthy") else (", infected" if "healthy" in ev else "")
    f["health_"] = f["health"] + ("," if f["health"].startswith(",") else "")  # mid-clause: ", infected, and"
    f["state"] = {"latent": "infected but not yet showing it", "hybrid": "a hybrid"}.get(str(ev.get("state")),
                                                                                           "infected")
    f["was"] = ({"hybrid": "infectious, a mild case", "feral": "infectious"} if t.words == "sir" else
                {"hybrid": "a hybrid still themselves", "feral": "by then a feral"}).get(str(ev.get("was")), "")
    f["size"] = _number(int(ev.get("size", 0)))
    others = [t.short(x) for x in ev.get("with_", [])]
    f["with_"] = f", among them {', '.join(others)}" if others else ""
    f["weight"] = _weight(float(ev.get("memory", 0.0)))
    f["rule"] = ""
    f["lost"] = t.short(ev["lost"]) if ev.get("lost") else "one of its own"
    f["leader"] = f", behind {t.short(ev['leader'])}" if ev.get("leader") else ""
    return f


def _pick(t: Teller, kind: str, prev: str, key: str) -> tuple[str, str]:
    """A template of ``kind`` whose frame differs from ``prev``, chosen by ``key`` (deterministic)."""
    options = t.templates[kind]
    start = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) % len(options)
    for k in range(len(options)):
        frame, tpl = options[(start + k) % len(options)]
        if frame != prev:
            return frame, tpl
    return options[start]  # one template only: the caller sees the same frame twice and rephrases


def _intro(t: Teller, person: dict[str, Any], kin: list[dict[str, Any]], start: dict[str, Any]) -> Sentence:
    name, zone = person["name"], t.zone_names[int(person["zone0"])]
    role = f"a {person['role']}" if person.get("role") else "one of its people"
    alive_kin = [t.short(k["name"]) for k in kin if k["state0"] in ("healthy", "latent", "hybrid")]
    gone = [k for k in kin if k["state0"] not in ("healthy", "latent", "hybrid")]
    home = f" with {_and(alive_kin)}" if alive_kin else ", alone"
    lost = f"; {_number(len(gone))} of their household had already been lost" if gone else ""
    state = ({"latent": ", already infected though not yet infectious", "hybrid": ", ill (a mild case)",
              "feral": ", already ill and infectious"} if t.words == "sir" else
             {"latent": ", already bitten though no one knew", "hybrid": ", a hybrid"}).get(person["state0"], "")
    text = f"{name}, {role} in {zone}{state}, began the story{home}{lost}."
    return Sentence(text, "intro", "start", [start])


def find_character(name: str, cast: list[dict[str, Any]]) -> str:
    """The full name of the cast member ``name`` means: their full name, or their given name (the
    one the story calls them by), in any case. Raises ``KeyError`` naming the cast when no one, or
    more than one, answers to it."""
    names = [str(p["name"]) for p in cast]
    if name in names:
        return name
    key = name.strip().casefold()
    hits = [n for n in names if n.casefold() == key]
    if not hits:
        hits = [str(p["name"]) for p in cast if str(p.get("given") or "").casefold() == key]
    if len(hits) == 1:
        return hits[0]
    if hits:
        raise KeyError(f"{name!r} is the given name of {_and(hits)}: expected a full name")
    raise KeyError(f"no character called {name!r}: the cast is {', '.join(names)}")


def tell(result: Result, name: str | None = None) -> list[Life]:
    """The lives of the cast (or of the one called ``name``), each in time order."""
    t = Teller(result)
    cast_people = [p for p in t.cast["people"] if p["cast"]]
    if name is not None:
        full = find_character(name, cast_people)
        cast_people = [p for p in cast_people if p["name"] == full]
    by_who: dict[str, list[dict[str, Any]]] = {}
    for ev in t.cast["events"]:
        by_who.setdefault(ev["who"], []).append(ev)
    lives = []
    for person in cast_people:
        lives.append(_life(t, person, by_who, result.days))
    return lives


def _life(t: Teller, person: dict[str, Any], by_who: dict[str, list[dict[str, Any]]], days: int) -> Life:
    name = person["name"]
    short = t.short(name)
    kin = [p for p in t.cast["people"] if p["kin_of"] == name]
    own = by_who.get(name, [])
    # the kin's losses, each told with the character's grief of that day; grief for any other is told alone
    losses = {(ev["who"], ev["day"]) for k in kin for ev in by_who.get(k["name"], []) if _kin_loss(ev)}
    items: list[tuple[int, int, int, int, str, dict[str, Any]]] = []  # (day, step, first, order, role, event)
    for n, ev in enumerate(own):
        if ev["kind"] == "start" or ev["kind"] not in OWN_KINDS:
            continue
        if ev["kind"] == "grieved" and (ev.get("lost"), ev["day"]) in losses:
            continue  # told with the kin's own event
        # being counted among the sacrificed is marked by the harm it names: told before that harm
        items.append((ev["day"], ev["step"], 0 if ev["kind"] == "sacrificed" else 1, n, "own", ev))
    for k in kin:
        for n, ev in enumerate(by_who.get(k["name"], [])):
            if _kin_loss(ev) or _kin_hybrid(ev) or ev["kind"] == "hidden_from_cull" or (
                    ev["kind"] == "turned_away" and t.kin_turned_remembered):
                items.append((ev["day"], ev["step"], 1, 10_000 + n, "kin", ev))
    items.sort(key=lambda x: x[:4])
    start = next(ev for ev in own if ev["kind"] == "start")
    sentences = [_intro(t, person, kin, start)]
    dead, after, ruled, bands, weight = False, 0, False, 0, ""
    untold: list[dict[str, Any]] = []  # the afterlife beyond AFTERLIFE, told in one sentence at the end
    again: set[tuple[str, str]] = set()  # (kind, who) told once in full: told again by their days
    at = 0
    while at < len(items):
        role, ev = items[at][4], items[at][5]
        at += 1
        if dead and role == "kin":
            continue  # the story is theirs: their household's later losses are not
        prev = sentences[-1].frame
        key = f"{name}|{ev['day']}|{ev['kind']}|{ev.get('who')}"
        if ev["kind"] in AGAIN:  # hidden again and again: the first time in full, the rest by their days
            run = [ev]
            while at < len(items) and items[at][4] == role and items[at][5]["kind"] == ev["kind"] \
                    and items[at][5]["who"] == ev["who"]:
                run.append(items[at][5])
                at += 1
            if (ev["kind"], ev["who"]) not in again:
                again.add((ev["kind"], ev["who"]))
                f = _fields(t, ev, short)
                f["kin"] = t.short(ev["who"])
                kind = "kin_hidden" if role == "kin" else ev["kind"]
                frame, tpl = _pick(t, kind, prev, key)
                sentences.append(Sentence(tpl.format(**f), frame, kind, [ev]))
                prev, run = frame, run[1:]
            if run:
                kind = AGAIN[ev["kind"]][1 if role == "kin" else 0]
                f = {"name": short, "kin": t.short(ev["who"]), "days": _days([int(e["day"]) for e in run])}
                frame, tpl = _pick(t, kind, prev, key + "|again")
                sentences.append(Sentence(tpl.format(**f), frame, kind, run))
            continue
        if role == "own":
            if ev["kind"] == "cured":  # human again: their life goes on, after what was not told of the feral
                if untold:
                    sentences.append(_afterlife(t, short, untold, sentences[-1].frame,
                                                f"{name}|afterlife|{len(sentences)}"))
                    prev, untold = sentences[-1].frame, []
                dead, after = False, 0
            if dead and ev["kind"] in MOURNING:
                continue
            if dead:
                after += 1
                if after > AFTERLIFE:
                    untold.append(ev)  # the rest is the ferals' story, told in one sentence
                    continue
            if ev["kind"] in MOURNING:  # a run of griefs and memory's changes, told in three sentences at most
                run = [ev]
                while at < len(items) and items[at][4] == "own" and items[at][5]["kind"] in MOURNING:
                    run.append(items[at][5])
                    at += 1
                told, rule, weight = _mourning(t, short, run, prev, key, ruled, weight)
                sentences += told
                ruled = ruled or rule
                continue
            f = _fields(t, ev, short)
            kind = ev["kind"]
            if kind == "walked" and float(ev.get("memory", 0.0)) >= GRIEVING:
                kind = "walked_grieving"
            if kind == "joined_band":
                bands += 1
                started = int(ev.get("size", 0)) <= 1  # no open band in the zone: they start one
                kind = ("started_band" if started else "joined_band") + ("" if bands == 1 else "_again")
            if kind == "infected" and ev.get("state") == "latent" and t.words != "sir":
                f["outcome"] = _incubation(own, ev)
            frame, tpl = _pick(t, kind, prev, key)
            sentences.append(Sentence(tpl.format(**f), frame, kind, [ev]))
            if ev["kind"] in ("killed_by_bite", "died", "starved", "culled", "swept", "turned", "relapsed") or (
                    ev["kind"] == "infected" and ev.get("state") == "feral"):  # turned at once
                dead = True
        else:
            f = _fields(t, ev, short)
            f["kin"] = t.short(ev["who"])
            grief = [g for g in own if g["kind"] == "grieved" and g.get("lost") == ev["who"]
                     and g["day"] == ev["day"] and _kin_loss(ev)]  # mourned that evening
            if _kin_hybrid(ev):
                kind = "kin_hybrid"
            elif ev["kind"] == "turned_away":
                kind = "kin_turned_away"
            else:
                kind = "kin"
                f["verb"] = t.kin_verbs[ev["kind"]].format(zone=f["zone"])
            frame, tpl = _pick(t, kind, prev, key)
            sentences.append(Sentence(tpl.format(**f), frame, kind, [ev, *grief]))
    if untold:
        sentences.append(_afterlife(t, short, untold, sentences[-1].frame, f"{name}|afterlife"))
    fate = t.final[name]
    sentences.append(_fate(t, person, fate, days, sentences[-1].frame, any(e["kind"] in DEATHS for e in own)))
    if t.words == "szr":
        for s in sentences:
            s.text = _szr(s.text)
    return Life(name, person.get("role"), sentences, fate, left_out_reasons(t, person, fate))


def _afterlife(t: Teller, short: str, untold: list[dict[str, Any]], prev: str, key: str) -> Sentence:
    """What befell what had been the person after the events told of it (a feral's wanderings, a
    body destroyed and risen again): how many times of each, in the order they first came, the
    last day and where that left them; so that the fate, told next, follows from what was told."""
    verbs = SIR_AFTER_VERBS if t.words == "sir" else AFTER_VERBS
    kinds = list(dict.fromkeys(e["kind"] for e in untold))
    what = _and([f"{verbs.get(k, k.replace('_', ' '))} {_times(sum(e['kind'] == k for e in untold))}"
                 for k in kinds])
    last = untold[-1]
    z = int(last.get("to", last.get("zone", -1))) if last["kind"] in ("wandered", "walked", "transferred") else \
        int(last.get("zone", -1))
    where = f", in {t.zone_names[z]}" if z >= 0 else ""
    frame, tpl = _pick(t, "afterlife", prev, key)
    return Sentence(tpl.format(name=short, what=what, day=last["day"], where=where), frame, "afterlife", untold)


#: The character's own events told together when they come one after another.
MOURNING = ("grieved", "memory_rose", "memory_faded")


def _incubation(own: list[dict[str, Any]], bite: dict[str, Any]) -> str:
    """What follows a bite that left the person latent: how long it took to show (their next
    onset, a turn or the fever breaking), nothing when that was within :data:`SOON` days."""
    later = [e for e in own if (e["day"], e["step"]) > (bite["day"], bite["step"])
             and e["kind"] in ("turned", "became_hybrid", "infected")]
    onset = later[0] if later and later[0]["kind"] != "infected" else None
    if onset is None:
        return "; no one could see it yet"
    gap = int(onset["day"]) - int(bite["day"])
    return "" if gap <= SOON else f"; it would take {_number(gap)} days to show"


def _mourning(t: Teller, short: str, run: list[dict[str, Any]], prev: str, key: str,
              ruled: bool, weight: str = "") -> tuple[list[Sentence], bool, str]:
    """A run of the character's griefs (their band's losses) and memory's changes: the griefs up to
    memory's change in one sentence, then memory (its last rise in the run, else its last fading),
    then the griefs after it, so that the days told never go back; whether it told the rule memory
    follows (told once in a life: ``ruled``, it was already); and the weight last told. A rise to
    the ``weight`` already told (``"very heavily"`` again, with no easing between) says nothing new
    and is not told (the griefs are then one sentence)."""
    out: list[Sentence] = []
    griefs = [e for e in run if e["kind"] == "grieved"]
    mems = [e for e in run if e["kind"] != "grieved"]
    rises = [e for e in mems if e["kind"] == "memory_rose"]
    last = (rises or mems)[-1] if mems else None
    ruled_now = False
    if last is not None and last["kind"] == "memory_rose" and _fields(t, last, short)["weight"] == weight:
        last = None  # nothing new to tell of memory

    def grieved(gs: list[dict[str, Any]], prev: str) -> None:
        if len(gs) == 1:
            f = _fields(t, gs[0], short)
            frame, tpl = _pick(t, "grieved", prev, key)
            out.append(Sentence(tpl.format(**f), frame, "grieved", gs))
            return
        named = [t.short(e["lost"]) for e in gs if e.get("lost")]
        lost = _number(len(gs)) + " of its own"
        if named:
            lost += f" (among them {_and(named)})"
        f = {"name": short, "days": _days([int(e["day"]) for e in gs]), "lost": lost}
        frame, tpl = _pick(t, "grieved_often", prev, key)
        out.append(Sentence(tpl.format(**f), frame, "grieved_often", gs))

    if last is None:
        if griefs:
            grieved(griefs, prev)
        return out, False, weight
    when = (last["day"], last["step"])
    before = [e for e in griefs if (e["day"], e["step"]) <= when]
    later = [e for e in griefs if (e["day"], e["step"]) > when]
    if before:
        grieved(before, prev)
    f = _fields(t, last, short)
    weight = f["weight"] if last["kind"] == "memory_rose" else ""  # eased: the next rise is news again
    if last["kind"] == "memory_rose" and not ruled:
        f["rule"] = t.rule
        ruled_now = True
    frame, tpl = _pick(t, last["kind"], out[-1].frame if out else prev, key + "|memory")
    out.append(Sentence(tpl.format(**f), frame, last["kind"], [last]))
    if later:
        grieved(later, out[-1].frame)
    return out, ruled_now, weight


def _carrying(fate: dict[str, Any]) -> str:
    """The memory a character ends with, in words (the figure is in the JSON)."""
    m = float(fate.get("memory", 0.0))
    return "" if m <= 0 else ", what they had lived through still with them" if m < 1 / 3 else \
        ", still weighed down by what they had lived through"


def _fate(t: Teller, person: dict[str, Any], fate: dict[str, Any], days: int, prev: str, died: bool) -> Sentence:
    short, where = t.short(person["name"]), t.zone_names[int(fate["zone"])]
    state = fate["state"]
    if t.words == "sir" and not (state == "dead" or died):  # removed without a recorded death: recovered
        text = f"At day {days}, {short} {SIR_FATE[state]} in {where}{_carrying(fate)}."
    elif state in ("dead", "gone"):
        text = f"{short} did not live to see day {days}."
    elif state == "feral":
        text = f"At day {days}, what had been {short} still walked {where}, feral."
    else:
        text = f"At day {days}, {short} was {FATE[state].format(where=where)}{_carrying(fate)}."
    frame = "fate" if prev != "fate" else "fate-2"
    return Sentence(text, frame, "fate", [{"kind": "final", **fate}])


def left_out_reasons(t: Teller, person: dict[str, Any], fate: dict[str, Any]) -> list[str]:
    """Why the official record leaves this person out (empty: it counts them)."""
    flags = set(fate["flags"])
    out = []
    fz = t.zone_faction
    events = [e for e in t.cast["events"] if e["who"] == person["name"]]

    def where(kind: str) -> str:
        ev = next((e for e in events if e["kind"] == kind), None)
        return fz[int(ev["zone"])] if ev else "its faction"

    if "culled" in flags:
        out.append(f"culled while still themselves: {where('culled')}'s books do not count them among the dead")
    if "swept" in flags:
        out.append("killed in a sweep as a hybrid: not counted among the dead")
    if "concealed" in flags:
        out.append("hidden by their household: the infections on the books leave them out")
    if "excluded" in flags:
        out.append(f"turned away at a gate: {where('turned_away')} never entered them in its books")
    return out


def left_out(lives: list[Life]) -> list[str]:
    """One line per cast member the official record leaves out, with the reasons."""
    return [f"{life.name}: {'; '.join(life.left_out)}." for life in lives if life.left_out]


def story_text(result: Result, name: str | None = None) -> str:
    """The lives as prose, then who the official record leaves out."""
    lives = tell(result, name)
    parts = []
    for life in lives:
        role = f" ({life.role})" if life.role else ""
        parts.append(f"{life.name}{role}\n{life.text()}")
    gone = left_out(lives)
    everyone = "every one of them" if len(lives) > 1 else (lives[0].name if lives else "them")
    tail = ("Who the official record leaves out:\n" + "\n".join(gone)) if gone else \
        f"The official record counts {everyone}."
    return "\n\n".join([*parts, tail])


def story_json(result: Result, name: str | None = None) -> dict[str, Any]:
    """The lives as data: sentences with the events they were made from, fates, who is left out."""
    lives = tell(result, name)
    return {"scenario": result.scenario.name, "engine": result.engine, "seed": result.seed, "days": result.days,
            "memory_on": bool(result.extras["cast"].get("memory_on")), "zones": result.extras["cast"]["zones"],
            "lives": [life.as_dict() for life in lives], "left_out": left_out(lives)}
