"""One dashboard server and one chromium for the whole browser session; a fresh page per test,
whose console errors and page errors fail the test."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.serve_util import CHROMIUM, CHROMIUM_ARGS, running_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    with running_server() as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"the dashboard's browser tests need Debian's chromium at {CHROMIUM} "
                    "(apt-get install chromium); it is not there", pytrace=False)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser: Any, server_url: str) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 950}, accept_downloads=True)
    pg = context.new_page()
    problems: list[str] = []
    pg.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    pg.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    pg.problems = problems
    pg.allowed = []  # a test that expects a refusal lists its status here: "status of 422"
    pg.goto(server_url)
    pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
    yield pg
    context.close()
    left = [m for m in problems if not any(a in m for a in pg.allowed)]
    assert not left, left


@pytest.fixture(scope="session")
def shots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
