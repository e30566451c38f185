"""The fall-alert section: scripted fall -> edge detection -> alert on the live stream."""

from __future__ import annotations

from pathlib import Path

from bench.fixtures import percentiles
from bench.report import plots as report_plots
from bench.report.edge import student_text
from bench.report.markdown import fill, num, table
from bench.report.results import Record, Section, fall_seeds


def alert_body(r: Record, img: Path, png: str = "alert_latency.png") -> str:
    s = r["settings"]
    plot = report_plots.alert_latency(r["falls"], img / png)
    streamed = [f for f in r["falls"] if f.get("streamed")]
    detect = falls_dist([f["detect_video_s"] - f["fall_start_s"] for f in streamed])
    return fill(
        "alert_latency.md",
        videos_count=len(s["seeds"]),
        videos=s["videos"],
        agent=s["agent"],
        parallel=s["parallel"],
        server=s["server"],
        student=student_text(r["student"]),
        cached=cached_student(r["student"]),
        slack=num(r["start_slack_s_max"], 2),
        table=table(["latency", "p50", "p95", "max", "n"], latency_rows(r, streamed, detect)),
        scripted=r["falls_scripted"],
        detected=r["falls_detected"],
        streamed=r["fall_alerts_streamed"],
        false_alarms=r["false_alarms"],
        printed=r["alerts_printed"],
        printed_streamed=r["alerts_printed_and_streamed"],
        missed_seeds=fall_seeds([f for f in r["falls"] if not f["detected"]]),
        false_seeds=fall_seeds([f for f in r["falls"] if f["false_alarms"]]),
        stages=stages_text(s),
        sse_p50=num(r["fall_to_sse_s"].get("p50"), 2),
        warned=r.get("possible_warned", "-"),
        possible=possible_text(r),
        detect_p50=num(detect.get("p50"), 2),
        path_p50=num(r["edge_to_sse_ms"].get("p50"), 0),
        path_p95=num(r["edge_to_sse_ms"].get("p95"), 0),
        transport=transport_text(r),
        plot=plot.name,
    )


def latency_rows(r: Record, streamed: list[Record], detect: Record) -> list[list[str]]:
    edge = falls_dist([f["fall_to_edge_s"] for f in streamed])
    return [
        [
            "scripted fall -> possible fall on the stream (the warning)",
            *dist_cells(r.get("fall_to_possible_sse_s", {}), "s", 2),
        ],
        ["scripted fall -> deciding window's end (video time)", *dist_cells(detect, "s", 2)],
        ["scripted fall -> the alarm printed by the edge", *dist_cells(edge, "s", 2)],
        ["scripted fall -> the alarm on the stream", *dist_cells(r["fall_to_sse_s"], "s", 2)],
        ["edge -> alarm on the stream", *dist_cells(r["edge_to_sse_ms"], "ms", 0)],
        ["edge -> alert stored", *dist_cells(r["edge_to_stored_ms"], "ms", 0)],
        ["alert stored -> on the stream", *dist_cells(r["stored_to_sse_ms"], "ms", 0)],
    ]


def possible_text(r: Record) -> str:
    """With two stages: when the warning came, before the confirmation that is the alarm."""
    p50 = r.get("fall_to_possible_sse_s", {}).get("p50")
    if p50 is None:
        return ""
    return (
        f" (the confirmation; the possible fall's warning was on the stream p50 {p50:.2f} s "
        "after the scripted fall)"
    )


def stages_text(settings: Record) -> str:
    """What the agents ran: one stage, or two with their confirmation time."""
    confirm = settings.get("confirm_s")
    if confirm is None:
        return "The agents ran one stage: the alarm at the fall rule (before two stages)."
    if confirm == 0:
        return "The agents ran one stage (`events.confirm_s` 0): the alarm at the fall rule."
    return (
        f"The agents ran two stages: a possible fall (the warning) as soon as the fall rule "
        f"holds, confirmed (the alarm) {confirm:g} s later if the person is still down "
        f"(`events.confirm_s`); the alarm's rows time the confirmation, and a false alarm is "
        f"an alarm before the scripted fall."
    )


def transport_text(r: Record) -> str:
    """Whether every alert an agent printed reached the stream, and so where misses arose."""
    got, printed = r["alerts_printed_and_streamed"], r["alerts_printed"]
    if got != printed:
        return f"Only {got} of the {printed} fall alerts the agents printed reached the stream."
    text = f"Every fall alert an agent printed ({printed}) reached the stream"
    if r["falls_detected"] < r["falls_scripted"] or r["false_alarms"]:
        return text + ", so the misses and false alarms arose on the edge, before the transport."
    return text + "."


def cached_student(student: Record) -> str:
    """alert_latency.py trains no student of its own: it takes edge_throughput.py's."""
    if student.get("source") == "given":
        return ""
    return ", the one bench/edge_throughput.py trains and caches"


def falls_dist(values: list[float]) -> Record:
    """p50/p95/max/n of per-fall values, as alert_latency.py summarises its own."""
    return {**percentiles(values), "max": max(values, default=None), "n": len(values)}


def dist_cells(d: Record, unit: str, digits: int) -> list[str]:
    cells = [f"{num(d[k], digits)} {unit}" if d.get(k) is not None else "-"
             for k in ("p50", "p95", "max")]  # fmt: skip
    return [*cells, str(d.get("n", 0))]


ALERTS = Section("alert_latency.json", "python -m bench.alert_latency", alert_body)
# The same agents and student at one stage, for the two stages' cost in latency and misses.
ALERTS_ONE_STAGE = Section(
    "alert_latency_one_stage.json",
    "VIGIL_EVENTS__CONFIRM_S=0 python -m bench.alert_latency "
    "--out bench/results/alert_latency_one_stage.json",
    lambda r, img: alert_body(r, img, "alert_latency_one_stage.png"),
)
