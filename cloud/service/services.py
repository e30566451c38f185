"""Everything one service process runs, built from the settings: the database (migrated),
the signing key, the broker connections and the background threads.

`vigil serve` builds it inside the FastAPI lifespan; `vigil worker` and `vigil ingest`
build it alone and start only their part.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.announce import ModelAnnouncer
from cloud.service.db.session import make_engine, migrate, session_factory
from cloud.service.escalation import (
    AlertEscalator,
    EscalationConfig,
    OncallConfig,
    WebhookConfig,
)
from cloud.service.ingest import Ingestor
from cloud.service.live import LiveHub
from cloud.service.live_relay import LiveSink, PgListener, PgNotifySink
from cloud.service.metrics import ServiceMetrics
from cloud.service.mqtt import MqttPublisher
from cloud.service.mqtt_ingest import MqttIngest
from cloud.service.registry import ModelRegistry
from cloud.service.settings import Settings
from cloud.service.signing import ModelSigner
from cloud.service.worker import JobWorker
from shared.broker import parse_mqtt_url

log = logging.getLogger(__name__)

SUBDIRS = ("models", "clips", "jobs", "keys", "tmp")


@dataclass
class Services:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    metrics: ServiceMetrics
    hub: LiveHub
    signer: ModelSigner
    registry: ModelRegistry
    publisher: MqttPublisher | None
    announcer: ModelAnnouncer
    ingestor: Ingestor
    live: LiveSink
    stop: threading.Event = field(default_factory=threading.Event)
    mqtt_ingest: MqttIngest | None = None
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, ingest: bool, worker: bool, escalate: bool) -> None:
        """Start the parts this process runs (each is optional)."""
        if self.publisher is not None:
            self.publisher.start()
        if self.engine.dialect.name == "postgresql" and self.live is self.hub:
            # The API process: hear what `vigil ingest` / `vigil worker` processes store.
            self._start_thread(PgListener(self.settings.sqlalchemy_url, self.hub, self.stop))
        if ingest:
            self._start_ingest()
        if worker:
            self._start_thread(
                JobWorker(
                    self.settings,
                    self.sessions,
                    self.registry,
                    self.announcer,
                    self.metrics,
                    self.stop,
                )
            )
        if escalate:
            if self.settings.alert_webhook_url is None:
                log.warning(
                    "VIGIL_ALERT_WEBHOOK_URL is not set: an unanswered alert escalates on the "
                    "dashboards only, and nobody away from a screen is told"
                )
            if self.settings.alert_oncall_url is None:
                log.warning(
                    "VIGIL_ALERT_ONCALL_URL is not set: an alert still unanswered after its "
                    "escalation reaches no on-call contact (no stage 3)"
                )
            self._start_thread(
                AlertEscalator(
                    self.sessions, escalation_config(self.settings), self.live, self.metrics,
                    self.stop,
                )
            )  # fmt: skip

    def _start_ingest(self) -> None:
        s = self.settings
        if s.mqtt_url is None:
            log.warning("VIGIL_MQTT_URL is not set: no MQTT ingest (HTTP ingest only)")
            return
        address = parse_mqtt_url(s.mqtt_url)
        log.info("MQTT ingest from %s", address)  # the address prints without its password
        self.mqtt_ingest = MqttIngest(
            address,
            s.mqtt_topic_root,
            s.mqtt_share_group,
            s.mqtt_client_id,
            self.ingestor,
            self.metrics,
            s.ingest_batch_size,
        )
        self.mqtt_ingest.start()

    def _start_thread(self, thread: threading.Thread) -> None:
        thread.start()
        self.threads.append(thread)

    def close(self) -> None:
        self.stop.set()
        self.hub.close()
        if self.mqtt_ingest is not None:
            self.mqtt_ingest.stop()
        for thread in self.threads:
            thread.join(timeout=30)
        if self.publisher is not None:
            self.publisher.stop()
        self.engine.dispose()


def build_services(settings: Settings, serves_api: bool = True) -> Services:
    """Create the data folders, migrate the database, load the key, wire the parts.

    A process that serves no API relays its live messages through PostgreSQL instead
    (see live_relay.py).
    """
    for name in SUBDIRS:
        (settings.data_dir / name).mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.sqlalchemy_url)
    migrate(engine, settings.data_dir)
    sessions = session_factory(engine)
    metrics = ServiceMetrics()
    hub = LiveHub(metrics)
    signer = ModelSigner.load_or_create(settings.data_dir / "keys")
    registry = ModelRegistry(settings.data_dir / "models", signer, settings.public_base_url)
    publisher = _publisher(settings.mqtt_url)
    announcer = ModelAnnouncer(sessions, registry, publisher, settings.mqtt_topic_root)
    if publisher is not None:
        publisher.on_connected = announcer.announce_production
    live: LiveSink = hub
    if not serves_api and engine.dialect.name == "postgresql":
        live = PgNotifySink(engine)
    return Services(
        settings,
        engine,
        sessions,
        metrics,
        hub,
        signer,
        registry,
        publisher,
        announcer,
        Ingestor(sessions, live, metrics),
        live,
    )


def _publisher(mqtt_url: str | None) -> MqttPublisher | None:
    if not mqtt_url:
        return None
    address = parse_mqtt_url(mqtt_url)
    log.info("MQTT publisher for %s", address)  # the address prints without its password
    return MqttPublisher(address)


def webhook_config(settings: Settings, url: str) -> WebhookConfig:
    """A POST channel of the escalation (stage 2's webhook, stage 3's on-call contact)."""
    return WebhookConfig(
        url=url,
        retries=settings.alert_webhook_retries,
        backoff_s=settings.alert_webhook_backoff_s,
        timeout_s=settings.alert_webhook_timeout_s,
    )


def escalation_config(settings: Settings) -> EscalationConfig:
    webhook = oncall = None
    if settings.alert_webhook_url is not None:
        webhook = webhook_config(settings, settings.alert_webhook_url)
    if settings.alert_oncall_url is not None:
        oncall = OncallConfig(
            settings.alert_oncall_after_s, webhook_config(settings, settings.alert_oncall_url)
        )
    return EscalationConfig(
        after_s=settings.alert_escalate_after_s,
        check_s=settings.alert_check_s,
        public_base_url=settings.public_base_url,
        webhook=webhook,
        offline_after_s=settings.device_offline_after_s,
        oncall=oncall,
    )
