"""`vigil demo --quick --exit`: the whole loop on one machine, checked from the outside.

The demo runs once per session (`quick_demo` in tests/conftest.py).
"""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest


def job_report(out: Path) -> dict:
    (report,) = (out / "cloud" / "jobs").glob("*/run/report.json")
    return json.loads(report.read_text())


def test_printed_accuracies_come_from_the_jobs_report(quick_demo: tuple[Path, str]) -> None:
    out, stdout = quick_demo
    report = job_report(out)
    for name in ("teacher", "student_scratch", "student_kd"):
        line = re.search(rf"^\s+{name}\s+clip accuracy (\S+)\s+macro-F1 (\S+)", stdout, re.M)
        assert line is not None, f"no accuracy line for {name}"
        assert float(line.group(1)) == pytest.approx(
            report[name]["accuracy_clip"], abs=6e-4
        )  # printed to 3 decimals
        assert float(line.group(2)) == pytest.approx(
            report[name]["macro_f1"], abs=6e-4
        )  # printed to 3 decimals


def test_the_scripted_fall_is_stored_as_a_critical_event_in_its_interval(
    quick_demo: tuple[Path, str],
) -> None:
    out, stdout = quick_demo
    timeline = json.loads((out / "scenario.json").read_text())
    (fall,) = [s for s in timeline["segments"] if s["label"] == "falling"]
    db = sqlite3.connect(out / "cloud" / "vigil.db")
    rows = db.execute(
        "select started_at, action from events"
        " where device_id='room-1' and severity='critical' and type='start' order by started_at"
    ).fetchall()
    assert rows, f"no critical event stored; the demo printed:\n{stdout[-3000:]}"
    # The edge stamps frames from the video's epoch (2026-01-01), so this is video time.
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    stamps = [datetime.fromisoformat(t).replace(tzinfo=UTC) for t, _ in rows]
    seen = [(stamp - epoch).total_seconds() for stamp in stamps]
    assert all(action == "falling" for _, action in rows)
    # The alert may come while the fall happens or soon after the body lands; none before.
    assert fall["start_s"] <= seen[0] <= fall["end_s"] + 2.0, (seen, fall)
    latency = re.search(r"^fall alert: (\S+) s after the scripted fall", stdout, re.M)
    assert latency is not None and float(latency.group(1)) == pytest.approx(
        seen[0] - fall["start_s"], abs=0.06
    )


def test_the_loop_ran_through_the_real_service(quick_demo: tuple[Path, str]) -> None:
    out, stdout = quick_demo
    db = sqlite3.connect(out / "cloud" / "vigil.db")
    (production,) = db.execute("select version from model_versions where status='production'")
    device = db.execute("select model_version, last_seen_at from devices where id='room-1'")
    model_version, last_seen = device.fetchone()
    assert model_version == production[0]  # the edge fetched, verified and ran it
    assert last_seen is not None
    stored = db.execute("select count(*) from events where device_id='room-1'").fetchone()[0]
    printed = len(re.findall(r"^\s{36}\s*\d+\.\d s  (start|update|end) ", stdout, re.M))
    assert stored == printed
    critical = db.execute(
        "select count(*) from events where severity='critical' and type='start'"
    ).fetchone()[0]
    alerts = db.execute("select count(*) from alerts").fetchone()[0]
    assert alerts == critical  # one alert per fall episode the edge reported
    assert ("fall alert: MISSED" in stdout) == (critical == 0)
    assert "dashboard: http://127.0.0.1:" in stdout


def test_a_rerun_replaces_only_a_folder_the_demo_made(tmp_path: Path) -> None:
    from cloud.demo import MARKER, fresh_demo_dir

    (tmp_path / "notes.txt").write_text("someone else's")
    with pytest.raises(RuntimeError, match="not made by vigil demo"):
        fresh_demo_dir(tmp_path)
    assert (tmp_path / "notes.txt").exists()
    out = fresh_demo_dir(tmp_path / "demo")
    (out / "cloud").mkdir()
    again = fresh_demo_dir(tmp_path / "demo")
    assert [p.name for p in again.iterdir()] == [MARKER]
