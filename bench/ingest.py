"""Cloud ingest: MQTT into PostgreSQL through the real service, HTTP batches, SSE latency.

    python -m bench.ingest                  # 60 s of MQTT load -> bench/results/ingest.json
    python -m bench.ingest --seconds 10     # a quick look
    python -m bench.ingest --rate 0         # publishers as fast as they go (a backlog test)

What runs, all on 127.0.0.1 and all removed at the end:
- a fresh PostgreSQL database (beside `--postgres`), dropped afterwards;
- a private Mosquitto with the shipped delivery limits (tests.kit.mosquitto), anonymous:
  the ingest then trusts the topic and checks that its device is registered at its site;
- `vigil serve` in its own process (API, MQTT ingest, idle training worker), as deployed;
- devices registered through `POST /api/v1/devices`, a viewer token for the stream.

Phases, one after the other:
1. SSE latency at rest: a probe device publishes one event every 1/`--probe-rate` s over
   MQTT; a thread on `/api/v1/stream?site=<probe site>` timestamps each one's arrival.
2. MQTT load for `--seconds`: `--publishers` processes publish QoS 1 events for their
   devices at `--rate` events/s in all (default: the goal, 5,000), through one
   `mosquitto_pub -l` per device (or one paho client each, `--client paho`, at most
   `--window` unacknowledged); the probe keeps running (SSE latency under load). Then
   wait until every acknowledged event is a row (or `--drain-timeout` passes without
   progress): lost = events acknowledged by the broker - rows stored with the run's
   device ids. Rate = rows / (last row's received_at - first publish).
3. HTTP: `--http-clients` processes, each a device with its token, POST batches of
   `--batch` events to `/api/v1/events` for `--http-seconds`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import REPO, write_result
from bench.fixtures import percentiles
from shared.loopback import wait_until
from tests.kit.mosquitto import MAX_INFLIGHT_MESSAGES, mosquitto
from tests.kit.postgres import postgres_database
from tests.kit.processes import stop_process, vigil_serve

GOALS = {"mqtt_events_per_s": 5000.0, "sse_latency_ms_p95": 100.0}
EVENT_TEMPLATE = (
    '{{"event_id":"{id}","device_id":"{device}","site":"{site}","camera":"cam0",'
    '"type":"start","action":"walking","severity":"info","confidence":0.8,'
    '"started_at":"{at}","model_version":"bench","seq":{seq}}}'
)


def event_json(device: str, site: str, seq: int, event_id: str | None = None) -> str:
    return EVENT_TEMPLATE.format(
        id=event_id or uuid.uuid4(),
        device=device,
        site=site,
        at=datetime.now(UTC).isoformat(),
        seq=seq,
    )


# -- children: publishers and HTTP clients, one process each -------------------------------


def child_mqtt(spec: dict[str, Any]) -> dict[str, Any]:
    """Publish QoS 1 events for `spec['devices']` until the deadline, with the chosen client."""
    if spec["client"] == "mosquitto_pub":
        return publish_with_mosquitto_pub(spec)
    return publish_with_paho(spec)


def publish_with_paho(spec: dict[str, Any]) -> dict[str, Any]:
    """One paho connection for all of this process's devices, round-robin."""
    import paho.mqtt.client as mqtt
    from paho.mqtt.enums import CallbackAPIVersion

    from shared.broker import parse_mqtt_url

    address = parse_mqtt_url(spec["mqtt_url"])
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-pub-{uuid.uuid4().hex}")
    client.max_inflight_messages_set(spec["window"])
    window = threading.BoundedSemaphore(spec["window"])
    acked = [0]

    def on_publish(*_: object) -> None:
        acked[0] += 1
        window.release()

    client.on_publish = on_publish
    client.connect(address.host, address.port)
    client.loop_start()
    devices = [(d["id"], d["site"], d["topic"]) for d in spec["devices"]]
    ready_and_wait()
    sent, started = 0, time.time()
    deadline, interval = started + spec["seconds"], spec["interval"]
    while (now := time.time()) < deadline:
        if interval and now < started + sent * interval:
            time.sleep(min(started + sent * interval - now, 0.01))
            continue
        if not window.acquire(timeout=1):
            continue
        device, site, topic = devices[sent % len(devices)]
        client.publish(topic, event_json(device, site, sent), qos=1)
        sent += 1
    finished = time.time()
    wait_until(lambda: acked[0] >= sent, 60, "the last PUBACKs")
    client.loop_stop()
    client.disconnect()
    return {"sent": sent, "acked": acked[0], "started": started, "finished": finished}


def publish_with_mosquitto_pub(spec: dict[str, Any]) -> dict[str, Any]:
    """One `mosquitto_pub -l -q 1` per device (Mosquitto's C client), fed lines by this process.

    The load generator shares the 2 cores with the service: paho costs ~160 us of CPU
    per QoS 1 message here, the C client a fraction of it. A client that exits 0 after
    end of input has had every message acknowledged (it waits for the last PUBACK).
    """
    from shared.broker import parse_mqtt_url

    address = parse_mqtt_url(spec["mqtt_url"])
    pubs = [
        subprocess.Popen(
            [
                "mosquitto_pub",
                "-h",
                address.host,
                "-p",
                str(address.port),
                "-q",
                "1",
                "-l",
                "-t",
                d["topic"],
                "-i",
                f"bench-{d['id']}-{uuid.uuid4().hex[:6]}",
            ],
            stdin=subprocess.PIPE,
            text=True,
        )
        for d in spec["devices"]
    ]
    ready_and_wait()
    sent, started = 0, time.time()
    deadline, interval = started + spec["seconds"], spec["interval"]
    while (now := time.time()) < deadline:
        due = int((now - started) / interval) + 1 if interval else sent + 50 * len(pubs)
        for _ in range(due - sent):
            device, pub = spec["devices"][sent % len(pubs)], pubs[sent % len(pubs)]
            assert pub.stdin is not None
            pub.stdin.write(event_json(device["id"], device["site"], sent) + "\n")
            sent += 1
        for pub in pubs:
            assert pub.stdin is not None
            pub.stdin.flush()
        time.sleep(0.005)
    finished = time.time()
    for pub in pubs:
        assert pub.stdin is not None
        pub.stdin.close()
    failed = sum(pub.wait(120) != 0 for pub in pubs)
    return {
        "sent": sent,
        "acked": sent if not failed else 0,
        "started": started,
        "finished": finished,
        "failed_clients": failed,
    }


def child_http(spec: dict[str, Any]) -> dict[str, Any]:
    """POST batches of this device's events until the deadline; count what was accepted."""
    import httpx

    headers = {"Authorization": f"Bearer {spec['token']}", "Content-Type": "application/json"}
    device, site, batch = spec["device"], spec["site"], spec["batch"]
    sent = accepted = duplicates = 0
    latencies: list[float] = []
    with httpx.Client(base_url=spec["base_url"], headers=headers, timeout=60) as client:
        ready_and_wait()
        started = time.time()
        while time.time() < started + spec["seconds"]:
            body = (
                '{"events":['
                + ",".join(event_json(device, site, sent + i) for i in range(batch))
                + "]}"
            )
            t0 = time.perf_counter()
            response = client.post("/api/v1/events", content=body)
            latencies.append((time.perf_counter() - t0) * 1000)
            response.raise_for_status()
            receipt = response.json()
            sent += batch
            accepted += receipt["accepted"]
            duplicates += receipt["duplicates"]
        finished = time.time()
    return {
        "sent": sent,
        "accepted": accepted,
        "duplicates": duplicates,
        "started": started,
        "finished": finished,
        "request_ms": latencies,
    }


def ready_and_wait() -> None:
    """Tell the parent this child is connected, then wait for its go (one line on stdin)."""
    print("ready", flush=True)
    sys.stdin.readline()


CHILDREN = {"mqtt": child_mqtt, "http": child_http}


def run_child(kind: str) -> None:
    spec = json.loads(sys.stdin.readline())
    result = CHILDREN[kind](spec)
    print(json.dumps(result), flush=True)


def run_children(
    kind: str, specs: list[dict[str, Any]], went: threading.Event | None = None
) -> list[dict[str, Any]]:
    """Start one child per spec, wait until all are connected, go, collect their results."""
    cmd = [sys.executable, "-m", "bench.ingest", "--child", kind]
    procs = [
        subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
        for _ in specs
    ]
    try:
        for proc, spec in zip(procs, specs, strict=True):
            assert proc.stdin is not None
            proc.stdin.write(json.dumps(spec) + "\n")
            proc.stdin.flush()
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError(f"a {kind} child did not start (exit {proc.wait()})")
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        if went is not None:
            went.set()
        results = []
        for proc in procs:
            out, _ = proc.communicate(timeout=max(s["seconds"] for s in specs) + 120)
            if proc.returncode != 0:
                raise RuntimeError(f"a {kind} child failed (exit {proc.returncode})")
            results.append(json.loads(out.strip().splitlines()[-1]))
        return results
    finally:
        for proc in procs:
            stop_process(proc, grace_s=5)


# -- the service ---------------------------------------------------------------------------


@dataclass
class Service:
    base_url: str
    admin: dict[str, str]
    root: str

    def post(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        response = httpx.post(self.base_url + path, json=body, headers=self.admin, timeout=30)
        response.raise_for_status()
        return response.json()

    def metrics(self) -> dict[str, float]:
        """The service's own counters and gauges, one value per series (no buckets)."""
        import httpx

        text = httpx.get(self.base_url + "/metrics", timeout=30).text
        values: dict[str, float] = {}
        for line in text.splitlines():
            skip = ("vigil_training", "vigil_job")
            if line.startswith("vigil_") and not line.startswith(skip) and "_bucket" not in line:
                name, _, value = line.rpartition(" ")
                values[name] = float(value)
        return values


@contextmanager
def service(db_url: str, mqtt_url: str, work: Path) -> Iterator[Service]:
    """`vigil serve` in its own process, as deployed; stopped with SIGTERM at the end."""
    root = f"bench-{uuid.uuid4().hex[:8]}"
    env = {"DATABASE_URL": db_url, "VIGIL_MQTT_URL": mqtt_url, "VIGIL_MQTT_TOPIC_ROOT": root}
    with vigil_serve(env, work) as (base, admin_token):
        yield Service(base, {"Authorization": f"Bearer {admin_token}"}, root)


# -- the live stream -------------------------------------------------------------------------


@dataclass
class SseProbe:
    """Publishes probe events over MQTT and times their arrival on the SSE stream."""

    service: Service
    mqtt_url: str
    device: dict[str, Any]
    viewer_token: str
    rate: float
    sent: dict[str, float] = field(default_factory=dict)
    received: dict[str, float] = field(default_factory=dict)
    connected: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        import httpx

        self._http = httpx.Client(timeout=httpx.Timeout(10, read=None))
        threading.Thread(target=self._listen, name="sse", daemon=True).start()
        if not self.connected.wait(30):
            raise RuntimeError("the SSE stream did not connect")
        self._client = self._mqtt()

    def _mqtt(self):  # paho is imported lazily
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        from shared.broker import parse_mqtt_url

        address = parse_mqtt_url(self.mqtt_url)
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-probe-{uuid.uuid4()}")
        client.connect(address.host, address.port)
        client.loop_start()
        return client

    def _listen(self) -> None:
        import httpx

        params = {"token": self.viewer_token, "site": self.device["site"]}
        url = self.service.base_url + "/api/v1/stream"
        kind = ""
        try:
            with self._http.stream("GET", url, params=params) as response:
                for line in response.iter_lines():
                    now = time.perf_counter()
                    if line.startswith(": connected"):
                        self.connected.set()
                    elif line.startswith("event: "):
                        kind = line[len("event: ") :]
                    elif line.startswith("data: ") and kind == "event":
                        event_id = json.loads(line[len("data: ") :])["event_id"]
                        self.received.setdefault(event_id, now)
        except httpx.HTTPError:
            if not self._stop.is_set():
                raise

    def publish_for(self, seconds: float) -> list[str]:
        """Send probes for `seconds`; returns their event ids."""
        ids, start = [], time.perf_counter()
        while (now := time.perf_counter()) < start + seconds:
            event_id = str(uuid.uuid4())
            payload = event_json(self.device["id"], self.device["site"], len(self.sent), event_id)
            self.sent[event_id] = time.perf_counter()
            self._client.publish(self.device["topic"], payload, qos=1)
            ids.append(event_id)
            time.sleep(max(0.0, start + len(ids) / self.rate - now))
        return ids

    def latencies_ms(self, ids: list[str], timeout: float) -> tuple[list[float], int]:
        """Latencies of `ids` (waiting up to `timeout` for stragglers) and how many never came."""
        try:
            wait_until(lambda: all(i in self.received for i in ids), timeout, "SSE probes")
        except TimeoutError:
            pass
        got = [(self.received[i] - self.sent[i]) * 1000 for i in ids if i in self.received]
        return got, len(ids) - len(got)

    def stop(self) -> None:
        self._stop.set()
        self._client.loop_stop()
        self._client.disconnect()
        self._http.close()


# -- phases ----------------------------------------------------------------------------------


def register_devices(svc: Service, prefix: str, count: int, sites: int) -> list[dict[str, Any]]:
    from shared.topics import device_topic

    devices = []
    for i in range(count):
        site = f"{prefix}-site{i % sites}"
        body = svc.post("/api/v1/devices", {"device_id": f"{prefix}-dev{i:03d}", "site": site})
        device_id = body["device"]["id"]
        devices.append(
            {
                "id": device_id,
                "site": site,
                "token": body["token"],
                "topic": device_topic(site, device_id, "events", svc.root),
            }
        )
    return devices


def stored(db_url: str, device_ids: list[str]) -> dict[str, Any]:
    """Rows of these devices: count, first/last received_at, the busiest and quietest second."""
    import psycopg
    from sqlalchemy.engine import make_url

    dsn = make_url(db_url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn) as conn:
        count, first, last = conn.execute(
            "SELECT count(*), min(received_at), max(received_at) FROM events"
            " WHERE device_id = ANY(%s)",
            (device_ids,),
        ).fetchone()
        per_second = [
            row[1]
            for row in conn.execute(
                "SELECT floor(extract(epoch FROM received_at)) AS second, count(*) FROM events"
                " WHERE device_id = ANY(%s) GROUP BY second ORDER BY second",
                (device_ids,),
            )
        ]
    return {
        "rows": int(count),
        "first_received": first.timestamp() if first else None,
        "last_received": last.timestamp() if last else None,
        "per_second_rows": per_second,
    }


def wait_stored(db_url: str, device_ids: list[str], expected: int, timeout: float) -> dict:
    """Poll until `expected` rows are stored (or `timeout` passes with no progress)."""
    last_change, seen = time.monotonic(), -1
    while True:
        result = stored(db_url, device_ids)
        if result["rows"] >= expected:
            return result
        if result["rows"] != seen:
            last_change, seen = time.monotonic(), result["rows"]
        if time.monotonic() - last_change > timeout:
            return result
        time.sleep(1.0)


def mqtt_phase(
    args: argparse.Namespace, svc: Service, mqtt_url: str, devices: list[dict], probe: SseProbe
) -> dict[str, Any]:
    per = [devices[i :: args.publishers] for i in range(args.publishers)]
    interval = args.publishers / args.rate if args.rate else 0.0
    specs = [
        {
            "mqtt_url": mqtt_url,
            "devices": own,
            "seconds": args.seconds,
            "window": args.window,
            "interval": interval,
            "client": args.client,
        }
        for own in per
    ]
    box: dict[str, Any] = {}
    went = threading.Event()
    load = threading.Thread(target=lambda: box.update(results=run_children("mqtt", specs, went)))
    load.start()
    probe_ids = probe.publish_for(args.seconds - 1.0) if went.wait(60) else []
    load.join()
    if "results" not in box:
        raise RuntimeError("the MQTT publishers failed (see above)")
    results = box["results"]
    sent = sum(r["sent"] for r in results)
    acked = sum(r["acked"] for r in results)
    published_s = max(r["finished"] for r in results) - min(r["started"] for r in results)
    ids = [d["id"] for d in devices]
    rows = wait_stored(args.db_url, ids, acked, args.drain_timeout)
    first_publish = min(r["started"] for r in results)
    ingest_s = (rows["last_received"] or first_publish) - first_publish
    latencies, lost_probes = probe.latencies_ms(probe_ids, 30)
    steady = rows["per_second_rows"][1:-1] or rows["per_second_rows"]
    return {
        "client": args.client,
        "publishers": args.publishers,
        "devices": len(devices),
        "window": args.window,
        "target_rate": args.rate,
        "sent": sent,
        "acked": acked,
        "rows": rows["rows"],
        "lost": acked - rows["rows"],
        "publish_rate": sent / published_s,
        "publish_seconds": published_s,
        "events_per_s": rows["rows"] / ingest_s if ingest_s > 0 else None,
        "ingest_seconds": ingest_s,
        "drain_after_publish_s": (rows["last_received"] or 0) - max(r["finished"] for r in results),
        "rows_per_second_median": statistics.median(steady) if steady else None,
        "rows_per_second_min_max": [min(steady), max(steady)] if steady else None,
        "rows_per_second": rows["per_second_rows"],
        "sse_under_load": {**percentiles(latencies), "probes": len(probe_ids), "lost": lost_probes},
    }


def http_phase(args: argparse.Namespace, svc: Service, devices: list[dict]) -> dict[str, Any]:
    specs = [
        {
            "base_url": svc.base_url,
            "token": d["token"],
            "device": d["id"],
            "site": d["site"],
            "batch": args.batch,
            "seconds": args.http_seconds,
        }
        for d in devices
    ]
    results = run_children("http", specs)
    accepted = sum(r["accepted"] for r in results)
    sent = sum(r["sent"] for r in results)
    seconds = max(r["finished"] for r in results) - min(r["started"] for r in results)
    rows = stored(args.db_url, [d["id"] for d in devices])["rows"]
    requests = [ms for r in results for ms in r["request_ms"]]
    return {
        "clients": len(devices),
        "batch": args.batch,
        "sent": sent,
        "accepted": accepted,
        "rows": rows,
        "lost": sent - rows,
        "seconds": seconds,
        "events_per_s": accepted / seconds,
        "requests": len(requests),
        "request_ms": percentiles(requests),
    }


def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    with (
        postgres_database(args.postgres, "vigil_bench") as db_url,
        mosquitto(args.broker_inflight) as mqtt_url,
        service(db_url, mqtt_url, work) as svc,
    ):
        args.db_url = db_url
        prefix = f"b{uuid.uuid4().hex[:6]}"
        load = register_devices(svc, f"{prefix}-m", args.devices, args.sites)
        http = register_devices(svc, f"{prefix}-h", args.http_clients, args.http_clients)
        probe_device = register_devices(svc, f"{prefix}-p", 1, 1)[0]
        viewer = svc.post("/api/v1/tokens", {"name": f"{prefix}-viewer"})["token"]
        probe = SseProbe(svc, mqtt_url, probe_device, viewer, args.probe_rate)
        probe.start()
        try:
            idle_ids = probe.publish_for(args.probe_seconds)
            idle, idle_lost = probe.latencies_ms(idle_ids, 10)
            print(f"SSE at rest: {percentiles(idle)} ms", flush=True)
            mqtt = mqtt_phase(args, svc, mqtt_url, load, probe)
            print(
                f"MQTT: {mqtt['rows']}/{mqtt['acked']} stored, {mqtt['events_per_s']:.0f} events/s",
                flush=True,
            )
            http_result = http_phase(args, svc, http) if args.http_seconds > 0 else None
            metrics = svc.metrics()
        finally:
            probe.stop()
    return {
        "sse_idle": {**percentiles(idle), "probes": len(idle_ids), "lost": idle_lost},
        "mqtt": mqtt,
        "http": http_result,
        "service_metrics": metrics,
    }


def goals(result: dict[str, Any]) -> dict[str, Any]:
    rate, p95 = result["mqtt_events_per_s"], result["sse_latency_ms_p95"]
    return {
        "mqtt_events_per_s_zero_loss": {
            "value": rate,
            "lost": result["mqtt_lost"],
            "goal": f">= {GOALS['mqtt_events_per_s']:g} with 0 lost",
            "met": rate is not None
            and rate >= GOALS["mqtt_events_per_s"]
            and result["mqtt_lost"] == 0,
        },
        "sse_latency_ms_p95": {
            "value": p95,
            "goal": f"<= {GOALS['sse_latency_ms_p95']:g} (at rest)",
            "met": p95 is not None and p95 <= GOALS["sse_latency_ms_p95"],
        },
    }


def summarise(raw: dict[str, Any]) -> dict[str, Any]:
    mqtt, http = raw["mqtt"], raw["http"]
    result = {
        "mqtt_events_per_s": round(mqtt["events_per_s"], 1) if mqtt["events_per_s"] else None,
        "mqtt_sent": mqtt["acked"],
        "mqtt_stored": mqtt["rows"],
        "mqtt_lost": mqtt["lost"],
        "mqtt_publish_rate": round(mqtt["publish_rate"], 1),
        "http_events_per_s": round(http["events_per_s"], 1) if http else None,
        "http_lost": http["lost"] if http else None,
        "sse_latency_ms_p50": raw["sse_idle"].get("p50"),
        "sse_latency_ms_p95": raw["sse_idle"].get("p95"),
        "sse_latency_under_load_ms_p50": mqtt["sse_under_load"].get("p50"),
        "sse_latency_under_load_ms_p95": mqtt["sse_under_load"].get("p95"),
    }
    result["goals"] = goals(result)
    return result


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seconds", type=float, default=60.0, help="MQTT load duration")
    p.add_argument("--publishers", type=int, default=2, help="MQTT publisher processes")
    p.add_argument("--devices", type=int, default=40, help="devices the publishers speak for")
    p.add_argument("--sites", type=int, default=4, help="sites those devices belong to")
    p.add_argument(
        "--client",
        choices=("mosquitto_pub", "paho"),
        default="mosquitto_pub",
        help="MQTT client the publishers use (mosquitto_pub: one C client per device)",
    )
    p.add_argument("--window", type=int, default=200, help="paho: unacknowledged per publisher")
    p.add_argument(
        "--rate",
        type=float,
        default=GOALS["mqtt_events_per_s"],
        help="total events/s the publishers offer (default: the goal); 0: as fast as they go",
    )
    p.add_argument("--drain-timeout", type=float, default=60.0, help="give up after no progress")
    p.add_argument("--http-seconds", type=float, default=20.0, help="0: skip the HTTP phase")
    p.add_argument("--http-clients", type=int, default=4, help="HTTP processes (one device each)")
    p.add_argument("--batch", type=int, default=100, help="events per POST")
    p.add_argument("--probe-rate", type=float, default=20.0, help="SSE probes per second")
    p.add_argument("--probe-seconds", type=float, default=10.0, help="SSE at rest")
    p.add_argument(
        "--broker-inflight",
        type=int,
        default=MAX_INFLIGHT_MESSAGES,
        help="Mosquitto max_inflight_messages (deploy config: 500)",
    )
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/ingest.json)")
    p.add_argument("--child", choices=sorted(CHILDREN), help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        run_child(args.child)
        return
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-ingest-") as work:
        raw = run(args, Path(work))
        settings = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        settings.pop("db_url", None)
        settings.pop("child", None)
    result = summarise(raw)
    payload = {
        **result,
        "settings": {
            **settings,
            "server": "vigil serve (own process; MQTT ingest + API + idle worker)",
            "broker": "private Mosquitto 127.0.0.1, shipped delivery limits, anonymous",
            "event": "ActionEvent, type start, severity info (no alerts)",
        },
        "wall_s": round(time.monotonic() - started, 1),
        **raw,
    }
    path = write_result("ingest.json", payload, args.out)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
