"""The soak section: a fleet of simulated devices for minutes; memory, loss and lag."""

from __future__ import annotations

from pathlib import Path

from bench.report import plots as report_plots
from bench.report.markdown import fill, num, table, yes_no
from bench.report.results import Record, Section

MEMORY_HEADER = ["RSS, MB", "start", "after 1 min", "end", "max", "slope MB/min", "after 1 min"]
COUNTS_HEADER = ["messages", "acknowledged by the broker", "stored", "lost"]


def soak_body(r: Record, img: Path) -> str:
    s, load = r["settings"], r["loadavg_1m"]
    plot = report_plots.soak(
        r["samples"], r["lag_by_minute"], r.get("stream_lag_by_minute", []), img / "soak.png"
    )
    streamed = "events_streamed" in r
    return fill(
        "soak.md",
        devices=s["devices"],
        sites=s["sites"],
        fleet=s["fleet"],
        minutes=f"{s['minutes']:g}",
        heartbeat=f"{s['heartbeat_s']:g}",
        event_period=f"{s['event_period_s']:g}",
        fall_share=f"{s['fall_share']:.0%}",
        server=s["server"],
        load_start=load["start"],
        load_max=load["max"],
        load_end=load["end"],
        memory=soak_memory_table(r),
        counts=table(COUNTS_HEADER, soak_counts(r)),
        lost_zero=yes_no(r["lost_zero"]),
        alerts=r["alerts_opened"],
        fall_starts=r["fall_starts_stored"],
        streamed=f" Events on the dashboard's live stream: {num(r['events_streamed'])}."
        if streamed
        else "",
        lag=soak_lag(r),
        reading=soak_reading(r),
        plot=plot.name,
    )


def soak_reading(r: Record) -> str:
    """The service's memory over the run, and its ingest lag first, last and at worst."""
    serve, minutes = r["serve_rss"], r["lag_by_minute"]
    slope = serve["slope_mb_per_min_after_1_min"]
    per_hour = f", {slope * 60:.1f} MB an hour if it went on" if slope is not None else ""
    first, last = minutes[0]["lag_ms_p95"], minutes[-1]["lag_ms_p95"]
    worst = max(minutes, key=lambda m: m["lag_ms_p95"])
    return (
        f"Reading: the service's RSS was {serve['start_mb']:.1f} MB at the start, "
        f"{serve['after_1_min_mb']:.1f} MB after the first minute and {serve['end_mb']:.1f} MB "
        f"at the end; after the first minute the slope is {num(slope, 3)} MB a minute{per_hour}. "
        f"Ingest lag p95 was {first:.0f} ms in the first minute and {last:.0f} ms in the last; "
        f"the worst minute (minute {worst['minute']}, p95 {worst['lag_ms_p95']:.0f} ms) had a "
        f"load average of {worst_load_text(r, worst['minute'])}." + stream_reading(r)
    )


def worst_load_text(r: Record, worst: int) -> str:
    """The worst minute's load average, and whether it was the run's highest."""
    loads = {m["minute"]: minute_load(r["samples"], m["minute"]) or 0.0 for m in r["lag_by_minute"]}
    busiest = max(loads, key=lambda minute: loads[minute])
    if loads[worst] == loads[busiest]:
        return f"{loads[worst]:.1f}, the highest of the run"
    return f"{loads[worst]:.1f}, below the run's highest ({loads[busiest]:.1f}, minute {busiest})"


def stream_reading(r: Record) -> str:
    if r.get("stream_lag_ms_p95_first_minute") is None:
        return ""
    return (
        f" To the live stream, after the commit, p95 was {r['stream_lag_ms_p95_first_minute']:.0f}"
        f" ms in the first minute and {r['stream_lag_ms_p95_last_minute']:.0f} ms in the last."
    )


def minute_load(samples: list[Record], minute: int) -> float | None:
    """Mean 1-minute load average of the samples taken in that minute of the soak."""
    loads = [s["loadavg_1m"] for s in samples if minute * 60 <= s["t_s"] < (minute + 1) * 60]
    return sum(loads) / len(loads) if loads else None


def soak_memory_table(r: Record) -> str:
    rows = [
        [
            name,
            *[f"{m[k]:.1f}" for k in ("start_mb", "after_1_min_mb", "end_mb", "max_mb")],
            num(m["slope_mb_per_min"], 2),
            num(m["slope_mb_per_min_after_1_min"], 2),
        ]
        for name, m in (
            ("vigil serve (API + ingest)", r["serve_rss"]),
            ("mosquitto", r["broker_rss"]),
        )
    ]
    return table(MEMORY_HEADER, rows)


def soak_counts(r: Record) -> list[list[object]]:
    return [
        [kind, num(r[f"{kind}_acked"]), num(r[f"{kind}_stored"]), r[f"{kind}_lost"]]
        for kind in ("events", "heartbeats")
    ]


def soak_lag(r: Record) -> str:
    """Per minute of publishing: lag to `received_at` (before the commit) and, where the
    JSON has it, to the live stream (after the commit)."""
    stream = {m["minute"]: m for m in r.get("stream_lag_by_minute", [])}
    rows = []
    for m in r["lag_by_minute"]:
        cells = [num(m[k], 1) for k in ("lag_ms_p50", "lag_ms_p95", "lag_ms_max")]
        streamed = [num(stream.get(m["minute"], {}).get(k), 1) for k in ("p50", "p95")]
        load = num(minute_load(r["samples"], m["minute"]), 1)
        rows.append([m["minute"], num(m["events"]), *cells, *(streamed if stream else []), load])
    header = ["minute", "events", "p50 ms", "p95 ms", "max ms"]
    header += ["stream p50 ms", "stream p95 ms"] if stream else []
    return fill(
        "soak_lag.md",
        stream_note="; stream: publish -> arrival on the live stream (sent after the commit)"
        if stream
        else "",
        table=table([*header, "load average"], rows),
    )


SOAK = Section("soak.json", "python -m bench.soak", soak_body)
