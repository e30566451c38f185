"""Capture: read frames with OpenCV, downsample each at once, hand them to inference.

Only low-resolution frames leave this stage (privacy and memory): the model's input
size always, and the site's clip resolution when it opted in to higher-resolution clips.

Timestamps: a file's video time (index / fps), so results do not depend on how fast
it is read; a live source's monotonic time since the agent started. A file is read as
fast as inference takes it (blocking puts) or paced at its frame rate (`realtime`); a
live source never blocks: when inference falls behind, new frames are dropped and
counted. A lost live stream is reopened with exponential backoff, never a crash.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import cv2
import numpy as np

from edge.config import CaptureConfig
from edge.stage import StageThread
from edge.stats import AgentStats
from shared.broker import redact_urls
from shared.motion_crop import MotionCropper, crop_frame
from shared.preprocess import InputSpec, downsample_frame
from shared.video import VideoError, probe_video

log = logging.getLogger(__name__)


class SourceKind(StrEnum):
    FILE = "file"
    CAMERA = "camera"
    STREAM = "stream"


@dataclass(frozen=True)
class Frame:
    """One captured frame after downsampling; `clip` only when a site opted in."""

    ts: float
    small: np.ndarray
    clip: np.ndarray | None = None


# Queue items are frames; None marks the end of the stream.
FrameQueue = queue.Queue[Frame | None]


def classify_source(source: str) -> SourceKind:
    if source.isdigit():
        return SourceKind.CAMERA
    if "://" in source:
        return SourceKind.STREAM
    return SourceKind.FILE


def check_source(source: str) -> float | None:
    """Fail fast on a file that cannot be decoded or a camera that cannot be opened
    (VideoError names it); return a file's fps. A camera that dies later is reopened with
    backoff; one that is not there at start is a configuration error. A stream may be
    down for a while, so it is not checked here."""
    kind = classify_source(source)
    if kind is SourceKind.FILE:
        return probe_video(Path(source)).fps
    if kind is SourceKind.CAMERA:
        try:
            open_capture(source).release()
        except VideoError:
            raise VideoError(
                source,
                "no camera with this index can be opened (not there, in use, or the user is "
                "not in group video; `v4l2-ctl --list-devices` lists them)",
            ) from None
    return None


def open_capture(source: str) -> cv2.VideoCapture:
    kind = classify_source(source)
    cap = cv2.VideoCapture(int(source) if kind is SourceKind.CAMERA else source)
    if not cap.isOpened():
        cap.release()
        raise VideoError(source, f"cannot open {kind.value} source")
    return cap


def put_bounded(q: queue.Queue, item: object, stop: threading.Event) -> bool:
    """Put with bounded waits so a stop request is noticed; False if stopped first."""
    while not stop.is_set():
        try:
            q.put(item, timeout=1)
            return True
        except queue.Full:
            continue
    return False


class CaptureWorker(StageThread):
    def __init__(
        self,
        source: str,
        out: FrameQueue,
        stop_event: threading.Event,
        stats: AgentStats,
        input_spec: Callable[[], InputSpec],
        clip_size: tuple[int, int] | None,
        config: CaptureConfig,
    ) -> None:
        super().__init__("capture", stats, stop_event)
        self.source = source
        self.shown = redact_urls(source)  # an rtsp://user:password@ camera, for the logs
        self.kind = classify_source(source)
        self.out = out
        self.input_spec = input_spec
        self._cropper: MotionCropper | None = None
        self.clip_size = clip_size
        self.config = config
        self._finish = threading.Event()
        self._t0 = time.monotonic()
        self._delay = config.reconnect_min_s

    def finish(self) -> None:
        """End the stream gracefully, as if the file ended (the pipeline then drains)."""
        self._finish.set()

    @property
    def finishing(self) -> bool:
        return self._finish.is_set()

    def _running(self) -> bool:
        return not (self.stop_event.is_set() or self._finish.is_set())

    def run(self) -> None:
        try:
            read = self._read_file if self.kind is SourceKind.FILE else self._read_live
            self.guarded(read, "reading the source")
        finally:
            put_bounded(self.out, None, self.stop_event)
            log.info("capture ended (%d frames)", self.stats.get("frames_in"))

    def _read_file(self) -> None:
        fps = check_source(self.source) or 1.0
        cap = open_capture(self.source)
        try:
            index = 0
            while self._running():
                ok, image = cap.read()
                if not ok or image is None:
                    return
                ts = index / fps
                index += 1
                if self.config.realtime:
                    self._pace(ts)
                self._emit(image, ts, block=True)
        finally:
            cap.release()

    def _pace(self, ts: float) -> None:
        delay = self._t0 + ts - time.monotonic()
        if delay > 0:
            self.stop_event.wait(delay)

    def _read_live(self) -> None:
        while self._running():
            cap = self._reopen()
            if cap is None:
                continue
            try:
                self._read_until_lost(cap)
            finally:
                cap.release()

    def _reopen(self) -> cv2.VideoCapture | None:
        try:
            cap = open_capture(self.source)
        except VideoError as exc:
            self._lost(str(exc))
            return None
        self.stats.set_camera(True)
        self._delay = self.config.reconnect_min_s
        log.info("camera %s open", self.shown)
        return cap

    def _read_until_lost(self, cap: cv2.VideoCapture) -> None:
        while self._running():
            ok, image = cap.read()
            if not ok or image is None:
                self._lost(f"{self.shown}: stream lost (no frame)")
                return
            self._emit(image, time.monotonic() - self._t0, block=False)

    def _lost(self, reason: str) -> None:
        """Report a dead camera in the heartbeat and wait before retrying (backoff)."""
        reason = redact_urls(reason)  # OpenCV's errors quote the source
        self.stats.set_camera(False)
        self.stats.error(reason)
        log.warning("%s; retrying in %.1f s", reason, self._delay)
        self.stop_event.wait(self._delay)
        self._delay = min(self._delay * 2, self.config.reconnect_max_s)

    def _emit(self, image: np.ndarray, ts: float, block: bool) -> None:
        self.stats.count("frames_in")
        try:
            frame = self._downsample(image, ts)
        except (ValueError, cv2.error) as exc:
            log.warning("bad frame at %.2f s skipped: %s", ts, exc)
            self.stats.count("frames_dropped")
            return
        if block:
            put_bounded(self.out, frame, self.stop_event)
            return
        try:
            self.out.put_nowait(frame)
        except queue.Full:
            self.stats.count("frames_dropped")

    def _downsample(self, image: np.ndarray, ts: float) -> Frame:
        spec = self.input_spec()
        view = image
        if spec.crop is not None:
            if self._cropper is None or self._cropper.spec != spec.crop:
                self._cropper = MotionCropper(spec.crop)  # a new model may crop otherwise
            view = crop_frame(image, self._cropper.update(image, ts))
        small = downsample_frame(view, spec.height, spec.width)
        clip = None
        if self.clip_size is not None:
            clip = downsample_frame(image, self.clip_size[1], self.clip_size[0])
        elif view is not image:
            # Clips show the whole frame: people label them, and training crops them again.
            clip = downsample_frame(image, spec.height, spec.width)
        return Frame(ts=ts, small=small, clip=clip)
