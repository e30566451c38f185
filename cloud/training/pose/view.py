"""The `pose` view of a training window: its landmark features on the window's time grid.

The pixel augmentation draw of the window moves the landmarks exactly as it moves the
pixels (crop, rotation, flip with left/right swap), so the pose teacher and the pixel
student still see one augmented window. Skeleton-only augmentation (turning the body
about the vertical axis, scale, dropped joints, temporal jitter) is drawn per epoch on
top, for training the teacher only; the teacher's logits for the student are computed
without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from cloud.training.augment import IDENTITY, AugmentDraw
from cloud.training.pose.extract import PoseCache, PoseTrack
from cloud.training.pose.features import (
    PoseAugmentSpec,
    PoseFeatureSpec,
    apply_pose_augment,
    draw_pose_augment,
    follow_pixel_augment,
    pose_features,
    window_landmarks,
)
from shared.preprocess import InputSpec


@dataclass
class PoseSource:
    """Landmark tracks of a set of clips and how to turn a window of one into features."""

    tracks: dict[Path, PoseTrack]
    spec: InputSpec  # the window's time grid: T instants over clip_seconds
    features: PoseFeatureSpec = field(default_factory=PoseFeatureSpec)
    augment: PoseAugmentSpec = field(default_factory=PoseAugmentSpec)

    @classmethod
    def extract(
        cls,
        videos: Sequence[Path],
        spec: InputSpec,
        features: PoseFeatureSpec,
        cache: PoseCache,
        workers: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> PoseSource:
        return cls(cache.get_many(videos, workers, progress), spec, features)

    def merged(self, other: PoseSource) -> PoseSource:
        return PoseSource({**self.tracks, **other.tracks}, self.spec, self.features, self.augment)

    @property
    def dt(self) -> float:
        return self.spec.clip_seconds / self.spec.frames

    def window(
        self,
        video: Path,
        end_s: float,
        pixel_draw: AugmentDraw = IDENTITY,
        rng: np.random.Generator | None = None,
    ) -> np.ndarray:
        """Features (channels, T) of the window of `video` ending at `end_s`."""
        track = self.tracks[Path(video)]
        extra = draw_pose_augment(rng, self.augment) if rng is not None else None
        marks = window_landmarks(track, end_s + (extra.shift_s if extra else 0.0), self.spec)
        if pixel_draw != IDENTITY:
            marks = follow_pixel_augment(marks, pixel_draw, track.width, track.height)
        if extra is not None:
            marks = apply_pose_augment(marks, extra)
        return pose_features(marks, self.features, self.dt)

    def ms_per_frame(self) -> float:
        """Extraction cost per frame, averaged over every frame of the tracks."""
        frames = sum(len(t) for t in self.tracks.values())
        spent = sum(t.ms_per_frame * len(t) for t in self.tracks.values())
        return spent / max(frames, 1)
