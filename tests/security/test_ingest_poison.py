"""One message the database refuses costs only itself: the events that arrived in the
same MQTT batch are stored. A trigger makes the database refuse one row, and hold up an
earlier one for a second, so that the others queue up into one batch behind it."""

from __future__ import annotations

import json
import time

import psycopg
import pytest
from sqlalchemy.engine import make_url

from shared.topics import device_topic
from tests.kit.mqtt_fuzz import Publisher, valid_message
from tests.kit.outcomes import wait_for
from tests.kit.security import Callers, Server, metric

pytestmark = pytest.mark.services

REFUSE_POISON = """
CREATE FUNCTION refuse_poison() RETURNS trigger AS $$
BEGIN
  IF NEW.camera = 'poison' THEN RAISE EXCEPTION 'this row is refused'; END IF;
  IF NEW.camera = 'slow' THEN PERFORM pg_sleep(1.5); END IF;
  RETURN NEW;
END $$ LANGUAGE plpgsql;
CREATE TRIGGER refuse_poison BEFORE INSERT ON events
  FOR EACH ROW EXECUTE FUNCTION refuse_poison();
"""


def test_a_refused_message_does_not_take_its_batch_with_it(
    secure_server: Server, callers: Callers, mqtt_url: str
) -> None:
    url = make_url(secure_server.settings.sqlalchemy_url).set(drivername="postgresql")
    with psycopg.connect(url.render_as_string(hide_password=False), autocommit=True) as conn:
        conn.execute(REFUSE_POISON)
    device = callers.device
    topic = device_topic(device.site, device.id, "events", secure_server.root)
    good = [valid_message("events", device.id, device.site) for _ in range(40)]
    poison = {**valid_message("events", device.id, device.site), "camera": "poison"}
    errors_before = metric(secure_server, "vigil_ingest_errors_total")
    slow = {**valid_message("events", device.id, device.site), "camera": "slow"}
    publisher = Publisher(mqtt_url)
    try:  # while the slow one is written, the rest queue up: the next batch holds them all
        publisher.send(topic, json.dumps(slow).encode())
        time.sleep(0.3)
        infos = [
            publisher.client.publish(topic, json.dumps(m).encode(), qos=1)
            for m in [*good[:20], poison, *good[20:]]
        ]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        publisher.close()

    def stored() -> set[str]:
        params = {"device_id": device.id, "limit": 1000}
        with secure_server.client(callers.admin) as client:
            return {r["event_id"] for r in client.get("/api/v1/events", params=params).json()}

    wanted = {m["event_id"] for m in good}
    wait_for(lambda: wanted <= stored(), 30, "the 40 good events")
    assert poison["event_id"] not in stored()
    assert metric(secure_server, "vigil_ingest_errors_total", stage="batch") >= 1
    assert metric(secure_server, "vigil_ingest_errors_total", stage="message") >= 1
    assert metric(secure_server, "vigil_ingest_errors_total") > errors_before
