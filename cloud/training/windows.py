"""Training windows: for one window of one clip, the teacher's full-resolution view and
the student's downsampled view, from one augmentation draw, both through `shared.preprocess`,
and, when the clips have landmark tracks, the `pose` view of the same draw
(cloud.training.pose.view).

Clips are decoded once into a `FrameCache` (uint8, longer side `max_side`), so later
epochs and later models never decode video again. Each window has `num_draws`
augmentation draws fixed by seed; epoch e uses draw e % num_draws, which lets the
pipeline compute the teacher's logits once per (window, draw) and reuse them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from cloud.training.augment import IDENTITY, AugmentDraw, AugmentSpec, apply_augment, draw_augment
from cloud.training.pose.view import PoseSource
from shared.datasets import ClipRecord, span_label_at
from shared.labels import UNLABELLED, LabelSet
from shared.motion_crop import Box, MotionCropSpec, crop_boxes, crop_frame
from shared.preprocess import InputSpec, window_ends, window_indices, window_to_input
from shared.video import DecodedVideo, read_video

VIEWS = ("teacher", "student", "pose")


class FrameCache:
    """Decoded frames per clip, resized so the longer side is at most `max_side` pixels."""

    def __init__(self, max_side: int = 160) -> None:
        self.max_side = max_side
        self._videos: dict[Path, DecodedVideo] = {}
        self._boxes: dict[tuple[Path, MotionCropSpec], list[Box]] = {}

    def _shrink(self, frame: np.ndarray) -> np.ndarray:
        height, width = frame.shape[:2]
        scale = self.max_side / max(height, width)
        if scale >= 1.0:
            return frame
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)

    def get(self, path: Path) -> DecodedVideo:
        if path not in self._videos:
            self._videos[path] = read_video(path, transform=self._shrink)
        return self._videos[path]

    def boxes(self, path: Path, crop: MotionCropSpec) -> list[Box]:
        """Each frame's motion box, followed from the start of the video as the edge would."""
        key = (path, crop)
        if key not in self._boxes:
            video = self.get(path)
            self._boxes[key] = crop_boxes(video.frames, video.timestamps, crop)
        return self._boxes[key]

    def preload(
        self, paths: Sequence[Path], progress: Callable[[int, int], None] | None = None
    ) -> None:
        for done, path in enumerate(paths, start=1):
            self.get(path)
            if progress:
                progress(done, len(paths))

    def nbytes(self) -> int:
        return sum(f.nbytes for v in self._videos.values() for f in v.frames)


@dataclass(frozen=True)
class WindowRef:
    """One training window: which clip, where it ends, its class index (-1: unlabelled)."""

    clip: int
    end_s: float
    label: int


def window_label(record: ClipRecord, t_s: float, label_set: LabelSet) -> int | None:
    """Class index at `t_s`, or None when the clip's spans say nothing the model knows."""
    name = span_label_at(record, t_s)
    if name is None or name not in label_set.names:
        return None
    return label_set.index(name)


def list_windows(
    records: Sequence[ClipRecord],
    cache: FrameCache,
    label_set: LabelSet | None,
    spec: InputSpec,
    hop_s: float,
) -> list[WindowRef]:
    """Every window of every clip, labelled at its midpoint (`label_set=None`: unlabelled)."""
    windows = []
    for clip, record in enumerate(records):
        video = cache.get(record.path)
        for end in window_ends(video.duration_s, spec, hop_s):
            if label_set is None:
                windows.append(WindowRef(clip, float(end), UNLABELLED))
                continue
            label = window_label(record, float(end) - spec.clip_seconds / 2, label_set)
            if label is not None:
                windows.append(WindowRef(clip, float(end), label))
    return windows


class TwoViewWindows(Dataset[dict[str, torch.Tensor]]):
    """Windows as tensors: `teacher` (3,T,H,W) full view, `student` downsampled view,
    `pose` (features, T) landmark view when built with a `PoseSource`."""

    def __init__(
        self,
        records: Sequence[ClipRecord],
        windows: Sequence[WindowRef],
        cache: FrameCache,
        teacher_spec: InputSpec,
        student_spec: InputSpec,
        augment: AugmentSpec | None = None,
        num_draws: int = 2,
        seed: int = 0,
        pose: PoseSource | None = None,
    ) -> None:
        self.records, self.windows, self.cache = list(records), list(windows), cache
        self.specs = {"teacher": teacher_spec, "student": student_spec}
        self.augment, self.seed = augment, seed
        self.num_draws = num_draws if augment is not None else 1
        self.views: tuple[str, ...] = ("teacher", "student")
        self.draw = self.epoch = 0
        self.banks: dict[str, torch.Tensor] = {}  # view -> (windows, draws, 3, T, H, W)
        self.pose = pose
        # Skeleton-only augmentation, drawn per epoch: on to train the pose teacher, off
        # (see `without_pose_extras`) when the teacher labels windows for the student.
        self.pose_extras = True

    def set_epoch(self, epoch: int) -> None:
        self.epoch, self.draw = epoch, epoch % self.num_draws

    def with_views(self, *views: str) -> TwoViewWindows:
        unknown = set(views) - set(VIEWS)
        if unknown:
            raise ValueError(f"unknown views {sorted(unknown)}; expected {VIEWS}")
        if "pose" in views and self.pose is None:
            raise ValueError("these windows have no landmark tracks: build them with `pose=`")
        self.views = views
        return self

    @contextmanager
    def without_pose_extras(self) -> Iterator[TwoViewWindows]:
        """The pose view follows only the pixel draw inside this block."""
        saved, self.pose_extras = self.pose_extras, False
        try:
            yield self
        finally:
            self.pose_extras = saved

    def joined(self, other: TwoViewWindows) -> TwoViewWindows:
        """These windows followed by `other`'s (e.g. unlabelled ones), with both sets' tracks.

        Draws follow the window's index, which the join changes for `other`: banks are
        not carried over (materialize the joined set again).
        """
        if other.cache is not self.cache:
            raise ValueError("windows to join must share one FrameCache")
        offset = len(self.records)
        refs = self.windows + [replace(w, clip=w.clip + offset) for w in other.windows]
        pose = self.pose.merged(other.pose) if self.pose and other.pose else None
        both = TwoViewWindows(
            self.records + other.records,
            refs,
            self.cache,
            self.specs["teacher"],
            self.specs["student"],
            self.augment,
            self.num_draws,
            self.seed,
            pose,
        )
        return both

    def __len__(self) -> int:
        return len(self.windows)

    def labels(self) -> np.ndarray:
        return np.array([w.label for w in self.windows], dtype=np.int64)

    def clip_ids(self) -> np.ndarray:
        return np.array([w.clip for w in self.windows], dtype=np.int64)

    def augment_draw(self, index: int, draw: int) -> AugmentDraw:
        if self.augment is None:
            return IDENTITY
        rng = np.random.default_rng([self.seed, index, draw])
        return draw_augment(rng, self.augment)

    def materialize(self, view: str, workers: int = 0, batch: int = 64) -> None:
        """Compute `view` once for every (window, draw) and keep it in memory.

        Draws are fixed by seed, so a view never changes between epochs: the student's
        small view (about 100 kB a window) is cheap to keep, and a sweep of several
        students then trains on tensors instead of warping frames again each epoch.
        """
        saved = self.views, self.draw
        self.views, per_draw = (view,), []
        for draw in range(self.num_draws):
            self.draw = draw
            loader = DataLoader(self, batch_size=batch, num_workers=workers)
            per_draw.append(torch.cat([b[view] for b in loader]))
        self.banks[view] = torch.stack(per_draw, dim=1)
        self.views, self.draw = saved

    def end_of(self, index: int, augment: AugmentDraw) -> float:
        """Where the window ends in this draw: its grid time moved by the draw's time shift,
        kept inside the clip (no earlier than its first full window, no later than its end).

        The label stays the grid window's: a shift of at most half a hop keeps the window
        nearer its own grid point than any other.
        """
        ref = self.windows[index]
        if augment.time_shift_s == 0.0:
            return ref.end_s
        duration = self.cache.get(self.records[ref.clip].path).duration_s
        earliest = min(ref.end_s, self.specs["student"].clip_seconds)
        latest = max(ref.end_s, duration)
        return float(np.clip(ref.end_s + augment.time_shift_s, earliest, latest))

    def view(self, index: int, view: str, draw: int) -> np.ndarray:
        if view in self.banks:
            return self.banks[view][index, draw].numpy()
        if view == "pose":
            return self.pose_view(index, draw)
        ref = self.windows[index]
        video = self.cache.get(self.records[ref.clip].path)
        spec = self.specs[view]
        augment = self.augment_draw(index, draw)
        picks = window_indices(video.timestamps, self.end_of(index, augment), spec)
        frames = [video.frames[i] for i in picks]
        if spec.crop is not None:
            boxes = self.cache.boxes(self.records[ref.clip].path, spec.crop)
            frames = [crop_frame(frame, boxes[i]) for frame, i in zip(frames, picks, strict=True)]
        return window_to_input([apply_augment(frame, augment) for frame in frames], spec)

    def pose_view(self, index: int, draw: int) -> np.ndarray:
        if self.pose is None:
            raise ValueError("these windows have no landmark tracks: build them with `pose=`")
        ref = self.windows[index]
        extras = self.augment is not None and self.pose_extras
        rng = np.random.default_rng([self.seed, index, self.epoch, 1]) if extras else None
        path = self.records[ref.clip].path
        augment = self.augment_draw(index, draw)
        return self.pose.window(path, self.end_of(index, augment), augment, rng)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        ref = self.windows[index]
        item = {
            "index": torch.tensor(index),
            "draw": torch.tensor(self.draw),
            "label": torch.tensor(ref.label),
            "clip": torch.tensor(ref.clip),
        }
        for view in self.views:
            banked = self.banks.get(view)
            item[view] = (
                banked[index, self.draw]
                if banked is not None
                else torch.from_numpy(self.view(index, view, self.draw))
            )
        return item
