"""The event state machine on scripted probability sequences (pure: plain values only)."""

from __future__ import annotations

import numpy as np
import pytest

from edge.events import LONG_LIE, EventDecision, EventRules, EventStateMachine
from shared.labels import Severity
from shared.messages import EventType, FallStage, Thresholds

LABELS = ("walking", "sitting_down", "falling", "lying_on_floor", "no_person")
HOP = 0.5


def onehot(label: str, p: float = 0.9) -> np.ndarray:
    """A distribution with `p` on `label` and the rest spread evenly."""
    out = np.full(len(LABELS), (1 - p) / (len(LABELS) - 1))
    out[LABELS.index(label)] = p
    return out


def rules(**overrides: object) -> EventRules:
    base: dict[str, object] = {
        "labels": LABELS,
        "fall_labels": frozenset({"falling"}),
        "severities": {"lying_on_floor": Severity.WARNING},
        "smoothing_windows": 1,
        "min_start_s": 1.0,
        "min_end_s": 1.0,
        "fall_hold_s": 0.0,
        "update_interval_s": 100.0,
        "long_lie_s": 3.0,
        "confirm_s": 0.0,  # one stage: the two stages have tests of their own
    }
    base.update(overrides)
    return EventRules(**base)  # type: ignore[arg-type]


def run(
    machine: EventStateMachine, script: list[tuple[np.ndarray, float]], t0: float = 0.0
) -> list[tuple[float, EventDecision]]:
    """Feed (probabilities, seconds) segments one hop at a time; return (t, decision)."""
    out, t = [], t0
    for probs, seconds in script:
        for _ in range(round(seconds / HOP)):
            out += [(t, d) for d in machine.step(probs, t)]
            t += HOP
    return out


def kinds(events: list[tuple[float, EventDecision]]) -> list[tuple[str, str]]:
    return [(d.type.value, d.action) for _, d in events]


def test_activity_starts_after_min_duration_and_ends_below_exit() -> None:
    machine = EventStateMachine(rules())
    events = run(machine, [(onehot("walking"), 3.0), (onehot("no_person", 0.3), 3.0)])
    assert kinds(events) == [("start", "walking"), ("end", "walking")]
    (t_start, start), (t_end, end) = events
    assert t_start == 1.0 and start.started_s == 0.0  # confirmed after 1 s, dated from 0 s
    assert start.severity is Severity.INFO and start.confidence == pytest.approx(0.9)
    assert end.ended_s == 3.0 and t_end == 4.0  # dropped at 3 s, confirmed 1 s later


def test_a_blip_shorter_than_min_start_is_not_an_event() -> None:
    machine = EventStateMachine(rules())
    events = run(machine, [(onehot("sitting_down"), 0.5), (onehot("no_person", 0.3), 3.0)])
    assert events == []


def test_hysteresis_keeps_an_activity_between_exit_and_enter() -> None:
    machine = EventStateMachine(rules())
    # 0.5 is below enter (0.6) but above exit (0.4): the activity continues.
    events = run(machine, [(onehot("walking"), 2.0), (onehot("walking", 0.5), 5.0)])
    assert kinds(events) == [("start", "walking")]
    # Starting needs `enter`: 0.5 alone never starts anything.
    fresh = EventStateMachine(rules())
    assert run(fresh, [(onehot("walking", 0.5), 5.0)]) == []


def test_short_dip_below_exit_does_not_end_the_activity() -> None:
    machine = EventStateMachine(rules())
    events = run(
        machine, [(onehot("walking"), 2.0), (onehot("walking", 0.2), 0.5), (onehot("walking"), 2.0)]
    )
    assert kinds(events) == [("start", "walking")]


def test_switching_activity_ends_the_old_one_when_the_new_one_starts() -> None:
    machine = EventStateMachine(rules())
    events = run(machine, [(onehot("walking"), 2.0), (onehot("sitting_down"), 2.0)])
    assert kinds(events) == [("start", "walking"), ("end", "walking"), ("start", "sitting_down")]
    end, start = events[1][1], events[2][1]
    assert end.ended_s == start.started_s == 2.0


def test_fall_starts_on_the_second_confident_window_without_smoothing() -> None:
    machine = EventStateMachine(rules(smoothing_windows=4))
    events = run(machine, [(onehot("walking"), 3.0), (onehot("falling", 0.7), 1.0)])
    t, fall = events[-1]
    assert (fall.type, fall.action, fall.severity) == (
        EventType.START,
        "falling",
        Severity.CRITICAL,
    )
    # Default 2 of 2: the motion at 3.0 s, the person still low at 3.5 s; dated when decided.
    assert t == 3.5 and fall.started_s == 3.5
    assert fall.confidence == pytest.approx(0.7)  # the raw window probability


def test_one_fall_like_window_alone_is_not_a_fall() -> None:
    # A bend: one window that looks like a fall, then the person is up again.
    script = [(onehot("walking"), 2.0), (onehot("falling", 0.9), 0.5), (onehot("walking"), 3.0)]
    assert "falling" not in [a for _, a in kinds(run(EventStateMachine(rules()), script))]
    # fall_windows=1 is the one-window rule: the same bend is a critical fall.
    alone = EventStateMachine(rules(thresholds=Thresholds(fall_windows=1, fall_span=1)))
    t, fall = next((t, d) for t, d in run(alone, script) if d.action == "falling")
    assert t == 2.0 and fall.severity is Severity.CRITICAL


def test_a_fall_then_lying_on_the_floor_is_confirmed_on_the_lying_window() -> None:
    # A multi-class student calls the motion `falling` for one window, then `lying_on_floor`.
    script = [(onehot("walking"), 2.0), (onehot("falling", 0.64), 0.5),
              (onehot("lying_on_floor", 0.8), 3.0)]  # fmt: skip
    t, fall = next((t, d) for t, d in run(EventStateMachine(rules()), script)
                   if d.action == "falling")  # fmt: skip
    assert t == 2.5 and fall.started_s == 2.5 and fall.severity is Severity.CRITICAL
    assert fall.confidence == pytest.approx(0.64)  # the fall motion's window
    # Lying alone, with no fall motion before it (lying down on a sofa), is not a fall.
    lying = [(onehot("walking"), 2.0), (onehot("lying_on_floor", 0.9), 3.0)]
    assert "falling" not in [a for _, a in kinds(run(EventStateMachine(rules()), lying))]
    # The person down is the fall and lying labels together: 0.3 + 0.3 reaches 0.5.
    split = np.array([0.1, 0.1, 0.3, 0.3, 0.2])
    mixed = [(onehot("falling", 0.7), 0.5), (split, 0.5)]
    assert kinds(run(EventStateMachine(rules()), mixed)) == [("start", "falling")]


def test_k_of_n_tolerates_one_low_window_inside_the_span() -> None:
    three_of_four = rules(thresholds=Thresholds(fall_windows=3, fall_span=4))
    script = [
        (onehot("falling", 0.8), 0.5),
        (onehot("falling", 0.3), 0.5),  # a flicker below fall_enter
        (onehot("falling", 0.8), 1.0),
    ]
    events = run(EventStateMachine(three_of_four), script)
    assert [(t, d.action) for t, d in events if d.type is EventType.START] == [(1.5, "falling")]
    # Two hits spread over more than the span never make three of four.
    sparse = [(onehot("falling", 0.8), 0.5), (onehot("walking"), 1.5)] * 3
    assert "falling" not in [a for _, a in kinds(run(EventStateMachine(three_of_four), sparse))]


def test_a_fall_rule_counting_more_windows_than_its_span_is_refused() -> None:
    with pytest.raises(ValueError, match="fall_windows must not exceed fall_span"):
        Thresholds(fall_windows=3, fall_span=2)
    with pytest.raises(ValueError):
        Thresholds(fall_windows=0)
    with pytest.raises(ValueError):
        Thresholds(fall_span=17)  # beyond what the machine remembers


def test_fall_uses_its_own_threshold() -> None:
    strict = EventStateMachine(rules(thresholds=Thresholds(fall_enter=0.8)))
    assert run(strict, [(onehot("falling", 0.7), 1.0)]) == []
    assert kinds(run(strict, [(onehot("falling", 0.85), 1.0)])) == [("start", "falling")]


def test_fall_then_long_lie_raises_a_second_critical_event() -> None:
    machine = EventStateMachine(rules())
    events = run(
        machine,
        [
            (onehot("walking"), 2.0),
            (onehot("falling"), 1.0),
            (onehot("lying_on_floor"), 5.0),
            (onehot("walking"), 2.0),
        ],
    )
    assert kinds(events) == [
        ("start", "walking"),
        ("start", "falling"),
        ("end", "falling"),
        ("end", "walking"),
        ("start", "lying_on_floor"),
        ("start", LONG_LIE),
        ("end", LONG_LIE),
        ("end", "lying_on_floor"),
        ("start", "walking"),
    ]
    t_lie, lie = next((t, d) for t, d in events if d.action == LONG_LIE)
    assert lie.severity is Severity.CRITICAL
    assert lie.started_s == 3.0 and t_lie == 6.0  # lying from 3 s, long after long_lie_s (3 s)


def test_a_flickering_fall_score_on_the_floor_is_one_episode() -> None:
    one_window = Thresholds(fall_windows=1, fall_span=1)  # each fall window alone could start
    machine = EventStateMachine(rules(fall_hold_s=2.0, thresholds=one_window))
    flicker = [(onehot("falling"), 0.5), (onehot("lying_on_floor"), 1.0)] * 3
    events = run(machine, [(onehot("walking"), 2.0), *flicker, (onehot("lying_on_floor"), 3.0)])
    falls = [(t, d) for t, d in events if d.action == "falling"]
    assert [d.type.value for _, d in falls] == ["start", "end"]
    t_end, end = falls[-1]
    assert end.ended_s == 5.5  # the last fall window was at 5.0 s: below exit since 5.5 s
    assert t_end == 7.5  # ... and held open for fall_hold_s before ending
    no_hold = EventStateMachine(rules(fall_hold_s=0.0, thresholds=one_window))
    restarts = run(no_hold, [(onehot("walking"), 2.0), *flicker])
    assert [d.type.value for _, d in restarts if d.action == "falling"].count("start") == 3


def stages(events: list[tuple[float, EventDecision]]) -> list[tuple[float, str, str, str]]:
    """(time, type, stage, severity) of the fall episode's events."""
    return [
        (t, d.type.value, d.stage.value, d.severity.value)
        for t, d in events
        if d.action == "falling" and d.stage is not None
    ]


def decided(script: list[tuple[np.ndarray, float]], **overrides: object) -> tuple[str, str]:
    """(type, stage) of the event that decided the first possible fall of `script`."""
    events = run(EventStateMachine(rules(**overrides)), script)
    return next(s[1:3] for s in stages(events) if s[2] != "possible")


def test_a_fall_the_person_stays_down_after_is_possible_then_confirmed() -> None:
    machine = EventStateMachine(rules(confirm_s=3.0))
    script = [(onehot("walking"), 2.0), (onehot("falling"), 1.0), (onehot("lying_on_floor"), 4.0)]
    events = run(machine, script)
    assert stages(events)[:2] == [
        (2.5, "start", "possible", "warning"),  # the fall rule: a warning at once
        (5.5, "update", "confirmed", "critical"),  # still down 3 s later: the alarm
    ]
    confirmed = next(d for _, d in events if d.stage is FallStage.CONFIRMED)
    assert confirmed.started_s == 2.5 and confirmed.stage_s == 5.5  # one episode, two stages
    assert confirmed.confidence == pytest.approx(0.9)


def test_a_possible_fall_the_person_gets_up_from_ends_as_recovered() -> None:
    machine = EventStateMachine(rules(confirm_s=3.0))
    # A bend deep enough for the fall rule (two windows down), then up and walking.
    script = [(onehot("walking"), 2.0), (onehot("falling"), 1.0), (onehot("walking"), 4.0)]
    events = run(machine, script)
    assert stages(events) == [
        (2.5, "start", "possible", "warning"),
        (5.5, "end", "recovered", "warning"),
    ]
    recovered = next(d for _, d in events if d.stage is FallStage.RECOVERED)
    assert recovered.ended_s == 5.5 and recovered.stage_s == 5.5
    assert Severity.CRITICAL not in [d.severity for _, d in events]


def test_confirmation_counts_the_share_of_windows_down() -> None:
    # After the fall (2.0-3.0 s), down in 3 of the 6 windows from 3.0 s to 5.5 s: half.
    half = [(onehot("lying_on_floor"), 0.5), (onehot("walking"), 0.5)] * 3
    script = [(onehot("walking"), 2.0), (onehot("falling"), 1.0), *half]
    assert decided(script, confirm_s=3.0) == ("update", "confirmed")
    assert decided(script, confirm_s=3.0, confirm_share=0.8) == ("end", "recovered")


def test_a_person_out_of_view_after_a_possible_fall_is_confirmed() -> None:
    # Falling out of the picture: nobody seen since. That is never "got up".
    script = [(onehot("walking"), 2.0), (onehot("falling"), 1.0), (onehot("no_person"), 4.0)]
    assert decided(script, confirm_s=3.0) == ("update", "confirmed")
    # Windows with nobody in view do not count against the person seen down.
    hidden = [(onehot("no_person"), 1.5), (onehot("lying_on_floor"), 0.5), (onehot("walking"), 2.0)]
    script = [(onehot("walking"), 2.0), (onehot("falling"), 1.0), *hidden]
    # 3.0-5.5 s: nobody in view in 3 windows; of the other 3, one down: a third, recovered.
    assert decided(script, confirm_s=3.0) == ("end", "recovered")


def test_a_recovered_fall_disarms_the_long_lie_and_a_new_fall_starts_again() -> None:
    machine = EventStateMachine(rules(confirm_s=2.0, long_lie_s=3.0))
    script = [
        (onehot("falling"), 1.0),
        (onehot("walking"), 3.0),  # recovered at 2.5 s
        (onehot("lying_on_floor"), 5.0),  # lying down on purpose: no fall motion, no long lie
        (onehot("falling"), 1.0),  # a real fall now
        (onehot("lying_on_floor"), 3.0),
    ]
    events = run(machine, script)
    assert LONG_LIE not in [d.action for _, d in events]
    assert [s[1:3] for s in stages(events)][:4] == [
        ("start", "possible"),
        ("end", "recovered"),
        ("start", "possible"),
        ("update", "confirmed"),
    ]


def test_one_stage_starts_the_fall_confirmed() -> None:
    script = [(onehot("walking"), 2.0), (onehot("falling"), 1.0), (onehot("walking"), 4.0)]
    (start, *_) = stages(run(EventStateMachine(rules(confirm_s=0.0)), script))
    assert start == (2.5, "start", "confirmed", "critical")


def test_stream_end_while_possible_ends_it_still_possible() -> None:
    machine = EventStateMachine(rules(confirm_s=5.0))
    run(machine, [(onehot("walking"), 2.0), (onehot("falling"), 1.0)])
    (end,) = [d for d in machine.close(3.0) if d.action == "falling"]
    assert (end.type, end.stage, end.severity) == (
        EventType.END,
        FallStage.POSSIBLE,
        Severity.WARNING,
    )


def test_lying_without_a_fall_is_not_a_long_lie() -> None:
    machine = EventStateMachine(rules())
    events = run(machine, [(onehot("lying_on_floor"), 10.0)])
    assert kinds(events) == [("start", "lying_on_floor")]
    assert events[0][1].severity is Severity.WARNING


def test_getting_up_disarms_the_long_lie() -> None:
    machine = EventStateMachine(rules())
    events = run(
        machine,
        [(onehot("falling"), 1.0), (onehot("walking"), 2.0), (onehot("lying_on_floor"), 6.0)],
    )
    assert LONG_LIE not in [d.action for _, d in events]


def test_losing_sight_of_the_person_after_a_fall_keeps_the_long_lie_armed() -> None:
    machine = EventStateMachine(rules())
    events = run(
        machine,
        [(onehot("falling"), 1.0), (onehot("no_person"), 2.0), (onehot("lying_on_floor"), 4.0)],
    )
    assert ("start", LONG_LIE) in kinds(events)


def test_no_person_ends_the_activity_and_is_never_reported() -> None:
    machine = EventStateMachine(rules())
    events = run(machine, [(onehot("sitting_down"), 2.0), (onehot("no_person"), 3.0)])
    assert kinds(events) == [("start", "sitting_down"), ("end", "sitting_down")]
    assert events[1][1].ended_s == 2.0


def test_updates_follow_the_cadence_while_an_activity_lasts() -> None:
    machine = EventStateMachine(rules(update_interval_s=2.0))
    events = run(machine, [(onehot("walking"), 8.0)])
    updates = [t for t, d in events if d.type is EventType.UPDATE]
    assert updates == [3.0, 5.0, 7.0]  # started (confirmed) at 1 s, then every 2 s
    assert all(d.started_s == 0.0 for _, d in events)


def test_smoothing_averages_the_last_k_windows() -> None:
    machine = EventStateMachine(rules(smoothing_windows=3, min_start_s=0.0))
    # One confident window among two flat ones: mean 0.9/3 + ... < enter, no start.
    flat = np.full(len(LABELS), 1 / len(LABELS))
    assert run(machine, [(flat, 1.0), (onehot("walking"), 0.5), (flat, 1.0)]) == []
    assert kinds(run(machine, [(onehot("walking"), 1.5)])) == [("start", "walking")]


def test_close_ends_everything_open() -> None:
    machine = EventStateMachine(rules())
    run(machine, [(onehot("walking"), 2.0), (onehot("falling", 0.55), 1.0)])
    assert sorted(machine.open_actions) == ["falling", "walking"]
    closing = machine.close(9.0)
    assert {(d.type, d.action, d.ended_s) for d in closing} == {
        (EventType.END, "walking", 9.0),
        (EventType.END, "falling", 9.0),
    }
    assert machine.open_actions == []


def test_thresholds_can_change_on_a_running_machine() -> None:
    machine = EventStateMachine(rules())
    machine.set_thresholds(Thresholds(enter=0.95, exit=0.5))
    assert run(machine, [(onehot("walking"), 3.0)]) == []


def test_wrong_number_of_probabilities_is_an_error() -> None:
    with pytest.raises(ValueError, match="expected 5 probabilities"):
        EventStateMachine(rules()).step([0.5, 0.5], 0.0)
