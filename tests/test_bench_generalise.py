"""bench/generalise.py's judging rules: units, thresholds held to a false-alarm rate, and
what the agent's alerts count as (the training and the agent runs are the benchmark's)."""

from __future__ import annotations

import json
import uuid
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bench.generalise import (
    BEFORE_A_FALL,
    EPOCH,
    RULES,
    AlertRule,
    EdgeClip,
    Unit,
    agent_rule,
    critical_fall_starts,
    earlier_runs,
    edge_metrics,
    negative_clips,
    rule_alerts,
    rule_sweep,
    split_entry,
    splits,
    threshold_at,
    unit_metrics,
    units,
)
from shared.datasets import ClipRecord
from shared.datasets.fall_labels import FALL
from shared.datasets.spans import parse_spans
from shared.messages import ActionEvent


def clip(name: str, spans: str, dataset: str = "le2i", activities: str = "") -> ClipRecord:
    parsed = parse_spans(spans)
    label = "fall" if any(s.label == "fall" for s in parsed) else "not_fall"
    attrs = {"dataset": dataset, "activities": activities or label}
    return ClipRecord(Path(f"/clips/{name}.mp4"), label, attrs, parsed)


def test_every_dataset_is_left_out_once_and_every_gmdcsa_person() -> None:
    plan = splits()
    lodo = {s.test_where for s in plan.values() if s.kind == "leave_dataset_out"}
    lopo = {s.test_where for s in plan.values() if s.kind == "leave_person_out"}
    assert lodo == {"dataset=upfall", "dataset=gmdcsa", "dataset=le2i"}
    assert lopo == {f"subject=gmdcsa:S{i}" for i in (1, 2, 3)}


def test_a_fall_clip_is_a_fall_unit_after_its_start_and_a_negative_one_before() -> None:
    records = [
        clip("v01", "not_fall[0 to 3]; fall[3 to 6]"),
        clip("adl", "not_fall[0 to 6]", activities="adl|sitting|eating"),
        clip("whole", "fall[0 to 5]", dataset="upfall"),
    ]
    windows = [
        (0, 1.8, 0.2), (0, 2.8, 0.7), (0, 3.3, 0.9), (0, 5.8, 0.4),  # 0.7 before, 0.9 after
        (1, 1.8, 0.1), (1, 4.0, 0.6),
        (2, 1.8, 0.3), (2, 2.3, 0.8),
    ]  # fmt: skip
    got = sorted(units(records, windows), key=lambda u: (u.clip, u.fall))
    assert [(Path(u.clip).stem, u.fall, u.score, u.group) for u in got] == [
        ("adl", False, 0.6, "sitting"),
        ("v01", False, 0.7, BEFORE_A_FALL),
        ("v01", True, 0.9, "le2i"),
        ("whole", True, 0.8, "upfall"),
    ]


def test_the_threshold_lets_at_most_the_rate_of_negatives_alert() -> None:
    negatives = [i / 100 for i in range(40)]  # 0.00 .. 0.39
    at_5 = threshold_at(negatives, 0.05)  # 2 of 40 may alert: 0.38 and 0.39
    assert 0.37 < at_5 <= 0.38
    assert sum(n >= at_5 for n in negatives) == 2
    at_1 = threshold_at(negatives, 0.01)  # none of 40 may
    assert at_1 > 0.39 and sum(n >= at_1 for n in negatives) == 0
    assert threshold_at([0.5, 0.5], 1.0) == 0.5
    with pytest.raises(ValueError, match="no negative"):
        threshold_at([], 0.05)


def test_falls_are_caught_at_the_validation_threshold_and_the_oracle_is_reported_apart() -> None:
    val = [Unit("v", False, s, "other") for s in (0.1, 0.2, 0.3)] + [Unit("f", True, 0.9, "x")]
    test = [Unit(f"f{i}", True, s, "le2i") for i, s in enumerate((0.2, 0.35, 0.8, 0.95))]
    test += [Unit(f"n{i}", False, s, "sitting") for i, s in enumerate((0.1, 0.4, 0.05))]
    m = unit_metrics(val, test)
    # Above every validation negative (0.3): 0.35, 0.8 and 0.95 caught; 0.4 false.
    assert m["caught_at_fa05"] == pytest.approx(3 / 4)
    assert m["false_alarms_at_fa05"] == pytest.approx(1 / 3)
    # The oracle sits above the test's own negatives (0.4): 0.8 and 0.95.
    assert m["caught_at_fa05_oracle"] == pytest.approx(2 / 4)
    # 12 fall-negative pairs; the falls at 0.2 and 0.35 each rank under the negative at 0.4.
    assert m["clip_auc"] == pytest.approx((12 - 2) / 12)
    assert m["hard_negatives"]["sitting"]["units"] == 3
    assert m["hard_negatives"]["sitting"]["over_half"] == 0.0


def event(
    action: str, kind: str, severity: str, at_s: float, stage: str | None = None,
    stage_s: float | None = None,
) -> str:  # fmt: skip
    started = EPOCH + timedelta(seconds=at_s)
    staged = None if stage_s is None else EPOCH + timedelta(seconds=stage_s)
    return ActionEvent(
        event_id=uuid.uuid4(), device_id="d", site="s", type=kind, action=action,
        severity=severity, confidence=0.9, started_at=started,
        ended_at=started if kind == "end" else None, model_version="v1", seq=1,
        stage=stage, stage_at=staged,
    ).model_dump_json()  # fmt: skip


def test_only_critical_fall_starts_count_as_alerts() -> None:
    printed = "\n".join([
        "agent starting",  # a log line on stdout is not an event
        event("walking", "start", "info", 1.8),
        event("fall", "start", "critical", 7.5),
        event("fall", "end", "critical", 9.0),
        event("fall", "start", "critical", 3.25),
    ])  # fmt: skip
    assert critical_fall_starts(printed) == (3.25, 7.5)


def test_a_two_stage_fall_alarms_when_it_is_confirmed_not_when_it_is_possible() -> None:
    printed = "\n".join([
        event("fall", "start", "warning", 2.0, "possible", 2.0),  # the chime, not the alarm
        event("fall", "update", "critical", 2.0, "confirmed", 4.0),  # the alarm
        event("fall", "update", "critical", 2.0, "confirmed", 4.0),  # its next update
        event("fall", "start", "warning", 9.0, "possible", 9.0),
        event("fall", "end", "warning", 9.0, "recovered", 11.0),  # got up: no alarm
    ])  # fmt: skip
    assert critical_fall_starts(printed) == (4.0,)


def test_an_alert_before_the_fall_is_a_false_alarm_and_one_after_it_is_caught() -> None:
    clips = [
        EdgeClip("early", 5.0, (2.0, 5.5), "other"),  # false alarm before, then caught
        EdgeClip("late", 5.0, (9.5,), "other"),  # caught, 4.5 s late
        EdgeClip("missed", 5.0, (), "other"),
        EdgeClip("bed", None, (4.0,), "lying_down"),
        EdgeClip("chair", None, (), "sitting"),
    ]
    m = edge_metrics(clips, [True, True, True, True, True])
    assert m["edge_falls_alerted"] == pytest.approx(2 / 3)
    assert m["edge_falls_alerted_3s"] == pytest.approx(1 / 3)
    assert m["edge_latency_s"]["mean"] == pytest.approx((0.5 + 4.5) / 2)
    assert m["edge_false_alarm_rate"] == pytest.approx(2 / 5)
    assert m["edge_hard_negatives"] == {
        BEFORE_A_FALL: pytest.approx(1 / 3), "lying_down": 1.0, "sitting": 0.0,
    }  # fmt: skip


def test_a_fall_that_starts_within_the_first_window_has_no_negative_unit() -> None:
    records = [
        clip("a", "fall[0 to 4]"),
        clip("b", "not_fall[0 to 1]; fall[1 to 4]"),
        clip("c", "not_fall[0 to 2.5]; fall[2.5 to 6]"),
        clip("d", "not_fall[0 to 3]"),
    ]
    assert negative_clips(records, clip_seconds=1.8) == [False, False, True, True]


def model_series(auc: float, caught: float, edge_fa: float, edge_3s: float) -> dict:
    return {"clip_auc": [auc], "caught_at_fa05": [caught], "false_alarms_at_fa05": [0.1],
           "caught_at_fa01": [caught / 2], "caught_at_fa05_oracle": [caught],
           "edge_falls_alerted": [edge_3s], "edge_falls_alerted_3s": [edge_3s],
           "edge_false_alarm_rate": [edge_fa],
           "hard_negatives": [{"sitting": {"units": 4, "over_half": 0.5,
                                           "over_fa05_threshold": 0.25}}],
           "edge_hard_negatives": [{"sitting": 0.75}]}  # fmt: skip


def test_the_report_checks_each_goal_against_the_numbers_it_shows() -> None:
    from bench.report.generalise import generalise_body, goals_text

    record = {
        "settings": {"teacher": "pose", "epochs": 15, "teacher_epochs": 30},
        "default_student": "exported",
        "splits": {
            "lodo_le2i": {"kind": "leave_dataset_out", "models": {
                "teacher": model_series(0.94, 0.7, 0.0, 0.0),
                "exported": model_series(0.90, 0.85, 0.3, 0.95),
            }},
        },
    }  # fmt: skip
    goals = goals_text(record)
    assert "falls caught with false alarms held at 5 % 85 % (goal >= 80 %: met)" in goals
    assert "negatives alerted by the agent (`p>=0.5, 1 of 1`) 30 % (goal <= 10 %: not met)" in goals
    assert "within 3 s (`p>=0.5, 1 of 1`) 95 % (goal >= 90 %: met)" in goals
    assert "clip AUC 0.04 under the teacher's (goal <= 0.03: not met)" in goals
    body = generalise_body(record, Path("/nonexistent"))
    assert "| sitting | 4 | 50 % | 25 % | 75 % |" in body
    assert "`vigil train pipeline --teacher pose --epochs 15 --teacher-epochs 30`" in body


def test_a_rule_over_several_windows_fires_when_it_starts_to_hold() -> None:
    windows = [(1.8, 0.9), (2.3, 0.2), (2.8, 0.8), (3.3, 0.9), (3.8, 0.95), (4.3, 0.3)]
    assert rule_alerts(windows, AlertRule(0.5, 1, 1)) == (1.8, 2.8)  # every rising edge
    assert rule_alerts(windows, AlertRule(0.5, 2, 2)) == (3.3,)  # the bend at 1.8 is gone
    assert rule_alerts(windows, AlertRule(0.85, 2, 3)) == (3.8,)
    assert rule_alerts(windows, AlertRule(0.5, 4, 4)) == ()


def test_the_rule_sweep_judges_a_held_score_as_the_agent_alerts_are() -> None:
    records = [clip("bend", "not_fall[0 to 5]"), clip("fall", "not_fall[0 to 3]; fall[3 to 8]")]
    windows = [(0, 1.8, 0.9), (0, 2.3, 0.1), (0, 2.8, 0.1),  # a bend: one window
               (1, 1.8, 0.1), (1, 3.3, 0.9), (1, 3.8, 0.9), (1, 4.3, 0.9)]  # fmt: skip
    got = rule_sweep(records, windows, [True, True])
    one = got["p>=0.5, 1 of 1"]
    assert one["false_alarm_rate"] == 0.5 and one["falls_alerted_3s"] == 1.0
    held = got["p>=0.5, 2 of 2"]
    assert held["false_alarm_rate"] == 0.0 and held["latency_s"] == pytest.approx(0.8)


def test_the_report_names_the_rules_that_meet_both_agent_goals() -> None:
    from bench.report.generalise import rule_text

    def rule(within_3s: float, false_alarms: float) -> dict:
        return {"falls_alerted_3s": within_3s, "falls_alerted": within_3s, "latency_s": 1.0,
                "false_alarm_rate": false_alarms}  # fmt: skip

    both = {"p>=0.5, 1 of 1": rule(1.0, 0.4), "p>=0.7, 3 of 4": rule(0.92, 0.08)}
    text = rule_text(both, shipped="p>=0.5, 1 of 1")
    assert "alerted): `p>=0.7, 3 of 4`." in text
    assert "The agent ships `p>=0.5, 1 of 1`: 100 % within 3 s, 40 % of negatives." in text
    fast_only = {"p>=0.5, 1 of 1": rule(1.0, 0.4), "p>=0.5, 2 of 2": rule(0.95, 0.2)}
    text = rule_text(fast_only, shipped="p>=0.5, 2 of 2")
    assert text.startswith("No rule meets both agent goals")
    assert "trade-off (falls within 3 s minus negatives alerted) is `p>=0.5, 2 of 2`" in text
    assert text.endswith("The agent ships it.")


def test_the_shipped_rule_in_the_sweep_is_the_agents_own_state_machine() -> None:
    """The sweep's rule at the shipped thresholds alerts when the agent's machine does."""
    from edge.events import EventRules, EventStateMachine

    rule = replace(agent_rule(), confirm_s=0.0)  # its first stage: the possible fall
    assert rule in RULES  # the sweep measures what ships
    scores = [0.1, 0.9, 0.2, 0.1, 0.8, 0.7, 0.9, 0.1, 0.1, 0.6, 0.1, 0.9, 0.95, 0.9]
    windows = [(1.8 + 0.5 * i, p) for i, p in enumerate(scores)]
    rules = EventRules(labels=("not_fall", FALL), fall_labels=frozenset({FALL}), fall_hold_s=0)
    machine = EventStateMachine(rules)
    starts = [d.started_s for t, p in windows for d in machine.step([1 - p, p], t)
              if d.action == FALL and d.type.value == "start"]  # fmt: skip
    assert tuple(starts) == rule_alerts(windows, rule) and starts


def test_the_report_keeps_seeds_of_other_agent_rules_apart() -> None:
    from bench.report.generalise import generalise_body, goals_text

    old, new = model_series(0.9, 0.8, 0.3, 0.95), model_series(0.92, 0.9, 0.1, 0.9)
    both = {key: old[key] + new[key] for key in old}
    both["agent_rule"] = ["p>=0.5, 1 of 1", "p>=0.5, 2 of 2"]
    record = {
        "default_student": "exported", "agent_rule": "p>=0.5, 2 of 2",
        "splits": {"lodo_le2i": {"kind": "leave_dataset_out", "models": {"exported": both}}},
    }  # fmt: skip
    goals = goals_text(record)
    assert "negatives alerted by the agent (`p>=0.5, 2 of 2`) 10 % (goal <= 10 %: met)" in goals
    assert "falls caught with false alarms held at 5 % 85 %" in goals  # scores: both seeds
    body = generalise_body(record, Path("/nonexistent"))
    assert "| exported | `p>=0.5, 1 of 1` | 1 | 0.90 |" in body
    assert "| exported | `p>=0.5, 2 of 2` | 1 | 0.92 |" in body


def test_merging_keeps_the_other_seeds_and_names_the_commit_each_ran_at(tmp_path: Path) -> None:
    path = tmp_path / "generalise.json"
    assert earlier_runs(path) == {}
    first = {"lodo_le2i": {"runs": [{"seed": 0, "exported": "s", "models": {}}]}}
    path.write_text(json.dumps({"commit": "abc", "command": "python -m bench.generalise",
                                "splits": first}))  # fmt: skip
    runs = earlier_runs(path)["lodo_le2i"]
    assert runs == [{"commit": "abc", "command": "python -m bench.generalise", "seed": 0,
                     "exported": "s", "models": {}}]  # fmt: skip
    entry = split_entry(splits()["lodo_le2i"], runs)
    assert entry["kind"] == "leave_dataset_out" and entry["runs"] == runs


def test_the_cost_table_sets_each_students_training_time_against_no_kds() -> None:
    from bench.report.generalise import cost_rows

    run = {
        "timing": {"student_scratch_s": 100.0, "student_kd_s": 150.0, "teacher_s": 40.0},
        "models": {
            "student_scratch": {"params": 110_000, "ort_latency_ms": 1.2},
            "student_kd": {"params": 110_000, "ort_latency_ms": 1.4},
            "exported": {"params": 110_000, "ort_latency_ms": 1.4},
            "teacher": {"params": 50_000},
        },
    }
    old_run = {"models": {"student_kd": {}}}  # before runs recorded their times: left out
    record = {"splits": {"lodo_le2i": {"runs": [run, old_run]}}}
    assert cost_rows(record) == [
        ["student_kd", "110 k", "1.40", "150", "1.50", 1],
        ["student_scratch", "110 k", "1.20", "100", "1.00", 1],
    ]


def test_a_rule_given_to_the_agent_is_the_rule_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import argparse

    from bench.generalise import agent_env
    from bench.generalise_rules import parse_rule
    from edge.config import load_settings

    rule = parse_rule("0.7/3/4")
    assert rule == AlertRule(0.7, 3, 4)  # one stage: the alarm at once
    for name, value in agent_env(rule).items():
        monkeypatch.setenv(name, value)
    assert agent_rule(load_settings().events) == rule
    staged = parse_rule("0.5/2/2/3")
    for name, value in agent_env(staged).items():
        monkeypatch.setenv(name, value)
    assert agent_rule(load_settings().events) == staged == AlertRule(0.5, 2, 2, 3.0)
    assert staged.name == "p>=0.5, 2 of 2, confirmed after 3 s"
    for bad in ("0.5/2", "0.5/3/2", "1.5/1/1", "x/1/1", "0.5/2/2/-1", "0.5/2/2/2/2"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_rule(bad)


def test_the_agent_rule_table_has_each_split_and_the_mean_of_each_rule() -> None:
    from bench.report.generalise import agent_rule_rows

    def got(within_3s: float, false_alarms: float) -> dict:
        return {"edge_falls_alerted_3s": within_3s, "edge_falls_alerted": within_3s,
                "edge_false_alarm_rate": false_alarms, "edge_latency_s": {"mean": 1.0}}  # fmt: skip

    one, two = "p>=0.5, 1 of 1", "p>=0.5, 2 of 2"
    record = {"rules": [one, two], "splits": {
        "lodo_le2i": {"runs": [{"seed": 1, "rules": {one: got(1.0, 0.4), two: got(0.9, 0.2)}}]},
        "lodo_upfall": {"runs": [{"seed": 1, "rules": {one: got(0.8, 0.2), two: got(0.7, 0.0)}}]},
    }}  # fmt: skip
    rows = agent_rule_rows(record)
    assert rows[0] == ["lodo_le2i", f"`{one}`", 1, "100 %", "100 %", "1.0", "40 %"]
    assert rows[-1] == ["mean of 2 splits", f"`{two}`", "", "80 %", "80 %", "1.0", "10 %"]
