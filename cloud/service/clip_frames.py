"""A clip as one PNG of its frames (a contact sheet), for browsers that cannot play it.

Edge clips are mp4v (MPEG-4 Part 2, `shared.video.write_video`): the one codec OpenCV's
wheels write everywhere, and one no major browser decodes (Chromium 156 answers
DEMUXER_ERROR_NO_SUPPORTED_STREAMS). The dashboard draws the sheet's frames in turn on a
canvas instead. Clips are short and low-resolution by design, so the sheet is small.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import cv2
import numpy as np

from shared.video import VideoError, iter_frames, probe_video

MAX_FRAMES = 240
MAX_SIDE = 4096  # browsers draw images up to ~16k px a side; stay well inside


@dataclass(frozen=True)
class FrameSheet:
    """The PNG and how to cut it: `frames` tiles of width x height, `columns` a row."""

    png: bytes
    frames: int
    columns: int
    width: int
    height: int
    fps: float


def frame_sheet(path: str | os.PathLike[str]) -> FrameSheet:
    """Every frame (every k-th past MAX_FRAMES) of a video, tiled row by row into one PNG."""
    info = probe_video(path)
    stride = max(1, math.ceil(info.frame_count / MAX_FRAMES))
    frames = [f for i, (_, f) in enumerate(iter_frames(path)) if i % stride == 0][:MAX_FRAMES]
    columns = math.ceil(math.sqrt(len(frames)))
    rows = math.ceil(len(frames) / columns)
    height, width = frames[0].shape[:2]
    scale = min(1.0, MAX_SIDE / (columns * width), MAX_SIDE / (rows * height))
    tile_w, tile_h = max(1, int(width * scale)), max(1, int(height * scale))
    sheet = np.zeros((rows * tile_h, columns * tile_w, 3), np.uint8)
    for index, frame in enumerate(frames):
        row, column = divmod(index, columns)
        if scale < 1.0:
            frame = cv2.resize(frame, (tile_w, tile_h), interpolation=cv2.INTER_AREA)
        sheet[row * tile_h : (row + 1) * tile_h, column * tile_w : (column + 1) * tile_w] = frame
    ok, encoded = cv2.imencode(".png", sheet)
    if not ok:
        raise VideoError(path, "the frame sheet could not be encoded as PNG")
    return FrameSheet(encoded.tobytes(), len(frames), columns, tile_w, tile_h, info.fps / stride)
