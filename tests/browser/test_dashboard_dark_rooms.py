"""Rooms that go dark raise alarms: a device whose heartbeats stop (over the real broker)
turns offline with an amber warning and a red card, and the warning closes by itself
when it is heard again; a heartbeat saying the camera failed does the same. Its own
service, calling a device offline after 3 s of silence."""

from __future__ import annotations

import re
from typing import Any

import pytest

from shared.messages import utc_now
from tests.kit.browser import (
    Dashboard,
    expect,
    publish_over_mqtt,
    register_room,
    sign_in,
    snap,
    viewer_token,
)


def heartbeat(device: Any, camera_ok: bool = True) -> dict[str, Any]:
    return {"device_id": device.id, "site": device.site, "status": "online",
            "sent_at": utc_now().isoformat(), "camera_ok": camera_ok}  # fmt: skip


@pytest.mark.parametrize("own_service", [{"device_offline_after_s": 5.0}], indirect=True)
def test_a_silent_room_and_a_failed_camera_raise_warnings_that_close_by_themselves(
    page: Any, own_service: Dashboard, mqtt_url: str
) -> None:
    server = own_service.server
    quiet, broken = register_room(server, "Room 9 – Mr Lee"), register_room(server, "Room 10")
    token, _ = viewer_token(server)
    sign_in(page, own_service, token)
    publish_over_mqtt(mqtt_url, server, quiet, "status", heartbeat(quiet))
    publish_over_mqtt(mqtt_url, server, broken, "status", heartbeat(broken, camera_ok=False))

    failed = page.locator(".banner", has_text="Room 10")
    expect(failed).to_be_visible(timeout=5000)
    expect(failed.get_by_role("heading")).to_have_text("Camera fault – Room 10")
    expect(failed).to_have_class(re.compile(r"\bwarning\b"))
    tile = page.locator(".tile", has_text="Room 10")
    expect(tile.locator(".pill")).to_have_text("Camera fault")

    # Room 9 says nothing more: offline after 5 s, its card red, its banner amber.
    silent = page.locator(".banner", has_text="Room 9")
    expect(silent).to_be_visible(timeout=15_000)
    expect(silent.get_by_role("heading")).to_have_text("Device offline – Room 9 – Mr Lee")
    expect(silent).to_contain_text("No video since")
    expect(silent).to_contain_text("this room is not watched")
    expect(page.locator(".tile", has_text="Room 9").locator(".pill")).to_have_text("Offline")
    expect(page.locator("#alert-banners")).to_have_class(re.compile(r"\bcalm\b"))
    expect(page.locator(".alarm-line")).to_contain_text("soft chime")
    snap(page, "rooms-gone-dark")

    publish_over_mqtt(mqtt_url, server, quiet, "status", heartbeat(quiet))  # back
    publish_over_mqtt(mqtt_url, server, broken, "status", heartbeat(broken))  # camera fixed
    expect(page.locator(".banner")).to_have_count(0, timeout=10_000)
    expect(tile.locator(".pill")).to_have_text("Online")
    page.get_by_role("link", name="Alerts").click()
    # Room 10 was silent too after its one heartbeat: offline, then back with the camera.
    for room, what in (("Room 9", "Device offline"), ("Room 10", "Camera fault"),
                       ("Room 10", "Device offline")):  # fmt: skip
        row = page.locator("table.acknowledged tbody tr", has_text=room).filter(has_text=what)
        expect(row).to_contain_text("vigil")
        expect(row).to_contain_text("Closed by itself")
