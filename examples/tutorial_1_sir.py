"""Tutorial step 1 (docs/tutorial.md): the SIR limit, its final size, and three engines side by side.

Run: .venv/bin/python examples/tutorial_1_sir.py [--out DIR] [--quick]
"""

from __future__ import annotations

import math

from _tutorial import claim, options
from scipy.optimize import brentq

import aftermath as am
from aftermath.teach.overlay import overlay


def final_size(r0: float) -> float:
    """The textbook final size: z solves z = 1 - exp(-R0 z)."""
    return brentq(lambda z: z - 1.0 + math.exp(-r0 * z), 1e-9, 1.0)


def main(argv: list[str] | None = None) -> None:
    a = options(__doc__, argv)
    gamma = am.load("sir").defence.decay  # ferals "recover" (decay to R) at gamma = 0.1 a day
    print("R0    attack rate (ODE)   textbook z")
    for r0 in (1.5, 2.0, 2.5, 3.0):
        res = am.simulate(am.load("sir", pathogen__beta=r0 * gamma, run__days=700 if r0 < 2 else 400))
        ar = res.summary()["attack_rate"]
        print(f"{r0:<5} {ar:<19.4f} {final_size(r0):.4f}")
        claim(abs(ar - final_size(r0)) < 1e-3, f"R0 = {r0}: the model's final size is the textbook one to 1e-3")

    # the same epidemic by the three engines: the stochastic ones scatter around the ODE
    days, runs = (100, 2) if a.quick else (160, 10)
    town = am.load("sir", zones__town__population__S=19_990, zones__town__population__Z=10) if a.quick else "sir"
    o = overlay([town], engines=["ode", "ssa", "abm"], runs=runs, days=days)
    table = o.table()
    print(table[["curve", "runs", "attack_rate", "peak", "peak_day"]].to_string(index=False))
    ode, ssa = table.set_index("curve").loc["ode"], table.set_index("curve").loc["ssa"]
    claim(abs(ssa["attack_rate"] - ode["attack_rate"]) < 0.02, "the SSA's mean attack rate is within 0.02 of the ODE's")
    o.plot().savefig(a.out / "tutorial_1_sir.png", dpi=100)
    print(f"figure: {a.out / 'tutorial_1_sir.png'}")


if __name__ == "__main__":
    main()
