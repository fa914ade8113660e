"""The validation catalogue, as data: one :class:`~aftermath.validation.check.Check` per known result.

Every expected value is computed from the clean scenario by a closed form or an independent
reference (:mod:`aftermath.validation.families`); every check carries a deliberate error
(``breaks``) that it must catch, which ``tests/test_validation.py`` applies. ``fast`` marks the
subset that runs in CI (``aftermath validate --fast``). docs/validation.md explains each entry.
"""

from __future__ import annotations

from typing import Any

from aftermath.validation import families as fam
from aftermath.validation.check import Check, Scale, Tolerance

MUNZ = "Munz, Hudea, Imad and Smith? (2009), When zombies attack!"
ALEMI = "Alemi, Bierbaum, Myers and Sethna (2015), You can run, you can hide"
KERMACK = "Kermack and McKendrick (1927); Keeling and Rohani (2008), section 2.1"

#: SIR horizons: long enough that ferals are gone to < 1e-6 N (the slowest, R0 = 1.5, takes ~600 days).
_SIR_DAYS = {1.5: 700, 2.0: 400, 2.5: 300, 3.0: 300}
_GAMMA = 0.1  # the sir scenario's feral decay

_ODE_TIGHT = Tolerance(abs=1e-4)  # docs/validation.md: the ODE within 1e-4 of the SIR targets


def _sir(r0: float) -> dict[str, Any]:
    return {"pathogen.beta": r0 * _GAMMA, "run.days": _SIR_DAYS[r0]}


def _sir_checks() -> list[Check]:
    out = []
    for r0 in (1.5, 2.0, 2.5, 3.0):
        out.append(Check(
            id=f"sir.final_size.R0={r0:g}", title=f"SIR final size, R0 = {r0:g}", source=KERMACK,
            closed_form="x = 1 - s0 exp(-R0 x), x = R_inf / N (brentq); s0 = S0/N -> 1 gives z = 1 - exp(-R0 z)",
            engine="ode", scenario="sir", overrides=_sir(r0), expected=fam.expected_sir_final,
            measure=fam.measure_final_removed, tolerance=_ODE_TIGHT, breaks={"pathogen.beta": Scale(1.2)},
            fast=r0 == 2.5))
        out.append(Check(
            id=f"sir.peak.R0={r0:g}", title=f"SIR peak prevalence, R0 = {r0:g}", source=KERMACK,
            closed_form="i_max = i0 + s0 - (1 + ln(R0 s0)) / R0; s0 = 1, i0 = 0 gives 1 - (1 + ln R0) / R0",
            engine="ode", scenario="sir", overrides=_sir(r0), expected=fam.expected_sir_peak,
            measure=fam.measure_dense_peak, tolerance=_ODE_TIGHT, breaks={"pathogen.beta": Scale(1.2)},
            fast=r0 == 2.5))
    return out


_SIS = {"defence.decay": 0.0, "run.days": 300,
        "policies": [{"type": "cure", "name": "cure (SIS)", "zones": ["town"], "rate": 0.1}]}

_ERADICATION = {"pathogen.beta": 0.1, "defence.decay": 0.0, "defence.q": 0.0, "run.days": 365}


def _sweep(kill: float) -> dict[str, Any]:
    return {**_ERADICATION, "policies": [{"type": "sweep", "name": "sweep", "zones": ["town"], "every": 7.0,
                                          "kill": kill}]}


#: Engine agreement on the sir scenario with a 0.1% seed (100 ferals: the mean of a stochastic start
#: then has a negligible bias in timing). The SSA is cheap at N = 1e5. The ABM is a fixed-step chain
#: binomial whose bias is O(dt) (measured: final size +0.004 at dt = 0.25, +0.0006 at dt = 0.05), so it
#: runs at dt = 0.05, with N = 2e4 to keep 30 runs near a minute.
_AGREE_SSA = {"zones.town.population.S": 99_900, "zones.town.population.Z": 100}
_AGREE_ABM = {"zones.town.population.S": 19_900, "zones.town.population.Z": 100, "run.dt": 0.05}
_ALEMI_OVERRUN = {"pathogen.beta": 0.002, "defence.alpha": 0.003, "zones.town.population.Z": 600}
_AGREE_DOC = "the ODE run of the same scenario (the large-N limit of the stochastic engines, docs/model.md#engines)"


def _agreement(engine: str, overrides: dict[str, Any], runs: int, fast: bool, label: str = "") -> list[Check]:
    """The stochastic engine's means against the ODE; ``label``: the engine's variant (``abm-events``:
    the ABM's event-driven step)."""
    label = label or engine
    return [
        Check(id=f"agree.{label}.final_size", title=f"{label.upper()} mean final size vs ODE",
              source="docs/model.md#engines; docs/validation.md, engine agreement", closed_form=_AGREE_DOC,
              engine=engine, scenario="sir", overrides=overrides, runs=runs, expected=fam.expected_ode_final_size,
              measure=fam.measure_mean_final_size, tolerance=Tolerance(n_se=4.0),
              breaks={"pathogen.beta": Scale(1.2)}, fast=fast),
        Check(id=f"agree.{label}.peak_time", title=f"{label.upper()} mean peak time vs ODE",
              source="docs/model.md#engines; docs/validation.md, engine agreement", closed_form=_AGREE_DOC,
              engine=engine, scenario="sir", overrides=overrides, runs=runs, expected=fam.expected_ode_peak_time,
              measure=fam.measure_mean_peak_time, tolerance=Tolerance(n_se=4.0),
              breaks={"pathogen.beta": Scale(1.2)}, fast=fast),
    ]


CATALOGUE: tuple[Check, ...] = (
    *_sir_checks(),
    Check(id="sis.endemic", title="SIS endemic feral share",
          source="docs/validation.md, SIS limit; Hethcote (2000), SIAM Review 42(4)",
          closed_form="Z*/N = 1 - 1/R0, R0 = beta / c (cure policy, rate c; nothing decays)",
          engine="ode", scenario="sir", overrides=_SIS, expected=fam.expected_sis,
          measure=fam.measure_final_feral_share, tolerance=_ODE_TIGHT, breaks={"pathogen.beta": Scale(1.2)},
          fast=True),
    Check(id="munz.crossing", title="Munz: ferals outnumber humans", source=f"{MUNZ}, section 2 (basic model)",
          closed_form="first t with Z(t) = S(t), Munz's three equations integrated independently (paper: 2.755)",
          engine="ode", scenario="munz-basic", expected=fam.expected_munz_crossing,
          measure=fam.measure_munz_crossing, tolerance=Tolerance(abs=1e-2), breaks={"pathogen.beta": Scale(1.2)},
          fast=True),
    Check(id="munz.S5", title="Munz: humans left at t = 5", source=f"{MUNZ}, section 2 (basic model)",
          closed_form="S(5), Munz's three equations integrated independently (paper: 1.498)",
          engine="ode", scenario="munz-basic", expected=fam.expected_munz_s5, measure=fam.measure_munz_s5,
          tolerance=Tolerance(abs=1e-2), breaks={"defence.alpha": Scale(1.2)}, fast=True),
    Check(id="munz.conservation", title="Munz: S + Z + R = N", source=f"{MUNZ}, section 2 (basic model)",
          closed_form="(S + Z + R)' = Pi, so max_t |S + Z + R - (N0 + Pi t)| = 0 (Munz's R = D + R here)",
          engine="ode", scenario="munz-basic", expected=fam.expected_conservation,
          measure=fam.measure_conservation, tolerance=Tolerance(abs=1e-6), breaks={"demography.births": 1.0},
          fast=True),
    Check(id="munz.conservation.ssa", title="Munz: S + Z + R = N (SSA)", source=f"{MUNZ}, section 2 (basic model)",
          closed_form="(S + Z + R)' = Pi, so max_t |S + Z + R - (N0 + Pi t)| = 0; integer counts: exactly",
          engine="ssa", scenario="munz-basic", expected=fam.expected_conservation,
          measure=fam.measure_conservation, tolerance=Tolerance(abs=0.0), breaks={"demography.births": 1.0},
          fast=True),
    Check(id="eradication.succeeds", title="Impulsive eradication above k*", source=f"{MUNZ}, section 6",
          closed_form="eradicated iff exp(r T)(1 - k) < 1, i.e. k > k* = 1 - exp(-r T), r = beta S0/N",
          engine="ode", scenario="sir", overrides=_sweep(0.6), expected=fam.expected_eradication,
          measure=fam.measure_eradication, tolerance=Tolerance(), breaks={"pathogen.beta": Scale(1.5)}, fast=True),
    Check(id="eradication.fails", title="Impulsive eradication below k*", source=f"{MUNZ}, section 6",
          closed_form="eradicated iff exp(r T)(1 - k) < 1, i.e. k > k* = 1 - exp(-r T), r = beta S0/N",
          engine="ode", scenario="sir", overrides=_sweep(0.4), expected=fam.expected_eradication,
          measure=fam.measure_eradication, tolerance=Tolerance(), breaks={"pathogen.beta": Scale(0.5)}, fast=True),
    Check(id="alemi.humans_survive", title="Alemi: humans survive, S_inf", source=f"{ALEMI}, section 2",
          closed_form="(alpha/beta - 1) S0 > Z0: S_inf = S0 - Z0 / (alpha/beta - 1)",
          engine="ode", scenario="alemi-mixed", expected=fam.expected_alemi_humans,
          measure=fam.measure_final_humans, tolerance=Tolerance(abs=1e-3), breaks={"defence.alpha": Scale(0.9)},
          fast=True),
    Check(id="alemi.ferals_win", title="Alemi: ferals win, Z_inf", source=f"{ALEMI}, section 2",
          closed_form="(alpha/beta - 1) S0 < Z0: S_inf = 0, Z_inf = Z0 - (alpha/beta - 1) S0",
          engine="ode", scenario="alemi-mixed", overrides=_ALEMI_OVERRUN, expected=fam.expected_alemi_ferals,
          measure=fam.measure_final_ferals, tolerance=Tolerance(abs=1e-3), breaks={"defence.alpha": Scale(1.2)},
          fast=True),
    *_agreement("ssa", _AGREE_SSA, runs=40, fast=True),
    *_agreement("abm", _AGREE_ABM, runs=30, fast=False),
    *_agreement("abm", {**_AGREE_ABM, "run.abm_mode": "events"}, runs=30, fast=False, label="abm-events"),
)


def by_id(check_id: str) -> Check:
    for c in CATALOGUE:
        if c.id == check_id:
            return c
    raise KeyError(f"no check {check_id!r}; known: {', '.join(c.id for c in CATALOGUE)}")
