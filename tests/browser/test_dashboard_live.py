"""Live data: events published over MQTT reach the overview and the timeline without a
reload; device health is charted; the page reconnects and resyncs after a restart."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.loopback import free_port
from tests.kit.browser import (
    Dashboard,
    dashboard_settings,
    expect,
    publish_over_mqtt,
    register_room,
    sign_in,
    snap,
    viewer_token,
)
from tests.kit.factories import make_event
from tests.kit.outcomes import wait_for
from tests.kit.service import ServerThread

TIMELINE_DEADLINE_MS = 2000


def heartbeat(device: Any, sent_at: datetime, i: int, **overrides: Any) -> dict[str, Any]:
    beat = {
        "device_id": device.id,
        "site": device.site,
        "status": "online",
        "sent_at": sent_at.isoformat(),
        "uptime_s": 3600 + 60 * i,
        "fps_in": 15.0 - (i % 3) * 0.2,
        "fps_out": 7.5 - (i % 4) * 0.3,
        "latency_ms_p50": 18 + (i % 5),
        "latency_ms_p95": 30 + 2 * (i % 5),
        "cpu_percent": 35 + 10 * (i % 3),
        "memory_mb": 210.0,
        "outbox_depth": (i * 7) % 12,
        "model_version": "student-kd-20250101",
    }
    return {**beat, **overrides}


def test_an_mqtt_event_reaches_the_timeline_within_2_s(
    page: Any, dashboard: Dashboard, mqtt_url: str
) -> None:
    server = dashboard.server
    kitchen = register_room(server, "Kitchen")
    bedroom = register_room(server, "Room 12 – Mrs Ada Lovelace")
    token, _ = viewer_token(server)
    sign_in(page, dashboard, token)
    page.get_by_role("link", name="Live timeline").click()
    expect(page.get_by_role("heading", name="Live timeline")).to_be_focused()

    sitting = make_event(bedroom, action="sitting_down", confidence=0.87)
    started = time.monotonic()
    publish_over_mqtt(mqtt_url, server, bedroom, "events", sitting)
    row = page.locator(f'tr[data-event-id="{sitting["event_id"]}"]')
    expect(row).to_be_visible(timeout=TIMELINE_DEADLINE_MS)
    assert time.monotonic() - started < TIMELINE_DEADLINE_MS / 1000
    expect(row).to_contain_text("Sitting down")
    expect(row).to_contain_text("Room 12 – Mrs Ada Lovelace")

    walking = make_event(kitchen, action="walking", confidence=0.64)
    publish_over_mqtt(mqtt_url, server, kitchen, "events", walking)
    walking_row = page.locator(f'tr[data-event-id="{walking["event_id"]}"]')
    expect(walking_row).to_be_visible(timeout=TIMELINE_DEADLINE_MS)
    page.get_by_label("Action", exact=True).select_option("sitting_down")
    expect(walking_row).to_be_hidden()
    expect(row).to_be_visible()
    page.get_by_label("Action", exact=True).select_option("")
    page.get_by_label("Room", exact=True).select_option(label="Kitchen")
    expect(row).to_be_hidden()
    expect(walking_row).to_be_visible()
    page.get_by_label("Room", exact=True).select_option("")

    # Rows follow when things happened, not when they arrived: the end of the sitting
    # (now) comes first, a walk that started a minute ago but arrives last goes below it.
    now = datetime.now(UTC)
    ended = make_event(bedroom, action="sitting_down", type="end", seq=2, confidence=0.87,
                       started_at=sitting["started_at"], ended_at=now.isoformat())  # fmt: skip
    late = make_event(kitchen, action="walking", seq=2,
                      started_at=(now - timedelta(minutes=1)).isoformat())  # fmt: skip
    publish_over_mqtt(mqtt_url, server, bedroom, "events", ended)
    publish_over_mqtt(mqtt_url, server, kitchen, "events", late)
    late_row = page.locator(f'tr[data-event-id="{late["event_id"]}"]')
    expect(late_row).to_be_visible(timeout=TIMELINE_DEADLINE_MS)
    first = page.locator("table.timeline tbody tr").first
    expect(first).to_have_attribute("data-event-id", ended["event_id"])
    expect(first).to_contain_text("Ended (from ")
    ids = page.locator("table.timeline tbody tr").evaluate_all(
        "rows => rows.map(r => r.dataset.eventId)"
    )
    assert ids.index(late["event_id"]) > ids.index(walking["event_id"])
    snap(page, "timeline")
    # On a phone the table becomes a list: one card a row, each cell saying what it is.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator("table.timeline thead")).to_be_hidden()
    card = page.locator(f'tr[data-event-id="{ended["event_id"]}"]')
    box = card.bounding_box()
    assert box is not None and box["width"] <= 390, box  # no column cut off the screen
    # The cells' labels are CSS (::before): they are in what a screen reader reads out.
    expect(card).to_have_accessible_name(
        re.compile(r"Room: Room 12 – Mrs Ada Lovelace .*Phase: Ended \(from ")
    )
    snap(page, "timeline-phone")
    page.set_viewport_size({"width": 1024, "height": 768})

    page.get_by_role("link", name="Overview").click()
    tile = page.locator(".tile", has_text="Room 12")
    expect(tile).to_contain_text("Sitting down")
    expect(tile).to_contain_text("87 %")
    expect(tile).to_contain_text("Online")
    snap(page, "overview")
    page.set_viewport_size({"width": 1280, "height": 800})
    snap(page, "overview-wide")


def test_device_health_is_charted(page: Any, dashboard: Dashboard, mqtt_url: str) -> None:
    server = dashboard.server
    device = register_room(server, "Lounge")
    now = datetime.now(UTC)
    beats = [heartbeat(device, now - timedelta(minutes=5 * (36 - i)), i) for i in range(37)]
    beats[-1]["last_error"] = "camera: 3 frames could not be read (USB reset?)"
    publish_over_mqtt(mqtt_url, server, device, "status", *beats)
    with server.client(server.admin) as client:
        wait_for(
            lambda: len(client.get(f"/api/v1/devices/{device.id}/heartbeats").json()) == len(beats),
            10,
            "the heartbeats to be stored",
        )
    token, _ = viewer_token(server)
    sign_in(page, dashboard, token)
    page.locator(".tile", has_text="Lounge").get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"#/devices/{device.id}$"))
    expect(page.get_by_role("heading", name="Lounge")).to_be_visible()
    expect(page.locator("[data-field=last-error]")).to_contain_text("USB reset?")
    expect(page.locator(".device-facts")).to_contain_text("student-kd-20250101")
    for chart in ("fps", "latency", "cpu", "outbox"):
        expect(page.locator(f"[data-chart={chart}] svg path.line").first).to_be_visible()
    expect(page.locator("[data-chart=fps]")).to_contain_text("camera 15.0")
    snap(page, "device-detail")


def test_the_page_reconnects_and_resyncs_after_a_restart(
    page: Any, dashboard: Dashboard, tmp_path_factory: pytest.TempPathFactory, mqtt_url: str
) -> None:
    port = free_port()
    database = f"sqlite:///{tmp_path_factory.mktemp('restart')}/vigil.db"
    settings = dashboard_settings(database, mqtt_url, tmp_path_factory, port, run_worker=False)
    running = ServerThread(settings, port)
    server = running.start()
    try:
        device = register_room(server, "Room 4")
        token, _ = viewer_token(server)
        sign_in(page, Dashboard(server, running), token)
        page.get_by_role("link", name="Live timeline").click()
        running.stop()
        expect(page.locator("#connection")).to_have_attribute("data-state", "reconnecting")
        expect(page.locator("#connection-lost")).to_be_visible()
        snap(page, "reconnecting")
        server = running.start()
        event = make_event(device, action="bending")
        with server.client(device.headers) as client:  # may land before the page is back
            assert client.post("/api/v1/events", json={"events": [event]}).status_code == 200
        expect(page.locator("#connection")).to_have_attribute("data-state", "live", timeout=20000)
        expect(page.locator(f'tr[data-event-id="{event["event_id"]}"]')).to_be_visible()
        expect(page.locator("#connection-lost")).to_be_hidden()
    finally:
        running.stop()
