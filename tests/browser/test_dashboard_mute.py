"""Mute is temporary: it silences the open alerts for `dashboard_mute_max_s` at most, a
new alert ends it at once, and a reload forgets it; the sound button says what the screen
will really do. Time runs on Playwright's clock, so the five minutes pass at once."""

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


def test_a_mute_lasts_five_minutes_at_most_and_never_past_a_new_alert_or_a_reload(
    page: Any, dashboard: Dashboard, mqtt_url: str
) -> None:
    server = dashboard.server
    with server.client(server.admin) as client:
        assert client.get("/api/v1/dashboard/settings").json() == {"mute_max_s": 300}
    first, second = register_room(server, "Room 7 – Mrs Green"), register_room(server, "Room 8")
    token, _ = viewer_token(server)
    page.clock.install()
    sign_in(page, dashboard, token)
    line, button = page.locator(".alarm-line"), page.locator("[data-action=alarm-sound]")
    toggle = page.locator("#sound-toggle")

    publish_over_mqtt(mqtt_url, server, first, "events",
                      make_event(first, action="falling", severity="critical"))  # fmt: skip
    expect(page.locator(".banner", has_text="Room 7")).to_be_visible(timeout=5000)
    expect(line).to_contain_text("Alarm sounding")
    expect(toggle).to_have_text("Sound on")
    button.click()
    expect(line).to_contain_text(
        re.compile(r"Alarm muted: it rings again in (5 min 0|4 min 5\d) s")
    )
    expect(toggle).to_have_text(re.compile(r"^Muted (5 min 0|4 min 5\d) s$"))
    expect(toggle).to_have_attribute("aria-pressed", "false")
    snap(page, "alarm-muted")
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    expect(button).to_be_in_viewport()
    snap(page, "alarm-muted-phone")
    page.set_viewport_size({"width": 768, "height": 1024})
    page.clock.fast_forward("02:00")
    expect(line).to_contain_text(re.compile(r"rings again in (3 min 0|2 min 5\d) s"))
    page.clock.fast_forward("03:01")  # five minutes since the tap: ringing again
    expect(line).to_contain_text("Alarm sounding")
    expect(toggle).to_have_text("Sound on")

    button.click()  # muted for the fall in room 7 ...
    expect(line).to_contain_text("Alarm muted")
    publish_over_mqtt(mqtt_url, server, second, "events",
                      make_event(second, action="falling", severity="critical"))  # fmt: skip
    expect(page.locator(".banner", has_text="Room 8")).to_be_visible(timeout=5000)
    expect(line).to_contain_text("Alarm sounding")  # ... not for the one in room 8

    button.click()
    expect(line).to_contain_text("Alarm muted")
    page.reload()  # a reload forgets the mute; the page asks for a tap before it can ring
    expect(page.locator("#connection")).to_have_attribute("data-state", "live")
    expect(line).to_contain_text("This screen cannot ring yet")
    expect(toggle).to_have_text("Tap for sound")
    expect(toggle).to_have_attribute("data-state", "blocked")
    page.get_by_role("button", name="Allow sound").click()
    expect(line).to_contain_text("Alarm sounding")
    expect(toggle).to_have_text("Sound on")
    acknowledge_all(server)
