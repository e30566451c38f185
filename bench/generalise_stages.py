"""Two-stage fall alerts on rooms never seen: what confirming costs and what it saves.

    python -m bench.generalise_stages
    # -> bench/results/generalise_stages.json

`bench/generalise.py` keeps every student's window fall scores on each test clip. This
replays them through the edge's own state machine (`edge.events.EventStateMachine`, the
agent's decision code, at the shipped thresholds and event settings) once per
confirmation setting (`events.confirm_s`, `events.confirm_share`; `confirm_s` 0 is one
stage), and judges what comes out as that benchmark judges the agent's alerts:

- a *possible* fall (the warning, a chime) and a *confirmed* one (the alarm) count as
  alerts of their own: a negative unit is one with an alert in a clip without a fall or
  before the fall began; a fall is alerted by an alert at or after its start;
- a possible fall the clip ended on before `confirm_s` had passed is counted apart
  (`undecided`): the video stopped, not the person; on a device it would be decided.

The scores are the pipeline's PyTorch windows (every `hop_s`, as the agent's), not the
agent's ONNX run, so the shipped rule's row here is close to, not equal to, its
`bench/generalise.py` agent row (docs/BENCHMARKS.md compares them).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.common import RESULTS, cli_settings, command_line, commit_at_start, write_result
from bench.generalise import ALERT_WITHIN_S, EdgeClip, edge_metrics
from bench.generalise import RESULT as GENERALISE
from edge.config import EventConfig
from edge.events import EventDecision, EventRules, EventStateMachine
from shared.messages import FallStage

RESULT = RESULTS / "generalise_stages.json"
LABELS = ("fall", "not_fall")  # the benchmark's students: one fall / not-fall labelling
EXPORTED = "exported"  # what each run shipped (bench/generalise.py's alias)
MODELS = (EXPORTED, "student_kd_unlabeled")
CONFIRM_S = (0.0, 2.0, 3.0, 5.0, 8.0)
SHARES = (0.3, 0.5, 0.7)


@dataclass(frozen=True)
class StageRule:
    confirm_s: float
    share: float

    @property
    def name(self) -> str:
        if self.confirm_s == 0:
            return "one stage"
        return f"confirm {self.confirm_s:g} s, {self.share:.0%} down"


def rules() -> list[StageRule]:
    """One stage; 2 and 3 s at each share; longer at the shipped share only."""
    share = EventConfig().confirm_share
    plan = [StageRule(0.0, share)]
    plan += [StageRule(s, k) for s in CONFIRM_S[1:3] for k in SHARES]
    return plan + [StageRule(s, share) for s in CONFIRM_S[3:]]


@dataclass(frozen=True)
class Episode:
    """One fall episode: when it was possible, and what became of it (video s)."""

    possible_s: float
    outcome: str  # confirmed | recovered | undecided (the clip ended first)
    decided_s: float | None


@dataclass(frozen=True)
class Replay:
    """What the state machine said on one clip."""

    episodes: tuple[Episode, ...]

    @property
    def possible_s(self) -> tuple[float, ...]:
        return tuple(e.possible_s for e in self.episodes)

    @property
    def confirmed_s(self) -> tuple[float, ...]:
        return tuple(e.decided_s for e in self.episodes if e.decided_s is not None
                     and e.outcome == "confirmed")  # fmt: skip

    def first_after(self, start_s: float) -> Episode | None:
        """The first episode that began at or after `start_s` (a fall's own)."""
        return next((e for e in self.episodes if e.possible_s >= start_s), None)


def replay(windows: Sequence[tuple[float, float]], rule: StageRule) -> Replay:
    """One clip's (window end s, fall p) through the edge's state machine at `rule`."""
    cfg = EventConfig()
    machine = EventStateMachine(
        EventRules(
            labels=LABELS,
            fall_labels=frozenset({"fall"}),
            thresholds=cfg.thresholds,
            smoothing_windows=cfg.smoothing_windows,
            min_start_s=cfg.min_start_s,
            min_end_s=cfg.min_end_s,
            fall_hold_s=cfg.fall_hold_s,
            update_interval_s=cfg.update_interval_s,
            long_lie_s=cfg.long_lie_s,
            confirm_s=rule.confirm_s,
            confirm_share=rule.share,
        )
    )
    decisions: list[EventDecision] = []
    last = 0.0
    for end_s, p in windows:
        decisions += machine.step([p, 1.0 - p], end_s)
        last = end_s
    decisions += machine.close(last)
    episodes: dict[float, Episode] = {}  # by start: one episode's events share it
    for d in decisions:
        if d.stage is None:
            continue
        known = episodes.get(d.started_s)
        if d.stage is FallStage.POSSIBLE and known is None:
            episodes[d.started_s] = Episode(d.started_s, "undecided", None)
        elif d.stage is not FallStage.POSSIBLE and (known is None or known.outcome == "undecided"):
            episodes[d.started_s] = Episode(d.started_s, d.stage.value, d.stage_s)
    return Replay(tuple(sorted(episodes.values(), key=lambda e: e.possible_s)))


def judge(
    clips: Sequence[dict[str, Any]], windows: Sequence[Sequence[float]], rule: StageRule,
    clip_seconds: float,
) -> dict[str, Any]:  # fmt: skip
    """One model of one run at `rule`: the possible and confirmed alerts, judged."""
    per_clip: dict[int, list[tuple[float, float]]] = {}
    for clip, end_s, p in sorted((int(c), float(t), float(p)) for c, t, p in windows):
        per_clip.setdefault(clip, []).append((end_s, p))
    replays = [replay(per_clip.get(i, []), rule) for i in range(len(clips))]
    has_negative = [c["fall_start_s"] is None or c["fall_start_s"] >= clip_seconds for c in clips]

    def as_clips(pick: str) -> list[EdgeClip]:
        return [
            EdgeClip(c["clip"], c["fall_start_s"], getattr(r, pick), c["group"])
            for c, r in zip(clips, replays, strict=True)
        ]

    possible = edge_metrics(as_clips("possible_s"), has_negative)
    confirmed = edge_metrics(as_clips("confirmed_s"), has_negative)
    own = [
        r.first_after(c["fall_start_s"])
        for c, r in zip(clips, replays, strict=True)
        if c["fall_start_s"] is not None
    ]
    decided = [e for e in own if e is not None and e.outcome != "undecided"]
    return {
        "falls": len(own),
        "negatives": sum(has_negative),
        "possible_falls_alerted": possible["edge_falls_alerted"],
        "possible_within_3s": possible["edge_falls_alerted_3s"],
        "possible_latency_s": possible["edge_latency_s"]["mean"],
        "possible_negatives": possible["edge_false_alarm_rate"],
        "confirmed_falls": confirmed["edge_falls_alerted"],
        "confirmed_latency_s": confirmed["edge_latency_s"]["mean"],
        "confirmed_negatives": confirmed["edge_false_alarm_rate"],
        # Of the falls whose possible alert the clip lasted long enough to decide: confirmed.
        "decided_falls": len(decided) / len(own) if own else None,
        "confirmed_of_decided": (
            sum(e.outcome == "confirmed" for e in decided) / len(decided) if decided else None
        ),
    }


def stages_for(generalise: dict[str, Any], model: str) -> dict[str, Any]:
    """Every run of every split in `generalise` (its JSON), each rule, on `model` (`exported`:
    the student each run shipped)."""
    clip_seconds = float(generalise["settings"].get("clip_seconds", 2.0))
    out: dict[str, Any] = {}
    for split, body in generalise["splits"].items():
        runs = []
        for run in body.get("runs", []):
            name = run["exported"] if model == EXPORTED else model
            entry = run["models"].get(name, {})
            if "test_windows" not in entry or "edge_clips" not in entry:
                continue
            rows = {
                rule.name: judge(entry["edge_clips"], entry["test_windows"], rule, clip_seconds)
                for rule in rules()
            }
            runs.append({"seed": run["seed"], "model": name, "commit": run.get("commit"),
                         "rules": rows})  # fmt: skip
        if runs:
            out[split] = {"kind": body["kind"], "runs": runs}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--scores", type=Path, default=GENERALISE,
                   help="bench/generalise.py's JSON, whose window scores are replayed")  # fmt: skip
    default = ", ".join(MODELS)
    p.add_argument("--model", action="append",
                   help=f"replay this student of each run (default: {default})")  # fmt: skip
    p.add_argument(
        "--out", type=Path, help="JSON path (default bench/results/generalise_stages.json)"
    )
    args = p.parse_args(argv)
    generalise = json.loads(args.scores.read_text())
    shipped = EventConfig()
    result = {
        "settings": cli_settings(args),
        "scores_from": {
            "commit": generalise.get("commit"),
            "finished_at": generalise.get("finished_at"),
        },
        "within_s": ALERT_WITHIN_S,
        "rules": [rule.name for rule in rules()],
        "shipped": StageRule(shipped.confirm_s, shipped.confirm_share).name,
        "commit": commit_at_start(),
        "command": command_line(),
        "models": {model: stages_for(generalise, model) for model in args.model or MODELS},
    }
    path = write_result("generalise_stages.json", result, args.out or RESULT)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
