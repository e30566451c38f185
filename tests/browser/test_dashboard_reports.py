"""The Reports page at tablet and phone sizes: each room's falls, false alarms and times,
a chart, and the CSV download."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.kit.browser import (
    SIZES,
    Dashboard,
    acknowledge_all,
    expect,
    register_room,
    sign_in,
    snap,
    viewer_token,
)
from tests.kit.factories import make_fall_event


@pytest.mark.parametrize("size", sorted(SIZES))
def test_the_report_shows_each_rooms_alerts_and_downloads_as_csv(
    page: Any, dashboard: Dashboard, size: str
) -> None:
    server = dashboard.server
    site = f"report-care-{size}"
    room = register_room(server, f"Room 30 – Mrs Reed ({size})", site=site)
    fell = datetime.now(UTC) - timedelta(hours=1)
    fall = make_fall_event(room, "update", "confirmed", fell, 2)
    with server.client(room.headers) as client:
        assert client.post("/api/v1/events", json={"events": [fall]}).status_code == 200
    with server.client(server.admin) as client:
        (alert,) = client.get("/api/v1/alerts", params={"site": site}).json()
        client.post(f"/api/v1/alerts/{alert['id']}/acknowledge", json={"outcome": "not_a_fall"})
    acknowledge_all(server)
    page.set_viewport_size(SIZES[size])
    token, _ = viewer_token(server)
    sign_in(page, dashboard, token)
    page.get_by_role("link", name="Reports").click()
    row = page.locator(f"table.report tbody tr[data-device-id={room.id}]")
    expect(row).to_be_visible()
    cells = row.locator("td")
    expect(cells.nth(3)).to_have_text("1")  # falls (the alarm)
    expect(cells.nth(6)).to_have_text("1")  # false alarms: answered "not a fall"
    expect(page.locator("#report-falls svg")).to_be_visible()
    page.get_by_role("button", name="7 days").click()
    expect(page.get_by_role("button", name="7 days")).to_have_attribute("aria-pressed", "true")
    expect(row).to_be_visible()
    snap(page, f"reports-{size}")
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    assert download.suggested_filename.startswith("vigil-rooms-")
    text = open(download.path(), encoding="utf-8").read()
    table = {r["device_id"]: r for r in csv.DictReader(io.StringIO(text))}
    assert table[room.id]["falls"] == "1" and table[room.id]["false_alarms"] == "1"
