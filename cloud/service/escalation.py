"""Escalation: an alert nobody acknowledges in time escalates, on every dashboard always
and to a webhook when one is configured; still unanswered, it goes on to the on-call
contact (stage 3).

After `alert_escalate_after_s` the alert is marked escalated (`escalated_at`): every
signed-in dashboard shows it so and rings louder, and a `dashboard` escalation is
recorded. With a webhook, the escalation is POSTed to it too (site, room, what happened,
how long ago, a link), with retries; each delivery is recorded (`webhook`), and a failed
one is tried again one escalation period later. Stage 3: an escalated alert still
unanswered `oncall.after_s` later is POSTed to the on-call channel (`alert_oncall_url`: a
paging or SMS gateway's webhook), recorded as `oncall`, retried the same way until it is
taken (`oncall_at`). An alert is claimed with a conditional
UPDATE before anything is done, so two escalators (two processes) never both act on it.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

import httpx
from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.db.tables import Alert, AlertEscalation, Device
from cloud.service.device_watch import Changes, watch_devices
from cloud.service.live_relay import LiveSink
from cloud.service.metrics import ServiceMetrics
from cloud.service.schemas import AlertPublic, DevicePublic
from shared.labels import is_fall_label
from shared.messages import utc_now

log = logging.getLogger(__name__)
WEBHOOK, ONCALL = "webhook", "oncall"  # the escalation channels that POST


@dataclass(frozen=True)
class WebhookConfig:
    url: str
    retries: int
    backoff_s: float
    timeout_s: float


@dataclass(frozen=True)
class OncallConfig:
    after_s: float  # escalated and still unanswered this long: the on-call contact
    webhook: WebhookConfig


@dataclass(frozen=True)
class EscalationConfig:
    after_s: float  # unacknowledged this long: escalated
    check_s: float  # how often to look
    public_base_url: str  # the dashboard's address, for the link in the webhook
    webhook: WebhookConfig | None = None
    offline_after_s: float | None = None  # watch for rooms gone dark (device_watch.py)
    oncall: OncallConfig | None = None


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
        cfg: EscalationConfig,
        hub: LiveSink,
        metrics: ServiceMetrics,
        stop: threading.Event,
    ) -> None:
        super().__init__(name="vigil-escalator", daemon=True)
        self.sessions, self.cfg = sessions, cfg
        self.hub, self.metrics, self.stop = hub, metrics, stop
        self.last_loop_at = time.monotonic()

    def run(self) -> None:
        with httpx.Client() as client:
            while not self.stop.is_set():
                self.last_loop_at = time.monotonic()
                try:
                    self.watch_devices()
                    self.escalate_due(client)
                except Exception:  # the loop must survive; counted and logged
                    self.metrics.escalations.inc(result="error")
                    log.exception("alert escalation failed")
                self.stop.wait(self.cfg.check_s)

    def watch_devices(self) -> Changes:
        """Open and close the alerts of rooms gone dark; tell every dashboard."""
        if self.cfg.offline_after_s is None:
            return Changes()
        changes = watch_devices(self.sessions, utc_now(), self.cfg.offline_after_s)
        with self.sessions() as session:
            for device_id in changes.devices:
                device = session.get(Device, device_id)
                if device is not None:
                    public = DevicePublic.model_validate(device).model_dump(mode="json")
                    self.hub.publish("device", public)
        for alert_id in changes.alerts:
            self._publish(alert_id)
        return changes

    def escalate_due(self, client: httpx.Client) -> int:
        """Escalate every alert that is due; retry the webhook where it failed. Returns how
        many alerts escalated."""
        count = 0
        for alert_id in self._due(utc_now()):
            if self._claim(alert_id, utc_now()):
                count += 1
                self._record(alert_id, "dashboard", None, Delivery(True, 1, None, None))
                self.metrics.escalations.inc(result="dashboard")
                if self.cfg.webhook is not None:
                    self._notify(client, alert_id, self.cfg.webhook)
                self._publish(alert_id)
        if self.cfg.webhook is not None:
            for alert_id in self._retry_due(utc_now()):
                if self._claim_retry(alert_id, utc_now()):
                    self._notify(client, alert_id, self.cfg.webhook)
                    self._publish(alert_id)
        if self.cfg.oncall is not None:
            for alert_id in self._oncall_due(self.cfg.oncall, utc_now()):
                if self._claim_where(
                    alert_id, self._oncall_conditions(self.cfg.oncall, utc_now()),
                    oncall_attempted_at=utc_now(),
                ):  # fmt: skip
                    self._notify(client, alert_id, self.cfg.oncall.webhook, ONCALL)
                    self._publish(alert_id)
        return count

    def _oncall_conditions(self, oncall: OncallConfig, now: datetime) -> list[ColumnElement[bool]]:
        """Escalated `after_s` ago, still unanswered, not taken by the on-call channel, and
        not tried within `after_s`."""
        cutoff = now - timedelta(seconds=oncall.after_s)
        return [
            Alert.acknowledged_at.is_(None),
            Alert.escalated_at.is_not(None),
            Alert.escalated_at < cutoff,
            Alert.oncall_at.is_(None),
            or_(Alert.oncall_attempted_at.is_(None), Alert.oncall_attempted_at < cutoff),
        ]

    def _oncall_due(self, oncall: OncallConfig, now: datetime) -> list[int]:
        return self._ids_where(*self._oncall_conditions(oncall, now))

    def _cutoff(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.cfg.after_s)

    def _due(self, now: datetime) -> list[int]:
        """Unanswered alerts older than an escalation period, not escalated yet."""
        return self._ids_where(
            Alert.acknowledged_at.is_(None),
            Alert.escalated_at.is_(None),
            Alert.opened_at < self._cutoff(now),
        )

    def _claim(self, alert_id: int, now: datetime) -> bool:
        return self._claim_where(
            alert_id,
            [Alert.acknowledged_at.is_(None), Alert.escalated_at.is_(None)],
            escalated_at=now,
        )

    def _webhook_retry_due(self, now: datetime) -> list[ColumnElement[bool]]:
        """Not taken by the webhook yet, and last tried an escalation period ago."""
        return [
            Alert.acknowledged_at.is_(None),
            Alert.notified_at.is_(None),
            or_(
                Alert.escalation_attempted_at.is_(None),
                Alert.escalation_attempted_at < self._cutoff(now),
            ),
        ]

    def _retry_due(self, now: datetime) -> list[int]:
        return self._ids_where(Alert.escalated_at.is_not(None), *self._webhook_retry_due(now))

    def _claim_retry(self, alert_id: int, now: datetime) -> bool:
        return self._claim_where(
            alert_id, self._webhook_retry_due(now), escalation_attempted_at=now
        )

    def _ids_where(self, *conditions: ColumnElement[bool]) -> list[int]:
        """The ids of up to 100 alerts that meet `conditions`, oldest first."""
        with self.sessions() as session:
            query = select(Alert.id).where(*conditions).order_by(Alert.opened_at).limit(100)
            return list(session.scalars(query))

    def _claim_where(
        self, alert_id: int, conditions: list[ColumnElement[bool]], **values: datetime
    ) -> bool:
        """Set `values` on the alert if it still meets `conditions`: True for the one
        process (of several) whose UPDATE took it."""
        with self.sessions.begin() as session:
            result = session.execute(
                update(Alert).where(Alert.id == alert_id, *conditions).values(**values)
            )
            return result.rowcount == 1  # type: ignore[attr-defined]

    def _notify(
        self, client: httpx.Client, alert_id: int, webhook: WebhookConfig, channel: str = WEBHOOK
    ) -> None:
        """POST the alert on `channel` (the escalation webhook, or the on-call contact),
        record how it went, and mark it taken when it was."""
        with self.sessions.begin() as session:
            row = session.get(Alert, alert_id)
            if row is None:
                return
            if channel == WEBHOOK:
                row.escalation_attempted_at = utc_now()
            payload = webhook_payload(session, row, self.cfg.public_base_url, utc_now(), channel)
        delivery = post_with_retries(client, webhook, payload, self.stop)
        self._record(alert_id, channel, webhook.url, delivery)
        if delivery.ok:
            with self.sessions.begin() as session:
                row = session.get(Alert, alert_id)
                if row is not None and channel == WEBHOOK:
                    row.notified_at = utc_now()
                elif row is not None:
                    row.oncall_at = utc_now()
        result = "sent" if delivery.ok else "failed"
        self.metrics.escalations.inc(result=result if channel == WEBHOOK else f"oncall_{result}")

    def _record(self, alert_id: int, channel: str, url: str | None, delivery: Delivery) -> None:
        with self.sessions.begin() as session:
            session.add(
                AlertEscalation(
                    alert_id=alert_id,
                    attempted_at=utc_now(),
                    channel=channel,
                    url=url,
                    attempts=delivery.attempts,
                    ok=delivery.ok,
                    status_code=delivery.status_code,
                    error=delivery.error,
                )
            )

    def _publish(self, alert_id: int) -> None:
        with self.sessions() as session:
            row = session.get(Alert, alert_id)
            if row is None:
                return
            public = AlertPublic.model_validate(row)
        self.hub.publish("alert", public.model_dump(mode="json"))


def webhook_payload(
    session: Session, alert: Alert, base_url: str, now: datetime, channel: str = WEBHOOK
) -> dict:
    """What the on-call side needs to act without opening anything: where, what, how long
    ago, and a link to the alert (the full alert beside it, for machines)."""
    device = session.get(Device, alert.device_id)
    room = device.name if device is not None and device.name else alert.device_id
    what = "Fall" if is_fall_label(alert.action) else alert.action.replace("_", " ").capitalize()
    waited = max(0.0, (now - alert.opened_at).total_seconds())
    fall = is_fall_label(alert.action)
    on_floor = max(0.0, ((alert.ended_at or now) - alert.started_at).total_seconds())
    floor_text = f", on the floor for {round(on_floor)} s" if fall and not alert.ended_at else ""
    return {
        "kind": "vigil.alert.oncall" if channel == ONCALL else "vigil.alert.escalated",
        "escalation": "stage 3: the on-call contact" if channel == ONCALL else "stage 2",
        "site": alert.site,
        "room": room,
        "device_id": alert.device_id,
        "what": what,
        "stage": alert.stage,
        "started_at": alert.started_at.isoformat(),
        "on_floor_s": round(on_floor) if fall else None,
        "unanswered_s": round(waited),
        "text": f"{what} in {room} ({alert.site}): not acknowledged for {round(waited)} s"
        + floor_text,
        "link": f"{base_url.rstrip('/')}/#/alerts",
        "alert": AlertPublic.model_validate(alert).model_dump(mode="json"),
    }
