"""Scripted scenarios: one person in one room doing a sequence of actions, with a timeline.

A script is `label:seconds,...`. Each action starts from the pose the previous one ended
in, so the video is continuous; the JSON timeline says which label holds when, for
checking an edge device's events against the truth.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from shared.labels import DEFAULT_LABELS, NO_PERSON
from shared.synth.actions import ACTIONS, start_pose, walking
from shared.synth.pose import Keyframes, Pose, Track, chain
from shared.synth.postures import Setting, stand_spot
from shared.synth.render import check_request, frame_count, render_motion
from shared.synth.scene import build_scene, stream
from shared.video import write_video

DEFAULT_SCENARIO = "walking:4,sitting_down:3,standing_up:2,walking:3,falling:2,lying_on_floor:6"


@dataclass(frozen=True)
class Segment:
    label: str
    start_s: float
    end_s: float


def _parse_segment(number: int, item: str) -> tuple[str, float]:
    label, colon, amount = (part.strip() for part in item.partition(":"))
    if not item:
        raise ValueError(f"segment {number} is empty (a stray comma?)")
    if not colon:
        raise ValueError(f"segment {number} {item!r}: expected label:seconds")
    if label not in DEFAULT_LABELS:
        raise ValueError(f"segment {number}: unknown label {label!r}; use one of "
                         f"{', '.join(DEFAULT_LABELS)}")
    try:
        seconds = float(amount)
    except ValueError:
        raise ValueError(f"segment {number} {item!r}: {amount!r} is not a number") from None
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"segment {number} {item!r}: seconds must be positive, got {amount}")
    return label, seconds


def parse_script(script: str) -> list[tuple[str, float]]:
    """`"walking:4,sitting_down:3"` -> `[("walking", 4.0), ("sitting_down", 3.0)]`."""
    if not script.strip():
        raise ValueError("empty scenario script: expected label:seconds,... "
                         f"e.g. {DEFAULT_SCENARIO!r}")
    return [_parse_segment(n, item.strip()) for n, item in enumerate(script.split(","), 1)]


def timeline(script: Sequence[tuple[str, float]]) -> list[Segment]:
    """Back-to-back segments: each starts where the previous one ends."""
    ends = np.cumsum([seconds for _, seconds in script])
    starts = np.concatenate([[0.0], ends[:-1]])
    return [Segment(label, float(a), float(b)) for (label, _), a, b in zip(script, starts, ends,
                                                                          strict=True)]


def _first_pose(script: Sequence[tuple[str, float]], setting: Setting,
                rng: np.random.Generator, after: int = 0) -> Pose:
    """The pose of the first person seen from segment `after` on."""
    label = next((label for label, _ in script[after:] if label != NO_PERSON), "walking")
    return start_pose(label, setting, rng)


def _segment_motion(script: Sequence[tuple[str, float]], i: int, pose: Pose, setting: Setting,
                    rng: np.random.Generator) -> Keyframes:
    label, seconds = script[i]
    upcoming = script[i + 1][0] if i + 1 < len(script) else None
    if label == NO_PERSON:  # out of view: reappear wherever the next action starts
        return Track(pose).hold(seconds - 1e-3).to_pose(1e-3, _first_pose(
            script, setting, rng, i + 1)).fit(seconds)
    if label == "walking" and upcoming == "sitting_down":
        return walking(pose, seconds, setting, rng, goal_x=stand_spot(setting))
    return ACTIONS[label](pose, seconds, setting, rng)


def plan_scenario(script: Sequence[tuple[str, float]], setting: Setting,
                  rng: np.random.Generator) -> Keyframes:
    """One continuous motion through the script's actions."""
    pose, motions = _first_pose(script, setting, rng), []
    for i in range(len(script)):
        motions.append(_segment_motion(script, i, pose, setting, rng))
        pose = motions[-1].end
    return chain(motions)


def _visible(segments: list[Segment], frames: int, fps: float) -> np.ndarray:
    times = np.arange(frames) / fps
    hidden = np.zeros(frames, dtype=bool)
    for s in segments:
        if s.label == NO_PERSON:
            hidden |= (times >= s.start_s) & (times < s.end_s)
    return ~hidden


def _check_script(script: Sequence[tuple[str, float]]) -> None:
    if not script:
        raise ValueError("a scenario needs at least one label:seconds segment")
    for label, seconds in script:
        if label not in ACTIONS or not seconds > 0:
            raise ValueError(f"bad segment {label}:{seconds}; labels: {', '.join(ACTIONS)}")


def write_scenario(out: Path, script: Sequence[tuple[str, float]], seed: int = 0,
                   size: int = 320, fps: float = 15.0) -> Path:
    """Write the scenario video to `out` and its timeline beside it (.json); return that."""
    _check_script(script)
    check_request(size, sum(seconds for _, seconds in script), fps)
    scene = build_scene(seed, size)
    motion = plan_scenario(script, scene.setting, stream(seed, "motion"))
    segments = timeline(script)
    total = segments[-1].end_s
    visible = _visible(segments, frame_count(total, fps), fps)
    clip = render_motion(scene, seed, motion, visible, fps)
    write_video(out, clip.frames, fps)
    timeline_path = Path(out).with_suffix(".json")
    timeline_path.write_text(json.dumps({
        "video": Path(out).name, "fps": fps, "size": size, "seed": seed, "duration_s": total,
        "segments": [asdict(s) for s in segments],
    }, indent=2))
    return timeline_path
