"""shared.video on real files written and decoded by OpenCV: round trips and broken files."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from shared.video import VideoError, iter_frames, probe_video, read_video, write_video

FPS = 12.0
HEIGHT, WIDTH = 48, 64
Reader = Callable[[Path], object]


def moving_square_frames(count: int, height: int = HEIGHT, width: int = WIDTH) -> list[np.ndarray]:
    """Smooth frames (a bright square sliding over grey) that a lossy codec keeps close."""
    frames = []
    for index in range(count):
        frame = np.full((height, width, 3), 90, dtype=np.uint8)
        left = (index * 2) % (width - 16)
        frame[16:32, left : left + 16] = (40, 200, 230)
        frames.append(frame)
    return frames


@pytest.fixture(scope="module")
def good_mp4(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("video") / "good.mp4"
    return write_video(path, moving_square_frames(60), FPS)


def truncated_copy(source: Path, target: Path, keep_fraction: float) -> Path:
    data = source.read_bytes()
    target.write_bytes(data[: int(len(data) * keep_fraction)])
    return target


def assert_names_file_and_reason(error: VideoError, path: Path, reason_part: str) -> None:
    assert error.path == str(path)
    assert reason_part in error.reason
    assert str(path) in str(error) and error.reason in str(error)


def test_write_then_probe_reports_header(good_mp4: Path) -> None:
    info = probe_video(good_mp4)

    assert (info.width, info.height, info.frame_count) == (WIDTH, HEIGHT, 60)
    assert info.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(5.0)


def test_write_then_read_round_trips_frames_and_timestamps(good_mp4: Path) -> None:
    video = read_video(good_mp4)
    originals = moving_square_frames(60)

    assert len(video.frames) == 60 and video.fps == pytest.approx(FPS)
    assert video.frames[0].shape == (HEIGHT, WIDTH, 3) and video.frames[0].dtype == np.uint8
    np.testing.assert_allclose(video.timestamps, np.arange(60) / FPS)
    pairs = zip(video.frames, originals, strict=True)
    errors = [np.abs(a.astype(int) - b.astype(int)).mean() for a, b in pairs]
    assert max(errors) < 8  # mp4v is lossy; a wrong frame order or colour swap is far above


def test_read_video_applies_the_transform_to_every_frame(good_mp4: Path) -> None:
    video = read_video(good_mp4, transform=lambda frame: cv2.resize(frame, (16, 12)))

    assert {frame.shape for frame in video.frames} == {(12, 16, 3)}


def test_iter_frames_yields_timestamps_by_frame_rate(good_mp4: Path) -> None:
    stamps = [t for t, _ in iter_frames(good_mp4)]

    assert len(stamps) == 60
    assert stamps[:3] == pytest.approx([0.0, 1 / FPS, 2 / FPS])


@pytest.mark.parametrize("reader", [probe_video, read_video])
def test_zero_byte_file_is_refused_as_empty(tmp_path: Path, reader: Reader) -> None:
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")

    with pytest.raises(VideoError) as caught:
        reader(empty)
    assert_names_file_and_reason(caught.value, empty, "empty (0 bytes)")


@pytest.mark.parametrize("reader", [probe_video, read_video])
def test_truncated_mp4_cannot_be_opened(good_mp4: Path, tmp_path: Path, reader: Reader) -> None:
    # OpenCV's mp4v writer puts the moov atom (the index) at the end of the file, so a
    # truncated upload has no index at all and FFmpeg refuses to open it.
    assert good_mp4.read_bytes().rfind(b"moov") > good_mp4.read_bytes().find(b"mdat")
    truncated = truncated_copy(good_mp4, tmp_path / "truncated.mp4", 0.3)

    with pytest.raises(VideoError) as caught:
        reader(truncated)
    assert_names_file_and_reason(caught.value, truncated, "cannot open it as a video")


@pytest.mark.parametrize("reader", [probe_video, read_video])
def test_text_file_named_mp4_is_refused(tmp_path: Path, reader: Reader) -> None:
    text = tmp_path / "notes.mp4"
    text.write_text("resident notes, not a video\n" * 20)

    with pytest.raises(VideoError) as caught:
        reader(text)
    assert_names_file_and_reason(caught.value, text, "cannot open it as a video")


def test_truncated_avi_opens_but_read_video_refuses_it(tmp_path: Path) -> None:
    # An AVI keeps its frame count in the header, so a cut-off file still opens and its
    # first frame decodes: only a full decode notices the missing frames.
    whole = tmp_path / "whole.avi"
    writer = cv2.VideoWriter(str(whole), cv2.VideoWriter.fourcc(*"MJPG"), FPS, (WIDTH, HEIGHT))
    for frame in moving_square_frames(60):
        writer.write(frame)
    writer.release()
    truncated = truncated_copy(whole, tmp_path / "cut.avi", 0.5)

    assert probe_video(truncated).frame_count == 60
    with pytest.raises(VideoError) as caught:
        read_video(truncated)
    assert_names_file_and_reason(caught.value, truncated, "truncated: header promises 60 frames")


@pytest.mark.parametrize("reader", [probe_video, read_video])
def test_missing_file_is_named(tmp_path: Path, reader: Reader) -> None:
    missing = tmp_path / "gone.mp4"

    with pytest.raises(VideoError) as caught:
        reader(missing)
    assert_names_file_and_reason(caught.value, missing, "does not exist")


@pytest.mark.parametrize("reader", [probe_video, read_video])
def test_directory_is_refused(tmp_path: Path, reader: Reader) -> None:
    folder = tmp_path / "clip.mp4"
    folder.mkdir()

    with pytest.raises(VideoError) as caught:
        reader(folder)
    assert_names_file_and_reason(caught.value, folder, "is a directory")


def test_write_video_refuses_no_frames(tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="no frames to write"):
        write_video(tmp_path / "none.mp4", [], FPS)


def test_write_video_refuses_frames_of_another_size(tmp_path: Path) -> None:
    frames = moving_square_frames(3) + moving_square_frames(1, height=32, width=32)

    with pytest.raises(VideoError, match="expected"):
        write_video(tmp_path / "mixed.mp4", frames, FPS)


def test_write_video_refuses_grey_frames(tmp_path: Path) -> None:
    grey = [np.full((HEIGHT, WIDTH), 128, dtype=np.uint8)] * 5

    with pytest.raises(VideoError):
        write_video(tmp_path / "grey.mp4", grey, FPS)
