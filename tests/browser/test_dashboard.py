"""The dashboard in a real browser: Playwright driving Debian's chromium (``/usr/bin/chromium``).

One server and one browser for the session (``conftest.py``); each test gets a fresh page whose
console errors fail it. Screenshots of the main views go to ``test-output/screenshots/``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from aftermath.record.vocabulary import scenario_vocabulary, word
from aftermath.scenario.load import load, parse_toml

STATE = "window.aftermath"


def load_builtin_people(name: str) -> float:
    return load(name).initial_population()


def text_lefts(page: Any, table: str) -> dict[str, float]:
    """A table's first column: each row's label and where its first letter is drawn (px from the left)."""
    return dict(page.evaluate(f"""[...document.querySelectorAll('#{table} tr td:first-child')].map((td) => {{
        const node = td.firstChild, r = document.createRange(), at = node.textContent.search(/\\S/);
        r.setStart(node, at); r.setEnd(node, at + 1);
        return [td.textContent.trim(), r.getBoundingClientRect().left]; }})"""))


def draws(page: Any) -> int:
    return int(page.evaluate(f"{STATE}.draws"))


def wait_drawn(page: Any, before: int, timeout: float = 30_000) -> None:
    page.wait_for_function(f"{STATE}.draws > {before}", timeout=timeout)


def choose_world(page: Any, name: str) -> None:
    before = draws(page)
    page.select_option("#builtin", name)
    wait_drawn(page, before)


def totals(page: Any) -> np.ndarray:
    return np.array(page.evaluate(f"{STATE}.result.totals"))


def set_field(page: Any, selector: str, value: str) -> None:
    page.fill(selector, value)
    page.dispatch_event(selector, "change")


def test_the_page_loads_with_a_chart_and_every_view_renders(page: Any, shots: Path) -> None:
    assert page.evaluate(f"{STATE}.result.scenario") == "Hyosan"
    assert page.locator("#chart-world .u-over").count() == 1  # uPlot drew the world chart
    assert page.locator("#levers-walls input[type=range]").count() == 6
    assert page.get_by_text("Eastern quarantine district").first.is_visible()  # display names, not ids
    page.screenshot(path=str(shots / "curves.png"), full_page=True)
    for tab, check in [("map", "#map circle"), ("chronicle", "#chronicle li"), ("ledger", "#official tr"),
                       ("virus", "#phylogeny img"), ("compare", "#compare")]:
        page.click(f"#tab-{tab}")
        page.wait_for_selector(f"#view-{tab}:not([hidden])")
        page.wait_for_selector(check)
        if tab == "virus":
            page.wait_for_function("document.querySelector('#phylogeny img').complete && "
                                   "document.querySelector('#phylogeny img').naturalWidth > 0")
        page.screenshot(path=str(shots / f"{tab}.png"), full_page=True)
    page.click("#tab-chronicle")
    first = page.locator("#chronicle li button").nth(3)
    day = int(first.locator(".d").inner_text().removeprefix("day "))
    first.click()  # the chronicle links to the day on the map
    page.wait_for_selector("#view-map:not([hidden])")
    assert page.input_value("#day") == str(day) and page.locator("#day-out").inner_text() == str(day)


def test_moving_a_slider_reruns_the_ode_and_changes_the_chart(page: Any) -> None:
    before_totals, before = totals(page), draws(page)
    slider = page.locator("[data-path='pathogen.beta'][type=range]")
    slider.fill("0.9")  # sets the value and fires input, as a drag does
    wait_drawn(page, before)
    page.wait_for_function(f"{STATE}.odeBusy === false")
    after = totals(page)
    assert page.evaluate("window.aftermath.scenario.pathogen.beta") == 0.9
    assert not np.allclose(before_totals, after)
    z = page.evaluate(f"{STATE}.result.states").index("Z")
    assert after[z][10:].sum() > before_totals[z][10:].sum()  # a faster bite: more ferals
    # the answer was light (the curves); the other views of this run follow and are drawn
    page.wait_for_function(f"{STATE}.result.map !== undefined && {STATE}.result.light === undefined")
    page.click("#tab-chronicle")
    events = page.evaluate(f"{STATE}.result.chronicle.length")
    page.wait_for_function(f"document.querySelectorAll('#chronicle li').length === {events}")


def test_an_abm_run_shows_progress_then_its_result(page: Any, shots: Path) -> None:
    page.select_option("#f-run_engine", "abm")
    set_field(page, "#f-run_days", "300")
    set_field(page, "#people", "60000")  # about a second of work: several progress reports
    before = draws(page)
    page.click("#run")
    page.wait_for_selector("#progress-box:not([hidden])")
    page.wait_for_function(f"{STATE}.progressSeen.some(p => p.status === 'running' && p.done > 0)", timeout=30_000)
    page.screenshot(path=str(shots / "abm-progress.png"))
    wait_drawn(page, before, timeout=60_000)
    seen = page.evaluate(f"{STATE}.progressSeen")
    running = [p for p in seen if p["status"] == "running" and p["done"] > 0]
    assert running and 0 < running[0]["done"] < running[0]["total"] == 300
    assert seen[-1]["status"] == "done"
    # the progress came through the server's event stream (EventSource), not by polling
    assert {p["via"] for p in seen} == {"stream"}, seen
    assert page.evaluate(f"{STATE}.streamMessages") == len(seen) and page.evaluate(f"{STATE}.streamFailures") == 0
    assert page.evaluate(f"{STATE}.channel") == "stream" and page.evaluate(f"{STATE}.stream") is None  # closed
    assert page.evaluate(f"{STATE}.result.engine") == "abm"
    assert page.evaluate(f"{STATE}.result.summary.initial_humans") <= 60_000
    assert page.locator("#dl-csv").get_attribute("aria-disabled") is None
    page.click("#tab-ledger")
    page.wait_for_selector("#ledger th")
    assert "ledger flag" in page.locator("#ledger").inner_text()


def test_progress_falls_back_to_polling_when_the_stream_fails(page: Any) -> None:
    """The event stream refused (here by the browser: the request aborted): the page polls the job
    instead and still shows its progress and result."""
    page.allowed.append("net::ERR_FAILED")  # the aborted stream's own console line
    page.route("**/api/jobs/*/events", lambda route: route.abort())
    page.select_option("#f-run_engine", "abm")
    set_field(page, "#f-run_days", "200")
    set_field(page, "#people", "20000")
    before = draws(page)
    page.click("#run")
    wait_drawn(page, before, timeout=60_000)
    seen = page.evaluate(f"{STATE}.progressSeen")
    assert {p["via"] for p in seen} == {"poll"} and seen[-1]["status"] == "done", seen
    assert page.evaluate(f"{STATE}.streamFailures") == 1 and page.evaluate(f"{STATE}.channel") == "poll"
    assert page.evaluate(f"{STATE}.result.engine") == "abm"


def test_a_run_can_be_cancelled(page: Any) -> None:
    page.select_option("#f-run_engine", "abm")
    set_field(page, "#people", "100000")
    page.click("#run")
    page.wait_for_function(f"{STATE}.progressSeen.some(p => p.status === 'running' && p.done > 0)", timeout=30_000)
    page.click("#cancel")
    page.wait_for_function(f"{STATE}.progressSeen.some(p => p.status === 'cancelled')", timeout=30_000)
    assert page.evaluate(f"{STATE}.progressSeen.at(-1).via") == "stream"  # the stream's end tells the cancel
    assert "Cancelled" in page.locator("#status").inner_text()
    assert page.locator("#run").is_enabled()


def test_two_variants_are_compared_under_common_random_numbers(page: Any, shots: Path) -> None:
    choose_world(page, "sir")
    set_field(page, "#people", "20000")
    page.click("#tab-compare")
    page.fill("#variant-label", "slower bite")
    page.locator("[data-path='pathogen.beta'][type=range]").fill("0.15")
    page.click("#add-variant")
    page.fill("#variant-label", "faster bite")
    page.locator("[data-path='pathogen.beta'][type=range]").fill("0.4")
    page.click("#add-variant")
    page.select_option("#cmp-engine", "ssa")
    page.fill("#cmp-runs", "3")
    set_field(page, "#f-run_days", "100")
    page.click("#compare")
    page.wait_for_selector("#comparison tr:nth-child(3)", timeout=60_000)
    text = page.locator("#comparison").inner_text()
    head = page.locator("#comparison tr").first.inner_text()
    assert "baseline" in head and "slower bite" in head and "faster bite" in head
    survivors = word("survivors", scenario_vocabulary(load("sir")))  # in the SIR limit's words
    assert "lives saved" in text and survivors in text
    x = text_lefts(page, "comparison")  # "of which" rows indented under the row they are part of
    deaths = word("deaths", scenario_vocabulary(load("sir")))
    assert x["of which killed by policy"] > x[deaths] + 5, x
    page.screenshot(path=str(shots / "compare.png"), full_page=True)


def test_the_downloaded_toml_loads_back_to_identical_results(page: Any, tmp_path: Path) -> None:
    before = draws(page)
    page.locator("[data-path='zones.2.wall'][type=range]").fill("0.5")
    wait_drawn(page, before)
    page.wait_for_function(f"{STATE}.odeBusy === false")
    edited = totals(page)
    with page.expect_download() as info:
        page.click("#dl-toml")
    path = tmp_path / info.value.suggested_filename
    info.value.save_as(path)
    text = path.read_text(encoding="utf-8")
    assert parse_toml(text).zones[2].wall == 0.5
    choose_world(page, "sir")
    before = draws(page)
    page.set_input_files("#upload", str(path))
    wait_drawn(page, before)
    assert np.array_equal(totals(page), edited)
    assert page.evaluate(f"{STATE}.scenario.zones[2].wall") == 0.5


def test_an_oversized_run_and_a_broken_file_are_refused_with_their_message(page: Any, tmp_path: Path,
                                                                           shots: Path) -> None:
    page.allowed = ["status of 422"]
    page.select_option("#f-run_engine", "abm")
    set_field(page, "#people", "10000000")
    page.click("#run")
    page.wait_for_selector("#banner.show")
    banner = page.locator("#banner").inner_text()
    assert "people" in banner and "in the dashboard" in banner and "person-steps" in banner
    assert page.get_attribute("#people", "aria-invalid") == "true"
    assert "expected at most" in page.locator("#people").locator("xpath=..").locator(".err-msg").inner_text()
    page.screenshot(path=str(shots / "refused.png"))
    assert page.evaluate(f"{STATE}.progressSeen.length") == 0  # nothing started
    broken = tmp_path / "broken.toml"
    broken.write_text('name = "x"\n[pathogen\nbeta = 1\n', encoding="utf-8")
    page.set_input_files("#upload", str(broken))
    page.wait_for_function("document.querySelector('#banner').textContent.includes('broken.toml')")
    assert "line 2, column 10" in page.locator("#banner").inner_text()
    assert "valid TOML" in page.locator("#banner").inner_text()
    # a value out of bounds in the form: the message sits next to that field
    page.select_option("#f-run_engine", "ode")
    before = page.evaluate(f"{STATE}.odeSeq")
    page.locator("#all-keys > summary").click()
    set_field(page, "#f-pathogen_kappa", "3")
    page.wait_for_function(f"{STATE}.odeSeq > {before} && !{STATE}.odeBusy")
    msg = page.locator("#f-pathogen_kappa").locator("xpath=../..").locator(".err-msg").inner_text()
    assert "expected a number <= 1" in msg
    assert "pathogen.kappa" in page.locator("#banner").inner_text()


def test_the_main_controls_work_from_the_keyboard(page: Any) -> None:
    page.locator("#builtin").focus()
    assert page.evaluate("document.activeElement.id") == "builtin"
    # to the bite-rate slider with Tab only
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.path") == "pathogen.beta":
            break
    assert page.evaluate("document.activeElement.dataset.path") == "pathogen.beta"
    before, beta = draws(page), page.evaluate("window.aftermath.scenario.pathogen.beta")
    page.keyboard.press("ArrowRight")
    wait_drawn(page, before)
    assert page.evaluate("window.aftermath.scenario.pathogen.beta") > beta
    # the views: arrow keys along the tabs
    page.locator("#tab-curves").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.id") == "tab-map"
    assert page.locator("#view-map").is_visible()
    # the day slider and play button
    page.locator("#day").focus()
    page.keyboard.press("End")
    # (the label as a user sees it once the page has caught up: on a busy machine CI read day 0 here)
    page.wait_for_function(f"document.querySelector('#day-out').textContent === String({STATE}.result.days)",
                           timeout=10_000)
    page.locator("#play").focus()
    page.keyboard.press("Enter")
    page.wait_for_function("document.querySelector('#day-out').textContent !== String(window.aftermath.result.days)")
    page.keyboard.press("Enter")  # pause
    # Run, by Enter on the button
    before = draws(page)
    page.locator("#run").focus()
    page.keyboard.press("Enter")
    wait_drawn(page, before)


def test_a_link_reproduces_the_view(page: Any, browser: Any, server_url: str) -> None:
    before = draws(page)
    page.locator("[data-path='pathogen.p_hybrid'][type=range]").fill("0.6")
    wait_drawn(page, before)
    page.wait_for_function(f"{STATE}.odeBusy === false")
    page.click("#tab-map")
    page.click("#share")
    page.wait_for_function("document.querySelector('#share-url').value.includes('#v=')")
    url = page.input_value("#share-url")
    assert url.startswith(server_url) and "#v=" in url
    want = totals(page)
    other = browser.new_context(viewport={"width": 1200, "height": 800}).new_page()
    other.goto(url)
    other.wait_for_selector("body[data-ready='1']", timeout=30_000)
    assert other.evaluate(f"{STATE}.scenario.pathogen.p_hybrid") == 0.6
    assert np.array_equal(totals(other), want)
    assert other.locator("#view-map").is_visible()
    other.context.close()


def test_a_new_world_starts_as_written_in_its_own_words(page: Any, shots: Path) -> None:
    """Each failed on the old page: the people scale carried over to the next world, the progress
    of the last world's run stayed, the legends said "ferals (Z)" for Munz and the SIR limit, Munz's
    curves were 11 daily points, its title stopped at "et al", an error began "<dashboard>: "."""
    page.allowed = ["status of 422"]
    choose_world(page, "sir")
    legend = page.locator("#chart-world .u-legend").inner_text()
    assert "S: susceptible" in legend and "I: infectious" in legend and "ferals" not in legend
    set_field(page, "#people", "20000")
    page.select_option("#f-run_engine", "ssa")
    set_field(page, "#f-run_days", "20")
    page.wait_for_function(f"{STATE}.odeBusy === false")
    page.click("#run")
    page.wait_for_function(f"{STATE}.progressSeen.some(p => p.status === 'done') && {STATE}.result.engine === 'ssa'",
                           timeout=30_000)
    assert page.locator("#progress-box").is_visible() and "done" in page.locator("#progress-text").inner_text()
    choose_world(page, "hyosan")
    people = load_builtin_people("hyosan")  # everyone at the start, as the scale counts them
    assert page.input_value("#people") == "" and f"{people:,.0f}" in page.get_attribute("#people", "placeholder")
    assert page.evaluate(f"{STATE}.result.summary.initial_humans") == 35_260  # not scaled to 20,000
    assert not page.locator("#progress-box").is_visible() and page.locator("#progress-text").inner_text() == ""
    # the chronicle names a zone once
    page.click("#tab-chronicle")
    page.wait_for_selector("#chronicle li")
    lines = page.locator("#chronicle li").all_inner_texts()
    assert any("Eastern quarantine district was sealed" in t for t in lines)
    assert not any("Eastern quarantine district: Eastern quarantine district" in t for t in lines), lines[:5]
    # the costs' "of which" rows are indented under the cost they are part of
    page.click("#tab-ledger")
    page.wait_for_selector("#costs td")
    x = text_lefts(page, "costs")
    assert x["of which hybrids culled"] > x["killed by policy"] + 5, x
    page.screenshot(path=str(shots / "costs.png"), full_page=True)
    page.click("#tab-curves")
    choose_world(page, "munz-basic")
    title = page.locator("#world-title").inner_text()
    assert "When zombies attack" in title and not title.endswith("et al")
    legend = page.locator("#chart-world .u-legend").inner_text()
    assert "Z: zombies" in legend and "R: removed" in legend and "ferals" not in legend and "corpses" not in legend
    keys = page.locator("#keys").inner_text()
    assert "turned into zombies" in keys and "turned feral" not in keys
    assert page.evaluate(f"{STATE}.charts.world.data[0].length") == 101  # 10 days sampled every 0.1 day
    assert page.evaluate(f"{STATE}.charts.zones.data[0].length") == 101
    page.screenshot(path=str(shots / "munz.png"), full_page=True)
    set_field(page, "#f-run_days", "0")
    page.wait_for_selector("#banner.show")
    assert page.locator("#banner").inner_text().startswith("run.days: got 0, expected a number >= 1")
