"""The fuzz harness: run command lines of ``aftermath`` in a worker process, with a per-case timeout.

A *case* is a plain JSON-able dict::

    {"kind": "scenario" | "cli" | "store",
     "argv": ["run", "{tmp}/s.toml", "--days", "2", "--json"],   # "{tmp}" is the case's own folder
     "files": {"s.toml": {"text": "..."}},                         # written into {tmp} first
     "reject": ["why this input must be refused", ...],            # empty: it may be accepted
     "check": {...}}                                               # hints for the oracle

A :class:`Worker` is a long-lived Python process (this file run with ``--serve``) that calls the
``aftermath`` console-script entry point in-process for each case, the way the installed script
does, with ``sys.argv``, ``sys.stdout`` and ``sys.stderr`` replaced. The parent waits at most
``timeout`` seconds for the answer: a case that takes longer is a *hang* (the worker's whole process
group is killed and a fresh worker started), a worker that dies is a *crash* (the signal is named).
This costs an import once per worker rather than once per case, so 10,000 cases fit in an hour;
``isolate=True`` runs each case as a real ``aftermath`` subprocess instead.

Every case runs in a fresh temporary folder (its ``cwd``, where the default ``aftermath.duckdb``
lands too) that is deleted afterwards: the harness never writes outside temporary folders.

:func:`classify` turns a case and its result into one outcome of :data:`OUTCOMES`.
"""

from __future__ import annotations

import base64
import contextlib
import io
import json
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]

#: Outcomes, the order the counts are printed in. Only the first two are good.
OUTCOMES = (
    "clean rejection",  # exit 2, one line on stderr, no traceback
    "accepted",  # exit 0, and the oracle found nothing wrong
    "nonsense accepted",  # exit 0, but the input had to be refused or the output is not sane
    "messy rejection",  # exit 2, but not one line (e.g. a usage box, or nothing said)
    "other exit",  # an exit status other than 0 and 2, without a traceback
    "traceback",  # an exception reached the user
    "hang",  # no answer within the per-case timeout
    "crash",  # the process died of a signal
)
BAD = frozenset(OUTCOMES[2:])

#: Memory a worker may map (RLIMIT_AS), so a case that allocates without a budget fails in the
#: worker rather than taking the machine down; the project's budget must honour it (issue 11).
DEFAULT_MEMORY = 6 * 2**30
TRACEBACK = "Traceback (most recent call last)"
STDOUT_KEPT = 4_000_000  # characters of stdout kept; a longer one is checked as JSON where it was made


# -- the worker side ------------------------------------------------------------------------------


def _entry_point() -> Any:
    """The object the installed ``aftermath`` script calls (``[project.scripts]``)."""
    from importlib.metadata import entry_points

    (ep,) = [e for e in entry_points(group="console_scripts") if e.name == "aftermath"]
    return ep.load()


def _execute(main: Any, req: dict[str, Any]) -> dict[str, Any]:
    """Run one command line in this process, as the ``aftermath`` script would."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdout, sys.stderr, sys.argv, os.getcwd()
    code: Any = 0
    tb = None
    t0 = time.perf_counter()
    try:
        os.chdir(req["cwd"])
        sys.stdout, sys.stderr = out, err
        sys.argv = ["aftermath", *req["argv"]]
        with warnings.catch_warnings():  # a fresh registry: each case shows its warnings, as a new process would
            main()
    except SystemExit as exc:
        code = exc.code
    except BaseException:  # what would reach the user as a traceback
        tb = traceback.format_exc()
        code = 1
    finally:
        sys.stdout, sys.stderr, sys.argv = saved[0], saved[1], saved[2]
        os.chdir(saved[3])
        with contextlib.suppress(Exception):
            import matplotlib.pyplot as plt

            plt.close("all")
    if code is None:
        code = 0
    elif not isinstance(code, int):  # sys.exit("message") prints the message and exits 1
        err.write(f"{code}\n")
        code = 1
    full = out.getvalue()
    return {
        "code": code,
        "stdout": full[-STDOUT_KEPT:],
        "clipped": len(full) > STDOUT_KEPT,
        "json_error": _json_alone(full)[1] if len(full) > STDOUT_KEPT else None,
        "stderr": err.getvalue()[-20000:],
        "exception": tb[-8000:] if tb else None,
        "wall": time.perf_counter() - t0,
    }


def serve(fd: int) -> None:
    """Worker loop: a request per line on stdin, an answer per line on ``fd``."""
    import faulthandler

    faulthandler.enable()  # a segfault's Python stack goes to the worker's log (fd 2)
    answers = os.fdopen(fd, "w", buffering=1)
    sys.stdin = open(os.devnull)  # noqa: SIM115 - no command reads stdin
    main = _entry_point()
    requests = os.fdopen(0, "r")
    for line in requests:
        req = json.loads(line)
        answers.write(json.dumps(_execute(main, req)) + "\n")


# -- the parent side -----------------------------------------------------------------------------


@dataclass
class Result:
    code: int | None = None  # exit status; None for a hang or a crash
    stdout: str = ""
    stderr: str = ""
    exception: str | None = None  # the traceback text of an exception that escaped
    hang: bool = False
    signal: int | None = None  # the signal that ended the process
    wall: float = 0.0
    files: list[str] = field(default_factory=list)  # what the case's folder held afterwards
    secret_leaked: bool = False
    log: str = ""  # the worker's own stderr at a crash
    crash_log: str = ""  # the end of the log the last-resort handler wrote
    clipped: bool = False  # stdout was longer than STDOUT_KEPT (json_error says whether it was JSON)
    json_error: str | None = None


def _limit_memory(limit: int | None) -> Any:
    def apply() -> None:
        if limit:
            import resource

            resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    return apply


#: The factor of the project's work bounds in a worker (``AFTERMATH_WORK_SCALE``, unless set): the
#: documented bounds allow runs of an hour; at 0.001 every accepted run takes seconds, so a case that
#: passes the per-case timeout is one whose work the budget did not bound.
WORK_SCALE = "0.001"


def worker_env(home: str | None = None) -> dict[str, str]:
    """The environment of a worker; ``home`` (a temporary folder) takes HOME, caches and crash logs."""
    env = dict(os.environ)
    env.setdefault("AFTERMATH_WORK_SCALE", WORK_SCALE)
    if home:
        env.update(
            {
                "HOME": home,
                "XDG_CACHE_HOME": f"{home}/.cache",
                "MPLCONFIGDIR": f"{home}/.mpl",
                "AFTERMATH_CRASH_DIR": f"{home}/crashes",
            }
        )
    env.update(
        {
            "MPLBACKEND": "Agg",
            "PYTHONHASHSEED": "0",
            "COLUMNS": "100",
            "TERM": "dumb",
            "NO_COLOR": "1",
            "PYTHONFAULTHANDLER": "1",
        }
    )
    src = env.get("AFTERMATH_FUZZ_SRC", str(REPO / "src"))  # another checkout's src/, e.g. an older commit
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH", "")) if p)
    return env


class Worker:
    """One worker process, restarted after a hang or a crash."""

    def __init__(self, timeout: float = 20.0, memory: int | None = DEFAULT_MEMORY, home: str | None = None) -> None:
        self.timeout = timeout
        self.memory = memory
        self.home = home
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the worker
        self.started = 0

    def _start(self) -> None:
        r, w = os.pipe()
        self.log.seek(0)
        self.log.truncate()
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--serve", str(w)],
            stdin=subprocess.PIPE,
            stdout=self.log,
            stderr=self.log,
            pass_fds=(w,),
            env=worker_env(self.home),
            start_new_session=True,
            preexec_fn=_limit_memory(self.memory),
            cwd=tempfile.gettempdir(),
        )
        os.close(w)
        self._answers = os.fdopen(r, "rb")
        self.started += 1

    def close(self) -> None:
        if self.proc is not None:
            self._kill()

    def _kill(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # the worker and whatever it started
        proc.wait()
        with contextlib.suppress(Exception):
            self._answers.close()
        with contextlib.suppress(Exception):
            assert proc.stdin is not None
            proc.stdin.close()

    def call(self, argv: list[str], cwd: str, timeout: float | None = None) -> Result:
        if self.proc is None or self.proc.poll() is not None:
            if self.proc is not None:
                self._kill()
            self._start()
        assert self.proc is not None and self.proc.stdin is not None
        limit = self.timeout if timeout is None else timeout
        t0 = time.perf_counter()
        try:
            self.proc.stdin.write((json.dumps({"argv": argv, "cwd": cwd}) + "\n").encode())
            self.proc.stdin.flush()
        except BrokenPipeError:
            pass
        buf = b""
        while not buf.endswith(b"\n"):
            left = limit - (time.perf_counter() - t0)
            ready, _, _ = select.select([self._answers], [], [], max(left, 0))
            if not ready:
                self._kill()
                return Result(hang=True, wall=time.perf_counter() - t0)
            chunk = os.read(self._answers.fileno(), 1 << 20)
            if not chunk:  # the worker died
                proc = self.proc
                proc.wait()
                self.log.seek(0)
                log = self.log.read().decode("utf-8", "replace")[-4000:]
                self._kill()
                rc = proc.returncode
                return Result(
                    signal=-rc if rc < 0 else None,
                    code=None if rc < 0 else rc,
                    wall=time.perf_counter() - t0,
                    log=log,
                    exception=log if rc >= 0 else None,
                )
            buf += chunk
        ans = json.loads(buf)
        return Result(
            code=ans["code"],
            stdout=ans["stdout"],
            stderr=ans["stderr"],
            exception=ans["exception"],
            wall=ans["wall"],
            clipped=ans["clipped"],
            json_error=ans["json_error"],
        )


def _run_isolated(argv: list[str], cwd: str, timeout: float, memory: int | None, home: str | None) -> Result:
    """One case as a real ``aftermath`` subprocess (slower; the reference the worker imitates)."""
    t0 = time.perf_counter()
    script = str(Path(sys.executable).with_name("aftermath"))
    cmd = [script, *argv] if Path(script).exists() else [sys.executable, "-m", "aftermath.cli", *argv]
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=worker_env(home),
        start_new_session=True,
        preexec_fn=_limit_memory(memory),
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return Result(hang=True, wall=time.perf_counter() - t0)
    rc = proc.returncode
    stdout, stderr = out.decode("utf-8", "replace"), err.decode("utf-8", "replace")
    return Result(
        code=rc if rc >= 0 else None,
        signal=-rc if rc < 0 else None,
        stdout=stdout[-STDOUT_KEPT:],
        clipped=len(stdout) > STDOUT_KEPT,
        json_error=_json_alone(stdout)[1] if len(stdout) > STDOUT_KEPT else None,
        stderr=stderr[-20000:],
        exception=stderr[-8000:] if TRACEBACK in stderr else None,
        wall=time.perf_counter() - t0,
    )


# -- cases -----------------------------------------------------------------------------------------

SECRET = "TOPSECRET-5f1c0a"


def materialize(case: dict[str, Any], folder: Path, templates: dict[str, Path]) -> None:
    """Write the case's files into ``folder`` (texts, bytes, damaged copies of a template store)."""
    (folder / "secret.txt").write_text(SECRET + "\n")
    for name, spec in case.get("files", {}).items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if "text" in spec:
            path.write_text(spec["text"], encoding="utf-8", errors="surrogatepass")
        elif "b64" in spec:
            path.write_bytes(base64.b64decode(spec["b64"]))
        elif "dir" in spec:
            path.mkdir(exist_ok=True)
        elif "store" in spec:
            from tests.fuzz.stores import damage

            damage(spec["store"], templates, path, folder)


def _fill(text: str, tmp: str) -> str:
    return text.replace("{tmp}", tmp)


class Runner:
    """Runs cases on a worker (or as subprocesses), remembering each case's result."""

    def __init__(
        self,
        timeout: float = 20.0,
        memory: int | None = DEFAULT_MEMORY,
        isolate: bool = False,
        base: str | Path | None = None,
    ) -> None:
        self.timeout = timeout
        self.memory = memory
        self.isolate = isolate
        self.base = Path(tempfile.mkdtemp(prefix="aftermath-fuzz-", dir=base))
        self.home = tempfile.mkdtemp(prefix="aftermath-fuzz-home-", dir=base)
        self.worker = Worker(timeout, memory, self.home)
        self.templates: dict[str, Path] = {}
        self.cache: dict[str, Result] = {}

    def close(self) -> None:
        self.worker.close()
        shutil.rmtree(self.base, ignore_errors=True)
        shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, argv: list[str], cwd: str, timeout: float | None = None) -> Result:
        t = self.timeout if timeout is None else timeout
        if self.isolate:
            return _run_isolated(argv, cwd, t, self.memory, self.home)
        return self.worker.call(argv, cwd, t)

    def template(self, name: str) -> Path:
        """A valid store built once by ``aftermath`` itself (kept for the runner's life)."""
        if name not in self.templates:
            from tests.fuzz.stores import TEMPLATE_ARGV

            folder = self.base / f"template-{name}"
            folder.mkdir()
            path = folder / "template.duckdb"
            res = self.call([*TEMPLATE_ARGV[name], "--store", str(path)], str(folder), timeout=300)
            if res.code != 0 or not path.exists():
                raise RuntimeError(f"could not build the template store {name}: {res}")
            self.templates[name] = path
        return self.templates[name]

    def run(self, case: dict[str, Any]) -> Result:
        key = json.dumps(case, sort_keys=True)
        if key in self.cache:
            return self.cache[key]
        for spec in case.get("files", {}).values():
            if "store" in spec and spec["store"].get("template"):
                self.template(spec["store"]["template"])
        folder = Path(tempfile.mkdtemp(dir=self.base))
        try:
            materialize(case, folder, self.templates)
            tmp = str(folder)
            before = _listing(folder)
            around = set(os.listdir(self.base))
            res = self.call([_fill(a, tmp) for a in case["argv"]], tmp)
            res.files = sorted(set(_listing(folder)) - set(before))
            res.files += [f"../{n}" for n in sorted(set(os.listdir(self.base)) - around)]
            for n in set(os.listdir(self.base)) - around:
                shutil.rmtree(self.base / n, ignore_errors=True)
                with contextlib.suppress(OSError):
                    (self.base / n).unlink()
            res.secret_leaked = SECRET in res.stdout or SECRET in res.stderr or _secret_in(folder, res.files)
            res.stdout, res.stderr = res.stdout.replace(tmp, "{tmp}"), res.stderr.replace(tmp, "{tmp}")
            if res.exception:
                res.exception = res.exception.replace(tmp, "{tmp}")
            m = re.search(r"traceback is in (\S+\.log)", res.stderr)
            if m:
                with contextlib.suppress(OSError):
                    res.crash_log = Path(m.group(1)).read_text(errors="replace")[-3000:].replace(tmp, "{tmp}")
                    Path(m.group(1)).unlink()
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        self.cache[key] = res
        return res


def _secret_in(folder: Path, names: list[str]) -> bool:
    """Whether a file the case wrote holds the secret (a file it was never asked to read)."""
    for name in names:
        path = folder / name
        with contextlib.suppress(OSError):
            if path.is_file() and path.stat().st_size < 20_000_000 and SECRET.encode() in path.read_bytes():
                return True
    return False


def _listing(folder: Path) -> list[str]:
    out = []
    for root, dirs, files in os.walk(folder):
        rel = os.path.relpath(root, folder)
        for name in dirs + files:
            out.append(os.path.normpath(os.path.join(rel, name)))
    return out


# -- the oracle ------------------------------------------------------------------------------------

_USAGE = re.compile(r"^(Usage:|Try '|╭|│|╰)")


def message_lines(stderr: str) -> list[str]:
    return [ln for ln in stderr.splitlines() if ln.strip()]


def _bad_numbers(obj: Any, path: str = "") -> list[str]:
    """NaN, infinities and negative numbers in a run's JSON summary."""
    found: list[str] = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            found += _bad_numbers(v, f"{path}.{k}" if path else str(k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            found += _bad_numbers(v, f"{path}.{i}")
    elif isinstance(obj, bool) or obj is None or isinstance(obj, str):
        pass
    elif isinstance(obj, int | float) and ((isinstance(obj, float) and not math.isfinite(obj)) or obj < 0):
        found.append(f"{path} = {obj}")
    return found


def _json_alone(stdout: str) -> tuple[Any, str | None]:
    try:
        return json.loads(stdout, parse_constant=lambda c: float(c)), None
    except ValueError as exc:
        return None, f"--json output is not one JSON document on stdout ({exc})"


def sanity(case: dict[str, Any], res: Result) -> list[str]:
    """What is wrong with an accepted case: why it had to be refused, or what its output got wrong."""
    problems = [f"had to be refused: {why}" for why in case.get("reject", [])]
    check = case.get("check", {})
    if res.secret_leaked:
        problems.append("a file's contents (the secret) reached the output")
    for name in check.get("absent", []):
        if any(f == name or f.startswith(name + os.sep) for f in res.files):
            problems.append(f"created {name!r}, which it was not asked to")
    allowed = check.get("allowed_files")
    if allowed is not None:
        extra = [f for f in res.files if not any(re.fullmatch(p, f) for p in allowed)]
        if extra:
            problems.append(f"wrote files it was not asked to: {extra[:5]}")
    if check.get("json"):
        data, why = (None, res.json_error) if res.clipped else _json_alone(res.stdout)
        if why:
            problems.append(why)
        elif check.get("summary") and not res.clipped:
            bad = _bad_numbers(data)
            if bad:
                problems.append("non-finite or negative numbers in the summary: " + ", ".join(bad[:5]))
            want = check.get("initial_humans")
            got = data.get("initial_humans") if isinstance(data, dict) else None
            if want is not None and isinstance(got, int | float) and not math.isclose(got, want, rel_tol=1e-6):
                problems.append(f"initial_humans is {got}, the file has {want}")
    return problems


def classify(case: dict[str, Any], res: Result) -> tuple[str, str]:
    """(outcome, detail) for one case."""
    if res.hang:
        return "hang", f"no answer in {res.wall:.0f} s"
    if res.signal is not None:
        name = signal.Signals(res.signal).name if res.signal in signal.Signals._value2member_map_ else res.signal
        return "crash", f"killed by {name}"
    text = (res.stdout or "") + (res.stderr or "")
    if res.exception or TRACEBACK in text:
        tb = res.exception or text
        last = [ln for ln in tb.strip().splitlines() if ln.strip()][-1:] or [""]
        return "traceback", last[0][:300]
    if res.code == 0:
        problems = sanity(case, res)
        return ("nonsense accepted", "; ".join(problems)[:500]) if problems else ("accepted", "")
    if res.code == 1 and "internal error" in res.stderr:
        last = [ln for ln in res.crash_log.strip().splitlines() if ln.strip()][-1:] or message_lines(res.stderr)[-1:]
        return "internal error", (last[0] if last else "")[:300]
    if res.code == 2:
        lines = message_lines(res.stderr)
        if len(lines) == 1:
            return "clean rejection", lines[0][:300]
        if not lines:
            return "messy rejection", "exit 2 with nothing on stderr"
        usage = any(_USAGE.match(ln) for ln in lines)
        return "messy rejection", (
            " ".join(ln.strip(" │╭╮╰╯─") for ln in lines if not ln.startswith(("Usage", "Try")))
            if usage
            else f"{len(lines)} lines: " + " / ".join(lines[:3])
        )[:300]
    lines = message_lines(res.stderr)
    return "other exit", f"exit {res.code}: " + (lines[-1][:300] if lines else "")


def show(case: dict[str, Any], res: Result | None = None, outcome: tuple[str, str] | None = None) -> str:
    """A reproducer: the command line, its files, and what came back."""
    parts = ["aftermath " + " ".join(_quote(a) for a in case["argv"])]
    for name, spec in case.get("files", {}).items():
        if "text" in spec:
            t = spec["text"]
            parts.append(
                f"--- {{tmp}}/{name} ({len(t)} chars):\n{t if len(t) < 1500 else t[:700] + ' ... ' + t[-300:]}"
            )
        elif "store" in spec:
            parts.append(f"--- {{tmp}}/{name}: {spec['store']}")
        elif "b64" in spec:
            parts.append(f"--- {{tmp}}/{name}: {len(base64.b64decode(spec['b64']))} bytes")
        elif "dir" in spec:
            parts.append(f"--- {{tmp}}/{name}/: a folder")
    if case.get("reject"):
        parts.append(f"--- must be refused: {case['reject']}")
    if res is not None:
        outcome = outcome or classify(case, res)
        parts.append(f"=> {outcome[0]}: {outcome[1]}")
        if res.exception and outcome[0] == "traceback":
            parts.append(res.exception.strip()[-1200:])
        elif res.crash_log and outcome[0] == "internal error":
            parts.append(res.crash_log.strip()[-1200:])
        elif res.stderr.strip():
            parts.append("stderr: " + res.stderr.strip()[-600:])
    return "\n".join(parts)


def _quote(a: str) -> str:
    import shlex

    r = shlex.quote(a)
    return r if len(r) < 300 else r[:150] + "..." + r[-50:]


if __name__ == "__main__" and sys.argv[1:2] == ["--serve"]:
    serve(int(sys.argv[2]))
