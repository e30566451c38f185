"""The transport interface (after frigate's `comms`): publish, subscribe, stop.

`publish` returns a `Delivery` whose `wait` returns only once the other side has the
message (MQTT: its PUBACK; HTTP: a 2xx), so the outbox can delete an item knowing it
was delivered. Anything else raises `TransportError`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

MessageHandler = Callable[[str, bytes], None]


class TransportError(RuntimeError):
    """A message could not be delivered (now); the outbox keeps it and retries."""


class RejectedError(TransportError):
    """The other side refused a message for good (e.g. HTTP 422): retrying cannot help."""


class CredentialsRefused(TransportError):
    """The cloud refused this device's token (HTTP 401/403): the message stays in the
    outbox, and the agent stops, since nothing it sends will be taken until the token is
    fixed (a revoked device, a token from another service)."""


class Delivery(Protocol):
    def wait(self, timeout: float) -> None:
        """Block until the message is acknowledged; raise TransportError otherwise."""


class Transport(Protocol):
    name: str

    def connected(self) -> bool: ...

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> Delivery: ...

    def subscribe(self, topic: str, handler: MessageHandler) -> None: ...

    def stop(self) -> None: ...


class Delivered:
    """A delivery that completed synchronously (HTTP)."""

    def wait(self, timeout: float) -> None:
        return None
