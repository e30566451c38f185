"""Read and write video with OpenCV; every failure names the file and the reason."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv")
# OpenCV's pip wheels carry no H.264 encoder; mp4v (MPEG-4 Part 2) is always there.
FOURCC_MP4V = "mp4v"


class VideoError(Exception):
    """A video could not be read or written; the message names the file and why."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


@dataclass(frozen=True)
class VideoInfo:
    path: str
    fps: float
    frame_count: int
    width: int
    height: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.fps if self.fps > 0 else 0.0


@dataclass
class DecodedVideo:
    """All frames of a video (BGR uint8) with their timestamps in seconds."""

    path: str
    frames: list[np.ndarray]
    timestamps: np.ndarray
    fps: float

    @property
    def duration_s(self) -> float:
        return len(self.frames) / self.fps if self.fps > 0 else 0.0


def _open(path: str | os.PathLike[str]) -> cv2.VideoCapture:
    p = Path(path)
    if not p.exists():
        raise VideoError(p, "file does not exist")
    if p.is_dir():
        raise VideoError(p, "is a directory, not a video file")
    if p.stat().st_size == 0:
        raise VideoError(p, "file is empty (0 bytes)")
    cap = cv2.VideoCapture(str(p))
    if not cap.isOpened():
        cap.release()
        raise VideoError(p, "OpenCV cannot open it as a video (not a video, or corrupt)")
    return cap


def _fps_of(cap: cv2.VideoCapture, path: str | os.PathLike[str]) -> float:
    fps = float(cap.get(cv2.CAP_PROP_FPS))
    if not np.isfinite(fps) or fps <= 0 or fps > 1000:
        raise VideoError(path, f"invalid frame rate {fps!r}")
    return fps


def probe_video(path: str | os.PathLike[str]) -> VideoInfo:
    """Read a video's header and check that its first frame decodes."""
    cap = _open(path)
    try:
        fps = _fps_of(cap, path)
        ok, frame = cap.read()
        if not ok or frame is None:
            raise VideoError(path, "no frame could be decoded")
        return VideoInfo(
            path=str(path),
            fps=fps,
            frame_count=int(cap.get(cv2.CAP_PROP_FRAME_COUNT)),
            width=int(frame.shape[1]),
            height=int(frame.shape[0]),
        )
    finally:
        cap.release()


def iter_frames(path: str | os.PathLike[str]) -> Iterator[tuple[float, np.ndarray]]:
    """Yield (timestamp in seconds, BGR frame) for every decodable frame of a file."""
    cap = _open(path)
    try:
        fps = _fps_of(cap, path)
        index = 0
        while True:
            ok, frame = cap.read()
            if not ok or frame is None:
                break
            yield index / fps, frame
            index += 1
        if index == 0:
            raise VideoError(path, "no frame could be decoded")
    finally:
        cap.release()


def read_video(
    path: str | os.PathLike[str],
    transform: Callable[[np.ndarray], np.ndarray] | None = None,
    min_fraction: float = 0.9,
) -> DecodedVideo:
    """Decode a whole video, optionally transforming each frame as it arrives.

    A file whose header promises many more frames than decode (a truncated upload)
    is refused: `min_fraction` of the promised frames must decode.
    """
    cap = _open(path)
    try:
        fps = _fps_of(cap, path)
        promised = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        cap.release()
    frames = [transform(f) if transform else f for _, f in iter_frames(path)]
    if promised > 0 and len(frames) < min_fraction * promised:
        raise VideoError(
            path, f"truncated: header promises {promised} frames, only {len(frames)} decode"
        )
    timestamps = np.arange(len(frames), dtype=np.float64) / fps
    return DecodedVideo(path=str(path), frames=frames, timestamps=timestamps, fps=fps)


def write_video(path: str | os.PathLike[str], frames: Sequence[np.ndarray], fps: float) -> Path:
    """Write BGR uint8 frames as an mp4v file; all frames must share one H x W x 3 size.

    Frames are checked before the file is opened: OpenCV skips a frame of another shape
    with only a warning, which would leave an unreadable file behind.
    """
    if len(frames) == 0:
        raise VideoError(path, "no frames to write")
    shape = frames[0].shape
    for frame in frames:
        if (
            frame.ndim != 3
            or frame.shape[2] != 3
            or frame.shape != shape
            or frame.dtype != np.uint8
        ):
            raise VideoError(
                path, f"frame of shape {frame.shape} {frame.dtype}; expected {shape} BGR uint8"
            )
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    writer = cv2.VideoWriter(
        str(p), cv2.VideoWriter.fourcc(*FOURCC_MP4V), fps, (shape[1], shape[0])
    )
    if not writer.isOpened():
        raise VideoError(p, "OpenCV cannot open an mp4v writer")
    try:
        for frame in frames:
            writer.write(np.ascontiguousarray(frame))
    finally:
        writer.release()
    return p
