"""End-to-end fall-alert latency: edge agent on a video -> MQTT -> cloud alert -> SSE client.

    python -m bench.alert_latency                        # 12 scenario videos
    python -m bench.alert_latency --model student.onnx   # a given trained student

-> bench/results/alert_latency.json

What runs, all on 127.0.0.1 and removed at the end (the fixtures of bench/ingest.py):
a fresh PostgreSQL database, a private Mosquitto with the shipped limits, `vigil serve`
in its own process, one registered device per video, and a viewer on the site's live
stream (`/api/v1/stream`, as the dashboard reads it) that timestamps every `alert`.

Two stages: the edge raises a possible fall (a warning) as soon as its fall rule holds
and confirms it (the alarm) `events.confirm_s` later if the person is still down; both
are timed from the scripted fall to their alert on the stream. A false alarm is an
alarm (confirmed, or a one-stage critical start) before the scripted fall.

Each video is the default synthetic scenario (a fall scripted at 12 s) rendered with
its own seed, the very inputs of bench/edge_throughput.py, played by the real edge agent
(the agent of `vigil edge run --realtime --print --mqtt ...`, built by the CLI's own
code in a child process) at its frame rate: `--parallel` agents at a time, each its own
device. The student is bench/edge_throughput.py's: `--model`, or the one it trains
(and caches under `--work`) on a synthetic set; that student is weak (test fall recall
about 0.3), so some falls are missed and some alarms are false: both are counted.

Clocks: everything is this machine's wall clock (time.time()). The agent stamps events
as its clock origin + video time; the origin is taken when the agent is built, before
the model loads and the capture starts pacing, so "scripted fall" = origin + the
scripted fall start is at or before the moment that frame was really played, and a
latency measured from it is an upper bound, by at most `start_slack_s` (origin ->
`Agent.run()`, reported per video). "Edge detection" is when the agent printed the
event, which it does after the event is durable in its outbox.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

from bench.common import REPO, alarm_at, cli_settings, fall_alarms, write_result
from bench.edge_throughput import agent_argv as edge_argv
from bench.edge_throughput import fall_videos, trained_student
from bench.fixtures import percentiles
from bench.ingest import register_devices, service
from bench.sse_listener import Arrival, SseListener
from edge.config import load_settings
from shared.loopback import wait_until
from tests.kit.mosquitto import mosquitto
from tests.kit.postgres import postgres_database

SEEDS = list(range(101, 113))

# -- the child: one agent, its printed events timestamped ----------------------------------


class StampedLines(io.TextIOBase):
    """Stands in for stdout: each complete line goes out as {"printed_at", "line"}."""

    def __init__(self, out: Any) -> None:
        self._out, self._partial = out, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        now = time.time()
        *lines, self._partial = (self._partial + text).split("\n")
        for line in lines:
            self._out.write(json.dumps({"printed_at": now, "line": line}) + "\n")
        return len(text)

    def flush(self) -> None:
        self._out.flush()


def run_child(agent_argv: list[str]) -> None:
    """Build the agent as `vigil edge run` does, play the video, report its clock."""
    import logging

    from edge.cli import build_agent
    from shared.cli import build_parser

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    real = sys.stdout
    sys.stdout = StampedLines(real)  # what `--print` writes to, read by build_agent
    agent = build_agent(build_parser().parse_args(["edge", "run", *agent_argv]))
    if isinstance(agent, int):
        raise SystemExit(f"vigil edge run refused the arguments (exit {agent})")
    run_called = time.time()
    summary = agent.run()
    meta = {
        "clock_origin": agent.clock.origin.timestamp(),
        "run_called": run_called,
        "run_s": time.time() - run_called,
        "events": summary.events,
        "flushed": summary.flushed,
        "outbox_left": summary.outbox_depth,
    }
    real.write(json.dumps({"meta": meta}) + "\n")
    real.flush()


# -- the parent: agents, then matching what they printed to what the stream said -----------


def agent_argv(video: Path, model: Path, mqtt_url: str, device: dict, data_dir: Path) -> list:
    """bench/edge_throughput.py's agent arguments, paced, as this device (argparse keeps
    the last --device-id and --site given)."""
    own = ["--realtime", "--device-id", device["id"], "--site", device["site"]]
    return [*edge_argv(video, model, mqtt_url, data_dir), *own]


def start_agent(argv: list[str], root: str) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "bench.alert_latency", "--child", "--agent-argv", *argv]
    env = {**os.environ, "VIGIL_MQTT__TOPIC_ROOT": root}
    return subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=REPO
    )


def agent_output(proc: subprocess.Popen, timeout: float) -> dict[str, Any]:
    """The agent's clock and its printed events, each with the time it was printed."""
    out, err = proc.communicate(timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"an agent failed (exit {proc.returncode}):\n{err[-3000:]}")
    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    meta = next(r["meta"] for r in records if "meta" in r)
    printed = [
        {**json.loads(r["line"]), "printed_at": r["printed_at"]}
        for r in records
        if r.get("line", "").startswith("{")
    ]
    return {"meta": meta, "printed": printed}


def play_all(
    jobs: list[tuple[Path, dict, dict]],
    model: Path,
    mqtt_url: str,
    root: str,
    parallel: int,
    work: Path,
) -> list[dict[str, Any]]:
    """Play every (video, timeline, device) with `parallel` agents at a time."""
    results: list[dict[str, Any]] = []
    for i in range(0, len(jobs), parallel):
        batch = jobs[i : i + parallel]
        procs = []
        for video, _, device in batch:
            data_dir = work / f"edge-{device['id']}"
            procs.append(start_agent(agent_argv(video, model, mqtt_url, device, data_dir), root))
        for (video, timeline, device), proc in zip(batch, procs, strict=True):
            output = agent_output(proc, timeout=600)
            results.append(
                {"video": str(video), "device": device["id"], "timeline": timeline, **output}
            )
            print(f"played {video.name} as {device['id']}", flush=True)
    return results


def warnings(printed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each possible fall the edge raised (the first stage: a warning)."""
    return [e for e in printed if e["type"] == "start" and e.get("stage") == "possible"]


def decided_at(event: dict[str, Any]) -> float:
    """When the edge decided the event's stage (its start for one of one stage), epoch s."""
    return alarm_at(event).timestamp()


def match_alert(event: dict[str, Any], alerts: list[Arrival]) -> Arrival | None:
    """The streamed alert this event opened or moved on: same device, same episode start,
    and the event's stage (a confirmation is the alert published again, confirmed)."""
    started = datetime.fromisoformat(event["started_at"])
    for alert in alerts:
        same_start = datetime.fromisoformat(alert.data["started_at"]) == started
        same_stage = alert.data.get("stage") == event.get("stage")
        if alert.data["device_id"] == event["device_id"] and same_start and same_stage:
            return alert
    return None


def fall_latency(run: dict[str, Any], alerts: list[Arrival]) -> dict[str, Any]:
    """Latencies of the first fall alarm at or after the scripted fall (and of the possible
    fall before it), and false alarms."""
    origin = run["meta"]["clock_origin"]
    fall_s = next(s["start_s"] for s in run["timeline"]["segments"] if s["label"] == "falling")
    falls = fall_alarms(run["printed"])
    after = [e for e in falls if decided_at(e) - origin >= fall_s]
    possible = [e for e in warnings(run["printed"]) if decided_at(e) - origin >= fall_s]
    result = {
        "seed": run["timeline"]["seed"],
        "device": run["device"],
        "fall_start_s": fall_s,
        "false_alarms": len(falls) - len(after),
        "start_slack_s": round(run["meta"]["run_called"] - origin, 3),
        "alerts_streamed": sum(match_alert(e, alerts) is not None for e in falls),
        "fall_alerts_printed": len(falls),
    }
    if possible:
        first = possible[0]
        result["possible"] = latencies(first, decided_at(first) - origin, origin + fall_s, alerts)
    if not after:
        return {**result, "detected": False}
    return {
        **result,
        "detected": True,
        **latencies(after[0], decided_at(after[0]) - origin, origin + fall_s, alerts),
    }


def latencies(
    event: dict[str, Any], detect_video_s: float, fall_wall: float, alerts: list[Arrival]
) -> dict[str, Any]:
    alert = match_alert(event, alerts)
    printed = event["printed_at"]
    out = {
        "detect_video_s": round(detect_video_s, 3),
        "fall_to_edge_s": round(printed - fall_wall, 3),
        "streamed": alert is not None,
    }
    if alert is None:
        return out
    out = {
        **out,
        "fall_to_sse_s": round(alert.at - fall_wall, 3),
        "edge_to_sse_ms": round((alert.at - printed) * 1000, 1),
    }
    if event["type"] == "update":
        return out  # a confirmation: its alert was stored when it opened, as a possible fall
    opened = datetime.fromisoformat(alert.data["opened_at"]).timestamp()
    return {
        **out,
        "edge_to_stored_ms": round((opened - printed) * 1000, 1),
        "stored_to_sse_ms": round((alert.at - opened) * 1000, 1),
    }


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    videos = fall_videos(args.work, args.seeds)
    model, model_info = trained_student(args.work, args)
    with (
        postgres_database(args.postgres, "vigil_bench") as db_url,
        mosquitto() as mqtt_url,
        service(db_url, mqtt_url, work) as svc,
    ):
        devices = register_devices(svc, f"a{uuid.uuid4().hex[:6]}", len(videos), 1)
        viewer = svc.post("/api/v1/tokens", {"name": "alert-latency-viewer"})["token"]
        stream = SseListener(svc.base_url, viewer, site=devices[0]["site"]).start()
        jobs = [(v, t, d) for (v, t), d in zip(videos, devices, strict=True)]
        runs = play_all(jobs, model, mqtt_url, svc.root, args.parallel, work)
        expected = sum(len(fall_alarms(r["printed"])) + len(warnings(r["printed"])) for r in runs)
        wait_for_alerts(stream, expected, args.drain_timeout)
        stream.stop()
    falls = [fall_latency(run, stream.arrivals) for run in runs]
    return {"student": model_info, "falls": falls, "runs": compact_runs(runs)}


def wait_for_alerts(stream: SseListener, expected: int, timeout: float) -> None:
    try:
        wait_until(lambda: len(stream.arrivals) >= expected, timeout, "the streamed alerts")
    except TimeoutError:
        pass  # the alerts that never came are counted as not streamed


def compact_runs(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("type", "action", "severity", "started_at", "ended_at", "stage", "stage_at",
            "printed_at")  # fmt: skip
    return [
        {
            "video": r["video"],
            "device": r["device"],
            "agent": r["meta"],
            "events": [{k: e.get(k) for k in keep} for e in r["printed"]],
        }
        for r in runs
    ]


def summarise(falls: list[dict[str, Any]]) -> dict[str, Any]:
    detected = [f for f in falls if f["detected"]]
    streamed = [f for f in detected if f.get("streamed")]

    def dist(key: str, rows: list[dict[str, Any]] = streamed) -> dict[str, Any]:
        values = [f[key] for f in rows if key in f]
        return {**percentiles(values, (50, 95)), "max": max(values, default=None), "n": len(values)}

    warned = [f["possible"] for f in falls if f.get("possible", {}).get("streamed")]

    return {
        "falls_scripted": len(falls),
        "falls_detected": len(detected),
        "fall_alerts_streamed": len(streamed),
        "false_alarms": sum(f["false_alarms"] for f in falls),
        "alerts_printed": sum(f["fall_alerts_printed"] for f in falls),
        "alerts_printed_and_streamed": sum(f["alerts_streamed"] for f in falls),
        "fall_to_sse_s": dist("fall_to_sse_s"),
        "possible_warned": sum("possible" in f for f in falls),
        "fall_to_possible_sse_s": dist("fall_to_sse_s", warned),
        "edge_to_sse_ms": dist("edge_to_sse_ms"),
        "edge_to_stored_ms": dist("edge_to_stored_ms"),
        "stored_to_sse_ms": dist("stored_to_sse_ms"),
        "start_slack_s_max": max((f["start_slack_s"] for f in falls), default=None),
    }


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help="a trained student .onnx (default: train one)")
    p.add_argument(
        "--work",
        type=Path,
        default=REPO / "bench" / "runs" / "edge",
        help="inputs and the trained student, shared with edge_throughput.py",
    )
    p.add_argument("--seeds", type=int, nargs="+", default=SEEDS, help="one video per seed")
    p.add_argument("--parallel", type=int, default=3, help="agents playing at once")
    p.add_argument("--drain-timeout", type=float, default=30.0, help="wait for late alerts")
    p.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/alert_latency.json)")
    train = p.add_argument_group("training the student (without --model; as edge_throughput.py)")
    train.add_argument("--clips-per-class", type=int, default=60)
    train.add_argument("--epochs", type=int, default=15)
    train.add_argument("--teacher-epochs", type=int, default=5)
    train.add_argument("--teacher-size", type=int, default=64)
    train.add_argument("--train-seed", type=int, default=0)
    p.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--agent-argv", nargs=argparse.REMAINDER, help=argparse.SUPPRESS)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        run_child(args.agent_argv)
        return
    started = time.monotonic()
    args.work.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vigil-bench-alerts-") as work:
        raw = measure(args, Path(work))
    result = summarise(raw["falls"])
    settings = cli_settings(args, drop=("child", "agent_argv"))
    payload = {
        **result,
        "settings": {
            **settings,
            "videos": "default scenario (fall scripted at 12 s), 320 px, 15 fps, one per seed",
            "agent": "edge.cli.build_agent + Agent.run (vigil edge run --realtime --print "
            "--mqtt), MQTT only (no --cloud)",
            "server": "vigil serve (own process; MQTT ingest + API + idle worker)",
            "confirm_s": load_settings().events.confirm_s,  # the agents' (VIGIL_EVENTS__...)
        },
        "wall_s": round(time.monotonic() - started, 1),
        **{k: raw[k] for k in ("student", "falls", "runs")},
    }
    path = write_result("alert_latency.json", payload, args.out)
    print(json.dumps(result, indent=2))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
