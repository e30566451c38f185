"""Composing frames: room, distractors, furniture behind, person, furniture in front, camera.

The room is painted once per clip; per frame only the moving things are drawn, which is
what keeps 400 clips at 112 px well under two minutes on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from shared.labels import NO_PERSON
from shared.synth.actions import ACTIONS, start_pose
from shared.synth.body import world_skeleton
from shared.synth.distractors import TvFrames, draw_curtains, draw_tv, tv_frames
from shared.synth.figure_drawing import MASK_PAINTS, draw_figure, paints_for, view_skeleton
from shared.synth.pose import Keyframes, Pose, sample
from shared.synth.room_painting import Overlay, furniture_overlays, paint_background
from shared.synth.scene import Scene, build_scene, stream
from shared.synth.sensor import expose, shake, shift_mask

YAW = Pose._fields.index("yaw")


@dataclass(frozen=True)
class RenderedClip:
    frames: list[np.ndarray]  # BGR uint8
    masks: list[np.ndarray] = field(default_factory=list)  # bool, where the person is seen


def frame_count(seconds: float, fps: float) -> int:
    return max(1, int(round(seconds * fps)))


@dataclass(frozen=True)
class _Painted:
    """What a clip reuses every frame."""

    background: np.ndarray
    behind: Overlay | None
    front: Overlay | None
    tv: TvFrames | None


def _paint_static(scene: Scene, seed: int, frames: int, fps: float) -> _Painted:
    behind, front = furniture_overlays(scene.room)
    tv = tv_frames(stream(seed, "distractor"), frames, fps) if scene.room.tv else None
    return _Painted(paint_background(scene.room), behind, front, tv)


def _compose(scene: Scene, painted: _Painted, i: int, t: float, figure: np.ndarray | None,
             yaw: float) -> np.ndarray:
    room, img = scene.room, painted.background.copy()
    if room.curtains is not None and room.curtains.sway > 0:
        draw_curtains(img, room.curtains, room.camera, room.wall_z, t)
    if room.tv is not None and painted.tv is not None:
        draw_tv(img, room.tv, room.camera, room.wall_z, painted.tv, i)
    if painted.behind is not None:
        painted.behind.over(img)
    if figure is not None:
        view = view_skeleton(figure, yaw, room.camera)
        draw_figure(img, view, scene.body, paints_for(scene.look))
    if painted.front is not None:
        painted.front.over(img)
    return img


def _mask(scene: Scene, painted: _Painted, figure: np.ndarray | None, yaw: float) -> np.ndarray:
    size = scene.room.camera.size
    mask = np.zeros((size, size), np.uint8)
    if figure is not None:
        draw_figure(mask, view_skeleton(figure, yaw, scene.room.camera), scene.body, MASK_PAINTS)
    if painted.front is not None:
        hidden = painted.front.alpha[..., 0] > 0.5
        mask[painted.front.rows, painted.front.cols][hidden] = 0
    return mask


def render_motion(scene: Scene, seed: int, motion: Keyframes, visible: np.ndarray, fps: float,
                  with_masks: bool = False) -> RenderedClip:
    """Frames of `motion` in `scene`; the figure is drawn only where `visible` is true."""
    times = np.arange(len(visible)) / fps
    poses = sample(motion, times)
    skeletons = world_skeleton(poses, scene.body, scene.room.lane_z)
    painted = _paint_static(scene, seed, len(times), fps)
    offsets = shake(stream(seed, "shake"), len(times), scene.sensor.shake_px)
    noise = stream(seed, "noise")
    frames, masks = [], []
    for i, t in enumerate(times):
        figure = skeletons[i] if visible[i] else None
        img = _compose(scene, painted, i, float(t), figure, float(poses[i, YAW]))
        frames.append(expose(img, scene.sensor, offsets[i], noise))
        if with_masks:
            mask = _mask(scene, painted, figure, float(poses[i, YAW]))
            masks.append(shift_mask(mask, offsets[i]) > 127)
    return RenderedClip(frames, masks)


MIN_SIZE = 16


def check_request(size: int, seconds: float, fps: float) -> None:
    """Refuse sizes and timings no clip can be made of, naming the bad value."""
    if size < MIN_SIZE:
        raise ValueError(f"size must be at least {MIN_SIZE} pixels, got {size}")
    if not (np.isfinite(seconds) and seconds > 0):
        raise ValueError(f"seconds must be positive, got {seconds}")
    if not (np.isfinite(fps) and fps > 0):
        raise ValueError(f"fps must be positive, got {fps}")


def _check_label(label: str) -> None:
    if label not in ACTIONS:
        raise ValueError(f"unknown label {label!r}; the synthetic scenes know {sorted(ACTIONS)}")


def render_clip_with_masks(label: str, seed: int, size: int = 112, seconds: float = 3.0,
                           fps: float = 15.0, with_masks: bool = True,
                           site: int | None = None) -> RenderedClip:
    """One clip of `label` (in the room of `site` when given); with the person's visible
    pixels per frame when asked."""
    _check_label(label)
    check_request(size, seconds, fps)
    scene = build_scene(seed, size, site)
    rng = stream(seed, "motion")
    motion = ACTIONS[label](start_pose(label, scene.setting, rng), seconds, scene.setting, rng)
    visible = np.full(frame_count(seconds, fps), label != NO_PERSON)
    return render_motion(scene, seed, motion, visible, fps, with_masks)


def render_clip(label: str, seed: int, size: int = 112, seconds: float = 3.0,
                fps: float = 15.0, site: int | None = None) -> list[np.ndarray]:
    """`size` x `size` BGR uint8 frames of one clip of `label`, the same for the same seed
    (and site: the room and camera, see `build_scene`)."""
    return render_clip_with_masks(label, seed, size, seconds, fps, False, site).frames
