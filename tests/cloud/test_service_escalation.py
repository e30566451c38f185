"""Escalation on a real SQLite database, the escalator's loop called directly: every
dashboard first, with or without a webhook; the webhook retried one period after it fails."""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.db.session import make_engine, migrate, session_factory
from cloud.service.db.tables import Alert, AlertEscalation, Device
from cloud.service.escalation import AlertEscalator, EscalationConfig, WebhookConfig
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
                           webhook=webhook)  # fmt: skip
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
