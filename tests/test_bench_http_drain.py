"""The HTTP-drain section of docs/BENCHMARKS.md: its sentences follow its numbers."""

from __future__ import annotations

import json
from pathlib import Path

from bench import report
from bench.report.http_drain import limit_text, speedups, stored_text

MACHINE = {"cpu": "Test CPU", "cores": 2, "python": "3.11.7"}


def mode(batch: int, seconds: float, requests: int, stored: int = 1000) -> dict:
    return {
        "batch": batch,
        "events": 1000,
        "seconds": seconds,
        "events_per_s": 1000 / seconds,
        "requests": requests,
        "rows_stored": stored,
        "distinct_event_ids": stored,
        "left_in_outbox": 1000 - stored,
        "all_stored": stored == 1000,
    }


def record(*modes: dict) -> dict:
    return {
        "benchmark": "http_drain.json",
        "command": "python -m bench.http_drain --events 1000",
        "machine": MACHINE,
        "settings": {
            "database": "postgresql",
            "server": "vigil serve",
            "edge": "OutboxSender",
            "rate_limit": "off",
        },
        "default_rate_limit": {"requests_per_s": 50.0, "burst": 200.0},
        "modes": list(modes),
    }


def test_the_section_renders_its_table_and_says_how_much_faster(tmp_path: Path) -> None:
    results = tmp_path / "results"
    results.mkdir()
    r = record(mode(1, 20.0, 1000), mode(50, 0.5, 20))
    (results / "http_drain.json").write_text(json.dumps(r))
    doc = report.render(results, tmp_path / "img")
    assert "| 1 | 1,000 | 20.00 | 50 | 20.0 | 1,000, 1,000 | yes |" in doc
    assert "batches of 50 drained it 40.0 times faster (0.50 s against 20.0 s" in doc
    assert "The cloud: vigil serve; its database a fresh PostgreSQL database" in doc


def test_without_its_json_the_section_says_not_run(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    doc = report.render(tmp_path / "results", tmp_path / "img")
    assert "**Not run**: `bench/results/http_drain.json` is absent" in doc


def test_the_speedup_is_against_the_smallest_batch_whatever_the_order() -> None:
    text = speedups([mode(1000, 0.25, 1), mode(1, 10.0, 1000), mode(50, 1.0, 20)])
    assert text.startswith("Against one request per event: batches of 50 drained it 10.0")
    assert "batches of 1000 drained it 40.0 times faster" in text
    assert speedups([mode(50, 1.0, 20)]) == "Only batches of 50 were run."


def test_a_mode_that_lost_events_is_named() -> None:
    assert stored_text([mode(1, 1.0, 1000)]).startswith("Every event of every mode")
    text = stored_text([mode(1, 1.0, 1000), mode(50, 1.0, 20, stored=990)])
    assert text == "Not all stored: batch 50: 990 rows, 990 distinct, 10 left in the outbox."


def test_the_rate_limit_sentence_computes_each_batch_sizes_floor() -> None:
    text = limit_text([mode(1, 1.0, 1000), mode(50, 1.0, 20)], record()["default_rate_limit"])
    assert "batches of 1 need 1,000 requests, so at least 16 s (62 events/s at most)" in text
    assert "batches of 50 (20 requests) fit in its burst" in text
