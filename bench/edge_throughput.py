"""Edge throughput on one core: decode-only vs the whole agent, window latency, memory,
fall-alert latency.

    python -m bench.edge_throughput                      # trains a student first (~10 min)
    python -m bench.edge_throughput --model student.onnx # reuse a trained student

-> bench/results/edge_throughput.json

Every measurement runs in a child process pinned to one core (`--core`, default 0)
with one onnxruntime intra-op thread and `cv2.setNumThreads(1)`; preparation (videos,
exports, training) runs beforehand on every core. The agent is the real one: the child
builds it with `edge.cli.build_agent` from `vigil edge run` arguments (file read as
fast as it goes, events printed and queued in the outbox, sent to a private Mosquitto)
and times `Agent.run()`; one extra run of the `vigil edge run` command itself, under
`/usr/bin/time -v`, checks wall time and peak memory from outside.

Inputs, all written into `--work` on the first run and reused after:
- throughput video: a 60 s synthetic scenario rendered at 480x480 and 30 fps, resized
  to 640x480 (mp4v); decode-only and agent runs alternate `--repeats` times on it;
- window latency: a default-size student (8x32x32) and teacher (16x112x112) built with
  random weights and exported with `cloud.training.export.export_onnx` (weights do not change
  the cost);
- fall alerts: the default scenario (a fall at 12 s) at 320 px, 15 fps, one video per
  seed, run through the agent with a TRAINED student (`--model`, or one trained here
  with `cloud.training.pipeline.run_pipeline` on a synthetic set); `capture.start_time` makes
  event time = video time, so latency = first critical `start` event - scripted fall start
  (a missed fall counts as infinitely late in the median).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import REPO, alarm_at, fall_alarms, write_result
from tests.kit.mosquitto import mosquitto

# 60 s that visit every label, with a fall, so the agent emits events as it would live.
THROUGHPUT_SCRIPT = (
    "walking:6,sitting_down:3,standing_up:2,walking:5,bending:3,walking:4,waving:3,"
    "walking:6,sitting_down:3,standing_up:2,walking:5,falling:2,lying_on_floor:10,no_person:6"
)
THROUGHPUT_RENDER = 480  # rendered square, then resized to 640x480
THROUGHPUT_SIZE = (640, 480)
THROUGHPUT_FPS = 30.0
CAMERA_FPS = 30.0  # one "stream" in streams_per_core
START_TIME = datetime(2000, 1, 1, tzinfo=UTC)
GOALS = {
    "agent_over_decode": 0.8,
    "streams_per_core": 16.0,
    "peak_rss_mb": 150.0,
    "fall_alert_latency_s_median": 2.0,
}


# -- children: one measurement each, pinned to one core ---------------------------------


def pin(core: int) -> None:
    """This process (and the threads it starts from now on) on one core only."""
    os.sched_setaffinity(0, {core})


def cpu_seconds() -> float:
    """User + system CPU time of this process (all its threads) so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """This process's resident high-water mark (VmHWM).

    Not `ru_maxrss`: Linux keeps that across execve, so a child of a large parent
    would report the parent's peak (getrusage(2)).
    """
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def child_decode(args: argparse.Namespace) -> dict[str, Any]:
    """OpenCV read of every frame and nothing else."""
    import cv2

    threads_before = cv2.getNumThreads()
    cv2.setNumThreads(1)
    cap = cv2.VideoCapture(str(args.video))
    frames, started, cpu = 0, time.perf_counter(), cpu_seconds()
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        frames += 1
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    cap.release()
    return {
        "frames": frames,
        "seconds": seconds,
        "fps": frames / seconds,
        "cpu_s": cpu,
        "fps_cpu": frames / cpu,
        "cv2_threads_default": threads_before,
    }


def child_latency(args: argparse.Namespace) -> dict[str, Any]:
    from cloud.training.latency import ort_latency_ms

    return {
        name: ort_latency_ms(Path(path), runs=args.latency_runs, threads=1)
        for name, path in (("student", args.student_onnx), ("teacher", args.teacher_onnx))
    }


def child_agent(args: argparse.Namespace) -> dict[str, Any]:
    """The agent of `vigil edge run ARGV`, built by the CLI's own code; `run()` timed."""
    import logging

    import cv2

    from edge.cli import build_agent
    from shared.cli import build_parser

    cv2.setNumThreads(1)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    cli = build_parser().parse_args(["edge", "run", *args.agent_argv])
    agent = build_agent(cli)
    if isinstance(agent, int):
        raise SystemExit(f"vigil edge run refused the arguments (exit {agent})")
    started, cpu = time.perf_counter(), cpu_seconds()
    summary = agent.run()
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    snap = agent.stats.snapshot()
    return {
        "frames": snap.frames_in,
        "frames_processed": snap.frames_out,
        "frames_dropped": snap.frames_dropped,
        "windows": summary.windows,
        "events": summary.events,
        "errors": snap.errors,
        "outbox_left": summary.outbox_depth,
        "flushed": summary.flushed,
        "seconds": seconds,
        "fps": snap.frames_in / seconds,
        "cpu_s": cpu,
        "fps_cpu": snap.frames_in / cpu,
        "inference_ms_p50": snap.latency_ms_p50,
        "inference_ms_p95": snap.latency_ms_p95,
        "peak_rss_mb": peak_rss_mb(),
    }


CHILDREN = {"decode": child_decode, "latency": child_latency, "agent": child_agent}


def run_child(args: argparse.Namespace) -> None:
    pin(args.core)
    result = CHILDREN[args.child](args)
    Path(args.child_out).write_text(json.dumps(result))


def spawn(
    kind: str, core: int, extra: list[str], env: dict[str, str] | None = None, timeout: float = 600
) -> tuple[dict[str, Any], str]:
    """Run one child measurement; returns its result and its stdout (the printed events)."""
    with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
        out = Path(f.name)
    cmd = [
        sys.executable,
        "-m",
        "bench.edge_throughput",
        "--child",
        kind,
        "--core",
        str(core),
        "--child-out",
        str(out),
        *extra,
    ]
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            cwd=REPO,
            timeout=timeout,
            env={**os.environ, **(env or {})},
        )
        if done.returncode != 0:
            raise RuntimeError(f"{kind} child failed ({done.returncode}):\n{done.stderr[-3000:]}")
        return json.loads(out.read_text()), done.stdout
    finally:
        out.unlink(missing_ok=True)


# -- inputs -----------------------------------------------------------------------------


def throughput_video(work: Path) -> Path:
    """60 s, 640x480, 30 fps, mp4v: rendered at 480x480, each frame resized to 640x480."""
    import cv2

    from shared.synth import parse_script, write_scenario
    from shared.video import FOURCC_MP4V, iter_frames

    out = work / "throughput-640x480-30fps-60s.mp4"
    if out.exists():
        return out
    square = work / f"throughput-{THROUGHPUT_RENDER}.mp4"
    write_scenario(
        square, parse_script(THROUGHPUT_SCRIPT), seed=7, size=THROUGHPUT_RENDER, fps=THROUGHPUT_FPS
    )
    tmp = out.with_suffix(".tmp.mp4")
    writer = cv2.VideoWriter(
        str(tmp), cv2.VideoWriter.fourcc(*FOURCC_MP4V), THROUGHPUT_FPS, THROUGHPUT_SIZE
    )
    try:
        for _, frame in iter_frames(square):
            writer.write(cv2.resize(frame, THROUGHPUT_SIZE, interpolation=cv2.INTER_LINEAR))
    finally:
        writer.release()
    tmp.replace(out)
    square.unlink()
    square.with_suffix(".json").replace(out.with_suffix(".json"))  # the timeline
    return out


def fall_videos(work: Path, seeds: list[int]) -> list[tuple[Path, dict[str, Any]]]:
    """The default scenario (fall at 12 s) once per seed, with its timeline."""
    from shared.synth import DEFAULT_SCENARIO, parse_script, write_scenario

    videos = []
    for seed in seeds:
        path = work / "falls" / f"scenario-seed{seed}.mp4"
        if not path.with_suffix(".json").exists():
            write_scenario(path, parse_script(DEFAULT_SCENARIO), seed=seed, size=320)
        videos.append((path, json.loads(path.with_suffix(".json").read_text())))
    return videos


def random_onnx(work: Path) -> dict[str, Path]:
    """Default-size student and teacher with random weights, exported like a trained one."""
    from cloud.training.checkpoint import Checkpoint
    from cloud.training.export import export_onnx
    from cloud.training.networks import build_model, student_config, teacher_config
    from shared.labels import DEFAULT_LABELS, LabelSet
    from shared.modelmeta import ModelMetadata
    from shared.preprocess import InputSpec

    labels = LabelSet.from_names(DEFAULT_LABELS)
    paths = {}
    for name, cfg in (
        ("student", student_config(len(labels.names))),
        ("teacher", teacher_config(len(labels.names))),
    ):
        path = work / f"{name}-random-{cfg.frames}x{cfg.height}x{cfg.width}.onnx"
        if not path.exists():
            model = build_model(cfg).eval()
            meta = ModelMetadata.for_labels(
                labels,
                model_version=f"{name}-random",
                architecture=cfg.arch,
                input=InputSpec(frames=cfg.frames, height=cfg.height, width=cfg.width),
            )
            ckpt = Checkpoint(name, cfg, model.state_dict(), meta, {"weights": "random"})
            export_onnx(ckpt, path)
        paths[name] = path
    return paths


def trained_student(work: Path, args: argparse.Namespace) -> tuple[Path, dict[str, Any]]:
    """`--model`, or a student distilled here on a synthetic set (reused when present)."""
    if args.model is not None:
        return args.model, {"source": "given", "path": str(args.model)}
    from cloud.training.params import TrainingParams
    from cloud.training.pipeline import PipelineConfig, run_pipeline
    from shared.synth import write_synth_dataset

    data = work / f"synth-{args.clips_per_class}-per-class-112px"
    if not (data / "manifest.csv").exists():
        write_synth_dataset(data, clips_per_class=args.clips_per_class, seed=0, size=112)
    out = work / (
        f"student-e{args.epochs}-te{args.teacher_epochs}-t{args.teacher_size}-s{args.train_seed}"
    )
    report_path = out / "report.json"
    started = time.monotonic()
    if not report_path.exists():
        params = TrainingParams(
            test_where="group=4",
            val_where="group=3",
            seed=args.train_seed,
            epochs=args.epochs,
            teacher_epochs=args.teacher_epochs,
            teacher_size=args.teacher_size,
        )
        run_pipeline(PipelineConfig(params=params, data=data, out=out))
    report = json.loads(report_path.read_text())
    exported = report[report["exported"]]
    info = {
        "source": "trained here",
        "path": str(out / "student.onnx"),
        "data": str(data),
        "exported": report["exported"],
        "train_wall_s": round(time.monotonic() - started, 1),
        **{
            k: exported.get(k)
            for k in ("accuracy_clip", "macro_f1", "fall_recall", "fall_precision")
        },
        "teacher_accuracy_clip": report["teacher"].get("accuracy_clip"),
    }
    return out / "student.onnx", info


# -- measurements -----------------------------------------------------------------------


def agent_argv(video: Path, model: Path, mqtt_url: str, data_dir: Path) -> list[str]:
    return [
        "--source",
        str(video),
        "--model",
        str(model),
        "--print",
        "--mqtt",
        mqtt_url,
        "--data-dir",
        str(data_dir),
        "--device-id",
        "bench-edge",
        "--site",
        "bench",
    ]


def run_agent(
    video: Path, model: Path, mqtt_url: str, core: int, env: dict[str, str] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-edge-") as data_dir:
        argv = agent_argv(video, model, mqtt_url, Path(data_dir))
        result, stdout = spawn("agent", core, ["--agent-argv", *argv], env)
    events = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    return result, events


def throughput(video: Path, model: Path, mqtt_url: str, args: argparse.Namespace) -> dict:
    """Decode-only and agent runs, alternated so that both see the same noise."""
    decode, agent = [], []
    for i in range(args.repeats):
        decode.append(spawn("decode", args.core, ["--video", str(video)])[0])
        agent.append(
            run_agent(
                video,
                model,
                mqtt_url,
                args.core,
                {"VIGIL_CAPTURE__START_TIME": START_TIME.isoformat()},
            )[0]
        )
        print(
            f"repeat {i + 1}: decode {decode[-1]['fps']:.0f} fps, agent {agent[-1]['fps']:.0f} fps",
            flush=True,
        )
    ratios = [a["fps"] / d["fps"] for a, d in zip(agent, decode, strict=True)]
    cpu_ratios = [a["fps_cpu"] / d["fps_cpu"] for a, d in zip(agent, decode, strict=True)]
    return {
        "decode_fps": statistics.median(d["fps"] for d in decode),
        "agent_fps": statistics.median(a["fps"] for a in agent),
        "agent_over_decode": statistics.median(ratios),
        "agent_over_decode_per_repeat": ratios,
        # Frames per CPU-second: what a dedicated core would give; less noisy than wall
        # time on a shared machine, where a pinned child waits for the core too.
        "decode_fps_cpu": statistics.median(d["fps_cpu"] for d in decode),
        "agent_fps_cpu": statistics.median(a["fps_cpu"] for a in agent),
        "agent_over_decode_cpu": statistics.median(cpu_ratios),
        "decode_runs": decode,
        "agent_runs": agent,
    }


def cli_check(video: Path, model: Path, mqtt_url: str, core: int) -> dict[str, Any]:
    """`vigil edge run` itself under /usr/bin/time -v: wall time (startup included), peak RSS."""
    vigil = Path(sys.executable).with_name("vigil")
    with tempfile.TemporaryDirectory(prefix="vigil-bench-edge-") as data_dir:
        cmd = [
            "/usr/bin/time",
            "-v",
            "taskset",
            "-c",
            str(core),
            str(vigil),
            "edge",
            "run",
            *agent_argv(video, model, mqtt_url, Path(data_dir)),
        ]
        done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"vigil edge run failed:\n{done.stderr[-3000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): ([\d:.]+)", done.stderr)
    seconds = sum(float(p) * 60**i for i, p in enumerate(reversed(wall.group(1).split(":"))))
    return {
        "command": " ".join(
            [
                "taskset",
                "-c",
                str(core),
                "vigil",
                "edge",
                "run",
                *agent_argv(video, model, mqtt_url, Path("TMP")),
            ]
        ),
        "peak_rss_mb": int(rss.group(1)) / 1024 if rss else None,
        "wall_s": seconds,
        "events_printed": sum(1 for line in done.stdout.splitlines() if line.startswith("{")),
    }


def video_time(stamp: str | None) -> float | None:
    """An event time as seconds of video (the agent ran with capture.start_time = START_TIME)."""
    if stamp is None:
        return None
    return round((datetime.fromisoformat(stamp) - START_TIME).total_seconds(), 3)


def fall_alert(events: list[dict[str, Any]], timeline: dict[str, Any]) -> dict[str, Any]:
    """Seconds from the scripted fall start to the first fall alarm at or after it.

    The alarm (bench.common.fall_alarms) is stamped with the window that decided it (a
    one-stage start, or the confirmation of a possible fall), so its time is when the
    alert left the device (video time).
    """
    fall_start = next(s["start_s"] for s in timeline["segments"] if s["label"] == "falling")
    compact = [
        {
            "type": e["type"],
            "action": e["action"],
            "severity": e["severity"],
            "stage": e.get("stage"),
            "started_s": video_time(e["started_at"]),
            "ended_s": video_time(e.get("ended_at")),
        }
        for e in events
    ]
    alarms = [((alarm_at(e) - START_TIME).total_seconds(), e) for e in fall_alarms(events)]
    starts = sorted(t for t, _ in alarms)
    after = [t for t in starts if t >= fall_start]
    # A false alarm still open when the real fall starts would hide the real one's start.
    ended = {(e["action"], e["started_s"]): e["ended_s"] for e in compact if e["type"] == "end"}
    open_at_fall = any(
        t < fall_start <= (ended.get((e["action"], video_time(e["started_at"]))) or 1e9)
        for t, e in alarms
    )
    return {
        "seed": timeline["seed"],
        "fall_start_s": fall_start,
        "first_alert_s": after[0] if after else None,
        "latency_s": round(after[0] - fall_start, 3) if after else None,
        "false_alarms_before_fall": sum(t < fall_start for t in starts),
        "false_alarm_open_at_fall_start": open_at_fall,
        "events": compact,
    }


def fall_alerts(
    videos: list[tuple[Path, dict[str, Any]]], model: Path, mqtt_url: str, core: int
) -> list[dict[str, Any]]:
    env = {"VIGIL_CAPTURE__START_TIME": START_TIME.isoformat()}
    results = []
    for path, timeline in videos:
        _, events = run_agent(path, model, mqtt_url, core, env)
        results.append(fall_alert(events, timeline))
        print(f"fall video seed {timeline['seed']}: latency {results[-1]['latency_s']}", flush=True)
    return results


def median_with_misses(latencies: list[float | None]) -> float | None:
    """Median with a missed fall counted as infinitely late (None if the median is a miss)."""
    values = sorted(float("inf") if x is None else x for x in latencies)
    if not values:
        return None
    mid = statistics.median(values)
    return None if mid == float("inf") else mid


def goals(r: dict[str, Any]) -> dict[str, Any]:
    def check(name: str, value: float | None, op: str) -> dict[str, Any]:
        goal = GOALS[name]
        met = value is not None and (value >= goal if op == ">=" else value <= goal)
        return {"value": value, "goal": f"{op} {goal:g}", "met": met}

    return {
        "agent_over_decode": check("agent_over_decode", r["agent_over_decode"], ">="),
        "streams_per_core": check("streams_per_core", r["streams_per_core"], ">="),
        "peak_rss_mb": check("peak_rss_mb", r["peak_rss_mb"], "<="),
        "fall_alert_latency_s_median": check(
            "fall_alert_latency_s_median", r["fall_alert_latency_s_median"], "<="
        ),
    }


# -- main -------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, help="a trained student .onnx (default: train one)")
    p.add_argument("--work", type=Path, default=REPO / "bench" / "runs" / "edge")
    p.add_argument(
        "--out", type=Path, help="JSON path (default bench/results/edge_throughput.json)"
    )
    p.add_argument("--core", type=int, default=0, help="the one core measurements run on")
    p.add_argument("--repeats", type=int, default=5, help="decode/agent runs, alternated")
    p.add_argument("--latency-runs", type=int, default=200, help="onnxruntime calls per model")
    p.add_argument("--fall-seeds", type=int, nargs="+", default=[101, 102, 103, 104, 105])
    train = p.add_argument_group("training the student (without --model)")
    train.add_argument("--clips-per-class", type=int, default=60)
    train.add_argument("--epochs", type=int, default=15)
    train.add_argument("--teacher-epochs", type=int, default=5)
    train.add_argument("--teacher-size", type=int, default=64)
    train.add_argument("--train-seed", type=int, default=0)
    hidden = argparse.SUPPRESS
    p.add_argument("--child", choices=sorted(CHILDREN), help=hidden)
    p.add_argument("--child-out", help=hidden)
    p.add_argument("--video", help=hidden)
    p.add_argument("--student-onnx", help=hidden)
    p.add_argument("--teacher-onnx", help=hidden)
    p.add_argument("--agent-argv", nargs=argparse.REMAINDER, help=hidden)
    return p.parse_args()


def main() -> None:
    args = parse_args()
    if args.child:
        run_child(args)
        return
    args.work.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    video = throughput_video(args.work)
    falls_in = fall_videos(args.work, args.fall_seeds)
    onnx = random_onnx(args.work)
    model, model_info = trained_student(args.work, args)
    print(
        f"inputs ready in {time.monotonic() - started:.0f} s; measuring on core {args.core}",
        flush=True,
    )
    latency, _ = spawn(
        "latency",
        args.core,
        [
            "--student-onnx",
            str(onnx["student"]),
            "--teacher-onnx",
            str(onnx["teacher"]),
            "--latency-runs",
            str(args.latency_runs),
        ],
    )
    with mosquitto() as mqtt_url:
        speed = throughput(video, model, mqtt_url, args)
        cli = cli_check(video, model, mqtt_url, args.core)
        falls = fall_alerts(falls_in, model, mqtt_url, args.core)
    payload = assemble(args, video, model_info, latency, speed, cli, falls)
    path = write_result("edge_throughput.json", payload, args.out)
    print(json.dumps({k: payload[k] for k in SUMMARY_KEYS}, indent=2))
    print(f"wrote {path}")


SUMMARY_KEYS = (
    "decode_fps",
    "agent_fps",
    "agent_over_decode",
    "streams_per_core",
    "student_latency_ms_p50",
    "student_latency_ms_p95",
    "teacher_latency_ms_p50",
    "teacher_latency_ms_p95",
    "peak_rss_mb",
    "fall_alert_latency_s",
    "fall_alert_latency_s_median",
    "goals",
)


def assemble(
    args: argparse.Namespace,
    video: Path,
    model_info: dict[str, Any],
    latency: dict[str, Any],
    speed: dict[str, Any],
    cli: dict[str, Any],
    falls: list[dict[str, Any]],
) -> dict[str, Any]:
    latencies = [f["latency_s"] for f in falls]
    detected = [x for x in latencies if x is not None]
    result: dict[str, Any] = {
        "decode_fps": round(speed["decode_fps"], 1),
        "agent_fps": round(speed["agent_fps"], 1),
        "agent_over_decode": round(speed["agent_over_decode"], 3),
        "streams_per_core": round(speed["agent_fps"] / CAMERA_FPS, 2),
        "decode_fps_cpu": round(speed["decode_fps_cpu"], 1),
        "agent_fps_cpu": round(speed["agent_fps_cpu"], 1),
        "agent_over_decode_cpu": round(speed["agent_over_decode_cpu"], 3),
        "streams_per_core_cpu": round(speed["agent_fps_cpu"] / CAMERA_FPS, 2),
        "student_latency_ms_p50": round(latency["student"]["p50"], 3),
        "student_latency_ms_p95": round(latency["student"]["p95"], 3),
        "teacher_latency_ms_p50": round(latency["teacher"]["p50"], 3),
        "teacher_latency_ms_p95": round(latency["teacher"]["p95"], 3),
        "peak_rss_mb": round(
            max([a["peak_rss_mb"] for a in speed["agent_runs"]] + [cli["peak_rss_mb"] or 0.0]), 1
        ),
        "fall_alert_latency_s": [x if x is not None else "missed" for x in latencies],
        "fall_alert_latency_s_median": median_with_misses(latencies),
        "fall_alert_latency_s_median_detected": statistics.median(detected) if detected else None,
        "falls_detected": f"{len(detected)}/{len(falls)}",
    }
    result["goals"] = goals(result)
    settings = {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in vars(args).items()
        if not k.startswith(("child", "agent_argv", "video", "student_onnx", "teacher_onnx"))
    }
    return {
        **result,
        "settings": {
            **settings,
            "throughput_video": {
                "path": str(video),
                "script": THROUGHPUT_SCRIPT,
                "rendered": f"{THROUGHPUT_RENDER}x{THROUGHPUT_RENDER}",
                "size": "x".join(map(str, THROUGHPUT_SIZE)),
                "fps": THROUGHPUT_FPS,
                "codec": "mp4v",
            },
            "onnxruntime_threads": 1,
            "cv2_threads": 1,
            "camera_fps_per_stream": CAMERA_FPS,
            "latency_models": "random weights, default sizes: student 8x32x32, teacher 16x112x112",
            "fall_videos": "default scenario at 320 px, 15 fps; fall starts at 12 s",
            "agent": "edge.cli.build_agent + Agent.run (vigil edge run --print --mqtt "
            "to a private Mosquitto; outbox on, clips off: no cloud URL)",
        },
        "student": model_info,
        "latency_ms": latency,
        "throughput": speed,
        "cli_check": cli,
        "falls": falls,
    }


if __name__ == "__main__":
    main()
