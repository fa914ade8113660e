"""Package names imported on first use (PEP 562), so that importing a light module of a package
(the command line's) does not load the engines, pandas, DuckDB and SciPy that its names need.

A package declares where each public name lives and sets the two functions this returns::

    __getattr__, __dir__ = attach(__name__, globals(), {"ensemble": ".ensemble", ...}, ("executors",))
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any


def attach(package: str, namespace: dict[str, Any], home: Mapping[str, str], submodules: Iterable[str] = ()
           ) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose public name ``n`` lives in the module
    ``home[n]`` (a module name, or one relative to the package: ``.fit``); imported once, then kept
    in the package's ``namespace``. ``submodules``: those the package's eager imports used to leave
    as its attributes (``aftermath.scenario.load`` after a bare ``import aftermath``): on first use,
    every home is imported, as the eager imports did, and the submodule returned."""
    subs = frozenset(submodules)

    def __getattr__(name: str) -> Any:
        if name in home:
            value = getattr(importlib.import_module(home[name], package), name)
            namespace[name] = value
            return value
        if name in subs:
            for module in sorted(set(home.values())):
                importlib.import_module(module, package)
            return importlib.import_module(f"{package}.{name}")
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted({*namespace, *home, *subs})

    return __getattr__, __dir__
