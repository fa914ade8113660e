"""What the tutorial's scripts share: their command line (``--out DIR``, ``--quick``) and a check
that stops a script whose lesson does not hold (a teaching script that states something false is a bug)."""

from __future__ import annotations

import argparse
from pathlib import Path


def options(doc: str | None, argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=(doc or "").strip().splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path("."), help="folder for the figures (default: here)")
    ap.add_argument("--quick", action="store_true", help="fewer runs and days, for CI")
    a = ap.parse_args(argv)
    if not a.out.is_dir():
        ap.error(f"--out: {a.out} is not an existing folder")
    return a


def claim(ok: bool, text: str) -> None:
    """Print a claim of the lesson, and stop (exit 1) if it does not hold."""
    print(("  holds: " if ok else "  FAILS: ") + text)
    if not ok:
        raise SystemExit(1)
