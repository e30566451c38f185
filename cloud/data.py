"""From a dataset folder to the windows each split trains or is scored on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cloud.augment import AugmentSpec
from cloud.windows import FrameCache, TwoViewWindows, list_windows
from shared.datasets import ClipRecord, Splits, load_folder, split_records
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
    cache_side: int = 160,
) -> PreparedData:
    records = load_folder(root)
    labels = label_set_for(records)
    splits = split_records(records, test_where=test_where, val_where=val_where, seed=seed)
    cache = FrameCache(max_side=cache_side)
    every = [r.path for r in (*splits.train, *splits.val, *splits.test)]
    cache.preload(every, progress=ProgressLine("decode", len(every)))

    def windows(records: list[ClipRecord], augment: AugmentSpec | None) -> TwoViewWindows:
        refs = list_windows(records, cache, labels, student_spec, hop_s)
        return TwoViewWindows(
            records, refs, cache, teacher_spec, student_spec, augment, num_draws, seed
        )

    prepared = PreparedData(
        labels=labels,
        splits=splits,
        train=windows(splits.train, AugmentSpec()),
        val=windows(splits.val, None),
        test=windows(splits.test, None),
        cache=cache,
    )
    for name in ("train", "val", "test"):
        if len(getattr(prepared, name)) == 0:
            raise DatasetError(f"the {name} split has no windows")
    return prepared
