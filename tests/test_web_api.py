"""The dashboard's server (``aftermath serve``): its safety rules and its answers, through FastAPI's
TestClient (no browser; ``tests/browser`` drives the page itself)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
from fastapi.testclient import TestClient

from aftermath.engines.driver import simulate
from aftermath.scenario.load import MAX_FILE_BYTES, ScenarioError, builtin_names, from_dict, load, parse_toml, to_dict
from aftermath.web.server import DASHBOARD_WORK, MAX_BODY_BYTES, MAX_RUNS, create_app

BASE = "http://127.0.0.1:8765"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    app = create_app(warm=False)
    with TestClient(app, base_url=BASE) as c:
        yield c
    app.state.jobs.cancel_all()


def sir(days: int = 20, engine: str = "ode", **run: Any) -> dict[str, Any]:
    data = to_dict(load("sir"))
    data["run"].update(days=days, engine=engine, **run)
    return data


def wait(c: TestClient, job: dict[str, Any], timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = c.get(f"/api/jobs/{job['id']}").json()
        if v["status"] != "running":
            return v
        time.sleep(0.05)
    raise AssertionError(f"job {job['id']} still running after {timeout} s")


# -- safety ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "127.0.0.1.evil.example", "attacker.com:8765"])
def test_a_foreign_host_header_is_refused(client: TestClient, host: str) -> None:
    """DNS rebinding: a name that resolves to 127.0.0.1 still carries its own Host header."""
    r = client.get("/api/scenarios", headers={"host": host})
    assert r.status_code == 400
    assert client.get("/api/scenarios", headers={"host": "localhost:8765"}).status_code == 200


def test_an_allowed_host_is_accepted_when_configured() -> None:
    with TestClient(create_app(allowed_hosts=("lab-pc",), warm=False), base_url="http://lab-pc:8765") as c:
        assert c.get("/api/scenarios").status_code == 200


def test_a_request_from_another_origin_or_not_json_is_refused(client: TestClient) -> None:
    r = client.post("/api/ode", json={"scenario": sir()}, headers={"origin": "http://evil.example"})
    assert r.status_code == 403 and "own page" in r.json()["error"]["message"]
    r = client.post("/api/ode", content=b'{"scenario": {}}', headers={"content-type": "text/plain"})
    assert r.status_code == 415
    assert client.post("/api/ode", json={"scenario": sir()}, headers={"origin": BASE}).status_code == 200


def test_a_schema_error_names_the_key_with_the_command_line_message(client: TestClient) -> None:
    data = sir()
    data["pathogen"]["beta"] = -1
    r = client.post("/api/ode", json={"scenario": data})
    assert r.status_code == 422
    err = r.json()["error"]
    with pytest.raises(ScenarioError) as cli:
        from_dict(data, source="<dashboard>")
    # the line the command line prints for a file, less the file's name (the page's scenario has none)
    assert err["message"] == str(cli.value).removeprefix("<dashboard>: ") and err["path"] == "pathogen.beta"
    assert "expected a number >= 0" in err["message"]


def test_a_broken_toml_file_is_refused_with_its_line(client: TestClient) -> None:
    r = client.post("/api/upload", files={"file": ("broken.toml", b'name = "x"\n[pathogen\nbeta = 1\n')})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["path"] == "line 2, column 10" and err["source"] == "broken.toml" and "valid TOML" in err["message"]


def test_an_upload_is_size_limited(client: TestClient) -> None:
    big = b"# " + b"x" * (MAX_FILE_BYTES + 10)
    r = client.post("/api/upload", files={"file": ("big.toml", big)})
    assert r.status_code == 422 and "at most 1,048,576 bytes" in r.json()["error"]["message"]
    r = client.post("/api/upload", files={"file": ("huge.toml", b"x" * (MAX_BODY_BYTES + 1))})
    assert r.status_code == 413


def test_no_path_comes_from_the_client(client: TestClient) -> None:
    for name in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "sir.toml"):
        r = client.get(f"/api/scenarios/{name}")
        assert r.status_code in (404, 422)
        assert "passwd" not in r.text or "one of the built-ins" in r.text
    # an upload's name is only shown in messages, never opened
    r = client.post("/api/upload", files={"file": ("/etc/passwd", b"zones = 1\n")})
    assert r.status_code == 422 and r.json()["error"]["source"] == "passwd"


def test_a_scenario_from_the_page_names_no_file_on_the_server(client: TestClient, tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """``regions.data`` from the page names a built-in table only: a path is refused by key, and the
    answer is the same whether the file exists or not (nothing of it comes back)."""
    monkeypatch.chdir(tmp_path)  # short paths: a message shortens a long value, cutting the name off
    secret = Path("secret.csv")
    secret.write_text("id,name,population,lat,lon\ntopsecret,Hidden Name,12345,1,1\n")
    assert secret.resolve().is_file()
    missing = Path("missing.csv")

    def toml(path: Path | str) -> str:
        return f'name = "x"\n[regions]\ndata = "{path}"\n'

    answers = []
    for path in (secret, missing):
        region = {"name": "x", "regions": {"data": str(path)}}
        for r in (client.post("/api/parse", json={"text": toml(path)}),
                  client.post("/api/upload", files={"file": ("w.toml", toml(path).encode())}),
                  client.post("/api/validate", json={"scenario": region}),
                  client.post("/api/ode", json={"scenario": region}),
                  client.post("/api/jobs", json={"scenario": region}),
                  client.post("/api/compare",
                              json={"scenario": sir(), "variants": [{"label": "v", "scenario": region}]})):
            assert r.status_code == 422, r.text
            err = r.json()["error"]
            assert err["path"] == "regions.data" and "built-in region tables ['korea']" in err["expected"]
            assert "topsecret" not in r.text and "Hidden" not in r.text and "12345" not in r.text
            answers.append(r.text.replace(str(path), "PATH"))
    assert answers[:6] == answers[6:]  # an existing file and a missing one read the same
    assert client.app.state.jobs.running() == 0  # type: ignore[attr-defined]
    # the built-in tables and inline rows still work
    assert client.post("/api/parse", json={"text": toml("korea")}).status_code == 200
    rows = {"name": "x", "regions": {"rows": [{"id": "a", "population": 10.0, "lat": 0.0, "lon": 0.0}]}}
    assert client.post("/api/validate", json={"scenario": rows}).json()["scenario"]["zones"][0]["id"] == "a"


def test_a_run_over_the_dashboard_budget_is_refused_before_it_starts(client: TestClient) -> None:
    data = sir(days=365, engine="abm")
    r = client.post("/api/jobs", json={"scenario": data, "people": 10_000_000})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["path"] == "people" and f"at most {DASHBOARD_WORK['abm']:.3g} person-steps" in err["message"]
    assert "in the dashboard" in err["message"]
    r = client.post("/api/jobs", json={"scenario": sir(engine="ssa"), "runs": MAX_RUNS + 1})
    assert r.status_code == 422 and r.json()["error"]["path"] == "runs"
    assert client.app.state.jobs.running() == 0  # type: ignore[attr-defined]


def test_runs_at_once_are_limited_and_a_run_can_be_cancelled() -> None:
    app = create_app(max_jobs=1, warm=False)
    with TestClient(app, base_url=BASE) as c:
        long = {"scenario": sir(days=60_000, engine="ode")}  # minutes of work: a cancel always comes first
        first = c.post("/api/jobs", json=long).json()
        r = c.post("/api/jobs", json=long)
        assert r.status_code == 429 and "at most 1 runs at once" in r.json()["error"]["message"]
        assert c.delete(f"/api/jobs/{first['id']}").status_code == 200
        v = wait(c, first)
        assert v["status"] == "cancelled" and v["done"] < v["total"]
        again = c.post("/api/jobs", json={"scenario": sir(days=5)})
        assert again.status_code == 200 and wait(c, again.json())["status"] == "done"


def test_a_request_body_is_size_limited(client: TestClient) -> None:
    r = client.post("/api/parse", json={"text": "#" * (MAX_BODY_BYTES + 1)})
    assert r.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body streams in chunks
        yield b'{"text": "'
        for _ in range(MAX_BODY_BYTES // 65536 + 2):
            yield b"#" * 65536

    chunked = client.post("/api/parse", content=chunks(), headers={"content-type": "application/json"})
    assert chunked.request.headers.get("transfer-encoding") == "chunked"
    assert chunked.status_code == 413 and chunked.json() == r.json()


def test_a_body_that_is_not_json_gets_one_clear_line(client: TestClient) -> None:
    r = client.post("/api/parse", content=b'{"text": ', headers={"content-type": "application/json"})
    assert r.status_code == 422
    msg = r.json()["error"]["message"]
    assert msg.startswith("<dashboard>: request body: got malformed JSON (") and "\n" not in msg
    assert msg.endswith("expected a JSON object") and "at character 9" in msg
    r = client.post("/api/parse", content=b"[1, 2]", headers={"content-type": "application/json"})
    assert r.json()["error"]["message"] == "<dashboard>: request body: got [1, 2], expected a JSON object"


# -- answers ----------------------------------------------------------------------------------------


def test_the_ode_answer_is_the_run_with_display_names(client: TestClient) -> None:
    data = to_dict(load("hyosan"))
    data["run"]["days"] = 30
    r = client.post("/api/ode", json={"scenario": data})
    assert r.status_code == 200
    res = r.json()
    direct = simulate(from_dict(data), engine="ode")
    assert np.allclose(np.array(res["totals"]).T, direct.counts.sum(axis=1), atol=0.006)
    names = {z["name"] for z in res["zones"]}
    assert "Eastern quarantine district" in names and "quarantine" not in names
    assert "The Provisional Government" in res["map"]["zone_faction"]
    assert len(res["map"]["routes"]) == direct.route_flows.shape[2]
    assert res["summary"]["survivors"] == pytest.approx(direct.summary()["survivors"])
    again = client.post("/api/ode", json={"scenario": data}).json()  # the same scenario: the kept run
    assert again["totals"] == res["totals"] and again["id"] != res["id"]
    assert client.get(f"/api/results/{again['id']}/download/counts.csv").status_code == 200
    data["pathogen"]["beta"] = 0.31
    other = client.post("/api/ode", json={"scenario": data}).json()
    assert other["totals"] != res["totals"]


def test_a_light_ode_answer_and_its_views_are_the_full_answer(client: TestClient) -> None:
    """A lever's re-run asks for a ``light`` answer (curves and summary), then the other views by
    the run's id: together they are the full answer, key for key."""
    data = to_dict(load("hyosan"))
    data["run"]["days"] = 40
    data["pathogen"]["beta"] = 0.37
    full = client.post("/api/ode", json={"scenario": data}).json()
    light = client.post("/api/ode", json={"scenario": data, "light": True}).json()
    views = client.get(f"/api/results/{light['id']}/views").json()
    assert set(views) == {"ledger", "official_record", "policies", "chronicle", "map"}
    assert not set(views) & set(light) and set(light) | set(views) == set(full)
    assert {**light, **views, "id": full["id"]} == full
    assert client.get("/api/results/nosuchrun/views").status_code == 422


def test_the_maps_open_routes_are_the_worlds_day_by_day() -> None:
    """The map's route strings (built for all days at once) are, day by day, what the world says:
    open while the truce the route needs holds after the day and its origin is not sealed
    (Hyosan seals its quarantine and keeps a truce that can break)."""
    from aftermath.model.world import build_world
    from aftermath.web.payload import map_payload

    res = simulate(load("hyosan"), engine="ode", days=200)
    world = build_world(res.scenario)
    routes = map_payload(res)["routes"]
    for d in range(res.days):
        ok = world.route_open_by_truce(res.truce[d + 1]) & ~res.sealed[d][world.route_from]
        assert "".join(r["open"][d] for r in routes) == "".join("1" if x else "0" for x in ok), d
    assert {"0", "1"} <= {ch for r in routes for ch in r["open"]}  # some closed, some open


def test_an_ensemble_runs_in_the_background_with_progress_bands_and_downloads(client: TestClient) -> None:
    data = sir(days=15, engine="abm")
    job = client.post("/api/jobs", json={"scenario": data, "people": 2000, "runs": 3}).json()
    assert job["total"] == 45
    v = wait(client, job)
    assert v["status"] == "done" and v["done"] == 45, v
    res = v["result"]
    bands = np.array(res["bands"]["totals"])  # [state, quantile, time]
    assert bands.shape == (6, 3, 16) and (bands[:, 0] <= bands[:, 1]).all() and (bands[:, 1] <= bands[:, 2]).all()
    groups = np.array(res["bands"]["curves"]["totals"])  # the SIR limit's S, I, R: [group, quantile, time]
    assert groups.shape == (3, 3, 16) and (groups[:, 0] <= groups[:, 1]).all() and (groups[:, 1] <= groups[:, 2]).all()
    assert np.allclose(groups.sum(axis=0)[1], groups.sum(axis=0)[1][0])  # everyone, in some group, every day
    rid = res["id"]
    csv = client.get(f"/api/results/{rid}/download/counts.csv")
    assert csv.status_code == 200 and csv.text.startswith("day,zone,state,count")
    assert "attachment" in csv.headers["content-disposition"]
    pq = client.get(f"/api/results/{rid}/download/counts.parquet")
    assert pq.status_code == 200 and pq.content[:4] == b"PAR1"
    assert client.get(f"/api/results/{rid}/download/other.txt").status_code == 422
    html = client.get(f"/api/results/{rid}/download/report.html")
    assert html.status_code == 200 and html.text.lower().startswith("<!doctype html")
    assert "data:image/png;base64" in html.text  # self-contained: figures embedded
    svg = client.get(f"/api/results/{rid}/phylogeny.svg")
    assert svg.status_code == 200 and b"<svg" in svg.content[:500]


def test_the_downloaded_toml_reads_back_to_the_same_results(client: TestClient) -> None:
    data = to_dict(load("hyosan"))
    data["pathogen"]["beta"] = 0.41
    data["zones"][2]["wall"] = 0.5
    r = client.post("/api/toml", json={"scenario": data})
    assert r.status_code == 200 and r.headers["content-disposition"].endswith('.toml"')
    back = parse_toml(r.text)
    named = dict(data, name="서울 outbreak")  # a file name is ASCII whatever the scenario is called
    r2 = client.post("/api/toml", json={"scenario": named})
    assert r2.status_code == 200 and r2.headers["content-disposition"] == 'attachment; filename="outbreak.toml"'
    assert parse_toml(r2.text).name == "서울 outbreak"
    assert back == from_dict(data)
    a = simulate(back, engine="ode", days=20)
    b = simulate(from_dict(data), engine="ode", days=20)
    assert np.array_equal(a.counts, b.counts)


def test_a_comparison_is_what_compare_computes(client: TestClient) -> None:
    base = sir(days=100, engine="ssa")
    variant = sir(days=100, engine="ssa")
    variant["pathogen"]["beta"] = 0.15
    job = client.post("/api/compare", json={"scenario": base, "variants": [{"label": "slower", "scenario": variant}],
                                            "runs": 3, "engine": "ssa", "people": 20000}).json()
    v = wait(client, job)
    assert v["status"] == "done", v
    got = {(r["variant"], r["metric"]): r["mean"] for r in v["result"]["rows"]}
    from aftermath.compare import compare
    from aftermath.scenario.scale import scale_population

    frame, _ = compare(scale_population(from_dict(base), 20000), {"slower": {"pathogen": variant["pathogen"]}},
                       runs=3, engine="ssa")
    want = {(r.variant, r.metric): r.mean for r in frame.itertuples()}
    assert got == pytest.approx(want)
    assert got[("slower", "lives_saved")] > 0  # a slower pathogen saves lives on the same seeds


def test_variants_are_validated_and_bounded(client: TestClient) -> None:
    bad = sir()
    bad["zones"][0]["wall"] = 2
    r = client.post("/api/compare", json={"scenario": sir(), "variants": [{"label": "x", "scenario": bad}]})
    assert r.status_code == 422 and r.json()["error"]["path"] == "zones.0.wall"
    assert r.json()["error"]["source"] == "variant x"
    r = client.post("/api/compare", json={"scenario": sir(), "variants": [{"label": "baseline", "scenario": sir()}]})
    assert r.status_code == 422


def test_every_variant_is_within_the_dashboard_budget_before_anything_starts(client: TestClient) -> None:
    def sized(people: float) -> dict[str, Any]:
        data = sir(days=20, engine="ssa")
        data["zones"][0]["population"]["S"] = people
        return data

    # one variant over the bound by itself (the baseline is small)
    r = client.post("/api/compare", json={"scenario": sir(engine="ssa"), "engine": "ssa", "runs": 1,
                                          "variants": [{"label": "big", "scenario": sized(2e7)}]})
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["source"] == "variant big" and err["path"] == "people"
    assert f"at most {DASHBOARD_WORK['ssa']:.3g} events for the ssa engine in the dashboard" in err["message"]
    # each variant within it, all of them together over it
    r = client.post("/api/compare", json={"scenario": sir(engine="ssa"), "engine": "ssa", "runs": 1, "variants": [
        {"label": "a", "scenario": sized(1e7)}, {"label": "b", "scenario": sized(1e7)}]})
    assert r.status_code == 422, r.text
    assert "for a comparison in the dashboard (3 variants x 1 runs)" in r.json()["error"]["message"]
    assert client.app.state.jobs.running() == 0  # type: ignore[attr-defined]


def test_a_cancelled_comparison_stops_within_the_run_in_hand(client: TestClient) -> None:
    """A cancel is read at the end of each simulated day, not only between whole runs: a run of
    about 10 s (a million people for 240 days on the abm) stops at once, none of its runs done."""
    base = sir(days=240, engine="abm")
    base["zones"][0]["population"]["S"] = 1e6
    variant = {**base, "pathogen": {**base["pathogen"], "beta": base["pathogen"]["beta"] * 0.9}}
    r = client.post("/api/compare", json={"scenario": base, "engine": "abm", "runs": 1,
                                          "variants": [{"label": "slower", "scenario": variant}]})
    assert r.status_code == 200, r.text
    job = client.app.state.jobs.get(r.json()["id"])  # type: ignore[attr-defined]
    deadline = time.monotonic() + 30
    while job.first_progress is None and time.monotonic() < deadline:  # the batch reached its first run
        time.sleep(0.02)
    time.sleep(0.3)
    t0 = time.monotonic()
    assert client.delete(f"/api/jobs/{job.id}").json()["status"] == "cancelling"
    v = wait(client, r.json(), timeout=30)
    assert v["status"] == "cancelled" and v["done"] == 0  # the first run did not finish
    assert time.monotonic() - t0 < 3.0


def events(lines: Iterator[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Server-Sent Events as (event name, data) from a stream's lines."""
    name, data = "message", ""
    for line in lines:
        if line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data += line[5:].strip()
        elif not line and data:
            yield name, json.loads(data)
            name, data = "message", ""


def test_a_jobs_progress_is_streamed_then_its_end(monkeypatch: pytest.MonkeyPatch) -> None:
    """``GET /api/jobs/{id}/events`` through a real server (uvicorn, read with httpx as it arrives):
    progress events while the runs go (day, runs done), increasing, arriving while the job still
    runs, then one ``end`` event with the result; the stream's safety is the server's (Host
    header); a cancel ends the stream with the cancelled state."""
    from aftermath.web import server
    from tests.browser.serve_util import running_server

    monkeypatch.setattr(server, "EVENT_EVERY", 0.02)  # events every 20 ms at most: several in each run
    data = sir(days=150, engine="abm")
    with running_server(warm=False) as url, httpx.Client(base_url=url, timeout=60) as c:
        job = c.post("/api/jobs", json={"scenario": data, "people": 20_000, "runs": 2}).json()
        assert (job["days"], job["runs"], job["total"]) == (150, 2, 300)
        bad = c.get(f"/api/jobs/{job['id']}/events", headers={"host": "evil.example"})
        assert bad.status_code == 400
        assert c.get("/api/jobs/nosuchjob/events").status_code == 404
        seen: list[tuple[str, dict[str, Any], bool]] = []
        with c.stream("GET", f"/api/jobs/{job['id']}/events") as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            for name, v in events(r.iter_lines()):
                running_now = c.get(f"/api/jobs/{job['id']}").json()["status"] == "running"
                seen.append((name, v, running_now))
        names = [n for n, _, _ in seen]
        assert names[-1] == "end" and names.count("end") == 1 and set(names[:-1]) == {"progress"}
        progress = [v for n, v, _ in seen if n == "progress"]
        done = [v["done"] for v in progress]
        assert done == sorted(done) and len(set(done)) >= 3, done  # several steps, increasing
        assert any(0 < v["done"] < 300 and live for n, v, live in seen if n == "progress")  # pushed while running
        assert any(v["runs_done"] == 1 and 0 < v["day"] < 150 for v in progress), progress  # the second run's days
        assert all(v["done"] == 150 * v["runs_done"] + v["day"] for v in progress)
        assert all("result" not in v for v in progress)
        end = seen[-1][1]
        assert end["status"] == "done" and end["done"] == 300 and end["runs_done"] == 2
        polled = c.get(f"/api/jobs/{job['id']}").json()
        assert end["result"] == polled["result"] and end["result"]["bands"]["runs"] == 2

        long = c.post("/api/jobs", json={"scenario": sir(days=60_000, engine="ode")}).json()
        with c.stream("GET", f"/api/jobs/{long['id']}/events") as r:
            stream = events(r.iter_lines())
            for name, v in stream:
                if name == "progress" and v["done"] > 0:
                    assert c.delete(f"/api/jobs/{long['id']}").json()["status"] == "cancelling"
                    break
            last = list(stream)
        assert last[-1][0] == "end" and last[-1][1]["status"] == "cancelled" and last[-1][1]["done"] < 60_000


def test_the_schema_has_units_bounds_defaults_and_descriptions(client: TestClient) -> None:
    sch = client.get("/api/schema").json()
    beta = sch["schema"]["$defs"]["Pathogen"]["properties"]["beta"]
    assert beta["x-unit"] == "per day" and beta["maximum"] == 1000 and beta["default"] == 0.5
    assert "bite rate" in beta["description"]
    assert sch["schema"]["$defs"]["Zone"]["properties"]["wall"]["x-unit"] == "share"
    assert "fear" in sch["condition_variables"]


def test_serve_refuses_a_busy_port() -> None:
    import socket

    from typer.testing import CliRunner

    from aftermath.cli import app

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        r = CliRunner().invoke(app, ["serve", "--port", str(port), "--no-browser"])
    assert r.exit_code == 2


def test_local_hosts_are_told_from_others() -> None:
    from aftermath.web.commands import is_local

    assert is_local("127.0.0.1") and is_local("localhost") and is_local("::1")
    assert not is_local("0.0.0.0") and not is_local("192.168.1.4")


def test_static_assets_are_small_and_local() -> None:
    from importlib import resources

    static = resources.files("aftermath.web").joinpath("static")
    with resources.as_file(static) as root:
        files = [p for p in root.rglob("*") if p.is_file()]
        assert sum(p.stat().st_size for p in files) < 1.5e6
        index = (root / "index.html").read_text(encoding="utf-8")
        app_js = (root / "app.js").read_text(encoding="utf-8")
    assert 'src="http' not in index and 'href="http' not in index  # no CDN: every asset is served here
    assert "fetch(\"http" not in app_js and "import(" not in app_js
    assert {"uPlot.iife.min.js", "uPlot.min.css", "uPlot.LICENSE"} <= {p.name for p in files}


@pytest.mark.parametrize("name", builtin_names())
def test_the_toml_writer_reads_back_every_builtin(name: str) -> None:
    from aftermath.scenario.toml_out import dumps

    sc = load(name)
    data = to_dict(sc)
    data["name"] = 'a "quoted" name, ünïcode and a back\\slash'
    data["description"] = "two\nlines\tand a tab"
    assert parse_toml(dumps(data, header="a header\nof two lines")) == from_dict(data)


def test_a_malformed_request_gets_one_line_naming_the_field(client: TestClient) -> None:
    r = client.post("/api/compare", json={"scenario": sir(), "variants": [{"label": "x" * 61, "scenario": sir()}]})
    assert r.status_code == 422
    err = r.json()["error"]
    assert err["path"] == "variants.0.label" and "at most 60 characters" in err["message"]
    r = client.post("/api/ode", json={"scenario": sir(), "people": "many"})
    assert r.status_code == 422 and r.json()["error"]["path"] == "people"


def test_a_people_scale_out_of_bounds_is_refused_by_key(client: TestClient) -> None:
    data = sir()
    data["zones"][0]["supplies"] = 1e17
    r = client.post("/api/ode", json={"scenario": data, "people": 10**12})
    assert r.status_code == 422 and r.json()["error"]["path"] == "people"
    r = client.post("/api/ode", json={"scenario": sir(), "people": 0})
    assert r.status_code == 422 and "from 1 to" in r.json()["error"]["message"]


def test_serve_warns_when_bound_beyond_this_machine(monkeypatch: pytest.MonkeyPatch) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from aftermath.cli import app

    served: list[Any] = []
    monkeypatch.setattr(uvicorn.Server, "run", lambda self, sockets=None: served.append(sockets))
    r = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--port", "0", "--no-browser"])
    assert r.exit_code == 0, r.output
    assert "warning" in r.output and "not to this machine only" in r.output
    assert "Aftermath dashboard at http://127.0.0.1:" in r.output and served and served[0][0].getsockname()[1] > 0
    served[0][0].close()
    r = CliRunner().invoke(app, ["serve", "--port", "0", "--no-browser"])
    assert "warning" not in r.output
    served[-1][0].close()


@pytest.mark.slow
def test_aftermath_serve_starts_and_warns_when_not_local() -> None:
    """The command itself: the address it prints answers; bound beyond this machine, it warns."""
    import subprocess
    import sys
    import urllib.request
    from pathlib import Path

    exe = Path(sys.executable).with_name("aftermath")
    proc = subprocess.Popen([str(exe), "serve", "--host", "0.0.0.0", "--port", "0", "--no-browser"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        line = proc.stdout.readline()
        assert line.startswith("Aftermath dashboard at http://127.0.0.1:"), line
        url = line.split(" at ")[1].split(" ")[0]
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as r:
                    assert r.status == 200 and b"Aftermath dashboard" in r.read()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    assert "warning" in err and "not to this machine only" in err


# -- a world's words, its finer samples, its title (each failed on the old page's answers) -------------


@pytest.mark.parametrize("name", ["sir", "munz-basic"])
def test_the_answer_speaks_the_scenarios_vocabulary(client: TestClient, name: str) -> None:
    """``run.vocabulary``: the curves are the vocabulary's groups (S/I/R, S/Z/R) with its labels,
    summed from the run's counts, and the key numbers and costs are in its words."""
    from aftermath.record.fine import fine_counts
    from aftermath.record.vocabulary import key_numbers, vocabulary

    sc = load(name)
    vocab = vocabulary(sc)
    res = client.post("/api/ode", json={"scenario": to_dict(sc)}).json()
    assert res["vocabulary"] == vocab.name
    assert [g["key"] for g in res["groups"]] == ["S", "I" if name == "sir" else "Z", "R"]
    assert [g["label"] for g in res["groups"]] == [g.label for g in vocab.groups]
    assert not {"ferals (Z)", "corpses (D)"} & {g["label"] for g in res["groups"]}
    direct = simulate(sc, engine="ode")
    t, c = fine_counts(direct)
    want = [s.sum(axis=1) for s in vocab.series(c).values()]
    assert np.allclose(res["curves"]["totals"], want, atol=0.006) and np.allclose(res["curves"]["time"], t)
    labels = dict(res["key_numbers"])
    assert labels["initial_humans"] == dict(key_numbers(vocab))["initial_humans"]
    assert "turned feral" not in labels.values()
    costs = {c["key"]: c for c in res["costs"]}
    assert "feral" not in " ".join(c["label"] for c in res["costs"])
    assert costs["culled"]["depth"] == 1 and costs["culled"]["label"].startswith("  of which ")


def test_a_run_with_finer_samples_is_drawn_from_them(client: TestClient) -> None:
    """Munz's ``run.record_every`` = 0.1 day: the curves have the samples within days (101 for 10
    days), the daily record (``totals``, the map's) stays daily; Hyosan's curves are its days."""
    res = client.post("/api/ode", json={"scenario": to_dict(load("munz-basic"))}).json()
    t = np.array(res["curves"]["time"])
    assert res["curves"]["fine"] and len(t) == 10 * res["days"] + 1 and np.allclose(np.diff(t), 0.1)
    assert len(res["totals"][0]) == res["days"] + 1
    z = [g["key"] for g in res["groups"]].index("Z")
    daily_z = np.array(res["totals"][res["states"].index("Z")])
    assert np.allclose(np.array(res["curves"]["totals"][z])[::10], daily_z, atol=0.006)  # whole days agree
    hy = to_dict(load("hyosan"))
    hy["run"]["days"] = 30
    plain = client.post("/api/ode", json={"scenario": hy}).json()
    assert plain["curves"] == {"time": list(range(31)), "fine": False, "by_state": True}


def test_a_worlds_title_and_people_and_an_error_read_as_on_the_command_line(client: TestClient) -> None:
    from aftermath.cli import blurb

    sc = load("munz-basic")
    reply = client.get("/api/scenarios/munz-basic").json()
    assert reply["blurb"] == blurb(sc.description, width=200) and "When zombies attack" in reply["blurb"]
    assert not reply["blurb"].endswith("et al")
    assert reply["people"] == sc.initial_population()
    listed = {b["name"]: b for b in client.get("/api/scenarios").json()}
    assert listed["munz-basic"]["description"] == reply["blurb"]
    data = sir()
    data["run"]["days"] = 0
    r = client.post("/api/ode", json={"scenario": data})
    assert r.status_code == 422 and r.json()["error"]["message"] == "run.days: got 0, expected a number >= 1"
