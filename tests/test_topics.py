from __future__ import annotations

import pytest

from shared.topics import (
    TopicError,
    check_id,
    device_topic,
    ingest_subscriptions,
    model_topic,
    parse_device_topic,
)


def test_build_and_parse_round_trip() -> None:
    topic = device_topic("oak_house", "room-12", "events")
    assert topic == "vigil/oak_house/room-12/events"
    parsed = parse_device_topic(topic)
    assert (parsed.root, parsed.site, parsed.device, parsed.kind) == (
        "vigil",
        "oak_house",
        "room-12",
        "events",
    )
    assert model_topic("oak_house", root="care") == "care/oak_house/model"


@pytest.mark.parametrize("bad", ["+", "#", "a/b", "", "Room", "x" * 65, "a b", "é"])
def test_ids_with_wildcards_or_separators_are_refused(bad: str) -> None:
    with pytest.raises(TopicError, match="invalid"):
        check_id(bad, "device")
    with pytest.raises(TopicError):
        device_topic("site", bad, "events")


@pytest.mark.parametrize(
    "topic",
    ["vigil/s/d", "vigil/s/d/events/x", "vigil/s/+/events", "vigil/s/d/video", "vigil/S/d/events"],
)
def test_parse_refuses_foreign_topics(topic: str) -> None:
    with pytest.raises(TopicError):
        parse_device_topic(topic)


def test_shared_subscription_prefix() -> None:
    subs = ingest_subscriptions(share_group="ingest")
    assert "$share/ingest/vigil/+/+/events" in subs
    assert all(s.startswith("$share/ingest/") for s in subs)
