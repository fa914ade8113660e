"""Compile the kernels the test suite uses, once, before its workers start.

Numba compiles a kernel on its first call and caches it (``cache=True``); two pytest-xdist workers
that reach the same kernel before either has cached it both compile it. On a fresh clone that
doubled some two minutes of compiling. ``tests/conftest.py`` runs the parts below in parallel
processes before the session (``python -m tests.warm PART``), so the workers load kernels instead.
Each part runs small worlds through what the suite runs; a kernel it misses is only compiled later,
as before."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable


def _abm(mode: str) -> None:
    from aftermath.engines.driver import simulate
    from aftermath.scenario.load import builtin_text, parse_toml, with_overrides
    from aftermath.scenario.scale import scale_population

    for name, people, cast in (("hyosan", 3000, 6), ("sir", 2000, 0), ("korea", 6000, 4)):
        sc = parse_toml(builtin_text(name), source=f"<builtin {name}>")
        sc = scale_population(sc, people)
        sc = with_overrides(sc, {"run.abm_mode": mode, **({"cast": cast} if cast else {})})
        simulate(sc, engine="abm", days=12)
    # bands walk together only once households are lost: a longer, larger hyosan (260 band walks)
    sc = scale_population(parse_toml(builtin_text("hyosan"), source="<builtin hyosan>"), 20_000)
    simulate(with_overrides(sc, {"run.abm_mode": mode}), engine="abm", days=120)


def abm_scan() -> None:
    _abm("scan")


def abm_events() -> None:
    _abm("events")


def other_engines() -> None:
    from aftermath.engines.driver import simulate
    from aftermath.scenario.load import builtin_text, parse_toml
    from aftermath.scenario.scale import scale_population

    for name in ("hyosan", "sir"):
        sc = scale_population(parse_toml(builtin_text(name), source=f"<builtin {name}>"), 2000)
        simulate(sc, engine="ssa", days=5)
        simulate(sc, engine="ode", days=5)


PARTS: dict[str, Callable[[], None]] = {"abm_scan": abm_scan, "abm_events": abm_events, "other_engines": other_engines}


if __name__ == "__main__":
    for part in sys.argv[1:] or list(PARTS):
        t0 = time.perf_counter()
        PARTS[part]()
        print(f"{part}: {time.perf_counter() - t0:.1f} s", flush=True)
