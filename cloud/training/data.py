"""From a dataset folder to the windows each split trains or is scored on.

With `pose`, every clip also gets its landmark track (cloud.training.pose, extracted once and
cached) and the windows a `pose` view. With `unlabeled`, the videos of another folder
become windows without a label (-1): the teacher labels them for the student's KD term.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from cloud.training.augment import AugmentSpec
from cloud.training.pose.extract import PoseCache
from cloud.training.pose.features import PoseFeatureSpec
from cloud.training.pose.view import PoseSource
from cloud.training.windows import FrameCache, TwoViewWindows, list_windows
from shared.datasets import ClipRecord, Splits, load_folder, split_records
from shared.datasets.folder import has_manifest, is_video_name
from shared.labels import DEFAULT_LABELS, LabelSet
from shared.preprocess import InputSpec
from shared.progress import ProgressLine


class DatasetError(ValueError):
    """The data cannot train a classifier (one class only, an empty split, ...)."""


@dataclass
class PreparedData:
    labels: LabelSet
    splits: Splits
    train: TwoViewWindows
    val: TwoViewWindows
    test: TwoViewWindows
    cache: FrameCache
    unlabelled: TwoViewWindows | None = None  # augmented like train, every label -1


@dataclass(frozen=True)
class PoseOptions:
    """Landmark tracks for a `pose` view: which features, where the cache is, how many processes."""

    features: PoseFeatureSpec = field(default_factory=PoseFeatureSpec)
    cache_dir: Path | None = None  # None: $VIGIL_POSE_CACHE or ~/.cache/vigil/pose
    workers: int = 0  # extraction processes; 0: one per CPU core

    def source(self, videos: list[Path], spec: InputSpec) -> PoseSource:
        workers = self.workers or os.cpu_count() or 1
        progress = ProgressLine("pose", len(videos))
        cache = PoseCache(self.cache_dir)
        return PoseSource.extract(videos, spec, self.features, cache, workers, progress)


def load_unlabelled(root: Path) -> list[ClipRecord]:
    """The videos of a folder as unlabelled clips: its manifest's, else every video under it."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"unlabelled video folder {root} does not exist")
    if has_manifest(root):
        paths = [r.path for r in load_folder(root)]
    else:
        paths = sorted(p for p in root.rglob("*") if p.is_file() and is_video_name(p))
    if not paths:
        raise DatasetError(f"no videos under {root}")
    return [ClipRecord(path=p, label="unlabelled") for p in paths]


def label_set_for(records: list[ClipRecord]) -> LabelSet:
    """The default order when the data uses only default labels, else sorted names."""
    names = {r.label for r in records}
    if len(names) < 2:
        raise DatasetError(f"need at least two classes to train, found {sorted(names)}")
    if names <= set(DEFAULT_LABELS):
        return LabelSet.from_names([n for n in DEFAULT_LABELS if n in names])
    return LabelSet.from_names(sorted(names))


def prepare_data(
    root: Path,
    teacher_spec: InputSpec,
    student_spec: InputSpec,
    test_where: str | None = None,
    val_where: str | None = None,
    seed: int = 0,
    hop_s: float = 0.5,
    num_draws: int = 2,
    time_jitter_s: float = 0.0,
    cache_side: int = 160,
    pose: PoseOptions | None = None,
    unlabeled: Path | None = None,
) -> PreparedData:
    records = load_folder(root)
    labels = label_set_for(records)
    splits = split_records(records, test_where=test_where, val_where=val_where, seed=seed)
    extra = load_unlabelled(unlabeled) if unlabeled is not None else []
    cache = FrameCache(max_side=cache_side)
    every = [r.path for r in (*splits.train, *splits.val, *splits.test, *extra)]
    cache.preload(every, progress=ProgressLine("decode", len(every)))
    tracks = pose.source(every, teacher_spec) if pose is not None else None

    def windows(
        records: list[ClipRecord], augment: AugmentSpec | None, known: LabelSet | None = labels
    ) -> TwoViewWindows:
        refs = list_windows(records, cache, known, student_spec, hop_s)
        return TwoViewWindows(
            records, refs, cache, teacher_spec, student_spec, augment, num_draws, seed, tracks
        )

    augment = AugmentSpec(max_time_shift_s=time_jitter_s)
    prepared = PreparedData(
        labels=labels,
        splits=splits,
        train=windows(splits.train, augment),
        val=windows(splits.val, None),
        test=windows(splits.test, None),
        cache=cache,
        unlabelled=windows(extra, augment, known=None) if extra else None,
    )
    for name in ("train", "val", "test"):
        if len(getattr(prepared, name)) == 0:
            raise DatasetError(f"the {name} split has no windows")
    return prepared
