"""Browser tests: the dashboard in Debian's Chromium, driven by Playwright, against a real
uvicorn (tests/cloud's harness), a real database and the real Mosquitto.

No browser is downloaded: Playwright drives /usr/bin/chromium (`apt-get install -y
chromium`; another path via VIGIL_CHROMIUM). Without playwright or Chromium the tests skip,
or fail under VIGIL_REQUIRE_SERVICES=1. Screenshots go to test-artifacts/browser/.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from shared.loopback import free_port
from tests.kit.browser import Dashboard, dashboard_settings, own_dashboard
from tests.kit.outcomes import missing
from tests.kit.service import ServerThread, database_for

CHROMIUM = Path(os.environ.get("VIGIL_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
TABLET = {"width": 768, "height": 1024}


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists():
        missing(
            f"Chromium not found at {CHROMIUM} (apt-get install -y chromium, or set VIGIL_CHROMIUM)"
        )
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def _dashboard(
    backend: str, tmp_path_factory: pytest.TempPathFactory, mqtt_url: str, request: Any
) -> Iterator[Dashboard]:
    for database_url in database_for(
        backend,
        tmp_path_factory.mktemp(f"{backend}-db"),
        lambda: request.getfixturevalue("postgres_url"),
    ):
        port = free_port()
        settings = dashboard_settings(database_url, mqtt_url, tmp_path_factory, port)
        running = ServerThread(settings, port)
        try:
            yield Dashboard(running.start(), running)
        finally:
            running.stop()


@pytest.fixture(scope="session")
def dashboard(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, mqtt_url: str, request: Any
) -> Iterator[Dashboard]:
    """The service on SQLite, with its ingest, training worker and escalator."""
    yield from _dashboard("sqlite", tmp_path_factory, mqtt_url, request)


@pytest.fixture(scope="session")
def pg_dashboard(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, mqtt_url: str, request: Any
) -> Iterator[Dashboard]:
    """The same service on PostgreSQL."""
    yield from _dashboard("postgresql", tmp_path_factory, mqtt_url, request)


@pytest.fixture
def own_service(
    browser: Any, tmp_path_factory: pytest.TempPathFactory, mqtt_url: str, request: Any
) -> Iterator[Dashboard]:
    """A service of the test's own (SQLite) with the settings the test parametrises it by
    (`indirect=True`): a short escalation, a short offline delay, ..."""
    with own_dashboard(tmp_path_factory, mqtt_url, **request.param) as dashboard:
        yield dashboard


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh tab at tablet size (768 px wide); uncaught page errors fail the test."""
    context = browser.new_context(viewport=TABLET, locale="en-GB", timezone_id="Europe/Paris")
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    yield tab
    context.close()
    assert not errors, f"uncaught errors in the page: {errors}"
