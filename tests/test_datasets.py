"""shared.datasets on the real clips in ../shared/data and on small folders written here."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from shared.datasets import (
    ClipRecord,
    ManifestError,
    Span,
    describe_folder,
    format_report,
    load_folder,
    normalise_label,
    parse_spans,
    parse_where,
    span_label_at,
    split_records,
)
from shared.labels import is_fall_label
from shared.video import write_video

UPFALL_CLASSES = {
    "fall_forward_hands",
    "fall_forward_knees",
    "fall_backward",
    "fall_sideways",
    "fall_sitting_empty_chair",
    "walking",
    "standing",
    "sitting",
    "picking_up_object",
    "jumping",
    "lying",
}


def write_clip(path: Path, frames: int = 6, fps: float = 10.0) -> Path:
    """A real (tiny) mp4v clip: a grey gradient that shifts each frame."""
    ramp = np.linspace(0, 200, 32, dtype=np.uint8)
    images = [np.dstack([np.tile(np.roll(ramp, i), (32, 1))] * 3) for i in range(frames)]
    return write_video(path, images, fps)


def write_label_folders(root: Path, counts: dict[str, int]) -> Path:
    for folder, count in counts.items():
        for index in range(count):
            write_clip(root / folder / f"clip_{index:02d}.mp4")
    return root


def write_manifest(root: Path, lines: list[str]) -> Path:
    (root / "manifest.csv").write_text("\n".join(lines) + "\n")
    return root


def paths(records: list[ClipRecord]) -> set[Path]:
    return {record.path for record in records}


def by_name(records: list[ClipRecord], name: str) -> ClipRecord:
    return next(record for record in records if record.path.name == name)


# --- real data: UP-Fall subject 1 -------------------------------------------------------


def test_upfall_loads_66_clips_of_11_classes_with_their_columns(upfall_root: Path) -> None:
    records = load_folder(upfall_root)

    assert len(records) == 66
    assert {record.label for record in records} == UPFALL_CLASSES
    assert set(Counter(record.label for record in records).values()) == {6}
    assert all(record.path.is_absolute() and record.path.is_file() for record in records)
    assert [str(r.path) for r in records] == sorted(str(r.path) for r in records)
    assert {(r.attrs["trial"], r.attrs["camera"]) for r in records} == {
        (t, c) for t in "123" for c in "12"
    }
    assert all(record.spans == () for record in records)


def test_upfall_trial_3_is_exactly_the_test_split(upfall_root: Path) -> None:
    splits = split_records(load_folder(upfall_root), test_where="trial=3")

    assert len(splits.test) == 22
    assert {record.attrs["trial"] for record in splits.test} == {"3"}
    assert all(r.attrs["trial"] != "3" for r in splits.train + splits.val)
    # val is carved from trials 1-2, one clip of every class (4 per class remain).
    assert Counter(record.label for record in splits.val) == dict.fromkeys(UPFALL_CLASSES, 1)
    assert len(paths(splits.train) | paths(splits.val) | paths(splits.test)) == 66


def test_upfall_camera_split_holds_out_the_second_view(upfall_root: Path) -> None:
    splits = split_records(load_folder(upfall_root), test_where="camera=2", val_where="trial=3")

    assert {record.attrs["camera"] for record in splits.test} == {"2"}
    assert len(splits.test) == 33
    assert {(r.attrs["camera"], r.attrs["trial"]) for r in splits.val} == {("1", "3")}
    assert {(r.attrs["camera"], r.attrs["trial"]) for r in splits.train} == {("1", "1"), ("1", "2")}


def test_selection_on_an_unknown_column_lists_the_columns(upfall_root: Path) -> None:
    with pytest.raises(ValueError, match=r"no column 'room'.*'camera', 'label', 'subject'"):
        split_records(load_folder(upfall_root), test_where="room=2")


def test_selection_that_matches_nothing_lists_the_values(upfall_root: Path) -> None:
    with pytest.raises(ValueError, match=r"selects no clip; trial takes \['1', '2', '3'\]"):
        split_records(load_folder(upfall_root), test_where="trial=7")


def test_val_selection_inside_the_test_split_is_refused(upfall_root: Path) -> None:
    with pytest.raises(ValueError, match="selects no clip outside the test split"):
        split_records(load_folder(upfall_root), test_where="trial=3", val_where="trial=3")


# --- real data: GMDCSA24 with time spans -------------------------------------------------


def test_gmdcsa_spans_are_parsed_from_classes_sec(gmdcsa_root: Path) -> None:
    records = load_folder(gmdcsa_root)

    assert len(records) == 21
    assert {record.label for record in records} == {"adl", "fall"}
    assert by_name(records, "S2_Fall_12.mp4").spans == (
        Span("falling_bw", 6.9, 12.0),
        Span("drinking", 3.5, 5.3),
        Span("standing", 3.6, 6.9),
        Span("walking", 0.0, 3.6),
    )
    # `Falling (BW) [0.3 to 5]`: a space before the bracket.
    assert by_name(records, "S1_Fall_14.mp4").spans[0] == Span("falling_bw", 0.3, 5.0)
    # `Standing[0 to 0.3; 1.5 to 2.2]`: two ranges for one activity.
    assert by_name(records, "S3_ADL_07.mp4").spans[1:] == (
        Span("standing", 0.0, 0.3),
        Span("standing", 1.5, 2.2),
    )
    assert by_name(records, "S2_ADL_24_hist.mp4").spans == ()
    assert by_name(records, "S3_ADL_07.mp4").attrs["clip"] == "07"


def test_gmdcsa_window_label_follows_the_fall_span(gmdcsa_root: Path) -> None:
    clip = by_name(load_folder(gmdcsa_root), "S2_Fall_12.mp4")

    assert span_label_at(clip, 8.0) == "falling_bw"
    assert span_label_at(clip, 2.0) == "walking"
    assert span_label_at(clip, 6.9) == "falling_bw"  # boundary: the later-starting span
    assert span_label_at(clip, 4.0) == "standing"  # drinking 3.5-5.3 overlaps standing 3.6-
    assert span_label_at(clip, 12.0) == "falling_bw"  # spans include their end
    assert span_label_at(clip, 12.2) is None  # after the last span: no label


def test_gmdcsa_label_map_turns_spans_into_fall_or_not(gmdcsa_root: Path) -> None:
    clip = by_name(load_folder(gmdcsa_root), "S3_Fall_16.mp4")  # Walking, then Falling (SW)

    def fall_or_not(label: str) -> str:
        return "fall" if is_fall_label(label) else "not_fall"

    assert span_label_at(clip, 1.0, fall_or_not) == "not_fall"
    assert span_label_at(clip, 3.0, fall_or_not) == "fall"


def test_gmdcsa_leave_one_subject_out(gmdcsa_root: Path) -> None:
    splits = split_records(load_folder(gmdcsa_root), test_where="subject=S3")

    assert {record.attrs["subject"] for record in splits.test} == {"S3"}
    assert {r.attrs["subject"] for r in splits.train + splits.val} == {"S1", "S2"}
    assert {record.label for record in splits.val} == {"adl", "fall"}


def test_describe_real_gmdcsa_reports_mixed_rates_and_sizes(gmdcsa_root: Path) -> None:
    report = describe_folder(gmdcsa_root)

    assert report.clips == 21 and report.unreadable == [] and report.ignored == []
    assert report.classes == {"adl": 10, "fall": 11}
    assert report.fps_min == pytest.approx(14.95, abs=0.05)
    assert report.fps_max == pytest.approx(29.93, abs=0.05)
    assert (report.width_min, report.width_max) == (640, 1280)
    assert (report.height_min, report.height_max) == (480, 720)
    assert report.span_labels["falling_bw"] == 7
    assert report.column_values["subject"] == {"S1": 5, "S2": 6, "S3": 10}
    text = format_report(report)
    assert "21 readable, 0 unreadable, 2 classes" in text
    assert "subject            S1 (5), S2 (6), S3 (10)" in text


# --- pure parsing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "label"),
    [
        ("Falling (BW)", "falling_bw"),
        ("fall_forward_hands", "fall_forward_hands"),
        ("  Sitting Down ", "sitting_down"),
        ("Caída-Lateral", "caida_lateral"),
        ("Fall (FW)", "fall_fw"),
    ],
)
def test_normalise_label(name: str, label: str) -> None:
    assert normalise_label(name) == label


def test_normalise_label_refuses_a_name_without_letters() -> None:
    with pytest.raises(ValueError, match="no letters or digits"):
        normalise_label(" (?) ")


def test_parse_spans_reads_every_written_form() -> None:
    spans = parse_spans("Falling (SW) [1.8 to 6] ; Sitting [0 to 2];Standing[0 to 0.3; 1.5 to 2.2]")

    assert spans == (
        Span("falling_sw", 1.8, 6.0),
        Span("sitting", 0.0, 2.0),
        Span("standing", 0.0, 0.3),
        Span("standing", 1.5, 2.2),
    )
    assert parse_spans("") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Walking 0 to 3", "cannot read time spans"),
        ("Walking[0 - 3]", "cannot read the time range '0 - 3' of 'walking'"),
        ("Walking[zero to 3]", "'zero' in the span of 'walking' is not a number"),
        ("Walking[3 to 1]", "0 <= start <= end"),
        ("[0 to 1]", "cannot read time spans"),
        ("Walking[0 to 1] Standing[1 to 2]", "cannot read time spans"),
    ],
)
def test_parse_spans_errors_say_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_spans(text)


def test_span_label_at_prefers_the_latest_start_then_the_shortest() -> None:
    clip = ClipRecord(
        path=Path("/x.mp4"),
        label="adl",
        spans=(Span("exercising", 0, 3), Span("standing", 0, 0.3), Span("standing", 1.5, 2.2)),
    )

    assert span_label_at(clip, 0.1) == "standing"
    assert span_label_at(clip, 1.0) == "exercising"
    assert span_label_at(clip, 1.6) == "standing"
    assert span_label_at(clip, 3.5) is None


def test_span_label_at_uses_the_clip_label_when_there_are_no_spans() -> None:
    clip = ClipRecord(path=Path("/x.mp4"), label="walking")

    assert span_label_at(clip, 123.0) == "walking"
    assert span_label_at(clip, 0.0, str.upper) == "WALKING"


@pytest.mark.parametrize(
    ("expr", "parsed"),
    [("camera=2", ("camera", "2")), (" subject = S1 ", ("subject", "S1")), ("a=b c", ("a", "b c"))],
)
def test_parse_where(expr: str, parsed: tuple[str, str]) -> None:
    assert parse_where(expr) == parsed


@pytest.mark.parametrize("expr", ["camera", "camera=", "=2", "camera==2", "trial!=3", ""])
def test_parse_where_refuses_bad_syntax_with_an_example(expr: str) -> None:
    with pytest.raises(ValueError, match=r"expected COLUMN=VALUE, e\.g\. camera=2"):
        parse_where(expr)


# --- folders written here -------------------------------------------------------------


def test_folder_without_manifest_takes_labels_from_folders(tmp_path: Path) -> None:
    root = write_label_folders(tmp_path, {"Sitting Down": 2, "walking": 1})
    (root / "walking" / "notes.txt").write_text("not a clip")
    (root / "walking" / ".hidden.mp4").write_bytes(b"")
    write_clip(root / "loose.mp4")

    records = load_folder(root)

    assert [(r.path.relative_to(root).as_posix(), r.label) for r in records] == [
        ("Sitting Down/clip_00.mp4", "sitting_down"),
        ("Sitting Down/clip_01.mp4", "sitting_down"),
        ("walking/clip_00.mp4", "walking"),
    ]
    assert all(record.attrs == {} for record in records)


def test_split_by_file_is_stratified_and_deterministic(tmp_path: Path) -> None:
    records = load_folder(write_label_folders(tmp_path, {"fall": 6, "sit": 6, "walk": 7}))

    splits = split_records(records, seed=3)

    for part in (splits.val, splits.test):
        assert Counter(record.label for record in part) == {"fall": 1, "sit": 1, "walk": 1}
    assert len(paths(splits.train)) == 19 - 6
    assert paths(splits.train) | paths(splits.val) | paths(splits.test) == paths(records)
    assert split_records(list(reversed(records)), seed=3) == splits
    assert len({tuple(paths(split_records(records, seed=s).test)) for s in range(6)}) > 1


def records_of(counts: dict[str, int]) -> list[ClipRecord]:
    """Records only (no files): splitting never opens a video."""
    return [
        ClipRecord(path=Path(f"/data/{label}/{index:03d}.mp4"), label=label)
        for label, count in counts.items()
        for index in range(count)
    ]


def test_split_fractions_are_of_each_label_total() -> None:
    records = records_of({"fall": 20, "walk": 40})

    splits = split_records(records, val_fraction=0.3, test_fraction=0.5)

    assert Counter(r.label for r in splits.test) == {"fall": 10, "walk": 20}
    assert Counter(r.label for r in splits.val) == {"fall": 6, "walk": 12}
    assert Counter(r.label for r in splits.train) == {"fall": 4, "walk": 8}


def test_small_labels_still_get_one_clip_in_each_split() -> None:
    splits = split_records(records_of({"fall": 3, "sit": 3}))

    for part in (splits.train, splits.val, splits.test):
        assert Counter(record.label for record in part) == {"fall": 1, "sit": 1}


def test_split_keeps_one_clip_of_each_label_for_training(tmp_path: Path) -> None:
    records = load_folder(write_label_folders(tmp_path, {"fall": 2, "sit": 1}))

    splits = split_records(records, val_fraction=0.4, test_fraction=0.4)

    assert Counter(record.label for record in splits.train) == {"fall": 1, "sit": 1}
    assert len(splits.test) + len(splits.val) == 1


def test_selection_without_manifest_can_only_use_label(tmp_path: Path) -> None:
    records = load_folder(write_label_folders(tmp_path, {"fall": 3, "sit": 3}))

    assert {r.label for r in split_records(records, test_where="label=fall").test} == {"fall"}
    with pytest.raises(ValueError, match=r"no column 'camera'; columns: \['label'\]"):
        split_records(records, test_where="camera=1")


def test_selection_that_takes_every_clip_leaves_nothing_to_train(tmp_path: Path) -> None:
    records = load_folder(write_label_folders(tmp_path, {"fall": 3}))

    with pytest.raises(ValueError, match="no clip is left for training"):
        split_records(records, test_where="label=fall")


@pytest.mark.parametrize(("val", "test"), [(0.5, 0.5), (-0.1, 0.2), (0.2, 1.0)])
def test_split_refuses_impossible_fractions(val: float, test: float) -> None:
    with pytest.raises(ValueError, match="fractions must be in|leave nothing for training"):
        split_records([], val_fraction=val, test_fraction=test)


def test_manifest_is_the_truth_for_labels_and_columns(tmp_path: Path) -> None:
    write_clip(tmp_path / "raw" / "a.mp4")
    write_clip(tmp_path / "raw" / "b.mp4")
    write_manifest(
        tmp_path,
        [
            "path,label,room,classes_sec",
            'raw/b.mp4,Lying On Floor,12,"Walking[0 to 1]; Falling (FW) [1 to 2]"',
            r"raw\a.mp4,walking,7,",
        ],
    )

    first, second = load_folder(tmp_path)

    assert (first.path, first.label, dict(first.attrs)) == (
        tmp_path / "raw" / "a.mp4",
        "walking",
        {"room": "7", "classes_sec": ""},
    )
    assert second.label == "lying_on_floor" and second.attrs["room"] == "12"
    assert [span.label for span in second.spans] == ["walking", "falling_fw"]


def test_manifest_naming_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    write_clip(tmp_path / "walk" / "a.mp4")
    write_manifest(tmp_path, ["path,label", "walk/a.mp4,walk", "walk/gone.mp4,walk"])

    expected = r"manifest.csv lists 1 file\(s\) that do not exist: .*walk/gone\.mp4"
    with pytest.raises(ManifestError, match=expected):
        load_folder(tmp_path)


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["file,label", "a.mp4,walk"], r"needs columns \['path', 'label'\]"),
        (["path,label", "a.mp4,walk,extra"], "line 2: more fields than the header"),
        (["path,label", "a.mp4,"], "line 2: `path` and `label` must not be empty"),
        (["path,label,classes_sec", "a.mp4,walk,Walking[2 to 1]"], "line 2: .*start <= end"),
        (["path,label", "a.mp4,walk", "./a.mp4,walk"], "listed more than once"),
        (["path,label"], "no video clips found in"),
    ],
)
def test_malformed_manifest_errors_name_the_problem(
    tmp_path: Path, lines: list[str], message: str
) -> None:
    write_clip(tmp_path / "a.mp4")
    write_manifest(tmp_path, lines)

    with pytest.raises(ValueError, match=message):
        load_folder(tmp_path)


def test_empty_or_missing_folder_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no video clips found"):
        load_folder(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_folder(tmp_path / "nowhere")


@pytest.fixture
def folder_with_broken_files(tmp_path: Path) -> Path:
    root = write_label_folders(tmp_path, {"fall": 2, "walk": 3})
    (root / "walk" / "zero.mp4").write_bytes(b"")
    (root / "walk" / "text.mp4").write_text("this is a caption file\n" * 10)
    good = write_clip(root / "scratch.mp4", frames=60)
    data = good.read_bytes()
    (root / "fall" / "truncated.mp4").write_bytes(data[: int(len(data) * 0.3)])
    good.unlink()
    return root


def test_describe_lists_unreadable_files_and_counts_the_good_ones(
    folder_with_broken_files: Path,
) -> None:
    root = folder_with_broken_files
    calls: list[tuple[int, int]] = []

    report = describe_folder(root, progress=lambda done, total: calls.append((done, total)))

    assert report.clips == 5 and report.classes == {"fall": 2, "walk": 3}
    assert report.total_duration_s == pytest.approx(5 * 0.6)
    assert (report.fps_min, report.width_max, report.height_max) == (10.0, 32, 32)
    reasons = {path.relative_to(root).as_posix(): why for path, why in report.unreadable}
    assert set(reasons) == {"fall/truncated.mp4", "walk/text.mp4", "walk/zero.mp4"}
    assert "empty (0 bytes)" in reasons["walk/zero.mp4"]
    assert "cannot open it as a video" in reasons["fall/truncated.mp4"]
    assert "cannot open it as a video" in reasons["walk/text.mp4"]
    assert calls == [(i, 8) for i in range(1, 9)]
    assert report.has_manifest is False


def test_format_report_shows_classes_and_each_unreadable_reason(
    folder_with_broken_files: Path,
) -> None:
    text = format_report(describe_folder(folder_with_broken_files))

    assert "5 readable, 3 unreadable, 2 classes" in text
    assert "label folders (no manifest.csv)" in text
    assert "walk/zero.mp4: file is empty (0 bytes)" in text
    assert "fall/truncated.mp4: OpenCV cannot open it as a video" in text
    assert [line.split() for line in text.splitlines() if line.startswith(("fall ", "walk "))] == [
        ["fall", "2", "1.2", "s"],
        ["walk", "3", "1.8", "s"],
    ]


def test_describe_lists_missing_and_unlisted_files_of_a_manifest(tmp_path: Path) -> None:
    write_label_folders(tmp_path, {"walk": 2})
    write_manifest(
        tmp_path, ["path,label,camera", "walk/clip_00.mp4,walk,1", "walk/gone.mp4,walk,2"]
    )

    report = describe_folder(tmp_path)

    assert report.clips == 1 and report.has_manifest
    assert report.unreadable == [(tmp_path / "walk" / "gone.mp4", "file does not exist")]
    assert report.ignored == [tmp_path / "walk" / "clip_01.mp4"]
    assert report.column_values == {"camera": {"1": 1, "2": 1}}
    text = format_report(report)
    assert "left out of the dataset (1, not listed in manifest.csv)" in text
    assert "  walk/clip_01.mp4" in text
