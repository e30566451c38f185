"""Helpers for the browser tests: the server under test, signing in, screenshots."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from cloud.service.settings import Settings
from shared.loopback import free_port
from shared.topics import DeviceTopicKind, device_topic
from tests.kit.factories import TestDevice, mqtt_client, publish, random_id
from tests.kit.service import CLIP_LIMIT, Server, ServerThread

try:  # absent: the `browser` fixture skips (or fails) with the reason, before any test runs
    from playwright.sync_api import expect
except ImportError:
    expect: Any = None

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"
# The screens a carer holds: a tablet across (the nurses' station) and a phone (a pocket).
SIZES = {"tablet": {"width": 1024, "height": 768}, "phone": {"width": 390, "height": 844}}


@dataclass
class Dashboard:
    """The service under test, and the thread that runs it (to stop and start it again)."""

    server: Server
    running: ServerThread

    @property
    def url(self) -> str:
        return f"{self.server.base_url}/"


def dashboard_settings(
    database_url: str,
    mqtt_url: str,
    tmp_path_factory: pytest.TempPathFactory,
    port: int,
    **overrides: Any,
) -> Settings:
    values: dict[str, Any] = {
        "env": "production",
        "admin_token": secrets.token_urlsafe(32),
        "database_url": database_url,
        "mqtt_url": mqtt_url,
        "mqtt_topic_root": f"vigil-browser-{uuid.uuid4().hex[:8]}",
        "data_dir": tmp_path_factory.mktemp("data"),
        "public_base_url": f"http://127.0.0.1:{port}",
        "clip_max_bytes": CLIP_LIMIT,
        "worker_poll_s": 0.2,
        "alert_check_s": 0.5,
        # The session's rooms go quiet between tests; a test of rooms going dark sets less.
        "device_offline_after_s": 86_400,
    }
    return Settings(**{**values, **overrides})


@contextmanager
def own_dashboard(
    tmp_path_factory: pytest.TempPathFactory, mqtt_url: str, **overrides: Any
) -> Iterator[Dashboard]:
    """A service of the test's own (SQLite) with `overrides` (a short escalation, ...),
    for settings the session's shared dashboard cannot take."""
    port = free_port()
    db = tmp_path_factory.mktemp("own-db") / "vigil.db"
    running = ServerThread(
        dashboard_settings(f"sqlite:///{db}", mqtt_url, tmp_path_factory, port, **overrides),
        port,
    )
    try:
        yield Dashboard(running.start(), running)
    finally:
        running.stop()


def viewer_token(server: Server, name: str | None = None) -> tuple[str, str]:
    """A new viewer token: (token, the name acknowledgements record)."""
    name = name or random_id("nurse")
    with server.client(server.admin) as client:
        response = client.post("/api/v1/tokens", json={"name": name})
    assert response.status_code == 201, response.text
    return response.json()["token"], name


def acknowledge_all(server: Server) -> None:
    """Acknowledge every open alert: the session's dashboard is shared, and a test's open
    alerts would push the next test's banners out of the three shown."""
    with server.client(server.admin) as client:
        for alert in client.get("/api/v1/alerts", params={"state": "open"}).json():
            client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", json={"note": "test over"})


def register_room(server: Server, name: str, site: str = "sunny-care") -> TestDevice:
    """Register a device with a room's name, as an installer would."""
    body = {"device_id": random_id("cam"), "site": site, "name": name}
    with server.client(server.admin) as client:
        response = client.post("/api/v1/devices", json=body)
    assert response.status_code == 201, response.text
    return TestDevice(body["device_id"], site, response.json()["token"], response.json())


def sign_in(page: Any, dashboard: Dashboard, token: str) -> None:
    page.goto(dashboard.url)
    page.get_by_label("Access token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#shell")).to_be_visible()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")


def snap(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (test-artifacts/browser/NAME.png)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def publish_over_mqtt(
    mqtt_url: str, server: Server, device: TestDevice, kind: DeviceTopicKind, *payloads: dict
) -> None:
    """Publish as the device on its own topic, through the real broker (QoS 1, acked)."""
    client = mqtt_client(mqtt_url)
    try:
        for payload in payloads:
            publish(client, device_topic(device.site, device.id, kind, server.root), payload)
    finally:
        client.loop_stop()
        client.disconnect()
