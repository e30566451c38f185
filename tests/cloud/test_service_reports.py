"""Reports per room: falls, possible falls, false alarms, time to acknowledge and on the
floor, from the alerts the real service recorded; as JSON and as a CSV download."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tests.kit.factories import create_random_device, create_viewer, make_fall_event
from tests.kit.service import Server


def test_a_rooms_report_counts_what_its_alerts_came_to(server: Server) -> None:
    room = create_random_device(server)
    quiet = create_random_device(server, site=room.site)
    now = datetime.now(UTC)
    falls = [now - timedelta(hours=h) for h in (5, 4, 3)]
    bend = now - timedelta(hours=2)
    old = now - timedelta(days=40)  # outside the default 30 days
    events = [
        *[make_fall_event(room, "start", "possible", t, 0, i) for i, t in enumerate(falls)],
        *[make_fall_event(room, "update", "confirmed", t, 2, 10 + i) for i, t in enumerate(falls)],
        make_fall_event(room, "end", "confirmed", falls[0], 95, 20),  # seen getting up 95 s later
        make_fall_event(room, "start", "possible", bend, 0, 21),
        make_fall_event(room, "end", "recovered", bend, 2, 22),
        make_fall_event(room, "update", "confirmed", old, 2, 23),
    ]
    with server.client(room.headers) as client:
        assert client.post("/api/v1/events", json={"events": events}).status_code == 200
    viewer = create_viewer(server, name="nurse-report")
    with server.client(viewer) as client:
        alerts = client.get("/api/v1/alerts", params={"site": room.site}).json()
        by_start = {datetime.fromisoformat(a["started_at"]): a["id"] for a in alerts}
        answers = {falls[0]: "real_fall", falls[1]: "not_a_fall"}  # falls[2]: unanswered
        acked = [
            client.post(f"/api/v1/alerts/{by_start[t]}/acknowledge", json={"outcome": o}).json()
            for t, o in answers.items()
        ]
        client.post(f"/api/v1/alerts/{by_start[old]}/acknowledge", json={"outcome": "other"})
        report = client.get("/api/v1/reports/rooms", params={"site": room.site}).json()
        download = client.get("/api/v1/reports/rooms.csv", params={"site": room.site})
        wrong = client.get(
            "/api/v1/reports/rooms", params={"since": now.isoformat(), "until": old.isoformat()}
        )
    rows = {r["device_id"]: r for r in report}
    got = rows[room.id]
    took = [
        (
            datetime.fromisoformat(a["acknowledged_at"]) - datetime.fromisoformat(a["opened_at"])
        ).total_seconds()
        for a in acked
    ]
    assert {k: got[k] for k in ("possible_falls", "got_up", "falls", "long_lies", "real_falls",
                                "false_alarms", "unanswered")} == {
        "possible_falls": 4, "got_up": 1, "falls": 3, "long_lies": 0, "real_falls": 1,
        "false_alarms": 1, "unanswered": 1,
    }  # fmt: skip
    assert got["ack_p50_s"] == pytest.approx(float(np.percentile(took, 50)))
    assert got["ack_p90_s"] == pytest.approx(float(np.percentile(took, 90)))
    # On the floor: 95 s for the fall seen to end; till acknowledged for the other answered one.
    floor = [95.0, (datetime.fromisoformat(acked[1]["acknowledged_at"]) - falls[1]).total_seconds()]
    assert got["on_floor_max_s"] == pytest.approx(max(floor))
    assert got["on_floor_median_s"] == pytest.approx(float(np.median(floor)))
    assert rows[quiet.id]["falls"] == 0 and rows[quiet.id]["ack_p50_s"] is None
    assert download.status_code == 200 and download.headers["content-type"].startswith("text/csv")
    assert "attachment;" in download.headers["content-disposition"]
    table = {r["device_id"]: r for r in csv.DictReader(io.StringIO(download.text))}
    assert table[room.id]["falls"] == "3" and table[quiet.id]["ack_p50_s"] == ""
    assert wrong.status_code == 422
