"""Small worlds for the engine contract suite: in each, one mechanism of docs/model.md acts alone.

Every other rate is zero and society cannot feed back (no fear, no flight, vigilance constant, food
unlimited, no concealment), so each world is a *linear* system: every person's transitions have
constant hazards (bite and defence pressures come from compartments that do not change, with
``denominator = "all"`` keeping N constant), and the ODE is the exact mean of the stochastic engines.
The expected values are closed forms written here, independently of the engines' code.

A world declares three kinds of expectation:

* **balances** (exact, every engine, every day): a stock change equals the flows that caused it,
  ``"a.D + a.R = a.FERAL_DESTROYED"``. A term is ``zone.STATE`` (the day's change of that stock),
  ``zone.FLOW`` (the day's count of a :class:`~aftermath.model.flows.Flow` at that zone) or
  ``routeK.KIND`` (a :class:`~aftermath.model.flows.RouteFlow` on the K-th route). Stocks named in no
  balance must not change; flows named in no balance must stay zero. Together they check where
  each individual went (the product state and zone) and which flow counted it (the tag).
* **expects** (statistical): the value at the end of the run of a sum of terms (a stock's final
  count, a flow's total, or ``ledger.<flag>`` for the ABM's ledger totals), with its exact mean and
  the variance of one run (binomial, multinomial or Poisson, from the closed form). The stochastic
  engines' mean over ``runs`` seeds must lie within ``Z_TOL`` standard errors
  ``sqrt(var / runs)`` of the mean; the ABM also gets ``abm_bias``, the exact gap between its
  fixed-step chain and continuous time (zero where its competing-hazard step is exact: constant
  hazards, one transition per person). The ODE must equal the mean to ``ODE_TOL`` per person.
* **shares** (statistical): ``part / whole`` is a binomial share with probability ``p`` (a bite kills
  with ``kappa``, a destroyed feral leaves a corpse with ``q``, latency ends hybrid with
  ``p_hybrid``), pooled over the runs: within ``Z_TOL * sqrt(p (1 - p) / whole)``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from scipy import integrate, special, stats

from aftermath.scenario.load import from_dict
from aftermath.scenario.schema import Scenario

#: Standard errors allowed for a seed mean (two-sided p ~ 7e-6 per check: about 190 checks run,
#: so a correct engine fails one by chance with probability ~1e-3 when its random streams change).
Z_TOL = 4.5
#: The ODE's error per person of the world (its solver runs at rtol = atol = 1e-8).
ODE_TOL = 1e-6
#: Mean latency of "latent for good" carriers (the schema's longest duration): the ABM's scheduled
#: step stays far within int32 for any draw and dt >= 0.01. E -> H/Z still leaks 1e-5 per person per
#: day, so balances name the onsets and expectations allow ``World.leak_bound`` people for it.
FOREVER = 1e5

ENGINES = ("ode", "ssa", "abm")


@dataclass(frozen=True)
class Expect:
    what: str  # sum of terms, e.g. "a.D + a.R", "b.EXCLUDED", "ledger.culled"
    mean: float
    var: float  # variance of one run's value
    abm_bias: float = 0.0  # bound on |ABM mean - continuous-time mean| from the time step

    @property
    def ledger(self) -> bool:
        return self.what.startswith("ledger.")


@dataclass(frozen=True)
class Share:
    part: str
    whole: str
    p: float


@dataclass(frozen=True)
class World:
    name: str
    scenario: Scenario
    balances: tuple[str, ...]
    expects: tuple[Expect, ...] = ()
    shares: tuple[Share, ...] = ()
    runs: int = 8
    #: ABM ledger rows that must agree with the flows: (flag, flow expression, zone, "fate|fate")
    ledger: tuple[tuple[str, str, str, str], ...] = ()
    engines: tuple[str, ...] = ENGINES
    xfail: dict[str, str] = field(default_factory=dict)  # engine -> reason (a finding, reported)

    @property
    def leak_bound(self) -> float:
        """At most this many carriers latent "for good" end their latency in the run, in expectation
        (everyone latent the whole time): what an expectation that ignores it may be off by."""
        return self.people * self.days / FOREVER if self.scenario.pathogen.latency == FOREVER else 0.0

    @property
    def leaks(self) -> tuple[str, ...]:
        """Flows that may be non-zero without a balance: carriers latent "for good" (FOREVER) still
        end their latency at ~1e-7 per day, and the balances keep them inside E + H + Z."""
        return ("ONSET_FERAL", "ONSET_HYBRID") if self.scenario.pathogen.latency == FOREVER else ()

    @property
    def days(self) -> int:
        return self.scenario.run.days

    @property
    def people(self) -> float:
        return self.scenario.initial_population()


# -- building blocks ---------------------------------------------------------------------------

QUIET: dict[str, Any] = {
    "run": {"days": 3, "dt": 0.25, "denominator": "all", "mixing": "frequency"},
    "pathogen": {"beta": 0.0, "latency": 0.0, "p_hybrid": 0.0, "relapse": 0.0, "eta": 0.0, "kappa": 0.0,
                 "mutation": {"mu": 0.0}},
    "defence": {"alpha": 0.0, "q": 0.0, "decay": 0.0, "reanimation": 0.0, "disposal": 0.0},
    "demography": {"births": 0.0, "death": 0.0},
    "society": {
        "fear": {"initial": 0.0, "per_infection": 0.0, "per_death": 0.0, "per_breach": 0.0, "flight": 0.0,
                 "neighbour_share": 0.0},
        "vigilance": {"exhaustion": 0.0},
        "supplies": {"starvation_fear": 0.0},
        "trust": {"fear_erosion": 0.0, "per_breach": 0.0},
        "concealment": {"base": 0.0, "harshness": 0.0, "trust_weight": 0.0},
    },
}


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def scenario(name: str, zones: list[dict[str, Any]], **over: Any) -> Scenario:
    return from_dict(_merge(QUIET, {"name": f"contract-{name}", "zones": zones, **over}))


def binom(what: str, n: float, p: float, abm_p: float | None = None) -> Expect:
    """A count that is Binomial(n, p); the ABM's own p (its fixed-step chain) when it differs."""
    bias = 0.0 if abm_p is None else n * abs(abm_p - p)
    return Expect(what, n * p, n * p * (1 - p), bias)


def poisson(what: str, mean: float, abm_mean: float | None = None) -> Expect:
    return Expect(what, mean, mean, 0.0 if abm_mean is None else abs(abm_mean - mean))


def total(what: str, parts: Iterable[Expect]) -> Expect:
    """A sum of independent counts."""
    ps = list(parts)
    return Expect(what, sum(e.mean for e in ps), sum(e.var for e in ps), sum(e.abm_bias for e in ps))


def exact(what: str, value: float) -> Expect:
    return Expect(what, value, 0.0)


def gone(rate: float, t: float) -> float:
    """P(a constant hazard ``rate`` has fired by ``t``)."""
    return -math.expm1(-rate * t)


# -- the worlds ----------------------------------------------------------------------------------

def bites(mixing: str = "frequency") -> World:
    """Bites and kills: each S is bitten at beta (Z + eta H) / N (Z, H, N fixed; N = 1 under mass
    action); a bite kills with kappa (S -> D, BITE_DEATH), else S -> E (INFECTION, and FIRST_INFECTION:
    all are the initial cohort)."""
    s0, z0, h0, eta, kappa, t = 16_000, 2_000, 2_000, 0.5, 0.25, 3
    n = 1.0 if mixing == "mass_action" else s0 + z0 + h0
    beta = 0.5 / (s0 + z0 + h0) if mixing == "mass_action" else 0.5
    lam = beta * (z0 + eta * h0) / n
    p = gone(lam, t)
    name = "bites" if mixing == "frequency" else "bites_mass_action"
    sc = scenario(name, [{"id": "a", "population": {"S": s0, "Z": z0, "H": h0}}], run={"days": t, "mixing": mixing},
                  pathogen={"beta": beta, "eta": eta, "kappa": kappa, "latency": FOREVER})
    return World(name, sc, (
        "a.S = -a.INFECTION - a.BITE_DEATH",
        "a.E = a.INFECTION - a.ONSET_FERAL",
        "a.Z = a.ONSET_FERAL",
        "a.D = a.BITE_DEATH",
        "a.FIRST_INFECTION = a.INFECTION",
    ), (
        binom("a.S", s0, 1 - p),
        binom("a.D", s0, p * kappa),
        binom("a.E", s0, p * (1 - kappa)),
    ), (Share("a.BITE_DEATH", "a.BITE_DEATH + a.INFECTION", kappa),))


def first_infections() -> World:
    """Only the initial cohort's infections are first infections (the attack rate): the born are
    bitten too, but count in INFECTION only. Mass action keeps the bite hazard constant as people are
    born. ABM: the born of a step arrive at its start, so they are exposed up to dt longer (their
    expected infections are computed step by step)."""
    s0, z0, pi, beta, kappa, t = 10_000, 1_000, 1_000.0, 1e-4, 0.2, 3
    dt = 0.25
    lam = beta * z0
    sc = scenario("first", [{"id": "a", "population": {"S": s0, "Z": z0}, "births": pi}],
                  run={"days": t, "dt": dt, "mixing": "mass_action"},
                  pathogen={"beta": beta, "kappa": kappa, "latency": FOREVER})
    born_bitten = pi * (t - gone(lam, t) / lam)  # Poisson: births thinned by P(bitten by t)
    steps = round(t / dt)
    abm_born_bitten = pi * dt * sum(gone(lam, (steps - k) * dt) for k in range(steps))
    return World("first_infections", sc, (
        "a.S = a.BIRTH - a.INFECTION - a.BITE_DEATH", "a.E = a.INFECTION - a.ONSET_FERAL",
        "a.Z = a.ONSET_FERAL", "a.D = a.BITE_DEATH",
    ), (
        binom("a.FIRST_INFECTION", s0, (1 - kappa) * gone(lam, t)),
        poisson("a.INFECTION - a.FIRST_INFECTION", (1 - kappa) * born_bitten, (1 - kappa) * abm_born_bitten),
        poisson("a.BIRTH", pi * t),
    ))


def immediate_onset() -> World:
    """Latency 0: a bite resolves at once, S -> H with p_hybrid (INFECTION + ONSET_HYBRID), else S -> Z
    (INFECTION + ONSET_FERAL). New ferals bite too, so the count is not linear: only the share and the
    balances are checked (the ODE is not the exact mean of the count here)."""
    s0, z0, beta, ph, t = 18_000, 2_000, 0.5, 0.4, 2
    sc = scenario("immediate", [{"id": "a", "population": {"S": s0, "Z": z0}}], run={"days": t},
                  pathogen={"beta": beta, "p_hybrid": ph})
    return World("immediate_onset", sc, (
        "a.S = -a.INFECTION",
        "a.H = a.ONSET_HYBRID",
        "a.Z = a.ONSET_FERAL",
        "a.INFECTION = a.ONSET_HYBRID + a.ONSET_FERAL",
        "a.FIRST_INFECTION = a.INFECTION",
    ), (), (Share("a.ONSET_HYBRID", "a.INFECTION", ph),))


def defence() -> World:
    """Defence with q: each feral is destroyed at alpha v (S + h H) / N (S, H, N fixed, v = 1); a destroyed
    feral goes to D with q, else to R; both counted in FERAL_DESTROYED."""
    s0, h0, z0, alpha, h, q, t = 16_000, 2_000, 2_000, 0.5, 0.5, 0.3, 3
    lam = alpha * (s0 + h * h0) / (s0 + h0 + z0)
    p = gone(lam, t)
    sc = scenario("defence", [{"id": "a", "population": {"S": s0, "H": h0, "Z": z0}}], run={"days": t},
                  defence={"alpha": alpha, "hybrid_weight": h, "q": q})
    return World("defence", sc, (
        "a.Z = -a.FERAL_DESTROYED",
        "a.D + a.R = a.FERAL_DESTROYED",
    ), (
        binom("a.Z", z0, 1 - p),
        binom("a.D", z0, p * q),
        binom("a.R", z0, p * (1 - q)),
    ), (Share("a.D", "a.FERAL_DESTROYED", q),))


def decay() -> World:
    """Pure decay: Z(t) = Z0 exp(-decay t); every removed feral is in R and in DECAY."""
    z0, rate, t = 20_000, 0.2, 3
    sc = scenario("decay", [{"id": "a", "population": {"Z": z0}}], run={"days": t}, defence={"decay": rate})
    return World("decay", sc, ("a.Z = -a.DECAY", "a.R = a.DECAY"),
                 (binom("a.Z", z0, math.exp(-rate * t)), binom("a.R", z0, gone(rate, t))))


def latency(shape: int, resistance_sd: float = 0.0, k_res: float = 0.0) -> World:
    """Latency ends after an Erlang(shape) time of mean 1/sigma, as H with p_hybrid (ONSET_HYBRID) or Z
    (ONSET_FERAL). With heterogeneous resistance the share is the population mean of
    expit(logit(p_h) + k_res (r - 0.5)), r ~ Beta (computed here by quadrature, not by the engines).

    ABM: the end of latency is drawn at onset and rounded to the nearest step, so by day T it has
    ended for those with latency < T - dt/2: its mean is F(T - dt/2), a bias N (F(T) - F(T - dt/2))."""
    e0, mean_lat, ph, t, dt = 20_000, 2.0, 0.3, 2, 0.01
    erlang = stats.gamma(a=shape, scale=mean_lat / shape)
    f, f_abm = float(erlang.cdf(t)), float(erlang.cdf(t - dt / 2))
    p_h = ph
    if resistance_sd > 0:
        m = 0.5
        c = m * (1 - m) / resistance_sd**2 - 1
        dens = stats.beta(m * c, (1 - m) * c)
        p_h = integrate.quad(lambda r: dens.pdf(r) * special.expit(special.logit(ph) + k_res * (r - 0.5)),
                             0, 1)[0]
    name = f"latency_k{shape}" + ("_resistance" if resistance_sd > 0 else "")
    sc = scenario(name, [{"id": "a", "population": {"E": e0}}], run={"days": t, "dt": dt},
                  pathogen={"latency": mean_lat, "latency_shape": shape, "p_hybrid": ph,
                            "resistance_sd": resistance_sd, "k_res": k_res})
    return World(name, sc, (
        "a.E = -a.ONSET_HYBRID - a.ONSET_FERAL",
        "a.H = a.ONSET_HYBRID",
        "a.Z = a.ONSET_FERAL",
    ), (
        binom("a.E", e0, 1 - f, 1 - f_abm),
        binom("a.H", e0, f * p_h, f_abm * p_h),
        binom("a.Z", e0, f * (1 - p_h), f_abm * (1 - p_h)),
    ), (Share("a.H", "a.H + a.Z", p_h),))


def relapse() -> World:
    h0, r, t = 20_000, 0.3, 3
    sc = scenario("relapse", [{"id": "a", "population": {"H": h0}}], run={"days": t}, pathogen={"relapse": r})
    return World("relapse", sc, ("a.H = -a.RELAPSE", "a.Z = a.RELAPSE"),
                 (binom("a.H", h0, math.exp(-r * t)), binom("a.Z", h0, gone(r, t))))


def reanimation() -> World:
    d0, zeta, t = 20_000, 0.2, 3
    sc = scenario("reanimation", [{"id": "a", "population": {"D": d0}}], run={"days": t},
                  defence={"reanimation": zeta})
    return World("reanimation", sc, ("a.D = -a.REANIMATION", "a.Z = a.REANIMATION"),
                 (binom("a.D", d0, math.exp(-zeta * t)), binom("a.Z", d0, gone(zeta, t))))


def disposal() -> World:
    """Disposal D -> R at the zone's own rate plus a disposal (burn) policy's; zone b keeps the default."""
    d0, own, burn, default, t = 10_000, 0.1, 0.2, 0.05, 3
    sc = scenario("disposal", [{"id": "a", "population": {"D": d0}, "disposal": own},
                               {"id": "b", "population": {"D": d0}}], run={"days": t},
                  defence={"disposal": default}, policies=[{"type": "disposal", "zones": ["a"], "rate": burn}])
    return World("disposal", sc, ("a.D = -a.DISPOSAL", "a.R = a.DISPOSAL", "b.D = -b.DISPOSAL", "b.R = b.DISPOSAL"),
                 (binom("a.D", d0, math.exp(-(own + burn) * t)), binom("b.D", d0, math.exp(-default * t))))


def _deaths(name: str, flow: str, over: dict[str, Any], rate: float, exposure: float, days: int) -> World:
    s0, e0, h0 = 8_000, 6_000, 6_000
    sc = scenario(name, [{"id": "a", "population": {"S": s0, "E": e0, "H": h0}, **over.pop("zone", {})}],
                  run={"days": days}, pathogen={"latency": FOREVER}, **over)
    surv = math.exp(-rate * exposure)
    return World(name, sc, (
        f"a.S + a.E + a.H + a.Z = -a.{flow}",  # E -> Z leaks ~1e-7 per day (FOREVER): it stays in the sum
        "a.Z = a.ONSET_FERAL",
        f"a.D = a.{flow}",
    ), (
        binom("a.S", s0, surv), binom("a.H", h0, surv),
        total("a.D", [binom("", n, 1 - surv) for n in (s0, e0, h0)]),
    ))


def natural_death() -> World:
    """Background death delta of S, E and H into D (NATURAL_DEATH)."""
    return _deaths("natural_death", "NATURAL_DEATH", {"demography": {"death": 0.1}}, 0.1, 3, 3)


def starvation() -> World:
    """Starvation: a zone with no food and no production is found empty at the end of day 0, so S, E and
    H die into D (STARVATION) at the starvation rate from day 1 on: exposure days - 1."""
    return _deaths("starvation", "STARVATION", {"zone": {"supplies": 0.0, "production": 0.0},
                                                "society": {"supplies": {"starvation": 0.1}}}, 0.1, 3, 4)


def births() -> World:
    s0, pi, t = 1_000, 300.0, 4
    sc = scenario("births", [{"id": "a", "population": {"S": s0}, "births": pi}], run={"days": t})
    return World("births", sc, ("a.S = a.BIRTH",), (poisson("a.BIRTH", pi * t), poisson("a.S", s0 + pi * t)))


def cure() -> World:
    """A cure policy: E, H and Z -> S at c (CURE)."""
    n, c, t = 6_000, 0.2, 3
    sc = scenario("cure", [{"id": "a", "population": {"E": n, "H": n, "Z": n}}], run={"days": t},
                  pathogen={"latency": FOREVER}, policies=[{"type": "cure", "zones": ["a"], "rate": c}])
    return World("cure", sc, ("a.S = a.CURE", "a.E + a.H + a.Z = -a.CURE"), (
        binom("a.H", n, math.exp(-c * t)), total("a.S", [binom("", n, gone(c, t))] * 3),
    ))


def cull() -> World:
    """A cull policy: hybrids H -> R (not D) at its rate, counted in CULL and, in the ABM's ledger, culled."""
    h0, c, t = 20_000, 0.3, 3
    sc = scenario("cull", [{"id": "a", "population": {"H": h0}}], run={"days": t},
                  policies=[{"type": "hybrids", "action": "cull", "zones": ["a"], "rate": c}])
    return World("cull", sc, ("a.H = -a.CULL", "a.R = a.CULL"), (
        binom("a.H", h0, math.exp(-c * t)), binom("a.R", h0, gone(c, t)), binom("ledger.culled", h0, gone(c, t)),
    ), ledger=(("culled", "a.CULL", "a", "dead"),))


def concealment() -> World:
    """ABM only (the compartmental engines have no households): under a cull, a household hides its
    hybrids with probability c, decided once per household for the run; a hidden hybrid's cull event
    does nothing but mark them concealed. Households are of equal size m (person j of the zone joins
    household j mod n/m), so the culled count is a sum over households of (1 - X) Binomial(m, p),
    X ~ Bernoulli(c): variance per household (1 - c) m p (1 - p) + c (1 - c) m^2 p^2."""
    h0, m, c, rate, t = 20_000, 4, 0.3, 0.3, 3
    sc = scenario("concealment", [{"id": "a", "population": {"H": h0}, "household_size": m}], run={"days": t},
                  society={"concealment": {"base": c, "harshness": 0.0, "trust_weight": 0.0}},
                  policies=[{"type": "hybrids", "action": "cull", "zones": ["a"], "rate": rate}])
    p, houses = gone(rate, t), h0 // m

    def clustered(what: str, keep: float) -> Expect:
        var = keep * m * p * (1 - p) + keep * (1 - keep) * (m * p) ** 2
        return Expect(what, h0 * keep * p, houses * var)

    return World("concealment", sc, ("a.H = -a.CULL", "a.R = a.CULL"), (
        clustered("a.R", 1 - c), clustered("ledger.culled", 1 - c), clustered("ledger.concealed", c),
    ), ledger=(("culled", "a.CULL", "a", "dead"),), engines=("abm",))


def transfer(action: str) -> World:
    """Hybrid transfer: protect (sanctuary) or isolate (isolation zone) moves hybrids of the policy's zones
    a and b to camp at its rate, counted in HYBRID_MOVED at the destination. Three zones, so a transfer
    sent anywhere but camp shows."""
    h0, rate, t = 10_000, 0.3, 3
    key = "sanctuary" if action == "protect" else "isolation"
    sc = scenario(f"transfer-{action}", [{"id": "a", "population": {"H": h0}}, {"id": "camp"},
                                         {"id": "b", "population": {"H": h0}}], run={"days": t},
                  policies=[{"type": "hybrids", "action": action, "zones": ["a", "b"], "rate": rate, key: "camp"}])
    p = gone(rate, t)
    return World(f"transfer_{action}", sc, (
        "a.H + b.H = -camp.HYBRID_MOVED",
        "camp.H = camp.HYBRID_MOVED",
    ), (binom("a.H", h0, 1 - p), binom("b.H", h0, 1 - p), binom("camp.H", 2 * h0, p)))


def sanctuary_care() -> World:
    """Protection lowers relapse by care: in the sanctuary (and only there), or, with no sanctuary, in
    the policy's own zones (home); a zone under no policy (out) keeps the full rate."""
    h0, r, care, t = 10_000, 0.5, 0.8, 3
    sc = scenario("care", [{"id": "sanct", "population": {"H": h0}}, {"id": "out", "population": {"H": h0}},
                           {"id": "home", "population": {"H": h0}}],
                  run={"days": t}, pathogen={"relapse": r},
                  policies=[{"type": "hybrids", "action": "protect", "zones": ["sanct"], "sanctuary": "sanct",
                             "care": care},
                            {"type": "hybrids", "action": "protect", "zones": ["home"], "care": care}])
    cared = math.exp(-r * (1 - care) * t)
    return World("sanctuary_care", sc, tuple(f"{z}.H = -{z}.RELAPSE" for z in ("sanct", "out", "home")) + tuple(
        f"{z}.Z = {z}.RELAPSE" for z in ("sanct", "out", "home")),
        (binom("sanct.H", h0, cared), binom("out.H", h0, math.exp(-r * t)), binom("home.H", h0, cared)))


def _movement(name: str, zones: list[dict[str, Any]], routes: list[dict[str, Any]], **over: Any) -> Scenario:
    return scenario(name, zones, routes=routes, **over)


def flight() -> World:
    """Fear drives flight: people walk a -> b at rate (1 + flight * max(0, fear_a - fear_b)). Zone a has no
    food: found empty at the end of day 0, it is starving from day 1 (at starvation rate 0: nobody dies),
    and each starving day adds starvation_fear to its fear, which decays; b stays calm (no spread of fear
    between neighbours). So fear, and the walking rate, follow the same known sequence in every engine."""
    s0, r, gain, sf, decay, t = 20_000, 0.1, 2.0, 0.3, 0.05, 5
    sc = _movement("flight", [{"id": "a", "population": {"S": s0}, "supplies": 0.0, "production": 0.0}, {"id": "b"}],
                   [{"from": "a", "to": "b", "rate": r}], run={"days": t},
                   society={"fear": {"flight": gain, "decay": decay},
                            "supplies": {"starvation": 0.0, "starvation_fear": sf}})
    fear, starving, hazard = 0.0, False, 0.0
    for _ in range(t):
        hazard += r * (1 + gain * fear)
        fear = min(1.0, fear * (1 - decay) + sf * starving)
        starving = True
    return World("flight", sc, ("b.S = b.HUMAN_ARRIVED", "a.S = -b.HUMAN_ARRIVED", "route0.HUMANS = b.HUMAN_ARRIVED"),
                 (binom("b.S", s0, -math.expm1(-hazard)),))


def walls() -> World:
    """Movement through walls: humans cross into b (wall w) at rate (1 - w), ferals at
    feral_rate (1 - w (1 - breach)), counted as HUMAN_ARRIVED / FERAL_ARRIVED and BREACH at b; zone c has
    no wall (arrivals, no breach). Exits compete: a -> b and a -> c."""
    s0, z0, w, breach, t = 10_000, 10_000, 0.5, 0.4, 3
    rb, fb, rc, fc = 0.3, 0.2, 0.1, 0.1
    hb, hc = rb * (1 - w), rc
    zb, zc = fb * (1 - w * (1 - breach)), fc
    sc = _movement("walls", [{"id": "a", "population": {"S": s0, "Z": z0}}, {"id": "b", "wall": w}, {"id": "c"}],
                   [{"from": "a", "to": "b", "rate": rb, "feral_rate": fb},
                    {"from": "a", "to": "c", "rate": rc, "feral_rate": fc}],
                   run={"days": t}, pathogen={"breach": breach})
    return World("walls", sc, (
        "b.S = b.HUMAN_ARRIVED", "c.S = c.HUMAN_ARRIVED", "a.S = -b.HUMAN_ARRIVED - c.HUMAN_ARRIVED",
        "b.Z = b.FERAL_ARRIVED", "c.Z = c.FERAL_ARRIVED", "a.Z = -b.FERAL_ARRIVED - c.FERAL_ARRIVED",
        "b.BREACH = b.FERAL_ARRIVED",
        "route0.HUMANS = b.HUMAN_ARRIVED", "route1.HUMANS = c.HUMAN_ARRIVED",
        "route0.FERALS = b.FERAL_ARRIVED", "route1.FERALS = c.FERAL_ARRIVED",
    ), (
        binom("b.S", s0, hb / (hb + hc) * gone(hb + hc, t)), binom("c.S", s0, hc / (hb + hc) * gone(hb + hc, t)),
        binom("b.Z", z0, zb / (zb + zc) * gone(zb + zc, t)), binom("c.Z", z0, zc / (zb + zc) * gone(zb + zc, t)),
    ))


def gates(mode: str) -> World:
    """Gates between factions: the route a -> b joins two factions' zones and is open to people only while
    they keep a truce; a -> c (no faction) is always open; ferals ignore gates. ``mode``: ``closed`` (no
    truce), ``made`` (a truce policy makes one on day 2), ``broken`` (a truce at day 0, broken on day 2)."""
    s0, z0, r, fr, t, switch = 20_000, 5_000, 0.3, 0.2, 4, 2
    factions = [{"id": "f", "truces": ["g"] if mode == "broken" else []}, {"id": "g"}]
    policies = [] if mode == "closed" else [
        {"type": "truce", "faction": "f", "other": "g", "action": "make" if mode == "made" else "break",
         "when": f"day >= {switch}"}]
    sc = _movement(f"gates-{mode}", [{"id": "a", "faction": "f", "population": {"S": s0, "Z": z0}},
                                     {"id": "b", "faction": "g"}, {"id": "c"}],
                   [{"from": "a", "to": "b", "rate": r, "feral_rate": fr}, {"from": "a", "to": "c", "rate": r}],
                   run={"days": t}, factions=factions, policies=policies)
    # exposure to the gate (a -> b open) before and after the switch
    open_before, open_after = {"closed": (0, 0), "made": (0, 1), "broken": (1, 0)}[mode]
    t1, t2 = switch, t - switch
    l1, l2 = r * (1 + open_before), r * (1 + open_after)
    stay1 = math.exp(-l1 * t1)
    p_b = (open_before * r / l1) * (1 - stay1) + stay1 * (open_after * r / l2) * gone(l2, t2)
    p_a = stay1 * math.exp(-l2 * t2)
    return World(f"gates_{mode}", sc, (
        "b.S = b.HUMAN_ARRIVED", "c.S = c.HUMAN_ARRIVED", "a.S = -b.HUMAN_ARRIVED - c.HUMAN_ARRIVED",
        "b.Z = b.FERAL_ARRIVED", "a.Z = -b.FERAL_ARRIVED",
        "route0.HUMANS = b.HUMAN_ARRIVED", "route1.HUMANS = c.HUMAN_ARRIVED", "route0.FERALS = b.FERAL_ARRIVED",
    ), (
        binom("b.S", s0, p_b), binom("a.S", s0, p_a), binom("c.S", s0, 1 - p_a - p_b),
        binom("b.Z", z0, gone(fr, t)),
    ))


def seal(inbound: bool) -> World:
    """A seal on a: no human leaves (ferals neither: a seal is a wall of 1 to them, breach 0); with
    ``inbound`` no one enters either. People of b walk in (b -> a) otherwise. The ABM's ledger marks every
    uninfected person inside a on the morning of the seal (sealed_in)."""
    s0, z0, r, t = 10_000, 2_000, 0.3, 3
    sc = _movement(f"seal-{inbound}",
                   [{"id": "a", "population": {"S": s0, "Z": z0}}, {"id": "b", "population": {"S": s0}}],
                   [{"from": "a", "to": "b", "rate": r, "feral_rate": r}, {"from": "b", "to": "a", "rate": r}],
                   run={"days": t}, policies=[{"type": "seal", "zones": ["a"], "inbound": inbound}])
    if inbound:
        return World("seal_inbound", sc, (), (exact("a.S", s0), exact("b.S", s0), exact("ledger.sealed_in", s0)))
    return World("seal", sc, (
        "a.S = a.HUMAN_ARRIVED", "b.S = -a.HUMAN_ARRIVED", "route1.HUMANS = a.HUMAN_ARRIVED",
    ), (binom("b.S", s0, math.exp(-r * t)), exact("ledger.sealed_in", s0)))


def sacrifice() -> World:
    """Bites in a zone sealed from day 0: every uninfected person inside at the sealing who is then
    bitten (infected or killed) there is sacrificed, in the ABM's ledger, once."""
    s0, z0, beta, kappa, t = 18_000, 2_000, 0.5, 0.25, 3
    p = gone(beta * z0 / (s0 + z0), t)
    sc = scenario("sacrifice", [{"id": "a", "population": {"S": s0, "Z": z0}}], run={"days": t},
                  pathogen={"beta": beta, "kappa": kappa, "latency": FOREVER},
                  policies=[{"type": "seal", "zones": ["a"]}])
    return World("sacrifice", sc, (
        "a.S = -a.INFECTION - a.BITE_DEATH", "a.E = a.INFECTION - a.ONSET_FERAL", "a.Z = a.ONSET_FERAL",
        "a.D = a.BITE_DEATH", "a.FIRST_INFECTION = a.INFECTION",
    ), (binom("a.S", s0, 1 - p), exact("ledger.sealed_in", s0), binom("ledger.sacrificed", s0, p)),
        ledger=(("sacrificed", "a.INFECTION + a.BITE_DEATH", "a", "dead|infected|feral"),))


def _refusals(rate: float, admit: float, t: float, dt: float) -> tuple[float, float, float]:
    """Per person walking at ``rate`` to a gate that admits each attempt with ``admit`` (refused people
    stay and try again): (mean refusals by t, their variance, the ABM's mean). Continuous time: refusals
    are a Poisson process of rate a = rate (1 - admit) stopped at min(tau, t), tau ~ Exp(b = rate admit).
    The ABM tries at most once a step, with p = 1 - exp(-rate dt)."""
    a, b = rate * (1 - admit), rate * admit
    steps = round(t / dt)
    p = -math.expm1(-rate * dt)
    if b == 0:
        mean, var, abm = a * t, a * t, steps * p
    else:
        m1 = -math.expm1(-b * t) / b
        m2 = 2 / b**2 * (1 - math.exp(-b * t) * (1 + b * t))
        mean, var = a * m1, a * m1 + a * a * (m2 - m1 * m1)
        s = 1 - p * admit
        abm = p * (1 - admit) * (1 - s**steps) / (1 - s)
    return mean, var, abm


def admission(mode: str) -> World:
    """Admission at b's gate: ``closed`` turns everyone away; ``screen`` clears an S with specificity
    and detects an E or H with sensitivity (1 - stealth). People turned away stay in a and are counted in
    EXCLUDED (attempts; EXCLUDED_HEALTHY for S) at b; the admitted arrive (HUMAN_ARRIVED, and
    INFECTED_ARRIVED for E and H). The ABM's ledger: excluded (people ever turned away), excluded_healthy,
    misclassified (a healthy person refused, an infected one admitted).

    ABM: at most one attempt per step (p = 1 - exp(-r dt)), then the gate: its mean arrivals and refusals
    differ from continuous time by a computed bias (``_refusals``)."""
    s0, i0, r, t, dt = 10_000, 5_000, 0.3, 3, 0.05
    se, sp, stealth = 0.8, 0.9, 0.25
    pol: dict[str, Any] = {"type": "admission", "zones": ["b"], "mode": mode}
    if mode == "screen":
        pol.update(sensitivity=se, specificity=sp)
    sc = _movement(f"admission-{mode}", [{"id": "a", "population": {"S": s0, "E": i0, "H": i0}}, {"id": "b"}],
                   [{"from": "a", "to": "b", "rate": r}], run={"days": t, "dt": dt},
                   pathogen={"latency": FOREVER, "stealth": stealth}, policies=[pol])
    a_s = 0.0 if mode == "closed" else sp
    a_i = 0.0 if mode == "closed" else 1 - se * (1 - stealth)
    steps, p_step = round(t / dt), -math.expm1(-r * dt)
    refused, expects = [], []
    for n, adm in ((s0, a_s), (2 * i0, a_i)):
        mean, var, abm = _refusals(r, adm, t, dt)
        refused.append(Expect("", n * mean, n * var, n * abs(abm - mean)))
    tried = gone(r, t)  # P(at least one attempt by t): exact in the ABM too
    arrived_s = binom("b.S", s0, gone(r * a_s, t), 1 - (1 - p_step * a_s) ** steps)
    arrived_i = binom("b.E + b.H + b.Z", 2 * i0, gone(r * a_i, t), 1 - (1 - p_step * a_i) ** steps)
    expects = [
        arrived_s, arrived_i,
        Expect("b.EXCLUDED_HEALTHY", refused[0].mean, refused[0].var, refused[0].abm_bias),
        total("b.EXCLUDED", refused),
        binom("ledger.excluded_healthy", s0, (1 - a_s) * tried),
        total("ledger.excluded", [binom("", s0, (1 - a_s) * tried), binom("", 2 * i0, (1 - a_i) * tried)]),
    ]
    if mode == "screen":
        expects.append(total("ledger.misclassified", [binom("", s0, (1 - a_s) * tried), Expect(
            "", arrived_i.mean, arrived_i.var, arrived_i.abm_bias)]))
    return World(f"admission_{mode}", sc, (
        "b.S = b.HUMAN_ARRIVED - b.INFECTED_ARRIVED", "a.S = b.INFECTED_ARRIVED - b.HUMAN_ARRIVED",
        "b.E + b.H + b.Z = b.INFECTED_ARRIVED", "a.E + a.H + a.Z = -b.INFECTED_ARRIVED",
        "a.Z = a.ONSET_FERAL", "b.Z = b.ONSET_FERAL",
        "route0.HUMANS = b.HUMAN_ARRIVED", "route0.EXCLUDED = b.EXCLUDED",
    ), tuple(expects))


def screening_quarantine() -> World:
    """ABM only (the compartmental engines have no quarantine pens): a gate that screens with
    sensitivity 0 but holds arrivals for quarantine_days q turns away a latent walker whose latency
    ends within q (they stay, and try again). Latency Exp(sigma) is memoryless, so with first attempts
    at rate r, P(admitted by T) = exp(-sigma q) r / (r + sigma) (1 - exp(-(r + sigma) T)) and P(ever
    turned away) = (1 - exp(-sigma q)) r / (r + sigma) (1 - exp(-(r + sigma) T)).

    ABM: the end of latency is the step k = max(1, round(L / dt)), the walker is held when
    k - t <= floor(q / dt), and attempts are one a step: its exact probabilities are summed here."""
    e0, mean_lat, r, q, t, dt = 20_000, 4.0, 0.5, 2.0, 3, 0.01
    sigma, steps, hold = 1 / mean_lat, round(t / dt), math.floor(q / dt)
    p = -math.expm1(-r * dt)
    first = r / (r + sigma) * gone(r + sigma, t)

    def later(m: int) -> float:  # P(k > m)
        return 1.0 if m < 1 else math.exp(-sigma * (m + 0.5) * dt)

    abm_in = sum((1 - p) ** k * p * later(k + hold) for k in range(steps))
    abm_out = sum((1 - p) ** k * p * (later(k) - later(k + hold)) for k in range(steps))
    p_in, p_out = math.exp(-sigma * q) * first, -math.expm1(-sigma * q) * first
    sc = _movement("screening-quarantine", [{"id": "a", "population": {"E": e0}}, {"id": "b"}],
                   [{"from": "a", "to": "b", "rate": r}], run={"days": t, "dt": dt},
                   pathogen={"latency": mean_lat},
                   policies=[{"type": "admission", "zones": ["b"], "mode": "screen", "sensitivity": 0.0,
                              "quarantine_days": q}])
    return World("screening_quarantine", sc, (
        "b.E + b.Z = b.INFECTED_ARRIVED", "a.E + a.Z = -b.INFECTED_ARRIVED", "b.HUMAN_ARRIVED = b.INFECTED_ARRIVED",
        "a.Z = a.ONSET_FERAL", "b.Z = b.ONSET_FERAL",
        "route0.HUMANS = b.HUMAN_ARRIVED", "route0.EXCLUDED = b.EXCLUDED",
    ), (
        binom("b.E + b.Z", e0, p_in, abm_in), binom("ledger.misclassified", e0, p_in, abm_in),
        binom("ledger.excluded", e0, p_out, abm_out),
    ), engines=("abm",))


def sweeps() -> World:
    """Sweeps every 2 days (mornings of days 0, 2, 4) destroy a share kill of the ferals (and in a, of the
    hybrids: SWEEP_HYBRIDS, the ABM's ledger 'hybrids_swept'); the destroyed go to D with q, else R."""
    n, kill, q, t = 5_000, 0.4, 0.3, 5
    sc = scenario("sweeps", [{"id": "a", "population": {"Z": n, "H": n}}, {"id": "b", "population": {"Z": n, "H": n}}],
                  run={"days": t}, defence={"q": q},
                  policies=[{"type": "sweep", "zones": ["a"], "every": 2, "kill": kill, "hybrids": True},
                            {"type": "sweep", "zones": ["b"], "every": 2, "kill": kill}])
    survive = (1 - kill) ** 3
    return World("sweeps", sc, (
        "a.Z + a.H = -a.SWEEP_KILL", "a.H = -a.SWEEP_HYBRIDS", "a.D + a.R = a.SWEEP_KILL",
        "b.Z = -b.SWEEP_KILL", "b.D + b.R = b.SWEEP_KILL",
    ), (
        binom("a.Z", n, survive), binom("a.H", n, survive), binom("b.Z", n, survive),
        binom("a.D", 2 * n, (1 - survive) * q), binom("ledger.hybrids_swept", n, 1 - survive),
    ), (Share("a.D + b.D", "a.SWEEP_KILL + b.SWEEP_KILL", q),),
        ledger=(("hybrids_swept", "a.SWEEP_HYBRIDS", "a", "dead"),))


def reopen(closing: str) -> World:
    """Reopening lifts a seal (on a) or a closed gate (at b) after 2 calm days: people walk a -> b from
    the morning of day 2 (refused at the closed gate on days 0 and 1)."""
    s0, r, t, calm, dt = 20_000, 0.3, 4, 2, 0.05
    where = "a" if closing == "seal" else "b"
    pol: dict[str, Any] = ({"type": "seal", "zones": ["a"]} if closing == "seal"
                           else {"type": "admission", "zones": ["b"], "mode": "closed"})
    sc = _movement(f"reopen-{closing}", [{"id": "a", "population": {"S": s0}}, {"id": "b"}],
                   [{"from": "a", "to": "b", "rate": r}], run={"days": t, "dt": dt},
                   policies=[pol, {"type": "reopen", "zones": [where], "calm_days": calm}])
    expects = [binom("b.S", s0, gone(r, t - calm))]
    balances = ["b.S = b.HUMAN_ARRIVED", "a.S = -b.HUMAN_ARRIVED", "route0.HUMANS = b.HUMAN_ARRIVED"]
    if closing == "closed":
        mean, var, abm = _refusals(r, 0.0, calm, dt)
        expects.append(Expect("b.EXCLUDED", s0 * mean, s0 * var, s0 * abs(abm - mean)))
        expects.append(exact("b.EXCLUDED_HEALTHY - b.EXCLUDED", 0.0))
        balances.append("route0.EXCLUDED = b.EXCLUDED")
    return World(f"reopen_{closing}", sc, tuple(balances), tuple(expects))


def vigilance(restore: float) -> World:
    """Vigilance wears down by exhaustion each day ferals are present, and a rotation policy restores a
    share of the gap (v <- v (1 - e) + restore (1 - v (1 - e))): defence runs at alpha v_d on day d. Ferals
    stay present every day, so v_d is the same deterministic sequence in every engine."""
    s0, z0, alpha, e, t = 18_000, 2_000, 0.5, 0.3, 4
    pols = [{"type": "rotation", "zones": ["a"], "restore": restore}] if restore > 0 else []
    sc = scenario(f"vigilance-{restore}", [{"id": "a", "population": {"S": s0, "Z": z0}}], run={"days": t},
                  defence={"alpha": alpha, "q": 0.0}, society={"vigilance": {"exhaustion": e, "floor": 0.0}},
                  policies=pols)
    v, hazard = 1.0, 0.0
    for _ in range(t):
        hazard += alpha * v * s0 / (s0 + z0)
        v = v * (1 - e)
        v += restore * (1 - v)
    name = "rotation" if restore > 0 else "vigilance"
    return World(name, sc, ("a.Z = -a.FERAL_DESTROYED", "a.R = a.FERAL_DESTROYED"),
                 (binom("a.Z", z0, math.exp(-hazard)),))


WORLD_BUILDERS: tuple[Callable[[], World], ...] = (
    bites, lambda: bites("mass_action"), first_infections, immediate_onset, defence, decay,
    lambda: latency(1), lambda: latency(3), lambda: latency(1, resistance_sd=0.2, k_res=4.0),
    relapse, reanimation, disposal, natural_death, starvation, births, cure, cull, concealment,
    lambda: transfer("protect"), lambda: transfer("isolate"), sanctuary_care,
    walls, flight, lambda: gates("closed"), lambda: gates("made"), lambda: gates("broken"),
    lambda: seal(False), lambda: seal(True), sacrifice, lambda: admission("closed"), lambda: admission("screen"),
    screening_quarantine,
    sweeps, lambda: reopen("seal"), lambda: reopen("closed"), lambda: vigilance(0.0), lambda: vigilance(0.5),
)


def all_worlds() -> list[World]:
    return [b() for b in WORLD_BUILDERS]
