"""MQTT transport (paho-mqtt 2.x, callback API v2): QoS 1, retained status, last will.

On every (re)connect the agent publishes a retained `online` Heartbeat and subscribes
again; the broker publishes the retained `offline` last will if the agent dies without
saying goodbye (a `kill -9` closes the socket; a hang trips the keepalive). paho's
network thread reconnects with exponential backoff between the configured bounds.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edge.config import MqttConfig
from edge.transport.base import MessageHandler, TransportError
from shared.broker import BrokerAddress

log = logging.getLogger(__name__)


class MqttDelivery:
    def __init__(self, info: mqtt.MQTTMessageInfo) -> None:
        self.info = info

    def wait(self, timeout: float) -> None:
        try:
            self.info.wait_for_publish(timeout)
            published = self.info.is_published()
        except (ValueError, RuntimeError) as exc:
            raise TransportError(f"publish failed: {exc}") from exc
        if not published:
            raise TransportError(f"no PUBACK for message {self.info.mid} within {timeout} s")


class MqttTransport:
    name = "mqtt"

    def __init__(
        self,
        config: MqttConfig,
        address: BrokerAddress,
        client_id: str,
        status_topic: str,
        online_payload: Callable[[], bytes],
        offline_payload: Callable[[], bytes],
        on_refused: Callable[[str], None] | None = None,
    ) -> None:
        self.on_refused = on_refused  # told each time the broker refuses (the heartbeat says so)
        self.config = config
        self.address = address  # logged as `address`: it prints without the password
        self.status_topic = status_topic
        self.online_payload = online_payload
        self.offline_payload = offline_payload
        self._handlers: dict[str, MessageHandler] = {}
        self._lock = threading.Lock()
        self._down_since = time.monotonic()
        self.client = self._make_client(client_id)

    def _make_client(self, client_id: str) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        client.will_set(self.status_topic, self.offline_payload(), qos=1, retain=True)
        if self.address.username is not None:
            client.username_pw_set(self.address.username, self.address.password)
        if self.address.tls:
            ca = str(self.config.ca_file) if self.config.ca_file else None
            client.tls_set(ca_certs=ca, tls_version=ssl.PROTOCOL_TLS_CLIENT)
        client.reconnect_delay_set(
            min_delay=max(1, round(self.config.reconnect_min_s)),
            max_delay=max(1, round(self.config.reconnect_max_s)),
        )
        client.max_inflight_messages_set(100)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    def start(self) -> None:
        """Connect in the background; paho's loop thread keeps reconnecting."""
        self.client.connect_async(self.address.host, self.address.port, self.config.keepalive_s)
        self.client.loop_start()

    def connected(self) -> bool:
        return bool(self.client.is_connected())

    def disconnected_for(self) -> float:
        """Seconds since the connection was lost (or since start, if never connected)."""
        with self._lock:
            return 0.0 if self.connected() else time.monotonic() - self._down_since

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> MqttDelivery:
        if not self.connected():
            raise TransportError(f"not connected to {self.address}")
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
            raise TransportError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        return MqttDelivery(info)

    def subscribe(self, topic: str, handler: MessageHandler) -> None:
        with self._lock:
            self._handlers[topic] = handler
        if self.connected():
            self.client.subscribe(topic, qos=1)

    def stop(self) -> None:
        """Say `offline` (retained) ourselves, so a clean exit needs no last will."""
        try:
            if self.connected():
                self.publish(self.status_topic, self.offline_payload(), retain=True).wait(2.0)
        except TransportError as exc:
            log.warning("could not publish offline status: %s", exc)
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        if reason.is_failure:
            log.warning("broker %s refused the connection: %s", self.address, reason)
            if self.on_refused is not None:
                self.on_refused(f"MQTT broker {self.address} refused the connection: {reason}")
            return
        log.info("connected to %s", self.address)
        client.publish(self.status_topic, self.online_payload(), qos=1, retain=True)
        with self._lock:
            topics = list(self._handlers)
        for topic in topics:
            client.subscribe(topic, qos=1)

    def _on_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: Any, properties: Any
    ) -> None:
        with self._lock:
            self._down_since = time.monotonic()
        log.warning("disconnected from %s: %s", self.address, reason)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._lock:
            handlers = [
                h for t, h in self._handlers.items() if mqtt.topic_matches_sub(t, message.topic)
            ]
        for handler in handlers:
            try:
                handler(message.topic, bytes(message.payload))
            except Exception:
                log.exception("handler for %s failed", message.topic)
