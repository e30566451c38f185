"""The ingest section: MQTT and HTTP into PostgreSQL, and the live stream's latency."""

from __future__ import annotations

from bench.report.markdown import fill, num, table, yes_no
from bench.report.results import Record, Results, not_run, provenance

INGEST_RUNS = ("ingest.json", "ingest_rate8000.json")  # the first is the base run


def ingest_section(results: Results) -> str:
    runs = {n: r for n in INGEST_RUNS if (r := results.get(n)) is not None}
    if "ingest.json" not in runs:
        return not_run("ingest.json", "python -m bench.ingest")
    s = runs["ingest.json"]["settings"]
    return fill(
        "ingest.md",
        provenance="\n\n".join(provenance(r, n) for n, r in runs.items()),
        server=s["server"],
        broker=s["broker"],
        devices=s["devices"],
        seconds=f"{s['seconds']:g}",
        http_clients=s["http_clients"],
        batch=s["batch"],
        http_seconds=f"{s['http_seconds']:g}",
        probe_rate=f"{s['probe_rate']:g}",
        table=ingest_table(runs),
        reading=ingest_reading(runs),
    )


def ingest_table(runs: dict[str, Record]) -> str:
    each = list(runs.values())
    goal = runs["ingest.json"]["goals"]
    mqtt_met = " / ".join(yes_no(r["goals"]["mqtt_events_per_s_zero_loss"]["met"]) for r in each)
    rows = [
        ["MQTT -> PostgreSQL, sustained", *[mqtt_cell(r) for r in each],
         goal["mqtt_events_per_s_zero_loss"]["goal"], mqtt_met],
        ["HTTP batch ingest",
         *[f"{num(r['http_events_per_s'], 0)} events/s, {r['http_lost']} lost" for r in each],
         "", ""],
        ["SSE latency at rest, p50 / p95",
         *[f"{r['sse_latency_ms_p50']:.1f} / {r['sse_latency_ms_p95']:.1f} ms" for r in each],
         goal["sse_latency_ms_p95"]["goal"], yes_no(goal["sse_latency_ms_p95"]["met"])],
        ["SSE latency under the MQTT load, p50 / p95", *[sse_load_cell(r) for r in each], "", ""],
    ]  # fmt: skip
    header = ["measure", *[f"{num(r['settings']['rate'], 0)}/s offered" for r in each]]
    return table([*header, "goal", "met"], rows, "l" + "r" * len(each) + "ll")


def mqtt_cell(r: Record) -> str:
    return (
        f"{num(r['mqtt_events_per_s'], 0)} events/s ({num(r['mqtt_sent'])} sent, "
        f"{num(r['mqtt_stored'])} stored, {r['mqtt_lost']} lost)"
    )


def sse_load_cell(r: Record) -> str:
    p50, p95 = r["sse_latency_under_load_ms_p50"], r["sse_latency_under_load_ms_p95"]
    if p95 >= 1000:
        return f"{p50 / 1000:.1f} / {p95 / 1000:.1f} s" + (" (backlog)" if fell_behind(r) else "")
    return f"{p50:.0f} / {p95:.0f} ms"


def fell_behind(r: Record) -> bool:
    """Did the ingest store fewer events a second than the load generator published?"""
    return r["mqtt_events_per_s"] < r["mqtt_publish_rate"]


def ingest_reading(runs: dict[str, Record]) -> str:
    """Run by run, whether the ingest kept up with what was published."""
    return "Reading: " + "; ".join(rate_reading(r) for r in runs.values()) + "."


def rate_reading(r: Record) -> str:
    offered, published = num(r["settings"]["rate"], 0), num(r["mqtt_publish_rate"], 0)
    stored = num(r["mqtt_events_per_s"], 0)
    if not fell_behind(r):
        return f"with {offered}/s offered the ingest kept up with the {published}/s published"
    return (
        f"with {offered}/s offered ({published}/s published) the ingest stored about "
        f"{stored}/s and fell behind"
    )
