"""HTTP drain: how long a backlog of queued events takes to reach the cloud over HTTP.

    python -m bench.http_drain                # 10,000 events a mode -> results/http_drain.json
    python -m bench.http_drain --events 1000  # a quick look

An agent whose broker has been gone for `http.fallback_after_s` sends its outbox over
HTTP. Each mode drains the same backlog, one after the other, on 127.0.0.1:
- the cloud: `vigil serve` in its own process (uvicorn, as deployed), HTTP only (no broker,
  no training worker), on a fresh PostgreSQL database beside `--postgres`
  (tests.kit.postgres, dropped afterwards), or a SQLite file when PostgreSQL cannot be
  reached or `--sqlite` says so. Its per-device ingest rate limit is off
  (`VIGIL_INGEST_REQUESTS_PER_S=0`): the transport is measured here, not the limit;
- the edge, per mode: a device registered through `POST /api/v1/devices`, a real
  `OutboxStore` file filled with `--events` ActionEvents as the agent queues them, and a
  real `OutboxSender` with only its HTTP transport (the agent's `CloudClient`, default
  `HttpConfig`) draining it, `batch` events a peek and at most MAX_BATCH a request.

Modes (`--batches`): 1 is one request per event (the sender before batching), 50 the
sender's default, 1000 the cloud's MAX_BATCH. Seconds: the sender's start until the
outbox is empty. Afterwards the device's rows are counted in the database: every event
must be stored, and only once.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from bench.common import cli_settings, write_result
from tests.kit.processes import vigil_serve as vigil_serve_process

DEFAULT_BATCHES = (1, 50, 1000)
INGEST_REQUESTS = "vigil_ingest_lag_seconds_count"  # one observation per stored HTTP batch


@dataclass(frozen=True)
class Cloud:
    base_url: str
    admin: dict[str, str]
    database: str  # "postgresql" or "sqlite"
    db_url: str

    def register(self, device_id: str, site: str) -> str:
        """A new device; returns its token."""
        body = {"device_id": device_id, "site": site}
        response = httpx.post(f"{self.base_url}/api/v1/devices", json=body, headers=self.admin)
        response.raise_for_status()
        return str(response.json()["token"])

    def ingest_requests(self) -> int:
        """HTTP event batches the service has stored so far (its /metrics)."""
        text = httpx.get(f"{self.base_url}/metrics", timeout=10).text
        for line in text.splitlines():
            if line.startswith(INGEST_REQUESTS) and 'source="http"' in line:
                return int(float(line.rsplit(" ", 1)[1]))
        return 0


# -- the cloud ---------------------------------------------------------------------------


def postgres_reachable(url: str) -> bool:
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        psycopg.connect(dsn, connect_timeout=3).close()
    except psycopg.Error:
        return False
    return True


@contextmanager
def database(args: argparse.Namespace, work: Path) -> Iterator[tuple[str, str]]:
    """(kind, URL) of a fresh database: PostgreSQL when reachable, else a SQLite file."""
    if not args.sqlite and postgres_reachable(args.postgres):
        from tests.kit.postgres import postgres_database

        with postgres_database(args.postgres, "vigil_bench") as db_url:
            yield "postgresql", db_url
        return
    print("PostgreSQL not used: SQLite file instead", flush=True)
    yield "sqlite", f"sqlite:///{work / 'vigil.db'}"


@contextmanager
def vigil_serve(db_url: str, database_kind: str, work: Path) -> Iterator[Cloud]:
    """`vigil serve` in its own process, HTTP only, no rate limit; SIGTERM at the end."""
    env = {
        "DATABASE_URL": db_url,
        "VIGIL_MQTT_URL": None,
        "VIGIL_RUN_WORKER": "false",
        "VIGIL_INGEST_REQUESTS_PER_S": "0",
    }
    with vigil_serve_process(env, work) as (base, admin_token):
        yield Cloud(base, {"Authorization": f"Bearer {admin_token}"}, database_kind, db_url)


def stored_rows(db_url: str, device_id: str) -> tuple[int, int]:
    """(rows, distinct event ids) the database holds for this device."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows, distinct = conn.execute(
                text("SELECT count(*), count(DISTINCT event_id) FROM events WHERE device_id = :d"),
                {"d": device_id},
            ).one()
    finally:
        engine.dispose()
    return int(rows), int(distinct)


# -- the edge ------------------------------------------------------------------------------


def fill_outbox(path: Path, device_id: str, site: str, events: int) -> Any:
    """An OutboxStore with `events` ActionEvents queued as the agent's EventSink queues them."""
    from edge.outbox import ItemKind, OutboxItem, OutboxStore
    from shared.labels import Severity
    from shared.messages import ActionEvent, EventType

    store = OutboxStore(path, max_items=max(events, 10))
    origin = datetime.now(UTC)
    for seq in range(events):
        event = ActionEvent(
            event_id=uuid.uuid4(),
            device_id=device_id,
            site=site,
            type=EventType.START,
            action="walking",
            severity=Severity.INFO,
            confidence=0.8,
            started_at=origin + timedelta(seconds=seq),
            model_version="bench",
            seq=seq,
        )
        item = OutboxItem(
            ItemKind.EVENT, str(event.event_id), event.model_dump_json(), site, device_id
        )
        store.put(item)
    return store


def drain(cloud: Cloud, batch: int, events: int, work: Path) -> dict[str, Any]:
    """One mode: register, fill an outbox, time the sender until it is empty, count rows."""
    from edge.config import HttpConfig
    from edge.sender import OutboxSender
    from edge.stats import AgentStats
    from edge.transport.http import CloudClient, HttpTransport

    device_id, site = f"drain-b{batch}-{uuid.uuid4().hex[:6]}", "bench-drain"
    token = cloud.register(device_id, site)
    started = time.monotonic()
    store = fill_outbox(work / f"outbox-b{batch}.sqlite", device_id, site, events)
    fill_s = time.monotonic() - started
    stop = threading.Event()
    http = HttpTransport(CloudClient(cloud.base_url, token, HttpConfig(), stop))
    sender = OutboxSender(store, None, http, AgentStats(), stop, batch=batch)
    requests_before = cloud.ingest_requests()
    started = time.monotonic()
    sender.start()
    try:
        while store.depth() > 0 and sender.is_alive():
            time.sleep(0.01)
        seconds = time.monotonic() - started
    finally:
        stop.set()
        store.wake()
        sender.join(30)
        http.stop()
    left = store.depth()
    store.close()
    rows, distinct = stored_rows(cloud.db_url, device_id)
    result = {
        "batch": batch,
        "events": events,
        "seconds": round(seconds, 3),
        "events_per_s": round(events / seconds, 1),
        "requests": sender.http_posts,
        "requests_stored_by_cloud": cloud.ingest_requests() - requests_before,
        "delivered": sender.delivered["http"],
        "rejected": sender.delivered["rejected"],
        "errors": sender.stats.get("errors"),
        "left_in_outbox": left,
        "rows_stored": rows,
        "distinct_event_ids": distinct,
        "all_stored": rows == events and distinct == events and left == 0,
        "fill_s": round(fill_s, 1),
    }
    print(json.dumps(result), flush=True)
    return result


# -- the run -------------------------------------------------------------------------------


def rate_limit_defaults() -> dict[str, float]:
    """The service's default per-device ingest limit, which this benchmark switches off."""
    from cloud.service.settings import Settings

    fields = Settings.model_fields
    return {
        "requests_per_s": float(fields["ingest_requests_per_s"].default),
        "burst": float(fields["ingest_request_burst"].default),
    }


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=10_000, help="backlog per mode")
    p.add_argument(
        "--batches", type=int, nargs="+", default=list(DEFAULT_BATCHES), help="sender batch sizes"
    )
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--sqlite", action="store_true", help="a SQLite file even if PostgreSQL is up")
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/http_drain.json)")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-drain-") as tmp, ExitStack() as stack:
        work = Path(tmp)
        kind, db_url = stack.enter_context(database(args, work))
        cloud = stack.enter_context(vigil_serve(db_url, kind, work))
        modes = [drain(cloud, batch, args.events, work) for batch in args.batches]
    payload = {
        "settings": {
            **cli_settings(args, drop=("postgres",)),
            "database": kind,
            "server": "vigil serve (own process, uvicorn; HTTP only, no worker), 127.0.0.1",
            "edge": "OutboxStore file + OutboxSender with only HTTP (CloudClient, HttpConfig())",
            "rate_limit": "off (VIGIL_INGEST_REQUESTS_PER_S=0)",
        },
        "default_rate_limit": rate_limit_defaults(),
        "modes": modes,
        "all_stored": all(m["all_stored"] for m in modes),
        "wall_s": round(time.monotonic() - started, 1),
    }
    path = write_result("http_drain.json", payload, args.out)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
