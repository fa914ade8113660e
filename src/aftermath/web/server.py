"""The dashboard's web application: a FastAPI app over the same API as the command line.

Safety rules (``docs/dashboard.md``):

- bound to 127.0.0.1 unless told otherwise (:mod:`aftermath.web.commands` warns when it is not);
- the ``Host`` header must name this server (:data:`LOCAL_HOSTS`, or a host allowed when it starts):
  a page elsewhere cannot reach it through DNS rebinding; a request from another page's origin is
  refused (``Origin``), and bodies are JSON (a form post from another page is not);
- every scenario is validated by the scenario schema with the command line's messages (a
  :class:`~aftermath.scenario.load.ScenarioError`: key, value, what was expected), and every run by
  the run budget (:func:`~aftermath.engines.budget.check_budget`) and the dashboard's own smaller
  bounds (:data:`DASHBOARD_WORK`, :data:`MAX_RUNS`, :data:`MAX_VARIANTS`) before it starts;
- at most :data:`~aftermath.web.jobs.MAX_JOBS` background runs at once, one ODE at a time; a job's
  progress streams to the page (Server-Sent Events, ``GET /api/jobs/{id}/events``, same origin);
- request bodies and uploads are at most :data:`MAX_BODY_BYTES`; no file path ever comes from the
  client (built-ins by name from their list, files as their content; a scenario's ``regions.data``
  names a built-in region table only, :data:`~aftermath.scenario.regions.BUILTIN_ONLY`); nothing is
  evaluated (policy conditions are parsed by :mod:`aftermath.scenario.conditions`, which executes nothing).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import io
import json
import math
import threading
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from importlib import resources
from typing import Any, Literal
from urllib.parse import urlsplit

from fastapi import FastAPI, File, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.middleware.trustedhost import TrustedHostMiddleware

from aftermath.cli import blurb
from aftermath.engines.budget import WORK_UNITS, BudgetError, check_budget
from aftermath.scenario.load import (
    MAX_FILE_BYTES,
    ScenarioError,
    builtin_names,
    builtin_text,
    from_dict,
    parse_toml,
    to_dict,
    with_overrides,
)
from aftermath.scenario.regions import BUILTIN_ONLY, table_files
from aftermath.scenario.schema import MAX_PEOPLE, Scenario
from aftermath.web.jobs import Cancelled, Job, Jobs, TooManyJobs
from aftermath.web.payload import bands_payload, display_names, result_payload, views_payload

#: Host names that are this machine.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")
#: The largest request body or upload: a scenario file's limit (1 MiB) plus room for the settings.
MAX_BODY_BYTES = MAX_FILE_BYTES + 64 * 1024
#: The most work of one request (all its runs together), per engine in the budget's units
#: (:data:`aftermath.engines.budget.WORK_UNITS`): about half a minute on the reference machine
#: (2 cores). The agent-based engine's 1e5 people for a year is 1.6e8 person-steps.
DASHBOARD_WORK: dict[str, float] = {"abm": 2e9, "ssa": 5e7, "ode": 1e10}
#: The most runs of an ensemble (its uncertainty bands), and replicates per variant in a comparison.
MAX_RUNS = 20
#: The most variants of a comparison besides the baseline.
MAX_VARIANTS = 4
SOURCE = "<dashboard>"
STATIC = resources.files("aftermath.web").joinpath("static")


class _Shown:
    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


class Settings(BaseModel):
    """A request's scenario (TOML key names, as the page edits it) and what is not in a scenario."""

    model_config = ConfigDict(extra="forbid")
    scenario: dict[str, Any]
    people: int | None = Field(None, description="scale the population to this many people")
    runs: int = Field(1, description="runs (an ensemble draws bands)")


class OdeSettings(Settings):
    """An ODE run's request: ``light`` answers the curves and the summary only (a lever's re-run:
    the page asks for the other views, :func:`~aftermath.web.payload.views_payload`, once drawn)."""

    light: bool = Field(False, description="the curves and the summary only")


class Variant(BaseModel):
    model_config = ConfigDict(extra="forbid")
    label: str = Field(max_length=60)
    scenario: dict[str, Any]


class CompareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    scenario: dict[str, Any]
    variants: list[Variant]
    people: int | None = None
    runs: int = 5
    engine: Literal["ode", "ssa", "abm"] = "abm"


class TomlText(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str
    name: str = Field("pasted scenario", max_length=200)


def error_body(exc: ScenarioError) -> dict[str, Any]:
    """A :class:`ScenarioError` for the page: its one line, and the key it names (to show it there).
    The page's own scenario has no file name: its line starts at the key, without :data:`SOURCE`."""
    message = str(exc).removeprefix(f"{SOURCE}: ") if exc.source == SOURCE else str(exc)
    return {"message": message, "path": exc.path, "expected": exc.expected, "source": exc.source}


def request_error_body(errors: Any) -> dict[str, Any]:
    """The first of FastAPI's request errors as one line (``request body: got ..., expected ...``)."""
    err = errors[0] if errors else {}
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "json_invalid":  # its location is the character where the JSON broke
        loc = [p for p in err.get("loc", ()) if p != "body"]
        at = f" at character {loc[0]}" if loc and isinstance(loc[0], int) else ""
        reason = str(ctx.get("error", "not JSON"))[:80]
        return {"message": f"{SOURCE}: request body: got malformed JSON ({reason}{at}), expected a JSON object",
                "path": ""}
    path = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
    got = err.get("input", None)
    shown = repr(got) if len(repr(got)) <= 80 else repr(got)[:77] + "..."
    if not path and kind in ("model_attributes_type", "dict_type", "model_type"):
        return {"message": f"{SOURCE}: request body: got {shown}, expected a JSON object", "path": ""}
    expected = str(err.get("msg", "a valid request")).lower()
    return {"message": f"{SOURCE}: {path or 'request body'}: got {shown}, expected {expected}", "path": path}


def bug_body(exc: BaseException, where: str) -> dict[str, Any]:
    """A bug, as the command line reports one: a line for the page, the traceback in a log file."""
    from aftermath.cli import write_crash_log

    try:
        log = f"; the traceback is in {write_crash_log(exc, ['serve', where])}"
    except BaseException:
        log = ""
    return {"message": f"internal error ({type(exc).__name__}: {str(exc)[:160]}); this is a bug in aftermath, "
                       f"not in your input{log}", "path": ""}


def scenario_of(data: dict[str, Any], people: int | None = None, source: str = SOURCE) -> Scenario:
    """Validate the page's scenario (and its people scale) like a file, but naming no file on the
    server (:data:`~aftermath.scenario.regions.BUILTIN_ONLY`)."""
    return scaled(from_dict(data, source=source, files=BUILTIN_ONLY), people, source)


def scaled(sc: Scenario, people: int | None, source: str = SOURCE) -> Scenario:
    """A validated scenario scaled to ``people`` (None: as it is), refused by key if it cannot be."""
    if people is not None:
        if not 1 <= people <= MAX_PEOPLE:
            raise ScenarioError(source, "people", people, f"a number of people from 1 to {MAX_PEOPLE:,.0f}")
        from aftermath.scenario.scale import scale_population

        try:
            sc = scale_population(sc, people)
        except ValueError as exc:  # a scaled count over its bound (pydantic's error is a ValueError)
            first = str(exc).strip().splitlines()
            raise ScenarioError(source, "people", people, "a number of people the scenario can be scaled to "
                                f"({' '.join(first[:3])})") from None
    return sc


def check_dashboard_budget(sc: Scenario, runs: int, engine: str | None = None, what: str = "runs",
                           days: int | None = None, source: str = SOURCE) -> float:
    """Refuse, before it starts, a request over the run budget or the dashboard's bounds; returns
    the work of one run (in :data:`~aftermath.engines.budget.WORK_UNITS`). ``days``: the horizon, if
    not the scenario's own (a comparison's variants run for the baseline's days)."""
    engine = engine or sc.run.engine
    if not 1 <= runs <= MAX_RUNS:
        raise ScenarioError(SOURCE, what, runs, f"from 1 to {MAX_RUNS} runs in the dashboard (more: "
                            "`aftermath ensemble` or `aftermath compare`)")
    b = check_budget(sc, engine, sc.run.days if days is None else days, runs=runs, source=source)
    limit = DASHBOARD_WORK[engine]
    total = b.work * runs
    if not total <= limit:
        unit = WORK_UNITS[engine]
        times = f" ({runs} runs)" if runs > 1 else ""
        raise BudgetError(source, "run.days" if engine == "ode" else "people",
                          _Shown(f"{total:.3g} {unit}{times}"),
                          f"at most {limit:.3g} {unit} for the {engine} engine in the dashboard (about half a "
                          f"minute); lower the people (people scale), run.days or the runs, or use the command "
                          f"line (`aftermath run`), whose bound is higher")
    return b.work


@functools.lru_cache(maxsize=1)
def builtin_list() -> list[dict[str, Any]]:
    """The built-in scenarios for the page's list (read once: they ship with the package)."""
    out = []
    for name in builtin_names():
        sc = parse_toml(builtin_text(name), source=f"<builtin {name}>", files=BUILTIN_ONLY)
        out.append({"name": name, "title": sc.name, "description": blurb(sc.description, width=200),
                    "people": sc.initial_humans(), "days": sc.run.days, "engine": sc.run.engine})
    return out


def scenario_reply(sc: Scenario) -> dict[str, Any]:
    """A validated scenario for the page: its keys (TOML names), its display names, its
    description's first sentence (the command line's :func:`~aftermath.cli.blurb`) and its people
    as written (all states: what the people scale counts)."""
    return {"scenario": to_dict(sc), "names": display_names(sc), "blurb": blurb(sc.description, width=200),
            "people": sc.initial_population()}


@functools.cache
def builtin_reply(name: str) -> str:
    """A built-in scenario's :func:`scenario_reply` as JSON text (read once: they ship with the package)."""
    sc = parse_toml(builtin_text(name), source=f"<builtin {name}>", files=BUILTIN_ONLY)
    return _json_text(scenario_reply(sc))


class _Lru:
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int) -> None:
        self.size, self._lock, self._items = size, threading.Lock(), OrderedDict[str, Any]()

    def get(self, key: str) -> Any:
        with self._lock:
            if key not in self._items:
                return None
            self._items.move_to_end(key)
            return self._items[key]

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)


class OdeAnswer:
    """An ODE run and its answers to the page (full, and ``light``: curves and summary), each as
    JSON text made on first use, with ``"id"`` last (:meth:`json` puts each request's own there)."""

    def __init__(self, res: Any) -> None:
        self.result = res
        self._text: dict[bool, str] = {}

    def json(self, rid: str, light: bool = False) -> str:
        text = self._text.get(light)
        if text is None:
            payload = result_payload(self.result, "", light=light)
            del payload["id"]
            text = self._text[light] = _json_text(payload)[:-1]  # without its closing brace
        return f"{text},{_json_text({'id': rid})[1:]}"


#: ODE runs by scenario (:func:`scenario_digest`): the ODE is deterministic, so the same scenario
#: (a built-in as first shown, a slider moved back) is answered from here.
ODE_RESULTS = _Lru(32)


def scenario_digest(sc: Scenario) -> str:
    """A digest of a validated scenario: equal scenarios, equal digests."""
    import hashlib

    return hashlib.sha256(json.dumps(to_dict(sc), sort_keys=True).encode()).hexdigest()


def warm_up() -> None:
    """Load what the first request would otherwise wait for: Matplotlib (the map's layout, the
    report), the engines' compiled kernels (Numba's cache) and the first world's ODE run."""
    from aftermath.engines.driver import simulate
    from aftermath.report import plots_map  # noqa: F401  (imports Matplotlib)

    names = [b["name"] for b in builtin_list()]
    if names:
        sc = parse_toml(builtin_text(names[0]), source=f"<builtin {names[0]}>")
        if check_budget(sc, "ode", sc.run.days).work <= DASHBOARD_WORK["ode"]:
            answer = OdeAnswer(simulate(sc, engine="ode"))
            answer.json("", light=False)  # the page's first answer, ready
            ODE_RESULTS.put(scenario_digest(sc), answer)


def create_app(allowed_hosts: tuple[str, ...] = (), max_jobs: int | None = None, warm: bool = True) -> FastAPI:
    """The dashboard's application. ``allowed_hosts`` adds host names the ``Host`` header may carry;
    ``warm`` loads Matplotlib and the compiled kernels in a thread at once (:func:`warm_up`)."""
    import matplotlib

    matplotlib.use("Agg")  # figures are drawn in worker threads: never a GUI backend
    if warm:
        threading.Thread(target=warm_up, name="aftermath-warm-up", daemon=True).start()
    app = FastAPI(title="Aftermath dashboard", docs_url=None, redoc_url=None, openapi_url=None)
    jobs = Jobs() if max_jobs is None else Jobs(max_jobs=max_jobs)
    app.state.jobs = jobs
    ode_lock = threading.Semaphore(1)
    figures = threading.Lock()
    hosts = [*LOCAL_HOSTS, *allowed_hosts]

    @app.exception_handler(ScenarioError)
    async def _scenario_error(_request: Request, exc: ScenarioError) -> JSONResponse:
        return JSONResponse({"error": error_body(exc)}, status_code=422)

    @app.exception_handler(RequestValidationError)
    async def _request_error(_request: Request, exc: RequestValidationError) -> JSONResponse:
        """A request the page would never send (a missing field, a wrong type, a body that is not
        JSON): one line, as above."""
        return JSONResponse({"error": request_error_body(exc.errors())}, status_code=422)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": bug_body(exc, request.url.path)}, status_code=500)

    def refused(status: int, message: str, path: str = "") -> JSONResponse:
        return JSONResponse({"error": {"message": message, "path": path}}, status_code=status)

    # -- pages and static files ------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        with resources.as_file(STATIC.joinpath("index.html")) as p:
            return FileResponse(p, media_type="text/html", headers={"Cache-Control": "no-cache"})

    with resources.as_file(STATIC) as static_dir:
        app.mount("/static", StaticFiles(directory=static_dir), name="static")

    # -- scenarios ---------------------------------------------------------------------------------
    @app.get("/api/scenarios")
    def scenarios() -> list[dict[str, Any]]:
        return builtin_list()

    @app.get("/api/scenarios/{name}")
    def builtin(name: str) -> Any:
        if name not in builtin_names():  # a name from the list, never a path
            raise ScenarioError(SOURCE, "scenario", name, f"one of the built-ins {builtin_names()}")
        return Response(builtin_reply(name), media_type="application/json")

    @app.get("/api/schema")
    def schema() -> dict[str, Any]:
        from aftermath.web.schema_ui import form_schema

        return form_schema()

    @app.post("/api/validate")
    def validate(body: Settings) -> dict[str, Any]:
        sc = scenario_of(body.scenario)
        scaled(sc, body.people)  # the people scale is checked; the scenario is answered as the page has it
        return scenario_reply(sc)

    @app.post("/api/parse")
    def parse(body: TomlText) -> dict[str, Any]:
        return scenario_reply(parse_toml(body.text, source=_name(body.name), files=BUILTIN_ONLY))

    @app.post("/api/upload")
    async def upload(file: UploadFile = File(...)) -> Any:
        raw = await file.read(MAX_FILE_BYTES + 1)
        name = _name(file.filename or "upload")
        if len(raw) > MAX_FILE_BYTES:
            raise ScenarioError(name, "", _Shown(f"more than {MAX_FILE_BYTES:,} bytes"),
                                f"a scenario file of at most {MAX_FILE_BYTES:,} bytes")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError(name, "", _Shown("bytes that are not UTF-8"),
                                f"a readable UTF-8 TOML file ({exc})") from None
        return scenario_reply(parse_toml(text, source=name, files=BUILTIN_ONLY))

    @app.post("/api/toml")
    def toml(body: Settings) -> Response:
        from aftermath.scenario.toml_out import dumps

        sc = scenario_of(body.scenario)
        text = dumps(to_dict(sc), header=f"{sc.name}: written by the Aftermath dashboard (aftermath serve)")
        return Response(text, media_type="application/toml",
                        headers={"Content-Disposition": f'attachment; filename="{_file_stem(sc.name)}.toml"'})

    # -- runs --------------------------------------------------------------------------------------
    @app.post("/api/ode")
    def ode(body: OdeSettings) -> Any:
        """One ODE run, answered at once (the page's sliders); ``light``: its curves and summary,
        the other views from ``GET /api/results/{id}/views``."""
        from aftermath.engines.driver import simulate

        sc = scenario_of(body.scenario, body.people)
        check_dashboard_budget(sc, 1, "ode")
        key = scenario_digest(sc)
        hit = ODE_RESULTS.get(key)
        if hit is None:
            if not ode_lock.acquire(timeout=30):
                return refused(429, "the ODE is busy with other requests: try again")
            try:
                hit = ODE_RESULTS.get(key)
                if hit is None:
                    hit = OdeAnswer(simulate(sc, engine="ode"))
                    ODE_RESULTS.put(key, hit)
            finally:
                ode_lock.release()
        rid = _rid()
        jobs.put_result(rid, hit.result)
        return Response(hit.json(rid, body.light), media_type="application/json")

    @app.post("/api/jobs")
    def start_job(body: Settings) -> Any:
        """A run or an ensemble of the scenario's engine, in the background."""
        from aftermath.engines.driver import simulate
        from aftermath.run.seeds import replicate_seeds

        sc = scenario_of(body.scenario, body.people)
        check_dashboard_budget(sc, body.runs)
        days, runs = sc.run.days, body.runs
        seeds = [sc.run.seed] if runs == 1 else replicate_seeds(sc.run.seed, runs)

        def work(job: Job) -> dict[str, Any]:
            results = []
            for i, seed in enumerate(seeds):
                def on_day(d: int, _n: int, i: int = i) -> None:
                    job.step(i * days + d, day=d, runs_done=i)

                results.append(simulate(sc, seed=seed, on_day=on_day))
            rid = _rid()
            jobs.put_result(rid, results[0])
            out = result_payload(results[0], rid)
            if runs > 1:
                out["bands"] = bands_payload(results)
                out["seeds"] = seeds
            return out

        return _start(jobs, "run", runs * days, work, days=days, runs=runs)

    @app.post("/api/compare")
    def start_compare(body: CompareRequest) -> Any:
        """Variants against the baseline under common random numbers (:func:`aftermath.compare.compare`)."""
        from aftermath.compare import BASELINE, compare, metric_label
        from aftermath.record.vocabulary import vocabulary

        base = scenario_of(body.scenario, body.people)
        if not 1 <= len(body.variants) <= MAX_VARIANTS:
            raise ScenarioError(SOURCE, "variants", len(body.variants),
                                f"from 1 to {MAX_VARIANTS} variants to compare with the baseline")
        labels = [v.label.strip() for v in body.variants]
        days, engine, runs = base.run.days, body.engine, body.runs
        # every variant's budget, each as it will run (the baseline's engine and days), before anything starts
        work_of = [check_dashboard_budget(base, runs, engine, what="runs", days=days)]
        variants: dict[str, dict[str, Any]] = {}
        for label, v in zip(labels, body.variants, strict=True):
            if not label or label == BASELINE or label in variants:
                raise ScenarioError(SOURCE, "variants", label,
                                    f"a label of its own, not {BASELINE!r} or one used before")
            source = f"variant {label}"
            sc_v = scenario_of(v.scenario, body.people, source=source)
            data_b, data_v = to_dict(base), to_dict(sc_v)
            overrides = {k: data_v[k] for k in data_v if data_v.get(k) != data_b.get(k)}
            overrides.update({k: None for k in data_b if k not in data_v})
            ran = with_overrides(base, overrides, source=source, files=BUILTIN_ONLY)  # as compare() will run it
            work_of.append(check_dashboard_budget(ran, runs, engine, what="runs", days=days, source=source))
            variants[label] = overrides
        n = 1 + len(variants)
        total = sum(work_of) * runs
        if total > DASHBOARD_WORK[engine]:
            raise BudgetError(SOURCE, "runs", _Shown(f"{total:.3g} {WORK_UNITS[engine]}"),
                              f"at most {DASHBOARD_WORK[engine]:.3g} {WORK_UNITS[engine]} for a comparison "
                              f"in the dashboard ({n} variants x {runs} runs); lower the people, run.days or "
                              "the runs, or use `aftermath compare`")

        def work(job: Job) -> dict[str, Any]:
            with table_files(BUILTIN_ONLY):  # this thread's scenario loading reads no file either
                frame, _res = compare(base, variants, runs=runs, engine=engine, executor=CancellableRuns(job))
            rows = frame.to_dict(orient="records")
            for r in rows:  # in the scenario's words (run.vocabulary), as its report says them
                r["label"] = metric_label(str(r["metric"]), vocabulary(base))
            return {"baseline": BASELINE, "variants": [BASELINE, *variants], "runs": runs,
                    "engine": engine, "rows": _finite(rows)}

        return _start(jobs, "compare", runs * n, work, days=days, runs=runs * n)

    @app.get("/api/jobs/{job_id}")
    def job_status(job_id: str) -> Any:
        job = jobs.get(job_id)
        if job is None:
            return refused(404, f"no job {job_id!r} (finished jobs are forgotten after a while)")
        return _json(job.view())

    @app.get("/api/jobs/{job_id}/events")
    def job_events(job_id: str) -> Any:
        """The job's progress, pushed as it happens (Server-Sent Events): ``progress`` events (the
        job's view without its result) at most every :data:`EVENT_EVERY` seconds, then one ``end``
        event (the view ``GET /api/jobs/{id}`` answers at the end, with the result), and the stream
        closes."""
        job = jobs.get(job_id)
        if job is None:
            return refused(404, f"no job {job_id!r} (finished jobs are forgotten after a while)")
        return StreamingResponse(job_stream(job), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.delete("/api/jobs/{job_id}")
    def cancel(job_id: str) -> Any:
        job = jobs.get(job_id)
        if job is None:
            return refused(404, f"no job {job_id!r}")
        job.cancel.set()
        return {"id": job_id, "status": "cancelling" if job.status == "running" else job.status}

    # -- views and downloads of a result -------------------------------------------------------------
    def result(rid: str) -> Any:
        res = jobs.results.get(rid)
        if res is None:
            raise ScenarioError(SOURCE, "result", rid, "a recent run (results are kept for the last "
                                f"{jobs.keep} runs: run it again)")
        return res

    @app.get("/api/results/{rid}/views")
    def views(rid: str) -> Any:
        """A run's views besides its curves (map, chronicle, ledger, record, policies): what a
        ``light`` ODE answer leaves out."""
        return _json(views_payload(result(rid)))

    @app.get("/api/results/{rid}/phylogeny.svg")
    def phylogeny(rid: str) -> Response:
        import matplotlib.pyplot as plt

        from aftermath.report.plots_virus import plot_phylogeny

        res = result(rid)
        with figures:  # pyplot is not thread-safe
            fig = plot_phylogeny(res)
            buf = io.StringIO()
            fig.savefig(buf, format="svg", bbox_inches="tight")
            plt.close(fig)
        return Response(buf.getvalue(), media_type="image/svg+xml")

    @app.get("/api/results/{rid}/download/{what}")
    def download(rid: str, what: Literal["counts.csv", "counts.parquet", "report.html"]) -> Response:
        res = result(rid)
        stem = f"{_file_stem(res.scenario.name)}-{res.engine}-seed{res.seed}"
        if what == "report.html":
            from aftermath.report.html import render_run

            with figures:
                body: bytes = render_run(res).encode("utf-8")
            media = "text/html"
        elif what == "counts.csv":
            body, media = res.to_pandas().to_csv(index=False).encode("utf-8"), "text/csv"
        else:
            buf = io.BytesIO()
            res.to_pandas().to_parquet(buf, index=False)
            body, media = buf.getvalue(), "application/vnd.apache.parquet"
        name = f"{stem}-{what}" if what != "report.html" else f"{stem}.html"
        return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})

    # -- the safety layers (outermost last) ------------------------------------------------------------
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(SameOrigin)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts)
    return app


def _start(jobs: Jobs, kind: str, total: int, work: Callable[[Job], dict[str, Any]], days: int = 0,
           runs: int = 1) -> Any:
    def on_error(exc: BaseException) -> dict[str, Any] | None:
        return error_body(exc) if isinstance(exc, ScenarioError) else bug_body(exc, f"job {kind}")

    try:
        job = jobs.start(kind, total, work, on_error, days=days, runs=runs)
    except TooManyJobs:
        return JSONResponse({"error": {"message": f"at most {jobs.max_jobs} runs at once in the dashboard: wait for "
                                                  "one to finish, or cancel it", "path": ""}}, status_code=429)
    return job.view()


class CancellableRuns:
    """An executor of a batch's runs (:class:`aftermath.run.executors.InProcess`'s, one after another
    in this thread) that look at a job at the end of every simulated day: a cancel stops the run in
    hand there (:class:`~aftermath.web.jobs.Cancelled` goes up through the batch, which runs nothing
    more), not after the whole run. Progress stays in runs done (as the page shows a comparison's).
    A run that fails is a failed record, as :func:`aftermath.run.tasks.run_task` makes it."""

    name = "in-process"
    workers = 1

    def __init__(self, job: Job) -> None:
        self.job = job

    def run(self, tasks: Any) -> Any:
        for k, task in enumerate(tasks):
            yield self._one(k, task)

    def _one(self, k: int, task: Any) -> Any:
        import datetime as dt
        import time

        from aftermath.engines.driver import simulate
        from aftermath.store.records import failed_record, record_from_result

        def now() -> dt.datetime:
            return dt.datetime.now(dt.UTC).replace(tzinfo=None)

        def on_day(d: int, _n: int) -> None:
            self.job.step(k, day=d, runs_done=k)  # raises Cancelled once cancelled

        self.job.step(k, day=0, runs_done=k)
        started, t0 = now(), time.perf_counter()
        try:
            res = simulate(task.scenario, engine=task.engine, seed=task.seed, days=task.days, on_day=on_day)
            rec = record_from_result(res, task.meta)
        except Cancelled:
            raise
        except Exception as exc:  # as run_task: a failed run is data
            rec = failed_record({**task.meta, "days": task.days}, exc)
        rec.meta.update(started_at=started, finished_at=now(), wall_s=time.perf_counter() - t0)
        return rec

    def close(self) -> None:
        pass


#: The shortest time between two progress events of a job's stream (seconds): at most 10 a second.
EVENT_EVERY = 0.1
#: A comment line is sent after this many seconds without an event (a proxy or the browser keep the stream).
EVENT_KEEPALIVE = 15.0


def sse(event: str, data: Any, eid: int) -> str:
    """One Server-Sent Event: its name, its id and its data (JSON on one line)."""
    return f"event: {event}\nid: {eid}\ndata: {_json_text(data)}\n\n"


async def job_stream(job: Job, every: float | None = None, keepalive: float | None = None) -> AsyncIterator[str]:
    """A job's event stream: a ``progress`` event whenever its progress changed (woken by the job's
    steps, :meth:`~aftermath.web.jobs.Job.listen`, no more often than ``every`` seconds, by default
    :data:`EVENT_EVERY`), then its ``end``. A client that goes away ends the stream (the server
    cancels it); the job runs on."""
    every = EVENT_EVERY if every is None else every
    keepalive = EVENT_KEEPALIVE if keepalive is None else keepalive
    loop = asyncio.get_running_loop()
    changed = asyncio.Event()

    def wake() -> None:  # in the job's thread
        with contextlib.suppress(RuntimeError):  # the server's loop is closed: nobody listens any more
            loop.call_soon_threadsafe(changed.set)

    job.listen(wake)
    n, last = 0, None
    try:
        while True:
            n += 1
            if job.status != "running":
                yield sse("end", job.view(), n)
                return
            view = job.view(result=False)
            if (view["done"], view["day"]) != last:
                last = (view["done"], view["day"])
                yield sse("progress", view, n)
            try:
                await asyncio.wait_for(changed.wait(), keepalive)
            except TimeoutError:
                yield ": still running\n\n"
            changed.clear()
            if job.status == "running":
                await asyncio.sleep(every)  # steps meanwhile are told in the next event
    finally:
        job.unlisten(wake)


def _rid() -> str:
    import uuid

    return uuid.uuid4().hex[:12]


def _name(text: str) -> str:
    """A file's name as the client gave it, for messages only (never opened): its last part, printable."""
    base = text.replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in base if ch.isprintable())[:120] or "upload"


def _file_stem(name: str) -> str:
    stem = "".join(ch if (ch.isascii() and ch.isalnum()) or ch in "-_" else "-" for ch in name.lower()).strip("-")
    return stem[:60] or "scenario"


def _finite(obj: Any) -> Any:
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_finite(v) for v in obj]
    return obj


def _json_text(obj: Any) -> str:
    """JSON for the page: NaN and infinity (which JSON lacks) as null; the walk only when there are any."""
    try:
        return json.dumps(obj, separators=(",", ":"), allow_nan=False)
    except ValueError:
        return json.dumps(_finite(obj), separators=(",", ":"), allow_nan=False)


def _json(obj: Any) -> Response:
    return Response(_json_text(obj), media_type="application/json")


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


async def _reply(send: Send, status: int, message: str) -> None:
    body = json.dumps({"error": {"message": message, "path": ""}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


class BodyLimit:
    """Refuse a request body over ``limit`` bytes (413), by its ``Content-Length`` or as it streams."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        message = f"a request of at most {self.limit:,} bytes (a scenario file is at most {MAX_FILE_BYTES:,})"
        for k, v in scope.get("headers", []):
            if k == b"content-length" and v.isdigit() and int(v) > self.limit:
                await _reply(send, 413, f"{SOURCE}: expected {message}")
                return
        seen = 0
        started = over = replied = False

        async def limited() -> Message:
            nonlocal seen, over
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    over = True
                    raise _TooLarge
            return msg

        async def too_large() -> None:
            nonlocal replied
            if not replied:
                replied = True
                await _reply(send, 413, f"{SOURCE}: expected {message}")

        async def tracking(msg: Message) -> None:
            nonlocal started
            if over and not started:  # the app's own answer to a body cut short (FastAPI's 400): ours instead
                await too_large()
                return
            started = started or msg["type"] == "http.response.start"
            await send(msg)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if not started:
                await too_large()


class SameOrigin:
    """Refuse a request that changes something (not GET or HEAD) from another page's origin, or that
    is not JSON or a file upload (a plain form from another page), with 403."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        origin, host = headers.get("origin"), headers.get("host", "")
        if origin is not None and urlsplit(origin).netloc != host:
            await _reply(send, 403, f"requests from this server's own page only (got Origin {origin!r})")
            return
        ctype = headers.get("content-type", "").split(";")[0].strip().lower()
        if scope["method"] in ("POST", "PUT", "PATCH") and ctype not in ("application/json", "multipart/form-data"):
            await _reply(send, 415, f"a JSON body or a file upload (got content type {ctype or 'none'!r})")
            return
        await self.app(scope, receive, send)
