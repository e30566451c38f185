"""Escalation: an alert nobody acknowledged in time is POSTed to a webhook, with retries.

Each escalation (its attempts, status and error) is recorded. An alert is claimed with
a conditional UPDATE before sending, so two escalators (two processes) never both send
it; a failed escalation is tried again one escalation period later.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.db.tables import Alert, AlertEscalation
from cloud.service.live_relay import LiveSink
from cloud.service.metrics import ServiceMetrics
from cloud.service.schemas import AlertPublic
from shared.messages import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    after_s: float
    retries: int
    backoff_s: float
    timeout_s: float


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    status_code: int | None
    error: str | None


def post_with_retries(
    client: httpx.Client, cfg: WebhookConfig, payload: dict, stop: threading.Event
) -> Delivery:
    """POST until a 2xx, at most 1 + retries times, doubling the wait between tries."""
    status, error = None, None
    for attempt in range(1, cfg.retries + 2):
        try:
            response = client.post(cfg.url, json=payload, timeout=cfg.timeout_s)
            if response.is_success:
                return Delivery(True, attempt, response.status_code, None)
            status = response.status_code
            error = f"HTTP {status}: {response.text[:500]}"
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"
        if attempt <= cfg.retries and stop.wait(cfg.backoff_s * 2 ** (attempt - 1)):
            return Delivery(False, attempt, status, error)
    return Delivery(False, cfg.retries + 1, status, error)


class AlertEscalator(threading.Thread):
    def __init__(
        self,
        sessions: sessionmaker[Session],
        cfg: WebhookConfig,
        check_s: float,
        hub: LiveSink,
        metrics: ServiceMetrics,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="vigil-escalator", daemon=True)
        self.sessions, self.cfg, self.check_s = sessions, cfg, check_s
        self.hub, self.metrics, self.stop = hub, metrics, stop
        self.last_loop_at = time.monotonic()

    def run(self) -> None:
        with httpx.Client() as client:
            while not self.stop.is_set():
                self.last_loop_at = time.monotonic()
                try:
                    self.escalate_due(client)
                except Exception:  # the loop must survive; counted and logged
                    self.metrics.escalations.inc(result="error")
                    log.exception("alert escalation failed")
                self.stop.wait(self.check_s)

    def escalate_due(self, client: httpx.Client) -> int:
        count = 0
        for alert_id in self._due(utc_now()):
            if self._claim(alert_id, utc_now()):
                self._escalate(client, alert_id)
                count += 1
        return count

    def _due(self, now: datetime) -> list[int]:
        cutoff = now - timedelta(seconds=self.cfg.after_s)
        with self.sessions() as session:
            return list(
                session.scalars(
                    select(Alert.id)
                    .where(
                        Alert.acknowledged_at.is_(None),
                        Alert.escalated_at.is_(None),
                        Alert.opened_at < cutoff,
                        or_(
                            Alert.escalation_attempted_at.is_(None),
                            Alert.escalation_attempted_at < cutoff,
                        ),
                    )
                    .order_by(Alert.opened_at)
                    .limit(100)
                )
            )

    def _claim(self, alert_id: int, now: datetime) -> bool:
        cutoff = now - timedelta(seconds=self.cfg.after_s)
        with self.sessions.begin() as session:
            result = session.execute(
                update(Alert)
                .where(
                    Alert.id == alert_id,
                    Alert.acknowledged_at.is_(None),
                    or_(
                        Alert.escalation_attempted_at.is_(None),
                        Alert.escalation_attempted_at < cutoff,
                    ),
                )
                .values(escalation_attempted_at=now)
            )
            return result.rowcount == 1  # type: ignore[attr-defined]

    def _escalate(self, client: httpx.Client, alert_id: int) -> None:
        with self.sessions() as session:
            alert = AlertPublic.model_validate(session.get(Alert, alert_id))
        payload = {"kind": "vigil.alert.escalated", "alert": alert.model_dump(mode="json")}
        delivery = post_with_retries(client, self.cfg, payload, self.stop)
        now = utc_now()
        with self.sessions.begin() as session:
            session.add(
                AlertEscalation(
                    alert_id=alert_id,
                    attempted_at=now,
                    url=self.cfg.url,
                    attempts=delivery.attempts,
                    ok=delivery.ok,
                    status_code=delivery.status_code,
                    error=delivery.error,
                )
            )
            row = session.get(Alert, alert_id)
            if delivery.ok and row is not None:
                row.escalated_at = now
            public = AlertPublic.model_validate(row)
        self.metrics.escalations.inc(result="sent" if delivery.ok else "failed")
        self.hub.publish("alert", public.model_dump(mode="json"))
