"""Bad inputs, with a larger budget than CI: API fuzzing, MQTT payloads, uploads, models.

    python -m bench.bad_inputs                      # -> bench/results/bad_inputs.json
    python -m bench.bad_inputs --api-examples 20 --mqtt-examples 300    # a quick look

The same fuzzers as `tests/fuzz/` and `tests/security/` (whose CI runs take a few examples
each; `VIGIL_FUZZ_EXAMPLES=200 pytest tests/fuzz` is the long run of those), against a
real `vigil serve` in this process (uvicorn on 127.0.0.1, a fresh PostgreSQL database,
Mosquitto at --mqtt), and the edge's model updater over real HTTP. Per category: inputs
tried, refused (4xx, or refused and counted), and 5xx or crashes, which must be 0.
"""

from __future__ import annotations

import argparse
import base64
import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import write_result


def api_category(server: Any, callers: Any, examples: int) -> dict[str, Any]:
    import httpx

    from tests.kit.api_fuzz import caller_for, fuzz_api

    raw = httpx.get(f"{server.base_url}/api/v1/openapi.json", timeout=30).json()
    results = fuzz_api(server.base_url, raw, caller_for(callers), examples, derandomize=False)
    return {
        "operations": len(results),
        "tried": sum(r.tried for r in results),
        "refused": sum(r.rejected for r in results),
        "server_errors": sum(r.server_errors for r in results),
        "schema_violations": sum(len(r.failures) for r in results),
        "failures": [f"{r.operation}: {f}" for r in results for f in r.failures],
    }


def mqtt_category(server: Any, callers: Any, mqtt_url: str, examples: int) -> dict[str, Any]:
    from shared.loopback import wait_until
    from shared.topics import device_topic
    from tests.kit.mqtt_fuzz import Publisher, publish_storm, valid_message
    from tests.kit.security import metric

    device = callers.device
    before = metric(server, "vigil_ingest_rejected_total", source="mqtt")
    errors_before = metric(server, "vigil_ingest_errors_total")
    publisher = Publisher(mqtt_url)
    storm = publish_storm(publisher, server.root, device.id, device.site, examples, False)

    def refused() -> float:
        return metric(server, "vigil_ingest_rejected_total", source="mqtt") - before

    try:
        wait_until(lambda: refused() >= storm.sent, 120, "every refusal counted")
    except TimeoutError:
        pass
    valid = [valid_message("events", device.id, device.site) for _ in range(20)]
    for event in valid:
        topic = device_topic(device.site, device.id, "events", server.root)
        publisher.send(topic, json.dumps(event).encode())
    publisher.close()
    landed = _wait_stored(server, callers, {e["event_id"] for e in valid})
    return {
        "tried": storm.sent,
        "refused": int(refused()),
        "ingest_errors": int(metric(server, "vigil_ingest_errors_total") - errors_before),
        "by_kind": storm.by_why,
        "valid_after_storm": f"{landed}/{len(valid)} stored",
        "crashes": int(landed != len(valid)),
    }


def _wait_stored(server: Any, callers: Any, wanted: set[str]) -> int:
    import httpx

    deadline = time.monotonic() + 60
    found: set[str] = set()
    while time.monotonic() < deadline and found != wanted:
        rows = httpx.get(
            f"{server.base_url}/api/v1/events",
            params={"device_id": callers.device.id, "limit": 1000},
            headers=callers.admin,
        ).json()
        found = {r["event_id"] for r in rows} & wanted
        time.sleep(0.2)
    return len(found)


def upload_category(server: Any, callers: Any, examples: int, work: Path) -> dict[str, Any]:
    """Truncations of a real clip, random bytes, and hostile file names."""
    import random

    from tests.kit.factories import write_test_video
    from tests.kit.security import upload_clip

    video = write_test_video(work / "clip.mp4", frames=20).read_bytes()
    rng = random.Random(0)
    clips = server.settings.data_dir / "clips"
    before = {p for p in server.settings.data_dir.parent.rglob("*") if p.is_file()}
    tried = refused = server_errors = 0
    names = ["../../x.mp4", "..\\x.mp4", "/etc/passwd", "a/../../b.mp4", "x\x00.mp4", "%2e%2e/x"]
    for n in range(examples):
        kind = n % 3
        if kind == 0:
            body, name = video[: rng.randrange(0, len(video))], "clip.mp4"
        elif kind == 1:
            body, name = rng.randbytes(rng.randrange(0, 4096)), "clip.mp4"
        else:
            body, name = video, rng.choice(names)
        status = upload_clip(server, callers, body, filename=name).status_code
        tried += 1
        refused += 400 <= status < 500
        server_errors += status >= 500
    after = {p for p in server.settings.data_dir.parent.rglob("*") if p.is_file()}
    outside = [str(p) for p in after - before if p.parent != clips]
    return {
        "tried": tried,
        "refused": refused,
        "stored_safely": tried - refused - server_errors,
        "server_errors": server_errors,
        "written_outside_the_clip_store": outside,
    }


def model_category(examples: int, work: Path) -> dict[str, Any]:
    """The malformed models of tests/security, then random bytes, each signed."""
    import random

    from tests.kit.edge import CloudStub, Signer
    from tests.security.test_bad_models import BAD_MODELS, VERSION, make_updater

    signer, cloud = Signer(), CloudStub().start()
    rng = random.Random(0)
    offered = [build() for build, _ in BAD_MODELS.values()]
    offered += [rng.randbytes(rng.randrange(1, 20_000)) for _ in range(examples)]
    tried = refused = crashes = 0
    try:
        for n, data in enumerate(offered):
            cloud.files["/m"] = data
            updater = make_updater(cloud, signer, work / f"m{n}")
            try:
                taken = updater.apply(signer.announce(data, VERSION, "/m"))
            except Exception:  # anything but a refusal is a crash here
                crashes += 1
                continue
            tried += 1
            refused += (not taken) and updater.holder.current.version == "test-1"
        bad_signature = signer.announce(offered[0], VERSION, "/m").model_copy(
            update={"signature": base64.b64encode(b"forged").decode()}
        )
        cloud.files["/m"] = offered[0]
        refused += not make_updater(cloud, signer, work / "sig").apply(bad_signature)
        tried += 1
    finally:
        cloud.stop()
    return {"tried": tried, "refused": refused, "crashes": crashes}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from tests.kit.security import make_callers, running_service

    with tempfile.TemporaryDirectory(prefix="vigil-bench-bad-") as tmp:
        work = Path(tmp)
        with running_service(args.postgres, args.mqtt, work / "data") as server:
            callers = make_callers(server)
            started = time.monotonic()
            categories = {"api": api_category(server, callers, args.api_examples)}
            categories["mqtt"] = mqtt_category(server, callers, args.mqtt, args.mqtt_examples)
            categories["uploads"] = upload_category(server, callers, args.upload_examples, work)
        categories["models"] = model_category(args.model_examples, work)
    return {"categories": categories, "wall_s": round(time.monotonic() - started, 1)}


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--api-examples", type=int, default=100, help="per operation and mode")
    p.add_argument("--mqtt-examples", type=int, default=3000, help="malformed MQTT messages")
    p.add_argument("--upload-examples", type=int, default=150, help="malformed uploads")
    p.add_argument("--model-examples", type=int, default=100, help="random-byte models")
    p.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    p.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/bad_inputs.json)")
    return p.parse_args()


def main() -> int:
    args = parse_args()
    result = run(args)
    cats = result["categories"]
    bad = (
        cats["api"]["server_errors"]
        + cats["api"]["schema_violations"]
        + cats["mqtt"]["crashes"]
        + cats["mqtt"]["ingest_errors"]
        + (cats["mqtt"]["tried"] - cats["mqtt"]["refused"])
        + cats["uploads"]["server_errors"]
        + len(cats["uploads"]["written_outside_the_clip_store"])
        + cats["models"]["crashes"]
        + (cats["models"]["tried"] - cats["models"]["refused"])
    )
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    payload = {**result, "settings": settings, "failures_total": bad}
    path = write_result("bad_inputs.json", payload, args.out)
    for name, cat in cats.items():
        print(f"{name:8} " + ", ".join(f"{k}={v}" for k, v in cat.items() if k != "failures"))
    print(f"wrote {path}; failures: {bad}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
