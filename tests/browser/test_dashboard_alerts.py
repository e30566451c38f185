"""Alerts, on PostgreSQL: a fall published over MQTT raises a banner that stays until it
is acknowledged; the acknowledgement (who, when, note) survives a reload."""

from __future__ import annotations

import re
from typing import Any

from tests.kit.browser import (
    Dashboard,
    expect,
    publish_over_mqtt,
    register_room,
    sign_in,
    snap,
    viewer_token,
)
from tests.kit.factories import make_event
from tests.kit.outcomes import wait_for


def test_a_fall_raises_a_banner_until_acknowledged(
    page: Any, pg_dashboard: Dashboard, mqtt_url: str
) -> None:
    server = pg_dashboard.server
    assert server.backend == "postgresql"
    room = register_room(server, "Room 3 – Mr Brown")
    register_room(server, "Room 5")
    token, nurse = viewer_token(server, "Nurse Amy")
    sign_in(page, pg_dashboard, token)

    fall = make_event(room, action="falling", severity="critical", confidence=0.93)
    publish_over_mqtt(mqtt_url, server, room, "events", fall)
    banner = page.locator(".banner", has_text="Room 3 – Mr Brown")
    expect(banner).to_be_visible(timeout=5000)
    expect(banner.get_by_role("heading")).to_have_text("Fall – Room 3 – Mr Brown")
    expect(banner).to_contain_text(re.compile(r"Fired \d+ s ago"))
    expect(page.locator(".tile").first).to_contain_text("Alert: Fall")  # its room comes first
    expect(page.locator("[data-action=alarm-sound]")).to_have_text("Mute")
    page.locator("[data-action=alarm-sound]").click()
    expect(page.locator(".alarm-line")).to_contain_text("muted")
    page.locator("[data-action=alarm-sound]").click()  # back on for the next person
    expect(page.locator(".alarm-line")).to_contain_text("Alarm sounding")
    page.get_by_role("link", name="Live timeline").click()
    expect(banner).to_be_visible()  # on every page
    page.get_by_role("link", name="Overview").click()
    snap(page, "alert-banner")

    banner.get_by_label("Note (optional)").fill("Helped him up; no injury")
    banner.get_by_role("button", name="Acknowledge").click()
    expect(banner).to_have_count(0)
    expect(page.locator("#alert-banners")).to_be_hidden()
    with server.client(server.admin) as client:
        alert = wait_for(
            lambda: client.get("/api/v1/alerts", params={"state": "acknowledged"}).json(),
            5,
            "the acknowledged alert",
        )[0]
    assert (alert["acknowledged_by"], alert["ack_note"]) == (nurse, "Helped him up; no injury")

    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    page.get_by_role("link", name="Alerts").click()
    row = page.locator("table.acknowledged tbody tr", has_text="Room 3 – Mr Brown")
    expect(row).to_contain_text(nurse)
    expect(row).to_contain_text("Helped him up; no injury")
    expect(row.locator(".took")).to_have_text(re.compile(r"^\d+ s$"))
    expect(page.locator(".banner")).to_have_count(0)
    snap(page, "alerts-acknowledged")
