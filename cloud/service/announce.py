"""Tell devices about the production model: a retained ModelAnnouncement per site."""

from __future__ import annotations

import logging

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from cloud.service.db.tables import Device, ModelVersion
from cloud.service.mqtt import MqttPublisher, PublishError
from cloud.service.registry import ModelRegistry
from shared.topics import model_topic

log = logging.getLogger(__name__)


class ModelAnnouncer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        registry: ModelRegistry,
        publisher: MqttPublisher | None,
        root: str,
    ) -> None:
        self._sessions, self._registry = sessions, registry
        self._publisher, self._root = publisher, root

    def announce(self, row: ModelVersion, sites: list[str] | None = None) -> list[str]:
        """Publish `row` (retained) to `sites`, default every site with devices; returns them."""
        if self._publisher is None:
            log.info("no MQTT broker configured: %s is announced over HTTP only", row.version)
            return []
        if sites is None:
            with self._sessions() as session:
                sites = list(session.scalars(select(Device.site).distinct().order_by(Device.site)))
        for site in sites:
            message = self._registry.announcement(row, site)
            self._publisher.publish(
                model_topic(site, self._root), message.model_dump_json().encode(), retain=True
            )
        log.info("announced model %s to sites %s", row.version, sites)
        return sites

    def announce_production(self, sites: list[str] | None = None) -> None:
        """Publish the production model again (start-up, reconnect, a new site's first device)."""
        with self._sessions() as session:
            row = self._registry.production(session)
        if row is None:
            return
        try:
            self.announce(row, sites)
        except PublishError as exc:
            log.warning("could not re-announce %s: %s", row.version, exc)
