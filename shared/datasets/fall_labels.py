"""One fall / not-fall labelling across datasets, so that UP-Fall and GMDCSA24 train together.

The datasets disagree on what the time after a fall is: UP-Fall labels a whole fall
clip as the fall (the person lies still for most of it), GMDCSA24's spans end the fall
when the body lands and leave the rest unlabelled, and a model that learned UP-Fall's
`lying` calls that time lying. For the alert that matters, a fall is the fall **plus
the time on the floor after it**, until the clip ends; everything else (sitting low on
a bed or the floor included, and lying down on purpose) is not a fall.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from shared.datasets.folder import load_folder
from shared.datasets.records import ClipRecord, Span, normalise_label
from shared.labels import is_fall_label

FALL, NOT_FALL = "fall", "not_fall"


def fall_spans(record: ClipRecord, duration_s: float) -> tuple[Span, ...]:
    """The clip's spans relabelled fall / not_fall; a fall runs from its start to the clip's end.

    A clip without spans is one span of its own label. Activities after the first fall
    are cut there (the person is on the floor, whatever the spans say they do).
    """
    if not record.spans:
        return (Span(FALL if is_fall_label(record.label) else NOT_FALL, 0.0, duration_s),)
    fall_starts = [span.start_s for span in record.spans if is_fall_label(span.label)]
    first_fall = min(fall_starts) if fall_starts else None
    spans = []
    for span in record.spans:
        if is_fall_label(span.label) or (first_fall is not None and span.start_s >= first_fall):
            continue
        end = span.end_s if first_fall is None else min(span.end_s, first_fall)
        spans.append(Span(NOT_FALL, span.start_s, end))
    if first_fall is not None:
        spans.append(Span(FALL, first_fall, max(duration_s, first_fall)))
    return tuple(spans)


def clip_label(spans: Sequence[Span]) -> str:
    return FALL if any(span.label == FALL for span in spans) else NOT_FALL


def format_spans(spans: Sequence[Span]) -> str:
    """Spans in the manifest's `classes_sec` form: `not_fall[0 to 1.8]; fall[1.8 to 6]`."""
    return "; ".join(f"{s.label}[{s.start_s:g} to {s.end_s:g}]" for s in spans)


@dataclass(frozen=True)
class AlignedClip:
    """One clip of a merged fall / not-fall folder."""

    record: ClipRecord
    dataset: str  # where it comes from, e.g. `upfall`
    duration_s: float

    def row(self) -> dict[str, str]:
        spans = fall_spans(self.record, self.duration_s)
        subject = self.record.attrs.get("subject", "")
        return {
            "path": str(self.record.path),
            "label": clip_label(spans),
            "dataset": self.dataset,
            "subject": f"{self.dataset}:{subject}",  # subject ids repeat across datasets
            "source_label": self.record.label,
            "activities": activities(self.record),
            "classes_sec": format_spans(spans),
        }


def activities(record: ClipRecord) -> str:
    """What the person does before any fall, in the source's words, `|`-separated: the
    folder label, the spans' labels and the description (`adl|sitting|picking_the_...`),
    so that hard negatives (sitting, picking up, lying down) can be told apart."""
    starts = [span.start_s for span in record.spans if is_fall_label(span.label)]
    first_fall = min(starts, default=float("inf"))
    names = [record.label, *(span.label for span in record.spans if span.start_s < first_fall)]
    description = record.attrs.get("description", "")
    if description.strip(" ()"):
        names.append(normalise_label(description))
    return "|".join(dict.fromkeys(names))


def align_folder(name: str, root: Path) -> list[AlignedClip]:
    """Every clip of the dataset folder `root`, to merge as dataset `name`."""
    from shared.video import probe_video  # OpenCV, only where clips are probed

    return [AlignedClip(r, name, probe_video(r.path).duration_s) for r in load_folder(root)]


def write_fall_manifest(
    clips: Sequence[AlignedClip], out_dir: Path, extra: Mapping[str, str] | None = None
) -> Path:
    """A manifest (absolute paths) of fall / not_fall clips from several datasets."""
    rows = [{**row, **(extra or {})} for row in (clip.row() for clip in clips)]
    if not rows:
        raise ValueError("no clips to write")
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest = out_dir / "manifest.csv"
    with manifest.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return manifest
