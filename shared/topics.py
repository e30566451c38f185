"""MQTT topics: `{root}/{site}/{device}/{kind}` and `{root}/{site}/model`.

Site and device ids are `[a-z0-9_-]{1,64}`: no wildcard (`+`, `#`) and no `/` can ever
reach a topic, so a device cannot publish into or subscribe across another's tree.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ID_PATTERN = r"^[a-z0-9_-]{1,64}$"
_ID = re.compile(ID_PATTERN)
DEFAULT_ROOT = "vigil"

DeviceTopicKind = Literal["events", "status", "cmd", "ack"]
DEVICE_TOPIC_KINDS: tuple[str, ...] = ("events", "status", "cmd", "ack")


class TopicError(ValueError):
    """A topic or an id in it is not one Vigil builds."""


def check_id(value: str, what: str = "id") -> str:
    """Return `value` if it is a valid site/device id, else raise TopicError saying why."""
    if not isinstance(value, str) or not _ID.match(value):
        raise TopicError(
            f"invalid {what} {value!r}: use 1-64 characters from a-z, 0-9, '_' and '-'"
        )
    return value


def device_topic(site: str, device: str, kind: DeviceTopicKind, root: str = DEFAULT_ROOT) -> str:
    if kind not in DEVICE_TOPIC_KINDS:
        raise TopicError(
            f"unknown device topic kind {kind!r}; expected one of {DEVICE_TOPIC_KINDS}"
        )
    return f"{check_id(root, 'root')}/{check_id(site, 'site')}/{check_id(device, 'device')}/{kind}"


def model_topic(site: str, root: str = DEFAULT_ROOT) -> str:
    return f"{check_id(root, 'root')}/{check_id(site, 'site')}/model"


def ingest_subscriptions(root: str = DEFAULT_ROOT, share_group: str | None = None) -> list[str]:
    """Topic filters the cloud ingest subscribes to, optionally as an MQTT v5 shared group."""
    filters = [f"{check_id(root, 'root')}/+/+/events", f"{root}/+/+/status", f"{root}/+/+/ack"]
    if share_group:
        return [f"$share/{check_id(share_group, 'share group')}/{f}" for f in filters]
    return filters


@dataclass(frozen=True)
class DeviceTopic:
    root: str
    site: str
    device: str
    kind: str


def parse_device_topic(topic: str) -> DeviceTopic:
    """Split `{root}/{site}/{device}/{kind}`; anything else raises TopicError."""
    parts = topic.split("/")
    if len(parts) != 4:
        raise TopicError(f"topic {topic!r} is not root/site/device/kind")
    root, site, device, kind = parts
    for value, what in ((root, "root"), (site, "site"), (device, "device")):
        check_id(value, what)
    if kind not in DEVICE_TOPIC_KINDS:
        raise TopicError(f"topic {topic!r}: unknown kind {kind!r}")
    return DeviceTopic(root=root, site=site, device=device, kind=kind)
