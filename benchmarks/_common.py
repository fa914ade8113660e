"""Shared helpers of the benchmark scripts: machine stamp, child processes with their own peak
memory, and the tables in benchmarks/RESULTS.md (each script owns one marked section)."""

from __future__ import annotations

import json
import os
import platform
import re
import shlex
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict[str, str]:
    import numba
    import numpy

    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                                text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "nproc": str(os.cpu_count()),
        "load": load,
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "threads": os.environ.get("NUMBA_NUM_THREADS", str(numba.config.NUMBA_NUM_THREADS)),
        "commit": commit,
    }


def cpu_busy_s() -> float:
    """Seconds of CPU the whole machine has spent busy (all cores, all processes; /proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    except OSError:
        return float("nan")
    ticks = [int(x) for x in fields]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def run_child(argv: list[str], env: dict[str, str] | None = None, timeout: float = 1800) -> dict[str, Any]:
    """Run a child that prints one JSON line last; add its own peak RSS (``wait4`` rusage, MiB), its
    CPU seconds, and ``others_cores``: the cores other processes kept busy meanwhile (machine busy
    time minus the child's, over the wall time), the load the child competed with."""
    busy0, t0 = cpu_busy_s(), time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                            env={**os.environ, **(env or {})})
    out, err = proc.stdout.read() if proc.stdout else "", proc.stderr.read() if proc.stderr else ""
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    child_cpu = usage.ru_utime + usage.ru_stime
    others = max(0.0, (cpu_busy_s() - busy0 - child_cpu) / wall) if wall > 0 else float("nan")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"{shlex.join(argv)} failed ({proc.returncode}):\n{err[-3000:]}")
    line = [x for x in out.splitlines() if x.startswith("{")][-1]
    res: dict[str, Any] = json.loads(line)
    res["child_maxrss_mib"] = usage.ru_maxrss / 1024.0
    res["child_cpu_s"] = child_cpu
    res["child_wall_s"] = wall
    res["others_cores"] = others
    return res


def command() -> str:
    """The command line that ran this script, relative to the repository root."""
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else script
    return shlex.join([".venv/bin/python", str(shown), *sys.argv[1:]])


def write_section(name: str, body: str) -> None:
    """Replace (or append) the section between ``<!-- name:begin -->`` and ``<!-- name:end -->``."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    text = RESULTS.read_text() if RESULTS.exists() else (
        "# Benchmark results\n\nWritten by the scripts in this folder (`bash benchmarks/run.sh`); each "
        "section is replaced when its script runs again. Times are wall-clock seconds of the simulation "
        "only (after a warm-up run, so no JIT), unless stated.\n")
    block = f"{begin}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(begin) + r".*?" + re.escape(end), re.S)
    text = pattern.sub(lambda _m: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


def stamp(m: dict[str, str], cmd: str) -> str:
    return (f"Machine: {m['cpu']}, {m['nproc']} cores (load average at start {m['load']}); Python {m['python']}, "
            f"NumPy {m['numpy']}, Numba {m['numba']}, {m['threads']} threads; aftermath {m['commit']}; "
            f"{m['date']}.\n\nCommand: `{cmd}`\n")
