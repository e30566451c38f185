"""Escalation shows: an alert nobody answers escalates on the dashboard without any
webhook configured (its banner says so, the alarm turns urgent, a mute ends), and the
Alerts view records that it escalated. Its own service, escalating after 2 s."""

from __future__ import annotations

import re
from typing import Any

import pytest

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
from tests.kit.service import start_webhook


@pytest.mark.parametrize("own_service", [{"alert_escalate_after_s": 2.0}], indirect=True)
def test_an_unanswered_fall_escalates_on_the_dashboard_and_ends_a_mute(
    page: Any, own_service: Dashboard, mqtt_url: str
) -> None:
    server = own_service.server
    assert server.settings.alert_webhook_url is None  # the dashboards alone
    room = register_room(server, "Room 4 – Mrs Khan")
    token, nurse = viewer_token(server, "Nurse Joe")
    sign_in(page, own_service, token)
    publish_over_mqtt(mqtt_url, server, room, "events",
                      make_event(room, action="falling", severity="critical"))  # fmt: skip
    banner = page.locator(".banner", has_text="Room 4")
    expect(banner).to_be_visible(timeout=5000)
    page.locator("[data-action=alarm-sound]").click()  # muted before anyone answered ...
    expect(page.locator(".alarm-line")).to_contain_text("Alarm muted")

    expect(banner).to_have_class(re.compile(r"\bescalated\b"), timeout=10_000)
    expect(banner.locator(".escalated-line")).to_contain_text(
        re.compile(r"Escalated: nobody has answered for \d+ s\. Go now")
    )
    # ... and the escalation ends the mute, with the urgent alarm.
    expect(page.locator(".alarm-line")).to_contain_text("Urgent alarm sounding")
    snap(page, "alert-escalated")

    banner.get_by_role("button", name="Acknowledge").click()
    page.get_by_role("dialog", name="What happened?").get_by_role("button", name="Other").click()
    expect(banner).to_have_count(0)
    page.get_by_role("link", name="Alerts").click()
    row = page.locator("table.acknowledged tbody tr", has_text="Room 4")
    expect(row).to_contain_text(nurse)
    expect(row.locator(".escalated-at")).to_contain_text("yes, at")
    with server.client(server.admin) as client:
        alert = client.get("/api/v1/alerts", params={"state": "acknowledged"}).json()[0]
        detail = client.get(f"/api/v1/alerts/{alert['id']}").json()
    assert [(e["channel"], e["ok"]) for e in detail["escalations"]] == [("dashboard", True)]


ONCALL, _ONCALL_SERVER = start_webhook()  # takes each alert's second POST (the first fails)


@pytest.mark.parametrize(
    "own_service",
    [{"alert_escalate_after_s": 1.0, "alert_oncall_url": ONCALL.url, "alert_oncall_after_s": 1.0}],
    indirect=True,
)
def test_still_unanswered_after_its_escalation_a_fall_goes_to_the_oncall_contact(
    page: Any, own_service: Dashboard, mqtt_url: str
) -> None:
    server = own_service.server
    room = register_room(server, "Room 6 – Mr Ortiz")
    token, _ = viewer_token(server)
    sign_in(page, own_service, token)
    publish_over_mqtt(mqtt_url, server, room, "events",
                      make_event(room, action="falling", severity="critical"))  # fmt: skip
    banner = page.locator(".banner", has_text="Room 6")
    expect(banner.locator(".escalated-line")).to_contain_text(
        "The on-call contact was called at", timeout=15_000
    )
    snap(page, "alert-oncall")
    (call,) = [b for b in ONCALL.received if b["alert"]["device_id"] == room.id]
    assert call["kind"] == "vigil.alert.oncall" and call["room"] == "Room 6 – Mr Ortiz"
    banner.get_by_role("button", name="Acknowledge").click()
    page.get_by_role("dialog", name="What happened?").get_by_role(
        "button", name="Real fall"
    ).click()
    page.get_by_role("link", name="Alerts").click()
    row = page.locator("table.acknowledged tbody tr", has_text="Room 6")
    expect(row.locator(".escalated-at")).to_contain_text("; on call at")
    with server.client(server.admin) as client:
        alert = client.get("/api/v1/alerts", params={"state": "acknowledged"}).json()[0]
        detail = client.get(f"/api/v1/alerts/{alert['id']}").json()
    # The on-call POST failed once and its retry went through: one delivery, two attempts.
    assert [(e["channel"], e["ok"], e["attempts"]) for e in detail["escalations"]] == [
        ("dashboard", True, 1),
        ("oncall", True, 2),
    ]
