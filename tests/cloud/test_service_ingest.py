"""Ingest over MQTT and HTTP: stored once, streamed live, refused when wrong."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from shared.topics import device_topic
from tests.kit.factories import (
    SseListener,
    create_random_device,
    create_viewer,
    make_event,
    make_fall_event,
    mqtt_client,
    publish,
    subscribe,
)
from tests.kit.outcomes import wait_for
from tests.kit.service import Server


def events_of(server: Server, device_id: str) -> list[dict]:
    with server.client(server.admin) as client:
        response = client.get("/api/v1/events", params={"device_id": device_id})
    assert response.status_code == 200, response.text
    return response.json()


def metric(server: Server, name: str, **labels: str) -> float:
    return getattr(server.services.metrics, name).value(**labels)


def test_mqtt_event_is_stored_streamed_and_deduplicated(server: Server, mqtt_url: str) -> None:
    device = create_random_device(server)
    viewer = create_viewer(server)
    stream = SseListener(f"{server.base_url}/api/v1/stream", headers=viewer)
    assert stream.connected.wait(10) and stream.status_code == 200
    publisher = mqtt_client(mqtt_url)
    event = make_event(device, action="sitting_down")
    topic = device_topic(device.site, device.id, "events", server.root)
    try:
        publish(publisher, topic, event)
        stored = wait_for(lambda: events_of(server, device.id), 10, "the event in the database")
        streamed = stream.wait_for("event", lambda d: d["event_id"] == event["event_id"], 10)
        dups_before = metric(server, "duplicates", source="mqtt")
        publish(publisher, topic, event)
        wait_for(
            lambda: metric(server, "duplicates", source="mqtt") > dups_before,
            10,
            "the duplicate to be counted",
        )
    finally:
        publisher.loop_stop()
        stream.close()
    assert [e["event_id"] for e in stored] == [event["event_id"]]
    assert stored[0]["action"] == "sitting_down" and streamed["device_id"] == device.id
    assert len(events_of(server, device.id)) == 1
    with server.client(server.admin) as client:
        status = client.get(f"/api/v1/devices/{device.id}").json()
    assert status["status"] == "online" and status["last_seen_at"] is not None


def test_malformed_and_foreign_payloads_are_counted_and_not_stored(
    server: Server, mqtt_url: str
) -> None:
    mine, other = create_random_device(server), create_random_device(server)
    invalid_before = metric(server, "rejects", source="mqtt", reason="invalid")
    identity_before = metric(server, "rejects", source="mqtt", reason="identity")
    publisher = mqtt_client(mqtt_url)
    try:
        publish(publisher, device_topic(mine.site, mine.id, "events", server.root), b"{not json")
        # A well-formed event of `mine`, published on `other`'s topic.
        publish(
            publisher, device_topic(other.site, other.id, "events", server.root), make_event(mine)
        )
        wait_for(
            lambda: (
                metric(server, "rejects", source="mqtt", reason="invalid") >= invalid_before + 1
            ),
            10,
            "the malformed payload to be counted",
        )
        wait_for(
            lambda: (
                metric(server, "rejects", source="mqtt", reason="identity") >= identity_before + 1
            ),
            10,
            "the foreign payload to be counted",
        )
    finally:
        publisher.loop_stop()
    assert events_of(server, mine.id) == [] and events_of(server, other.id) == []
    with server.client() as client:
        text = client.get("/metrics").text
    assert 'vigil_ingest_rejected_total{source="mqtt",reason="identity"}' in text


def test_http_batch_ingest_skips_duplicates(server: Server) -> None:
    device = create_random_device(server)
    first, second = make_event(device, seq=1), make_event(device, seq=2)
    with server.client(device.headers) as client:
        one = client.post("/api/v1/events", json={"events": [first, first, second]})
        again = client.post("/api/v1/events", json={"events": [second]})
        bad = client.post("/api/v1/events", json={"events": [{**first, "confidence": "high"}]})
    assert one.status_code == 200 and one.json() == {"accepted": 2, "duplicates": 1}
    assert again.json() == {"accepted": 0, "duplicates": 1}
    assert bad.status_code == 422
    assert sorted(e["seq"] for e in events_of(server, device.id)) == [1, 2]


def test_heartbeats_update_status_and_history(server: Server, mqtt_url: str) -> None:
    device = create_random_device(server)
    sent = datetime.now(UTC)
    beat = {
        "device_id": device.id,
        "site": device.site,
        "status": "online",
        "sent_at": sent.isoformat(),
        "fps_in": 15.0,
        "model_version": "student-x",
    }
    with server.client(device.headers) as client:
        assert client.post(f"/api/v1/devices/{device.id}/heartbeat", json=beat).status_code == 204
    publisher = mqtt_client(mqtt_url)
    offline = {
        "device_id": device.id,
        "site": device.site,
        "status": "offline",
        "sent_at": (sent + timedelta(seconds=5)).isoformat(),
    }
    try:
        publish(publisher, device_topic(device.site, device.id, "status", server.root), offline)
        with server.client(server.admin) as client:
            status = wait_for(
                lambda: (
                    (d := client.get(f"/api/v1/devices/{device.id}").json())["status"] == "offline"
                    and d
                ),
                10,
                "the offline status",
            )
            history = client.get(f"/api/v1/devices/{device.id}/heartbeats").json()
    finally:
        publisher.loop_stop()
    assert status["model_version"] == "student-x"
    assert [h["status"] for h in history] == ["offline", "online"]


def test_a_fall_episode_opens_one_alert_that_a_person_acknowledges(server: Server) -> None:
    device = create_random_device(server)
    started = datetime.now(UTC).isoformat()
    fall = {"action": "falling", "severity": "critical", "started_at": started}
    episode = [
        make_event(device, type="start", seq=1, **fall),
        make_event(device, type="update", seq=2, **fall),
        make_event(device, type="end", seq=3, ended_at=datetime.now(UTC).isoformat(), **fall),
    ]
    viewer = create_viewer(server, name="nurse-ada")
    with server.client(device.headers) as client:
        assert client.post("/api/v1/events", json={"events": episode[:2]}).status_code == 200
        assert client.post("/api/v1/events", json={"events": episode[2:]}).status_code == 200
    with server.client(viewer) as client:
        alerts = client.get("/api/v1/alerts", params={"site": device.site}).json()
        assert len(alerts) == 1 and alerts[0]["ended_at"] is not None
        acked = client.post(
            f"/api/v1/alerts/{alerts[0]['id']}/acknowledge", json={"note": "helped up, unhurt"}
        )
        twice = client.post(f"/api/v1/alerts/{alerts[0]['id']}/acknowledge", json={})
        still_open = client.get("/api/v1/alerts", params={"site": device.site}).json()
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert body["acknowledged_by"] == "nurse-ada" and body["ack_note"] == "helped up, unhurt"
    assert body["acknowledged_at"] is not None
    assert twice.status_code == 409 and still_open == []


def test_a_possible_fall_opens_a_warning_that_the_edge_confirms_or_clears(server: Server) -> None:
    device = create_random_device(server)
    viewer = create_viewer(server)
    stream = SseListener(f"{server.base_url}/api/v1/stream", headers=viewer)
    assert stream.connected.wait(10) and stream.status_code == 200
    fell = datetime.now(UTC) - timedelta(seconds=30)
    bent = fell + timedelta(seconds=10)
    try:
        with server.client(device.headers) as client:
            for event in [make_fall_event(device, "start", "possible", fell, 0, 1),
                          make_fall_event(device, "start", "possible", bent, 0, 2)]:  # fmt: skip
                assert client.post("/api/v1/events", json={"events": [event]}).status_code == 200
            with server.client(viewer) as view:
                opened = view.get("/api/v1/alerts", params={"site": device.site}).json()
            assert [(a["stage"], a["severity"]) for a in opened] == [("possible", "warning")] * 2
            # The first: still down 2 s later (confirmed), and a late copy of its start
            # changes nothing. The second: up again (recovered).
            later = [make_fall_event(device, "update", "confirmed", fell, 2, 3),
                     make_fall_event(device, "end", "recovered", bent, 2, 4),
                     make_fall_event(device, "start", "possible", fell, 0, 5)]  # fmt: skip
            assert client.post("/api/v1/events", json={"events": later}).status_code == 200
        confirmed = stream.wait_for("alert", lambda d: d["stage"] == "confirmed", 10)
        recovered = stream.wait_for("alert", lambda d: d["stage"] == "recovered", 10)
    finally:
        stream.close()
    assert confirmed["severity"] == "critical" and confirmed["acknowledged_at"] is None
    assert datetime.fromisoformat(confirmed["confirmed_at"]) == fell + timedelta(seconds=2)
    assert recovered["acknowledged_by"] == "vigil" and recovered["ended_at"] is not None
    assert "Got up by themselves" in recovered["ack_note"]
    with server.client(viewer) as view:
        still_open = view.get("/api/v1/alerts", params={"site": device.site}).json()
    assert [(a["id"], a["stage"]) for a in still_open] == [(confirmed["id"], "confirmed")]
    stored = {(e["seq"], e["stage"], e["stage_at"]) for e in events_of(server, device.id)}
    at = (fell + timedelta(seconds=2)).isoformat().replace("+00:00", "Z")
    assert (3, "confirmed", at) in stored  # the events keep what the edge decided, and when


def test_a_confirmation_whose_possible_start_was_lost_opens_the_alarm(server: Server) -> None:
    device = create_random_device(server)
    fell = datetime.now(UTC) - timedelta(seconds=5)
    with server.client(device.headers) as client:
        event = make_fall_event(device, "update", "confirmed", fell, 2, 1)
        assert client.post("/api/v1/events", json={"events": [event]}).status_code == 200
    with server.client(server.admin) as client:
        (alert,) = client.get("/api/v1/alerts", params={"site": device.site}).json()
    assert (alert["stage"], alert["severity"]) == ("confirmed", "critical")


def test_an_unacknowledged_alert_is_escalated_with_retries(server: Server, webhook) -> None:
    device = create_random_device(server)
    fall = make_event(device, action="falling", severity="critical")
    with server.client(device.headers) as client:
        assert client.post("/api/v1/events", json={"events": [fall]}).status_code == 200
    with server.client(server.admin) as client:
        alert = client.get("/api/v1/alerts", params={"site": device.site}).json()[0]
        escalated = wait_for(
            lambda: client.get(f"/api/v1/alerts/{alert['id']}").json()["escalated_at"],
            15,
            "the escalation",
        )
        detail = wait_for(
            lambda: (a := client.get(f"/api/v1/alerts/{alert['id']}").json())["notified_at"] and a,
            15,
            "the webhook's delivery",
        )
        escalations = client.get(f"/api/v1/alerts/{alert['id']}/escalations").json()
    assert escalated and detail["escalations"] == escalations
    # Every dashboard first (no URL, nothing to retry), then the webhook (one retry).
    assert [(e["channel"], e["ok"], e["attempts"], e["status_code"], e["url"] is None)
            for e in escalations] == [("dashboard", True, 1, None, True),
                                      ("webhook", True, 2, 200, False)]  # fmt: skip
    ours = (device.id, alert["id"])
    sent = [b for b in webhook.received if (b["alert"]["device_id"], b["alert"]["id"]) == ours]
    assert sent and sent[0]["site"] == device.site and sent[0]["what"] == "Fall"
    assert sent[0]["room"] == device.id  # a device registered without a name goes by its id
    assert sent[0]["link"] == f"{server.base_url}/#/alerts"
    assert sent[0]["text"].startswith(f"Fall in {device.id} ({device.site}): not acknowledged")


def test_a_command_is_delivered_and_its_ack_recorded(server: Server, mqtt_url: str) -> None:
    device = create_random_device(server)
    watcher = mqtt_client(mqtt_url)
    received = subscribe(watcher, device_topic(device.site, device.id, "cmd", server.root))
    try:
        with server.client(server.admin) as client:
            sent = client.post(
                f"/api/v1/devices/{device.id}/commands",
                json={"kind": "set_thresholds", "thresholds": {"enter": 0.7}},
            )
        assert sent.status_code == 202, sent.text
        wait_for(lambda: received, 10, "the command on the device's cmd topic")
        ack = {
            "command_id": sent.json()["id"],
            "device_id": device.id,
            "site": device.site,
            "ok": True,
            "detail": "applied",
            "acked_at": datetime.now(UTC).isoformat(),
        }
        publish(watcher, device_topic(device.site, device.id, "ack", server.root), ack)
        with server.client(server.admin) as client:
            command = wait_for(
                lambda: (
                    (c := client.get(f"/api/v1/devices/{device.id}/commands").json()[0])["acked_at"]
                    and c
                ),
                10,
                "the ack to be recorded",
            )
    finally:
        watcher.loop_stop()
    assert command["ok"] is True and command["detail"] == "applied"
    assert uuid.UUID(command["id"]) == uuid.UUID(sent.json()["id"])
