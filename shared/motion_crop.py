"""A cheap crop around what moves, decided frame by frame before downsampling.

A 32x32 student that sees a whole room gets a person a few pixels tall and a room's
worth of background to learn by heart. `MotionCropper` keeps a box around the pixels
that differ from a slowly updated background; `crop_frame` cuts the frame to that box
before `shared.preprocess.downsample_frame`, so the student sees the person larger and
less of the room.

The cropper is causal (a box depends only on earlier frames), costs about 0.1 ms a
frame, and works in seconds and in shares of the frame, never in frames or pixels:
the edge (a camera at full resolution and its own frame rate) and training (the same
video decoded at 15-30 fps and shrunk to 160 px) follow the same box. The motion mask
is computed on a grey copy 64 pixels wide whatever the source, as the difference from
the frame `lag_s` earlier: motion, not presence, so a person who has just left a spot
leaves no ghost behind, and a person lying still after a fall keeps the box they fell in
for `hold_s`.

The box keeps the frame's aspect ratio, so that a crop is downsampled exactly as the
whole frame is; with no motion yet (or long after the last) it is the whole frame.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

MASK_WIDTH = 64


class MotionCropSpec(BaseModel):
    """How the box follows motion. Part of a model's `InputSpec`: training and the edge
    crop with the same numbers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["motion"] = Field(default="motion", description="the only kind so far")
    min_scale: float = Field(default=0.4, gt=0, le=1, description="smallest box side, share")
    margin: float = Field(default=0.3, ge=0, le=2, description="added around the moving region")
    threshold: int = Field(default=18, ge=1, le=255, description="grey step that moves")
    min_area: float = Field(default=0.003, ge=0, le=1, description="share that must move")
    lag_s: float = Field(default=0.25, gt=0, le=5, description="motion: change over this long")
    reach: float = Field(default=1.2, ge=1, le=10, description="near: within this x the box")
    follow_s: float = Field(default=0.25, gt=0, le=60, description="time constant of the box")
    hold_s: float = Field(default=10.0, ge=0, le=3600, description="box kept after motion stops")
    release_s: float = Field(default=3.0, gt=0, le=600, description="time constant back to full")


@dataclass(frozen=True)
class Box:
    """A crop as shares of the frame: centre (`cx`, `cy`) and `scale` of both sides."""

    cx: float = 0.5
    cy: float = 0.5
    scale: float = 1.0

    def towards(self, target: Box, weight: float) -> Box:
        return Box(
            self.cx + weight * (target.cx - self.cx),
            self.cy + weight * (target.cy - self.cy),
            self.scale + weight * (target.scale - self.scale),
        )

    def inside(self) -> Box:
        """The same box moved (not shrunk) so that it lies within the frame."""
        half = min(max(self.scale, 0.0), 1.0) / 2
        return Box(
            min(max(self.cx, half), 1 - half), min(max(self.cy, half), 1 - half), 2 * half
        )


FULL_FRAME = Box()


def crop_frame(frame: np.ndarray, box: Box) -> np.ndarray:
    """The part of `frame` (H x W x C) inside `box`, at least one pixel each way."""
    height, width = frame.shape[:2]
    box = box.inside()
    crop_w = min(width, max(1, round(box.scale * width)))
    crop_h = min(height, max(1, round(box.scale * height)))
    x0 = min(max(round(box.cx * width - crop_w / 2), 0), width - crop_w)
    y0 = min(max(round(box.cy * height - crop_h / 2), 0), height - crop_h)
    return frame[y0 : y0 + crop_h, x0 : x0 + crop_w]


def _grey(frame_bgr: np.ndarray) -> np.ndarray:
    height, width = frame_bgr.shape[:2]
    size = (MASK_WIDTH, max(1, round(height * MASK_WIDTH / width)))
    small = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    return cv2.GaussianBlur(grey, (3, 3), 0).astype(np.float32)


class MotionCropper:
    """Follows one stream: `update(frame, t)` for every frame in order, get its box."""

    def __init__(self, spec: MotionCropSpec) -> None:
        self.spec = spec
        self.reset()

    def reset(self) -> None:
        self.box = FULL_FRAME
        self._past: deque[tuple[float, np.ndarray]] = deque()
        self._source_shape: tuple[int, ...] | None = None
        self._last_motion: float | None = None

    def update(self, frame_bgr: np.ndarray, t_s: float) -> Box:
        grey = _grey(frame_bgr)
        if frame_bgr.shape != self._source_shape:
            self.reset()  # another source: start again from the whole frame
            self._source_shape = frame_bgr.shape
        if not self._past:
            self._past.append((t_s, grey))
            return self.box
        dt = max(t_s - self._past[-1][0], 0.0)
        # Compare with the last frame at least `lag_s` old (the oldest kept until then).
        while len(self._past) > 1 and self._past[1][0] <= t_s - self.spec.lag_s:
            self._past.popleft()
        change = grey - self._past[0][1]
        change -= np.median(change)  # a camera's exposure step moves every pixel alike
        self._past.append((t_s, grey))
        target, time_constant = self._target(np.abs(change) > self.spec.threshold, t_s)
        self.box = self.box.towards(target, 1 - math.exp(-dt / time_constant)).inside()
        return self.box

    def _target(self, moving: np.ndarray, t_s: float) -> tuple[Box, float]:
        """Where the box should go: to motion near it; to motion elsewhere only once
        nothing has moved near it for `hold_s` (someone walking past must not take the
        box from a person lying still); back to the whole frame when nothing moves."""
        spec = self.spec
        height, width = moving.shape
        ys, xs = np.nonzero(moving)
        fx, fy = (xs + 0.5) / width, (ys + 0.5) / height
        reach = self.box.scale * spec.reach / 2
        near = (np.abs(fx - self.box.cx) <= reach) & (np.abs(fy - self.box.cy) <= reach)
        enough = max(1, spec.min_area * moving.size)
        held = self._last_motion is not None and t_s - self._last_motion <= spec.hold_s
        if np.count_nonzero(near) >= enough:
            fx, fy = fx[near], fy[near]
        elif xs.size < enough or held:
            return (self.box, spec.follow_s) if held else (FULL_FRAME, spec.release_s)
        self._last_motion = t_s
        # Percentiles, not min/max: a few flickering pixels must not stretch the box.
        x0, x1 = np.percentile(fx, (2, 98))
        y0, y1 = np.percentile(fy, (2, 98))
        extent = max(x1 - x0 + 1 / width, y1 - y0 + 1 / height) * (1 + spec.margin)
        scale = min(max(extent, spec.min_scale), 1.0)
        return Box((x0 + x1) / 2, (y0 + y1) / 2, scale), spec.follow_s


def crop_boxes(
    frames: Sequence[np.ndarray], timestamps: Sequence[float] | np.ndarray, spec: MotionCropSpec
) -> list[Box]:
    """The box of every frame of a video, as the edge would have followed it."""
    if len(frames) != len(timestamps):
        raise ValueError(f"{len(frames)} frames but {len(timestamps)} timestamps")
    cropper = MotionCropper(spec)
    return [cropper.update(frame, float(t)) for frame, t in zip(frames, timestamps, strict=True)]


CROP_KINDS = ("none", "motion")


def student_crop(kind: str) -> MotionCropSpec | None:
    """The crop a `--student-crop` choice stands for (default settings)."""
    if kind not in CROP_KINDS:
        raise ValueError(f"unknown crop {kind!r}; expected one of {CROP_KINDS}")
    return MotionCropSpec() if kind == "motion" else None
