"""Soak: simulated devices publish events and heartbeats for minutes; memory and lag over time.

    python -m bench.soak                  # 10 minutes, 100 devices -> bench/results/soak.json
    python -m bench.soak --minutes 1      # a short look

What runs, all on 127.0.0.1 and removed at the end (the fixtures of bench/ingest.py):
a fresh PostgreSQL database beside `--postgres` (dropped afterwards), a private Mosquitto
with the shipped delivery limits, and `vigil serve` in its own process, which is the API,
the MQTT ingest and an idle worker in one process, as docker-compose deploys it
(`serve --no-worker` there).

The fleet: `--devices` registered devices over `--sites` sites, each with its own MQTT
connection (paho) in one publisher process. Every device sends a heartbeat every
`--heartbeat-s` (the edge default, 10 s) and an event about every `--event-period-s`
(jittered): a `start`, then the `end` of that episode, then the next `start`; a share
`--fall-share` of episodes are falls (critical, so each opens an alert). The 60 s
scenario of bench/edge_throughput.py gives 2 events a minute per camera; 15 a minute
(the default) is a busy day room. A dashboard-like client reads the live stream of
all sites throughout.

Measured: RSS of the service process (and of any children) and of the broker every
`--sample-s`, with the load average (the machine is shared); the service's own ingest
counters; lag = received_at - publish time of every stored event, by minute of
publishing (p50/p95/max), where received_at is stamped when the ingest takes the batch,
before its commit; and publish -> arrival on the live stream, which the service sends
after the commit (so "stored" lies between the two); lost = events the broker
acknowledged - rows stored, counted from the database after the fleet stops (likewise
heartbeats).
"""

from __future__ import annotations

import argparse
import heapq
import json
import multiprocessing as mp
import os
import random
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import cli_settings, write_result
from bench.fixtures import percentiles
from bench.ingest import Service, register_devices, service, wait_stored
from bench.sse_listener import Arrival, SseListener
from tests.kit.mosquitto import mosquitto
from tests.kit.postgres import postgres_database

INFO_ACTIONS = ("walking", "sitting_down", "standing_up", "bending", "waving")

# -- the fleet: one process, one MQTT connection per device ------------------------------


@dataclass
class Episode:
    """The open episode of one simulated device (what its next `end` closes)."""

    action: str
    started_at: datetime


@dataclass
class SimDevice:
    id: str
    site: str
    events_topic: str
    status_topic: str
    seq: int = 0
    episode: Episode | None = None
    booted: float = field(default_factory=time.time)


def next_event(device: SimDevice, rng: random.Random, fall_share: float) -> str:
    """The device's next event as JSON: end the open episode, or start a new one."""
    from shared.labels import default_severity
    from shared.messages import ActionEvent, EventType, utc_now

    now = utc_now()
    device.seq += 1
    if device.episode is None:
        action = "falling" if rng.random() < fall_share else rng.choice(INFO_ACTIONS)
        device.episode = Episode(action, now)
        kind, started, ended = EventType.START, now, None
    else:
        action, started, ended = device.episode.action, device.episode.started_at, now
        device.episode, kind = None, EventType.END
    return ActionEvent(
        event_id=uuid.uuid4(),
        device_id=device.id,
        site=device.site,
        type=kind,
        action=action,
        severity=default_severity(action),
        confidence=0.9,
        started_at=started,
        ended_at=ended,
        model_version="soak",
        seq=device.seq,
    ).model_dump_json()


def heartbeat(device: SimDevice) -> str:
    from shared.messages import DeviceState, Heartbeat, utc_now

    return Heartbeat(
        device_id=device.id,
        site=device.site,
        status=DeviceState.ONLINE,
        sent_at=utc_now(),
        uptime_s=time.time() - device.booted,
        fps_in=15.0,
        fps_out=15.0,
        latency_ms_p50=1.3,
        latency_ms_p95=1.5,
        cpu_percent=12.0,
        memory_mb=148.0,
        model_version="soak",
    ).model_dump_json()


def connect(device: SimDevice, mqtt_url: str):  # paho is imported lazily
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from shared.broker import parse_mqtt_url

    address = parse_mqtt_url(mqtt_url)
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"soak-{device.id}")
    client.connect(address.host, address.port, keepalive=30)
    client.loop_start()
    return client


def publish_fleet(spec: dict[str, Any], results: Any, go: Any) -> None:
    """Child process: connect every device, wait for `go`, publish until the deadline."""
    devices = [SimDevice(**d) for d in spec["devices"]]
    clients = [connect(d, spec["mqtt_url"]) for d in devices]
    results.put({"ready": True})
    go.wait()
    started = time.time()
    sent, per_minute = run_schedule(devices, clients, spec, started)
    finished = time.time()
    acked = {kind: wait_acked(infos, 120) for kind, infos in sent.items()}
    for client in clients:
        client.disconnect()  # wakes its network thread, so that loop_stop returns at once
    for client in clients:
        client.loop_stop()
    results.put(
        {
            "started": started,
            "finished": finished,
            "sent": {kind: len(infos) for kind, infos in sent.items()},
            "acked": acked,
            "published_per_minute": per_minute,
        }
    )


def run_schedule(
    devices: list[SimDevice], clients: list, spec: dict[str, Any], started: float
) -> tuple[dict[str, list], list[int]]:
    """Publish each device's events and heartbeats when due: the messages' infos by kind,
    and how many went out in each minute."""
    rng = random.Random(spec["seed"])
    period, beat = spec["event_period_s"], spec["heartbeat_s"]
    due = [(started + rng.uniform(0, beat), i, "status") for i in range(len(devices))]
    due += [(started + rng.uniform(0, period), i, "events") for i in range(len(devices))]
    heapq.heapify(due)
    sent: dict[str, list] = {"events": [], "status": []}
    per_minute: list[int] = []
    deadline = started + spec["seconds"]
    while due and due[0][0] < deadline:
        at, i, kind = heapq.heappop(due)
        time.sleep(max(0.0, at - time.time()))
        device = devices[i]
        if kind == "events":
            payload, topic = next_event(device, rng, spec["fall_share"]), device.events_topic
            step = period * rng.uniform(0.5, 1.5)
        else:
            payload, topic, step = heartbeat(device), device.status_topic, beat
        sent[kind].append(clients[i].publish(topic, payload, qos=1, retain=kind == "status"))
        minute = int((time.time() - started) // 60)
        per_minute.extend([0] * (minute + 1 - len(per_minute)))
        per_minute[minute] += 1
        heapq.heappush(due, (at + step, i, kind))
    return sent, per_minute


def wait_acked(infos: list, timeout: float) -> int:
    """How many of these QoS 1 publishes the broker acknowledged (waiting up to `timeout`)."""
    deadline = time.monotonic() + timeout
    for info in infos:
        if not info.is_published():
            try:
                info.wait_for_publish(max(0.1, deadline - time.monotonic()))
            except (RuntimeError, ValueError):
                pass  # not sent (connection lost): counted as not acknowledged below
    return sum(info.is_published() for info in infos)


# -- sampling the service ---------------------------------------------------------------


def serve_process(svc: Service):  # psutil is imported lazily
    """The `vigil serve` child of this process (the one listening on the service's port)."""
    import psutil

    port = svc.base_url.rsplit(":", 1)[1]
    for child in psutil.Process().children(recursive=True):
        cmd = child.cmdline()
        if "serve" in cmd and port in cmd:
            return child
    raise RuntimeError("vigil serve's process not found")


def broker_process():
    import psutil

    for child in psutil.Process().children(recursive=True):
        if child.name() == "mosquitto":
            return child
    raise RuntimeError("the private mosquitto's process not found")


def rss_mb(proc: Any) -> tuple[float, float]:
    """RSS of `proc` alone and of `proc` with all its children, MB."""
    import psutil

    own = proc.memory_info().rss
    children = 0
    for child in proc.children(recursive=True):
        try:
            children += child.memory_info().rss
        except psutil.Error:
            pass  # a child that ended between listing and reading
    return own / 2**20, (own + children) / 2**20


@dataclass
class Sampler:
    """Every `every` seconds: RSS, load average and the service's ingest counters."""

    svc: Service
    every: float
    samples: list[dict[str, Any]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self, t0: float) -> None:
        self.t0, self.serve, self.broker = t0, serve_process(self.svc), broker_process()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            self.samples.append(self.sample())
            if self._stop.wait(self.every):
                return

    def sample(self) -> dict[str, Any]:
        own, tree = rss_mb(self.serve)
        metrics = self.svc.metrics()
        return {
            "t_s": round(time.time() - self.t0, 2),
            "serve_rss_mb": round(own, 2),
            "serve_tree_rss_mb": round(tree, 2),
            "broker_rss_mb": round(rss_mb(self.broker)[0], 2),
            "loadavg_1m": round(os.getloadavg()[0], 2),
            "events_ingested": metrics.get('vigil_ingest_events_total{source="mqtt"}', 0.0),
            "ingest_queue_depth": metrics.get("vigil_ingest_queue_depth"),
            "live_dropped": metrics.get("vigil_live_dropped_total", 0.0),
        }

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30)
        self.samples.append(self.sample())


# -- what the database holds ---------------------------------------------------------------


def query(db_url: str, sql: str, params: tuple) -> list[tuple]:
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        return list(conn.execute(sql, params))


# Lag of each stored event: received_at - its publish time (started_at of a `start`,
# ended_at of an `end`: the fleet stamps them when it publishes), by minute of publishing.
LAG_BY_MINUTE = """
SELECT floor((extract(epoch FROM coalesce(ended_at, started_at)) - %s) / 60) AS minute,
       count(*) AS events,
       percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY lag) AS p50_p95,
       max(lag) AS max
FROM (SELECT *, extract(epoch FROM received_at - coalesce(ended_at, started_at)) * 1000 AS lag
      FROM events WHERE device_id = ANY(%s)) AS stored
GROUP BY minute ORDER BY minute
"""


def lag_by_minute(db_url: str, ids: list[str], t0: float) -> list[dict[str, Any]]:
    rows = query(db_url, LAG_BY_MINUTE, (t0, ids))
    return [
        {
            "minute": int(minute),
            "events": events,
            "lag_ms_p50": round(float(p[0]), 2),
            "lag_ms_p95": round(float(p[1]), 2),
            "lag_ms_max": round(float(worst), 2),
        }
        for minute, events, p, worst in rows
    ]


def stream_lag_by_minute(arrivals: list[Arrival], t0: float) -> list[dict[str, Any]]:
    """Publish -> arrival on the live stream, which the service sends after the commit."""
    by_minute: dict[int, list[float]] = {}
    for a in arrivals:
        published = datetime.fromisoformat(a.data["ended_at"] or a.data["started_at"]).timestamp()
        by_minute.setdefault(int((published - t0) // 60), []).append((a.at - published) * 1000)
    return [
        {"minute": m, "events": len(lags), **percentiles(lags), "max": round(max(lags), 2)}
        for m, lags in sorted(by_minute.items())
    ]


def heartbeats_stored(db_url: str, ids: list[str]) -> dict[str, Any]:
    rows = query(
        db_url,
        "SELECT extract(epoch FROM received_at - sent_at) * 1000 FROM heartbeats"
        " WHERE device_id = ANY(%s)",
        (ids,),
    )
    return {"rows": len(rows), "lag_ms": percentiles([float(r[0]) for r in rows])}


def alerts_stored(db_url: str, ids: list[str]) -> int:
    return int(query(db_url, "SELECT count(*) FROM alerts WHERE device_id = ANY(%s)", (ids,))[0][0])


def falls_started(db_url: str, ids: list[str]) -> int:
    """Fall episodes whose `start` is stored: each should have opened one alert."""
    sql = "SELECT count(*) FROM events WHERE device_id = ANY(%s) AND type = 'start'"
    return int(query(db_url, sql + " AND severity = 'critical'", (ids,))[0][0])


# -- the run --------------------------------------------------------------------------------


def fleet_spec(
    args: argparse.Namespace, svc: Service, mqtt_url: str, devices: list[dict]
) -> dict[str, Any]:
    from shared.topics import device_topic

    return {
        "mqtt_url": mqtt_url,
        "seconds": args.minutes * 60,
        "event_period_s": args.event_period_s,
        "heartbeat_s": args.heartbeat_s,
        "fall_share": args.fall_share,
        "seed": args.seed,
        "devices": [
            {
                "id": d["id"],
                "site": d["site"],
                "events_topic": d["topic"],
                "status_topic": device_topic(d["site"], d["id"], "status", svc.root),
            }
            for d in devices
        ],
    }


def run_fleet(spec: dict[str, Any], sampler: Sampler) -> dict[str, Any]:
    """Start the publisher process, start sampling when it goes, return its counts."""
    ctx = mp.get_context("spawn")
    results, go = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=publish_fleet, args=(spec, results, go), name="fleet")
    proc.start()
    try:
        if not results.get(timeout=120).get("ready"):
            raise RuntimeError("the fleet did not connect")
        sampler.start(time.time())
        go.set()
        done = results.get(timeout=spec["seconds"] + 300)
    finally:
        proc.join(30)
        if proc.is_alive():
            proc.terminate()
    return done


def soak(args: argparse.Namespace, svc: Service, mqtt_url: str, db_url: str) -> dict[str, Any]:
    prefix = f"s{uuid.uuid4().hex[:6]}"
    devices = register_devices(svc, prefix, args.devices, args.sites)
    ids = [d["id"] for d in devices]
    viewer = svc.post("/api/v1/tokens", {"name": f"{prefix}-viewer"})["token"]
    dashboard = SseListener(svc.base_url, viewer, keep=("event",)).start()
    sampler = Sampler(svc, args.sample_s)
    fleet = run_fleet(fleet_spec(args, svc, mqtt_url, devices), sampler)
    stored = wait_stored(db_url, ids, fleet["acked"]["events"], args.drain_timeout)
    sampler.stop()
    dashboard.stop()
    return {
        "fleet": fleet,
        "events_stored": stored["rows"],
        "drained_s": round((stored["last_received"] or fleet["finished"]) - fleet["finished"], 2),
        "heartbeats": heartbeats_stored(db_url, ids),
        "alerts_stored": alerts_stored(db_url, ids),
        "fall_starts_stored": falls_started(db_url, ids),
        "lag_by_minute": lag_by_minute(db_url, ids, fleet["started"]),
        "stream_lag_by_minute": stream_lag_by_minute(dashboard.arrivals, fleet["started"]),
        "samples": sampler.samples,
        "sse_received": dict(dashboard.counts),
        "service_metrics": svc.metrics(),
    }


# -- the summary ----------------------------------------------------------------------------


def slope_mb_per_min(samples: list[dict[str, Any]], key: str, after_s: float = 0.0) -> float | None:
    """Least-squares slope of `key` against time, MB per minute (samples from `after_s` on)."""
    points = [(s["t_s"], s[key]) for s in samples if s["t_s"] >= after_s]
    if len(points) < 3:
        return None
    t, y = np.array(points).T
    return round(float(np.polyfit(t / 60.0, y, 1)[0]), 3)


def memory_summary(samples: list[dict[str, Any]], key: str) -> dict[str, Any]:
    values = [s[key] for s in samples]
    warm = next((s[key] for s in samples if s["t_s"] >= 60), values[-1])
    return {
        "start_mb": values[0],
        "after_1_min_mb": warm,
        "end_mb": values[-1],
        "max_mb": max(values),
        "slope_mb_per_min": slope_mb_per_min(samples, key),
        "slope_mb_per_min_after_1_min": slope_mb_per_min(samples, key, 60.0),
    }


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    fleet, samples, minutes = raw["fleet"], raw["samples"], raw["lag_by_minute"]
    lost = fleet["acked"]["events"] - raw["events_stored"]
    heartbeats_lost = fleet["acked"]["status"] - raw["heartbeats"]["rows"]
    full = [m for m in minutes if m["events"] >= max(1, 0.5 * max(x["events"] for x in minutes))]
    loads = [s["loadavg_1m"] for s in samples]
    stream = [m for m in raw["stream_lag_by_minute"] if m["minute"] in {x["minute"] for x in full}]
    return {
        "events_sent": fleet["sent"]["events"],
        "events_acked": fleet["acked"]["events"],
        "events_stored": raw["events_stored"],
        "events_lost": lost,
        "heartbeats_acked": fleet["acked"]["status"],
        "heartbeats_stored": raw["heartbeats"]["rows"],
        "heartbeats_lost": heartbeats_lost,
        "lost_zero": lost == 0 and heartbeats_lost == 0,
        "alerts_opened": raw["alerts_stored"],
        "fall_starts_stored": raw["fall_starts_stored"],
        "serve_rss": memory_summary(samples, "serve_rss_mb"),
        "broker_rss": memory_summary(samples, "broker_rss_mb"),
        "lag_ms_p50_first_minute": full[0]["lag_ms_p50"] if full else None,
        "lag_ms_p95_first_minute": full[0]["lag_ms_p95"] if full else None,
        "lag_ms_p50_last_minute": full[-1]["lag_ms_p50"] if full else None,
        "lag_ms_p95_last_minute": full[-1]["lag_ms_p95"] if full else None,
        "stream_lag_ms_p95_first_minute": stream[0]["p95"] if stream else None,
        "stream_lag_ms_p95_last_minute": stream[-1]["p95"] if stream else None,
        "events_streamed": raw["sse_received"].get("event", 0),
        "heartbeat_lag_ms": raw["heartbeats"]["lag_ms"],
        "loadavg_1m": {"start": loads[0], "end": loads[-1], "max": max(loads)},
    }


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=10.0, help="how long the fleet publishes")
    p.add_argument("--devices", type=int, default=100, help="simulated devices")
    p.add_argument("--sites", type=int, default=10, help="sites the devices belong to")
    p.add_argument("--event-period-s", type=float, default=4.0, help="mean s between events")
    p.add_argument("--heartbeat-s", type=float, default=10.0, help="s between heartbeats")
    p.add_argument("--fall-share", type=float, default=0.01, help="share of episodes: falls")
    p.add_argument("--sample-s", type=float, default=5.0, help="s between RSS samples")
    p.add_argument("--drain-timeout", type=float, default=60.0, help="give up after no progress")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/soak.json)")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    started = time.monotonic()
    loadavg_before = os.getloadavg()
    with (
        tempfile.TemporaryDirectory(prefix="vigil-bench-soak-") as work,
        postgres_database(args.postgres, "vigil_bench") as db_url,
        mosquitto() as mqtt_url,
        service(db_url, mqtt_url, Path(work)) as svc,
    ):
        raw = soak(args, svc, mqtt_url, db_url)
    result = summarise(raw)
    settings = cli_settings(args)
    payload = {
        **result,
        "settings": {
            **settings,
            "server": "vigil serve (own process; MQTT ingest + API + idle worker)",
            "broker": "private Mosquitto 127.0.0.1, shipped delivery limits, anonymous",
            "fleet": "one process, one paho connection per device, QoS 1",
        },
        "loadavg_before": [round(x, 2) for x in loadavg_before],
        "loadavg_after": [round(x, 2) for x in os.getloadavg()],
        "wall_s": round(time.monotonic() - started, 1),
        **raw,
    }
    path = write_result("soak.json", payload, args.out)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
