"""Alerts, on PostgreSQL: a fall published over MQTT raises a banner that stays until it
is acknowledged; the acknowledgement (who, when, note) survives a reload."""

from __future__ import annotations

import re
from typing import Any

from tests.kit.browser import (
    Dashboard,
    acknowledge_all,
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
    expect(banner).to_contain_text(re.compile(r"On the floor for \d+ s · fell at "))
    expect(banner).to_contain_text("very likely. Go to the room now.")  # words, not 93 %
    first = page.locator(".tile").first  # its room comes first, and says the alert's story
    expect(first).to_contain_text("Alert: Fall")
    expect(first.locator(".activity")).to_have_text("Fall: not acknowledged yet")
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
    question = page.get_by_role("dialog", name="What happened?")
    expect(question).to_contain_text("Fall in Room 3 – Mr Brown")
    snap(page, "alert-what-happened")
    question.get_by_role("button", name="Cancel").click()  # not answered: still open
    expect(banner).to_be_visible()
    banner.get_by_role("button", name="Acknowledge").click()
    question.get_by_role("button", name="Real fall").click()
    expect(banner).to_have_count(0)
    expect(page.locator("#alert-banners")).to_be_hidden()
    with server.client(server.admin) as client:
        alert = wait_for(
            lambda: client.get("/api/v1/alerts", params={"state": "acknowledged"}).json(),
            5,
            "the acknowledged alert",
        )[0]
    assert (alert["acknowledged_by"], alert["ack_note"], alert["outcome"]) == (
        nurse,
        "Helped him up; no injury",
        "real_fall",
    )

    page.reload()
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    page.get_by_role("link", name="Alerts").click()
    row = page.locator("table.acknowledged tbody tr", has_text="Room 3 – Mr Brown")
    expect(row).to_contain_text(nurse)
    expect(row).to_contain_text("Helped him up; no injury")
    expect(row.locator(".outcome")).to_have_text("Real fall")
    expect(row.locator(".took")).to_have_text(re.compile(r"^\d+ s$"))
    page.get_by_label("What happened:").select_option("not_a_fall")  # the filter
    expect(row).to_have_count(0)
    page.get_by_label("What happened:").select_option("real_fall")
    expect(row).to_be_visible()
    expect(page.locator(".banner")).to_have_count(0)
    snap(page, "alerts-acknowledged")


def test_on_a_phone_three_open_alerts_leave_the_rooms_in_view(
    page: Any, dashboard: Dashboard, mqtt_url: str
) -> None:
    server = dashboard.server
    rooms = [register_room(server, f"Room {n} – phone", site="phone-care") for n in (21, 22, 23)]
    token, _ = viewer_token(server)
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, dashboard, token)
    for room in rooms:
        publish_over_mqtt(mqtt_url, server, room, "events",
                          make_event(room, action="falling", severity="critical"))  # fmt: skip
    banners = page.locator(".banner", has_text="– phone")
    expect(banners).to_have_count(3, timeout=5000)
    box = page.locator("#alert-banners").bounding_box()
    assert box is not None and box["height"] < 844 / 2, box  # was 809 of 844 px
    for i in range(3):  # one line each: what, where, and the button to acknowledge
        expect(banners.nth(i).get_by_role("button", name="Acknowledge")).to_be_in_viewport()
    snap(page, "alerts-phone")

    banners.first.get_by_role("button", name="Acknowledge").click()
    page.get_by_role("dialog", name="What happened?").get_by_role(
        "button", name="Got up unaided"
    ).click()  # one tap more, in reach on a phone
    expect(banners).to_have_count(2)
    # The acknowledged fall's episode goes on: its card says it was seen to, not red news.
    seen = page.locator(".tile", has_text="Room 21 – phone").locator(".activity")
    expect(seen).to_have_text("Fall (acknowledged)")
    acknowledge_all(server)
