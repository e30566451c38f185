"""How messages leave the device: one small interface, MQTT and HTTP implementations."""

from edge.transport.base import Delivery, MessageHandler, Transport, TransportError

__all__ = ["Delivery", "MessageHandler", "Transport", "TransportError"]
