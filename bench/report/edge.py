"""The edge sections: one agent's throughput, latency and memory; the models' size."""

from __future__ import annotations

from pathlib import Path

from bench.report.markdown import counted, fill, num, table, yes_no
from bench.report.results import Record, Results, Section, fall_seeds
from cloud.training.report import ModelName


def edge_body(r: Record, img: Path) -> str:
    s = r["settings"]
    video = s["throughput_video"]
    return fill(
        "edge_throughput.md",
        core=s["core"],
        ort_threads=counted(s["onnxruntime_threads"], "onnxruntime thread"),
        cv2_threads=s["cv2_threads"],
        agent=s["agent"],
        size=video["size"],
        fps=f"{video['fps']:g}",
        codec=video["codec"],
        repeats=s["repeats"],
        latency_models=s["latency_models"],
        fall_videos=s["fall_videos"],
        fall_seeds=", ".join(map(str, s["fall_seeds"])),
        student=student_text(r.get("student", {})),
        table=table(["measure", "result", "goal", "met"], edge_rows(r), "lrll"),
        reading=edge_reading(r),
    )


def edge_rows(r: Record) -> list[list[str]]:
    s, goals = r["settings"], r["goals"]
    ratios = r["throughput"]["agent_over_decode_per_repeat"]
    rss = [a["peak_rss_mb"] for a in r["throughput"]["agent_runs"]]
    return [
        ["decode-only (OpenCV `read`)", f"{num(r['decode_fps'], 0)} fps", "", ""],
        ["whole agent", f"{num(r['agent_fps'], 0)} fps", "", ""],
        ["agent / decode-only",
         f"{r['agent_over_decode']:.2f} ({min(ratios):.2f}-{max(ratios):.2f} per repeat)",
         *goal_cells(goals["agent_over_decode"])],
        [f"{s['camera_fps_per_stream']:g} fps streams per core", num(r["streams_per_core"]),
         *goal_cells(goals["streams_per_core"])],
        ["student window latency p50 / p95",
         f"{r['student_latency_ms_p50']:.2f} / {r['student_latency_ms_p95']:.2f} ms", "", ""],
        ["teacher window latency p50 / p95",
         f"{r['teacher_latency_ms_p50']:.1f} / {r['teacher_latency_ms_p95']:.1f} ms", "", ""],
        ["agent peak RSS",
         f"{r['peak_rss_mb']:.1f} MB ({min(rss):.0f}-{max(rss):.0f} MB over {len(rss)} runs; "
         f"`vigil edge run`: {r['cli_check']['peak_rss_mb']:.0f} MB)",
         *goal_cells(goals["peak_rss_mb"])],
        [f"fall-alert latency, seeds {s['fall_seeds'][0]}-{s['fall_seeds'][-1]}",
         ", ".join(num(x, 2) for x in r["fall_alert_latency_s"]), "", ""],
        ["median fall-alert latency (a miss counts as infinitely late)",
         f"{num(r['fall_alert_latency_s_median'], 2)} s, {r['falls_detected']} detected",
         *goal_cells(goals["fall_alert_latency_s_median"])],
    ]  # fmt: skip


def student_text(student: Record) -> str:
    """The student a benchmark ran: given, or trained by it (and how well it scored)."""
    if student.get("source") == "given":
        return f"given as `{student.get('path')}`"
    return (
        f"trained here ({student.get('data', '?').rsplit('/', 1)[-1]}; exported "
        f"`{student.get('exported')}`: test clip accuracy {num(student.get('accuracy_clip'), 2)}, "
        f"fall recall {num(student.get('fall_recall'), 2)})"
    )


def goal_cells(goal: Record) -> list[str]:
    return [goal["goal"], yes_no(goal["met"])]


def edge_reading(r: Record) -> str:
    """The agent's CPU cost over decoding and its inference, per frame; its misses."""
    runs = r["throughput"]["agent_runs"]
    frames, windows = sum(a["frames"] for a in runs), sum(a["windows"] for a in runs)
    per_frame = 1000 * (1 / r["agent_fps_cpu"] - 1 / r["decode_fps_cpu"])
    inference = r["student_latency_ms_p50"] * windows / frames
    text = (
        f"Reading: per frame the agent costs {per_frame:.2f} ms of CPU over decoding; "
        f"inference is {inference:.2f} ms a frame (one window every {frames / windows:.0f} "
        f"frames, at the student's p50 window latency)."
    )
    misses = [f for f in r["falls"] if f["latency_s"] is None]
    false = [f for f in r["falls"] if f["false_alarms_before_fall"]]
    if misses or false:
        text += (
            f" Missed falls: {fall_seeds(misses)}; false alarms before the fall: "
            f"{fall_seeds(false)}."
        )
    return text


EDGE = Section("edge_throughput.json", "python -m bench.edge_throughput", edge_body)


def model_size_section(results: Results) -> str:
    kd, edge = results.get("kd_synthetic.json"), results.get("edge_throughput.json")
    if kd is None or edge is None:
        return "**Not run**: needs `kd_synthetic.json` and `edge_throughput.json`."
    summary = next(iter(kd["splits"].values()))["summary"]
    t, st = summary[ModelName.TEACHER], summary[ModelName.STUDENT_KD]
    ratio = edge["student_latency_ms_p50"] / edge["teacher_latency_ms_p50"]
    return fill(
        "model_size.md",
        teacher_params=num(t["params"]["mean"]),
        teacher_macs=f"{t['macs']['mean'] / 1e6:,.0f}",
        student_params=num(st["params"]["mean"]),
        student_macs=f"{st['macs']['mean'] / 1e6:,.1f}",
        student_ms=f"{edge['student_latency_ms_p50']:.2f}",
        teacher_ms=f"{edge['teacher_latency_ms_p50']:.1f}",
        ratio=f"{1 / ratio:.0f}",
        threads=counted(edge["settings"]["onnxruntime_threads"], "thread"),
    )
