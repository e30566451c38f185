"""`vigil demo --quick --exit`: the whole loop on one machine, checked from the outside.

The demo runs once per session (`quick_demo` in tests/conftest.py), and every test that
reads it is in this file, so that under xdist (`--dist loadfile`) one worker trains it.
The last test runs the agent alone (`vigil edge run --print`) on the student the demo
exported, on its scenario filmed at another resolution, with no cloud in the loop.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from cloud.demo import ROOM_SEED, VIDEO_EPOCH
from edge.config import EventConfig
from shared.labels import is_fall_label
from shared.messages import ActionEvent
from shared.synth import DEFAULT_SCENARIO, parse_script, write_scenario

# The quick demo trains first: minutes on 2 cores.
pytestmark = pytest.mark.timeout(1800)
# A fall is a short act: the alert may come while it happens or soon after the body lands.
LATE_S = 2.0 + EventConfig().confirm_s  # the alarm waits for the confirmation


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
        "select stage, stage_at, action, severity from events where device_id='room-1'"
        " and stage in ('possible', 'confirmed') order by stage_at"
    ).fetchall()
    assert rows, f"no fall stored; the demo printed:\n{stdout[-3000:]}"
    # The edge stamps frames from the video's epoch (2026-01-01), so this is video time.
    epoch = datetime(2026, 1, 1, tzinfo=UTC)
    at = {
        stage: (datetime.fromisoformat(t).replace(tzinfo=UTC) - epoch).total_seconds()
        for stage, t, _, _ in reversed(rows)  # the first of each stage wins
    }
    assert all(action == "falling" for _, _, action, _ in rows)
    assert {(stage, severity) for stage, _, _, severity in rows} == {
        ("possible", "warning"),
        ("confirmed", "critical"),
    }
    # The warning while the fall happens or soon after the body lands, none before; the
    # alarm once the person has stayed down for the confirmation time (events.confirm_s).
    assert fall["start_s"] <= at["possible"] <= fall["end_s"] + LATE_S, (at, fall)
    assert at["confirmed"] == pytest.approx(at["possible"] + EventConfig().confirm_s, abs=0.51)
    printed = re.search(
        r"^fall alert: (\S+) s after the scripted fall \(confirmed: the person still down; "
        r"possible fall warned (\S+) s after it\)",
        stdout,
        re.M,
    )
    assert printed is not None, stdout[-2000:]
    assert float(printed.group(1)) == pytest.approx(at["confirmed"] - fall["start_s"], abs=0.06)
    assert float(printed.group(2)) == pytest.approx(at["possible"] - fall["start_s"], abs=0.06)


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
        "select count(distinct action || started_at) from events where severity='critical'"
    ).fetchone()[0]
    # One alert per critical episode the edge reported (a confirmed fall, a long lie); the
    # agent saying offline at the end of the video may add a device_offline warning (a
    # room gone dark), and a possible fall that recovered stays a warning, closed.
    alerts = db.execute("select count(*) from alerts where severity = 'critical'").fetchone()[0]
    assert alerts == critical
    others = db.execute(
        "select action, stage, acknowledged_by from alerts where severity != 'critical'"
    ).fetchall()
    for action, stage, by in others:
        assert action == "device_offline" or (stage == "recovered" and by == "vigil"), others
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


# -- the agent alone on the demo's student --------------------------------------------


def vigil(*args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "shared", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=500,
    )
    assert done.returncode == 0, f"vigil {' '.join(args)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture
def student(quick_demo: tuple[Path, str]) -> Path:
    """The ONNX student the demo's training job exported (and the demo's edge ran)."""
    out, _ = quick_demo
    (onnx_file,) = (out / "cloud" / "jobs").glob("*/run/student.onnx")
    return onnx_file


def test_the_scripted_fall_raises_a_critical_event_in_its_interval(
    tmp_path: Path, student: Path
) -> None:
    video = tmp_path / "scenario.mp4"
    timeline = json.loads(
        write_scenario(video, parse_script(DEFAULT_SCENARIO), seed=ROOM_SEED, size=160).read_text()
    )
    fall = next(s for s in timeline["segments"] if is_fall_label(s["label"]))
    env = {**os.environ, "VIGIL_CAPTURE__START_TIME": VIDEO_EPOCH.isoformat()}
    out = vigil(
        "edge", "run", "--source", str(video), "--model", str(student), "--print",
        "--data-dir", str(tmp_path / "edge"), "--device-id", "room-1", "--site", "home",
        env=env,
    )  # fmt: skip
    events = [ActionEvent.model_validate_json(line) for line in out.splitlines() if line]
    assert events, "the agent printed no events"
    critical = [  # the alarm: when the edge confirmed the fall
        ((e.stage_at or e.started_at) - VIDEO_EPOCH).total_seconds()
        for e in events
        if e.severity == "critical" and e.type != "end" and is_fall_label(e.action)
    ]
    seen = [
        f"{(e.started_at - VIDEO_EPOCH).total_seconds():.1f}s {e.type} {e.action}" for e in events
    ]
    assert critical, f"no critical fall; events: {seen}"
    first = critical[0]
    assert fall["start_s"] <= first <= fall["end_s"] + LATE_S, (
        f"first fall alert at {first:.1f} s, scripted fall {fall['start_s']}-{fall['end_s']} s;"
        f" events: {seen}"
    )
    # No false alarm while the person walks, sits and stands before the fall.
    assert all(t >= fall["start_s"] for t in critical), f"fall alert before the fall: {seen}"
