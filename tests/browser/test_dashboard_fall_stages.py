"""Two-stage falls on the dashboard, at tablet and phone sizes: a possible fall is a
warning banner that becomes the alarm when the edge confirms it, or closes by itself
when the person gets up, and the Alerts view keeps it as "got up by themselves"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.kit.browser import (
    SIZES,
    Dashboard,
    acknowledge_all,
    expect,
    publish_over_mqtt,
    register_room,
    sign_in,
    snap,
    viewer_token,
)
from tests.kit.factories import make_fall_event


@pytest.mark.parametrize("size", sorted(SIZES))
def test_a_possible_fall_is_confirmed_and_another_recovers(
    page: Any, dashboard: Dashboard, mqtt_url: str, size: str
) -> None:
    server = dashboard.server
    acknowledge_all(server)
    page.set_viewport_size(SIZES[size])
    fell_room = register_room(server, f"Room 18 – Mrs Green ({size})")
    bent_room = register_room(server, f"Room 19 – Mr Hill ({size})")
    token, _ = viewer_token(server)
    sign_in(page, dashboard, token)

    fell = datetime.now(UTC) - timedelta(seconds=3)
    publish_over_mqtt(
        mqtt_url,
        server,
        fell_room,
        "events",
        make_fall_event(fell_room, "start", "possible", fell, 0, 1, confidence=0.93),
    )
    banner = page.locator(".banner", has_text=f"Room 18 – Mrs Green ({size})")
    expect(banner.get_by_role("heading")).to_have_text(
        f"Possible fall – Room 18 – Mrs Green ({size})"
    )
    expect(banner).to_have_class(re.compile(r"\bwarning\b"))  # amber: a chime, no siren
    expect(banner).to_contain_text("Checking whether they get up")
    tile = page.locator(".tile", has_text=f"Room 18 – Mrs Green ({size})")
    expect(tile.locator(".activity")).to_have_text("Possible fall: checking")
    expect(page.locator(".alarm-line")).to_contain_text("soft chime")
    snap(page, f"fall-possible-{size}")

    note = banner.get_by_label("Note (optional)")
    if size == "tablet":  # a phone shows one line an alert: no note field
        note.fill("on my way")  # kept through the change
    publish_over_mqtt(
        mqtt_url,
        server,
        fell_room,
        "events",
        make_fall_event(fell_room, "update", "confirmed", fell, 2, 2, confidence=0.93),
    )
    expect(banner.get_by_role("heading")).to_have_text(f"Fall – Room 18 – Mrs Green ({size})")
    expect(banner).not_to_have_class(re.compile(r"\bwarning\b"))
    expect(banner).to_contain_text(re.compile(r"On the floor for \d+ s · fell at "))
    if size == "tablet":
        expect(note).to_have_value("on my way")
    expect(tile.locator(".activity")).to_have_text("Fall: not acknowledged yet")
    expect(tile.locator(".activity-time")).to_contain_text("On the floor for")
    expect(page.locator(".alarm-line")).to_contain_text("Alarm sounding")
    snap(page, f"fall-confirmed-{size}")

    bent = datetime.now(UTC) - timedelta(seconds=2)
    publish_over_mqtt(
        mqtt_url,
        server,
        bent_room,
        "events",
        make_fall_event(bent_room, "start", "possible", bent, 0, 1, confidence=0.93),
    )
    other = page.locator(".banner", has_text=f"Room 19 – Mr Hill ({size})")
    expect(other.get_by_role("heading")).to_have_text(f"Possible fall – Room 19 – Mr Hill ({size})")
    publish_over_mqtt(
        mqtt_url,
        server,
        bent_room,
        "events",
        make_fall_event(bent_room, "end", "recovered", bent, 2, 2, confidence=0.93),
    )
    expect(other).to_have_count(0)  # got up: nobody need come
    expect(banner).to_be_visible()  # the confirmed fall still waits for a person
    bent_tile = page.locator(".tile", has_text=f"Room 19 – Mr Hill ({size})")
    expect(bent_tile.locator(".activity")).to_have_text("Up again after a possible fall")

    page.get_by_role("link", name="Alerts").click()
    row = page.locator("table.acknowledged tbody tr", has_text=f"Room 19 – Mr Hill ({size})")
    expect(row).to_contain_text("Possible fall, got up")
    expect(row.locator(".who")).to_have_text("vigil")
    expect(row.locator(".note")).to_contain_text("Got up by themselves")
    snap(page, f"fall-recovered-alerts-{size}")
    acknowledge_all(server)
