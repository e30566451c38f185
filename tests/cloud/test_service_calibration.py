"""The learning phase: window fall-score histograms from heartbeats, a threshold per room
set from them to a false-alarm budget, pushed to the device over the real broker."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from cloud.service.calibration import CEILING, calibrate, fold_heartbeat, learned
from shared.messages import SCORE_BINS, Command, Heartbeat, Thresholds
from shared.topics import device_topic
from tests.kit.factories import create_random_device, create_viewer, mqtt_client, subscribe
from tests.kit.outcomes import wait_for
from tests.kit.service import Server

START = datetime(2026, 12, 1, tzinfo=UTC)
DAY_S = 86_400.0


def histogram(**counts: int) -> list[int]:
    """20 bins of 0.05; `b12=3`: three windows scored 0.60-0.65."""
    bins = [0] * SCORE_BINS
    for name, n in counts.items():
        bins[int(name[1:])] = n
    return bins


def beat(bins: list[int], since: datetime, uptime_s: float, **extra: object) -> Heartbeat:
    sent = since + timedelta(seconds=uptime_s)
    return Heartbeat(
        device_id="d", site="s", status="online", sent_at=sent, uptime_s=uptime_s,
        fall_scores=bins, fall_scores_since=since, **extra,
    )  # fmt: skip


def test_histograms_add_up_over_agent_runs_and_late_heartbeats_change_nothing() -> None:
    state = fold_heartbeat(None, beat(histogram(b0=10), START, 100))
    state = fold_heartbeat(state, beat(histogram(b0=30, b11=1), START, 300))
    state = fold_heartbeat(state, beat(histogram(b0=20), START, 200))  # late: an older count
    restarted = START + timedelta(hours=1)
    state = fold_heartbeat(state, beat(histogram(b0=5, b19=2), restarted, 50))
    state = fold_heartbeat(state, beat(histogram(b0=25), START, 250))  # the old run, late
    bins, seconds = learned(state)
    assert bins == histogram(b0=35, b11=1, b19=2) and seconds == 350.0
    assert fold_heartbeat(state, Heartbeat(device_id="d", site="s", status="online",
                                            sent_at=START)) is state  # fmt: skip


def test_a_noisy_room_gets_the_lowest_threshold_its_budget_allows() -> None:
    # A week of one room: windows over 0.5 from sitting on the sofa, few over 0.8.
    week = histogram(b0=100_000, b10=40, b12=20, b14=8, b16=3, b17=1)
    base = Thresholds()  # fall_windows 2: an alarm needs two windows over the threshold
    got = calibrate(week, 7 * DAY_S, budget_per_week=1.0, base=base)
    # At 0.80 (bins 16+): 4 windows / 2 = 2 a week; at 0.85: 1 / 2 = 0.5 a week.
    assert (got.threshold, got.expected_per_week, got.reachable) == (0.85, 0.5, True)
    assert calibrate(week, 7 * DAY_S, 20.0, base).threshold == 0.55  # 32 / 2 = 16 a week
    # A quiet room keeps the shipped threshold: calibrating never makes a room more sensitive.
    quiet = calibrate(histogram(b0=100_000), 7 * DAY_S, 1.0, base)
    assert (
        quiet.threshold == pytest.approx(Thresholds().fall_enter) and quiet.expected_per_week == 0
    )
    # Two days at that rate are 3.5 times as many a week.
    short = calibrate(week, 2 * DAY_S, 1.0, base)
    assert short.threshold == 0.9  # 0.85: 0.5 * 3.5 = 1.75 a week, over the budget


def test_a_room_that_stays_over_its_budget_says_so_at_the_ceiling() -> None:
    loud = histogram(b19=50)
    got = calibrate(loud, 7 * DAY_S, 1.0, Thresholds())
    assert (got.threshold, got.reachable) == (CEILING, False)
    assert got.expected_per_week == pytest.approx(25.0)
    with pytest.raises(ValueError, match="no learning time"):
        calibrate(loud, 0.0, 1.0, Thresholds())


def test_calibrating_a_site_pushes_each_rooms_threshold_and_records_it(
    server: Server, mqtt_url: str
) -> None:
    noisy = create_random_device(server)
    new = create_random_device(server, site=noisy.site)
    since = datetime.now(UTC) - timedelta(hours=2)
    running = Thresholds(enter=0.7, fall_windows=2, fall_span=3)  # an operator's own settings
    with server.client(noisy.headers) as client:
        body = beat(histogram(b0=14_000, b13=6, b15=2), since, 2 * 3600.0, thresholds=running)
        payload = json.loads(
            body.model_copy(update={"device_id": noisy.id, "site": noisy.site}).model_dump_json()
        )
        assert client.post(f"/api/v1/devices/{noisy.id}/heartbeat", json=payload).status_code == 204
    watcher = mqtt_client(mqtt_url)
    commands = subscribe(watcher, device_topic(noisy.site, noisy.id, "cmd", server.root))
    try:
        with server.client(server.admin) as client:
            refused = client.post(
                f"/api/v1/sites/{noisy.site}/calibrate", json={"budget_per_week": 0}
            )
            done = client.post(f"/api/v1/sites/{noisy.site}/calibrate",
                               json={"budget_per_week": 5, "min_hours": 1})  # fmt: skip
            missing = client.post("/api/v1/sites/nowhere/calibrate", json={})
        (message,) = wait_for(lambda: commands, 10, "the threshold command on the cmd topic")
    finally:
        watcher.loop_stop()
    assert refused.status_code == 422 and missing.status_code == 404
    assert done.status_code == 200, done.text
    rooms = {r["device_id"]: r for r in done.json()}
    # 2 h: 8 windows at 0.65 or more = 4 alarms, 336 a week; 0.75 or more: 1 alarm, 84 a
    # week; none at 0.8 or more: the lowest threshold within 5 a week is 0.80.
    calibration = rooms[noisy.id]["calibration"]
    assert (calibration["threshold"], calibration["previous"], calibration["reachable"]) == (
        0.8,
        0.5,
        True,
    )
    assert rooms[new.id]["calibration"] is None and rooms[new.id]["observed_h"] == 0  # learning
    command = Command.model_validate_json(message.payload)
    assert command.kind == "set_thresholds" and command.thresholds is not None
    assert command.thresholds.model_dump() == {**running.model_dump(), "fall_enter": 0.8}
    assert str(command.command_id) == calibration["command_id"]
    viewer = create_viewer(server)
    with server.client(viewer) as client:
        learning = client.get(f"/api/v1/sites/{noisy.site}/learning").json()
        forbidden = client.post(f"/api/v1/sites/{noisy.site}/calibrate", json={})
    assert forbidden.status_code == 403
    room = next(r for r in learning if r["device_id"] == noisy.id)
    assert room["threshold"] == 0.5 and room["windows"] == 14_008  # until the device says
    assert room["observed_h"] == pytest.approx(2.0) and room["false_alarms_7d"] == 0
