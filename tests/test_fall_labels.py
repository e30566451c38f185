"""One fall / not-fall labelling across UP-Fall and GMDCSA24 (shared.datasets.fall_labels)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shared.datasets import ClipRecord, load_folder, parse_spans, span_label_at
from shared.datasets.fall_labels import AlignedClip, activities, fall_spans, write_fall_manifest


def record(label: str, spans: str = "", subject: str = "S1") -> ClipRecord:
    return ClipRecord(Path(f"/videos/{label}.mp4"), label, {"subject": subject}, parse_spans(spans))


def test_a_fall_lasts_until_the_clip_ends_and_what_came_before_is_not_a_fall() -> None:
    clip = record("fall", "Falling (BW)[6.9 to 12]; Standing[3.6 to 6.9]; Walking[0 to 3.6]")
    aligned = ClipRecord(clip.path, "fall", {}, fall_spans(clip, duration_s=14.0))
    assert span_label_at(aligned, 2.0) == "not_fall"
    assert span_label_at(aligned, 6.9) == "fall"  # the fall starts the instant standing ends
    assert span_label_at(aligned, 13.5) == "fall"  # on the floor after the fall span ended


def test_sitting_low_lying_down_and_daily_activities_are_not_falls() -> None:
    assert {s.label for s in fall_spans(record("adl", "Sitting[0 to 7]; Reading[0 to 7]"), 7)} == {
        "not_fall"
    }
    assert fall_spans(record("lying"), 40.0)[0].label == "not_fall"  # UP-Fall: lying on purpose
    whole = fall_spans(record("fall_forward_knees"), 7.5)  # UP-Fall: no spans, a fall clip
    assert [(s.label, s.start_s, s.end_s) for s in whole] == [("fall", 0.0, 7.5)]


def test_what_the_person_did_before_the_fall_is_kept_to_tell_hard_negatives_apart() -> None:
    picking = ClipRecord(
        Path("/v/adl.mp4"), "adl",
        {"description": "Picking the pen from the floor"}, parse_spans("Walking[1.8 to 5]"),
    )  # fmt: skip
    assert activities(picking) == "adl|walking|picking_the_pen_from_the_floor"
    le2i = record("fall", "not_fall[0 to 1.9]; falling[1.9 to 3.2]; lying_on_floor[3.2 to 6]")
    assert activities(le2i) == "fall|not_fall"  # on the floor after the fall: not an activity
    assert activities(record("picking_up_object")) == "picking_up_object"  # UP-Fall: no spans


def test_activities_after_the_first_fall_are_dropped() -> None:
    spans = fall_spans(record("fall", "Fall (FW)[2 to 4]; Sitting[1 to 3]; Standing[5 to 6]"), 8)
    assert [(s.label, s.start_s, s.end_s) for s in spans] == [
        ("not_fall", 1.0, 2.0),
        ("fall", 2.0, 8.0),
    ]


def test_a_merged_manifest_loads_with_subjects_kept_apart(tmp_path: Path) -> None:
    videos = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.mp4"
        path.write_bytes(b"not decoded here")
        videos.append(path)
    clips = [
        AlignedClip(ClipRecord(videos[0], "fall_sideways", {"subject": "1"}), "upfall", 7.0),
        AlignedClip(
            ClipRecord(videos[1], "fall", {"subject": "1"}, parse_spans("Falling (SW)[1 to 3]")),
            "gmdcsa",
            5.0,
        ),
    ]
    write_fall_manifest(clips, tmp_path / "merged")
    loaded = load_folder(tmp_path / "merged")
    assert [r.attrs["subject"] for r in loaded] == ["upfall:1", "gmdcsa:1"]
    assert [r.label for r in loaded] == ["fall", "fall"]
    assert span_label_at(loaded[1], 4.5) == "fall" and span_label_at(loaded[1], 0.5) is None
    with pytest.raises(ValueError, match="no clips"):
        write_fall_manifest([], tmp_path / "empty")
