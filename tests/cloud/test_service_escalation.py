"""Escalation and rooms gone dark, on a real SQLite database, the escalator's loop called
directly: every dashboard first, with or without a webhook; the webhook retried one period
after it fails; a silent device offline with a warning that closes when it is back."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.db.session import make_engine, migrate, session_factory
from cloud.service.db.tables import Alert, AlertEscalation, Device
from cloud.service.device_watch import Changes, watch_devices
from cloud.service.escalation import (
    AlertEscalator,
    EscalationConfig,
    OncallConfig,
    WebhookConfig,
)
from cloud.service.metrics import ServiceMetrics
from shared.messages import utc_now
from tests.kit.service import start_webhook


class Stream:
    """The live stream's side of the escalator: what it published."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, kind: str, data: dict[str, Any]) -> None:
        self.sent.append((kind, data))


@pytest.fixture
def sessions(tmp_path: Path) -> sessionmaker[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'vigil.db'}")
    migrate(engine, tmp_path)
    factory = session_factory(engine)
    with factory.begin() as session:
        session.add(Device(id="cam-1", site="oak-house", name="Room 3 – Mr Brown",
                           created_at=utc_now(), status="online"))  # fmt: skip
    return factory


def open_alert(sessions: sessionmaker[Session], minutes_ago: float, **values: Any) -> int:
    opened = utc_now() - timedelta(minutes=minutes_ago)
    with sessions.begin() as session:
        alert = Alert(episode_key=uuid.uuid4().hex, device_id="cam-1", site="oak-house",
                      camera="cam0", action="falling", confidence=0.9, started_at=opened,
                      opened_at=opened, first_event_id=uuid.uuid4(), **values)  # fmt: skip
        session.add(alert)
        session.flush()
        return alert.id


def steps(sessions: sessionmaker[Session], alert_id: int) -> list[tuple[str, bool]]:
    with sessions() as session:
        rows = session.query(AlertEscalation).filter_by(alert_id=alert_id).order_by("id")
        return [(row.channel, row.ok) for row in rows]


def escalator(sessions: sessionmaker[Session], webhook: WebhookConfig | None) -> AlertEscalator:
    cfg = EscalationConfig(after_s=120, check_s=1, public_base_url="https://vigil.example",
                           webhook=webhook, offline_after_s=30)  # fmt: skip
    return AlertEscalator(sessions, cfg, Stream(), ServiceMetrics(), threading.Event())


def test_without_a_webhook_an_unanswered_alert_escalates_on_the_dashboards(
    sessions: sessionmaker[Session],
) -> None:
    due, recent = open_alert(sessions, minutes_ago=3), open_alert(sessions, minutes_ago=1)
    answered = open_alert(sessions, minutes_ago=5, acknowledged_at=utc_now(),
                          acknowledged_by="nurse")  # fmt: skip
    esc = escalator(sessions, None)
    with httpx.Client() as client:
        assert esc.escalate_due(client) == 1
        assert esc.escalate_due(client) == 0  # once only
    assert steps(sessions, due) == [("dashboard", True)]
    assert steps(sessions, recent) == steps(sessions, answered) == []
    with sessions() as session:
        row = session.get(Alert, due)
        assert row is not None and row.escalated_at is not None and row.notified_at is None
    kinds = [(kind, data["id"], data["escalated_at"] is not None) for kind, data in esc.hub.sent]
    assert kinds == [("alert", due, True)]  # every dashboard hears of it at once


def test_a_failed_webhook_is_tried_again_one_period_later(sessions: sessionmaker[Session]) -> None:
    hook, server = start_webhook()  # fails each alert's first POST, takes the next
    try:
        webhook = WebhookConfig(url=hook.url, retries=0, backoff_s=0, timeout_s=5)
        esc = escalator(sessions, webhook)
        alert_id = open_alert(sessions, minutes_ago=3)
        with httpx.Client() as client:
            assert esc.escalate_due(client) == 1
            assert steps(sessions, alert_id) == [("dashboard", True), ("webhook", False)]
            esc.escalate_due(client)  # too soon to try again
            assert len(steps(sessions, alert_id)) == 2
            with sessions.begin() as session:  # one escalation period on
                row = session.get(Alert, alert_id)
                assert row is not None and row.escalation_attempted_at is not None
                row.escalation_attempted_at -= timedelta(seconds=121)
            assert esc.escalate_due(client) == 0  # no new escalation, a new delivery
        assert steps(sessions, alert_id) == [
            ("dashboard", True), ("webhook", False), ("webhook", True)
        ]  # fmt: skip
        with sessions() as session:
            row = session.get(Alert, alert_id)
            assert row is not None and row.notified_at is not None
        (body,) = hook.received
        assert (body["room"], body["site"], body["what"]) == (
            "Room 3 – Mr Brown",
            "oak-house",
            "Fall",
        )
        assert body["link"] == "https://vigil.example/#/alerts"
        assert body["unanswered_s"] >= 180
    finally:
        server.shutdown()


def test_an_escalated_alert_still_unanswered_goes_on_to_the_oncall_contact(
    sessions: sessionmaker[Session],
) -> None:
    hook, server = start_webhook()  # fails each alert's first POST, takes the next
    try:
        oncall = OncallConfig(60, WebhookConfig(url=hook.url, retries=0, backoff_s=0, timeout_s=5))
        cfg = EscalationConfig(after_s=120, check_s=1, public_base_url="https://vigil.example",
                               oncall=oncall)  # fmt: skip
        esc = AlertEscalator(sessions, cfg, Stream(), ServiceMetrics(), threading.Event())
        alert_id = open_alert(sessions, minutes_ago=3)
        answered = open_alert(sessions, minutes_ago=3)

        def back(column: str, seconds: float, *ids: int) -> None:
            with sessions.begin() as session:
                for one in ids:
                    row = session.get(Alert, one)
                    assert row is not None
                    setattr(row, column, getattr(row, column) - timedelta(seconds=seconds))

        with httpx.Client() as client:
            assert esc.escalate_due(client) == 2  # stage 2: the dashboards
            assert steps(sessions, alert_id) == [("dashboard", True)]  # stage 3 not due yet
            with sessions.begin() as session:
                row = session.get(Alert, answered)
                assert row is not None
                row.acknowledged_at, row.acknowledged_by = utc_now(), "nurse"
            back("escalated_at", 61, alert_id, answered)
            esc.escalate_due(client)  # stage 3: the on-call contact (its first POST fails)
            assert steps(sessions, alert_id) == [("dashboard", True), ("oncall", False)]
            esc.escalate_due(client)  # too soon to call again
            assert len(steps(sessions, alert_id)) == 2
            back("oncall_attempted_at", 61, alert_id)
            esc.escalate_due(client)
        assert steps(sessions, alert_id) == [
            ("dashboard", True),
            ("oncall", False),
            ("oncall", True),
        ]
        assert steps(sessions, answered) == [("dashboard", True)]  # answered: nobody is called
        with sessions() as session:
            row = session.get(Alert, alert_id)
            assert row is not None and row.oncall_at is not None and row.notified_at is None
        (body,) = hook.received
        assert body["kind"] == "vigil.alert.oncall" and body["room"] == "Room 3 – Mr Brown"
        assert body["escalation"] == "stage 3: the on-call contact"
        assert body["on_floor_s"] >= 180
    finally:
        server.shutdown()


# -- rooms that go dark ----------------------------------------------------------------


def set_device(sessions: sessionmaker[Session], **values: Any) -> None:
    with sessions.begin() as session:
        device = session.get(Device, "cam-1")
        assert device is not None
        for key, value in values.items():
            setattr(device, key, value)


def dark_alerts(sessions: sessionmaker[Session]) -> list[tuple[str, str, bool, str | None]]:
    """(action, severity, ended, acknowledged by) of the alerts, oldest first."""
    with sessions() as session:
        rows = session.query(Alert).order_by(Alert.id)
        return [(a.action, a.severity, a.ended_at is not None, a.acknowledged_by) for a in rows]


def test_a_silent_device_goes_offline_with_a_warning_that_closes_when_it_is_back(
    sessions: sessionmaker[Session],
) -> None:
    now = utc_now()
    set_device(sessions, status="online", last_seen_at=now - timedelta(seconds=20))
    assert watch_devices(sessions, now, offline_after_s=30) == Changes()  # 20 s: still fine
    later = now + timedelta(seconds=15)  # 35 s of silence
    changes = watch_devices(sessions, later, offline_after_s=30)
    assert changes.devices == ["cam-1"] and len(changes.alerts) == 1
    assert dark_alerts(sessions) == [("device_offline", "warning", False, None)]
    assert watch_devices(sessions, later, offline_after_s=30) == Changes()  # once only
    with sessions() as session:
        device = session.get(Device, "cam-1")
        assert device is not None and device.status == "offline"

    set_device(sessions, status="online", last_seen_at=later)  # a heartbeat: back
    assert watch_devices(sessions, later, offline_after_s=30).alerts == changes.alerts
    assert dark_alerts(sessions) == [("device_offline", "warning", True, "vigil")]
    with sessions() as session:
        note = session.scalars(select(Alert.ack_note)).one()
    assert note is not None and note.startswith("Closed by itself: back online at ")


def test_a_last_will_is_offline_too_and_a_device_never_seen_is_left_alone(
    sessions: sessionmaker[Session],
) -> None:
    set_device(sessions, status="unknown", last_seen_at=None)
    assert watch_devices(sessions, utc_now(), offline_after_s=30) == Changes()
    set_device(sessions, status="offline", last_seen_at=utc_now())  # the broker's last will
    watch_devices(sessions, utc_now(), offline_after_s=30)
    assert dark_alerts(sessions) == [("device_offline", "warning", False, None)]


def test_a_camera_fault_in_the_heartbeat_opens_a_warning_until_the_camera_works(
    sessions: sessionmaker[Session],
) -> None:
    now = utc_now()
    beat = {"camera_ok": False, "status": "online"}
    set_device(sessions, status="online", last_seen_at=now, last_heartbeat_at=now,
               last_heartbeat=beat)  # fmt: skip
    watch_devices(sessions, now, offline_after_s=30)
    watch_devices(sessions, now, offline_after_s=30)
    assert dark_alerts(sessions) == [("camera_fault", "warning", False, None)]
    with sessions.begin() as session:  # a carer saw it; the camera is still broken
        alert = session.scalars(select(Alert)).one()
        alert.acknowledged_at, alert.acknowledged_by = now, "nurse"
    watch_devices(sessions, now, offline_after_s=30)
    assert dark_alerts(sessions) == [("camera_fault", "warning", False, "nurse")]  # no second
    set_device(sessions, last_heartbeat={**beat, "camera_ok": True})
    watch_devices(sessions, now, offline_after_s=30)
    assert dark_alerts(sessions) == [("camera_fault", "warning", True, "nurse")]


def test_the_escalators_loop_tells_every_dashboard_of_a_room_gone_dark(
    sessions: sessionmaker[Session],
) -> None:
    set_device(sessions, status="online", last_seen_at=utc_now() - timedelta(minutes=2))
    esc = escalator(sessions, None)
    esc.watch_devices()
    sent = [(kind, data.get("status") or data.get("action")) for kind, data in esc.hub.sent]
    assert sent == [("device", "offline"), ("alert", "device_offline")]
