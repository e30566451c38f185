"""Broker connections (paho-mqtt 2): clients and a publisher, to a `shared.broker` address."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from shared.broker import BrokerAddress

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """A message was not confirmed by the broker in time."""


def make_client(
    address: BrokerAddress, prefix: str, client_id: str | None = None, manual_ack: bool = False
) -> mqtt.Client:
    """A client with a random id and a clean session, or a persistent session for `client_id`."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"{prefix}-{uuid.uuid4().hex[:12]}",
        clean_session=client_id is None,
        manual_ack=manual_ack,
    )
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set()
    client.reconnect_delay_set(min_delay=1, max_delay=30)
    client.max_queued_messages_set(0)  # while disconnected, keep every message (unbounded)
    return client


class MqttPublisher:
    """One connection that publishes and waits for the broker's PUBACK."""

    def __init__(self, address: BrokerAddress) -> None:
        self._address = address
        self._client = make_client(address, "vigil-cloud-pub")
        self._connected = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        # Called (in a thread of its own) after every (re)connection: re-announce, etc.
        self.on_connected: Callable[[], None] | None = None

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def start(self) -> None:
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def publish(
        self, topic: str, payload: bytes, retain: bool = False, timeout: float = 10
    ) -> None:
        """Publish at QoS 1; raise PublishError unless the broker confirms within `timeout`."""
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        try:
            info.wait_for_publish(timeout)
        except (RuntimeError, ValueError) as exc:
            raise PublishError(f"publish to {topic} failed: {exc}") from exc
        if not info.is_published():
            raise PublishError(f"the broker did not confirm {topic} within {timeout} s")

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning(
                "MQTT publisher: broker %s refused the connection: %s", self._address, reason_code
            )
            return
        log.info("MQTT publisher connected to %s", self._address)
        self._connected.set()
        if self.on_connected is not None:
            # Never publish-and-wait on paho's own network thread: it would wait for itself.
            threading.Thread(target=self.on_connected, name="vigil-on-connect", daemon=True).start()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        self._connected.clear()
