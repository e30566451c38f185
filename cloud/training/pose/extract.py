"""Landmark tracks from full-resolution video with MediaPipe Pose, cached per video on disk.

MediaPipe Pose (legacy solutions API, mediapipe 0.10.14) runs in tracking mode over each
video: the detector finds the person once, then the landmark model follows them from
frame to frame, which holds through a fall where per-frame detection loses the body
(https://github.com/google/mediapipe/blob/v0.10.14/docs/solutions/pose.md). Its models
ship inside the wheel, so this works offline.

Extraction is the expensive part (about 20 ms a 640x480 frame on one core), so every
track is cached under a key made of the file's content hash and the settings: a rerun,
another split or another run directory never extracts the same video twice.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from cloud.training.pose.skeleton import NUM_LANDMARKS
from shared.files import staged_file
from shared.video import iter_frames

log = logging.getLogger(__name__)

# Bump when what a cached track holds, or how it is computed, changes.
EXTRACTOR_VERSION = 1
CACHE_ENV = "VIGIL_POSE_CACHE"


@dataclass(frozen=True)
class PoseSettings:
    """MediaPipe Pose options; part of the cache key."""

    model_complexity: int = 1
    min_detection_confidence: float = 0.5
    min_tracking_confidence: float = 0.5
    smooth_landmarks: bool = True


@dataclass
class PoseTrack:
    """One video's landmarks, a row per decoded frame (timestamps as `shared.video`)."""

    image: np.ndarray  # (T, 33, 3) float32: x, y as fractions of width/height; z relative
    world: np.ndarray  # (T, 33, 3) float32: metres, origin between the hips, camera axes
    visibility: np.ndarray  # (T, 33) float32 in [0, 1]
    present: np.ndarray  # (T,) bool: a person was found; other rows are zeros
    fps: float
    width: int
    height: int
    ms_per_frame: float  # what extraction cost, for the teacher's cost in reports

    @property
    def timestamps(self) -> np.ndarray:
        return np.arange(len(self.present), dtype=np.float64) / self.fps

    def __len__(self) -> int:
        return len(self.present)

    def save(self, path: Path) -> None:
        with staged_file(path, suffix=".tmp.npz") as tmp:  # np.savez adds .npz otherwise
            np.savez_compressed(
                tmp,
                image=self.image,
                world=self.world,
                visibility=self.visibility,
                present=self.present,
                meta=np.array([self.fps, self.width, self.height, self.ms_per_frame]),
            )

    @classmethod
    def load(cls, path: Path) -> PoseTrack:
        with np.load(path) as data:
            fps, width, height, ms = data["meta"].tolist()
            return cls(
                data["image"],
                data["world"],
                data["visibility"],
                data["present"].astype(bool),
                float(fps),
                int(width),
                int(height),
                float(ms),
            )


def default_cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "vigil" / "pose")


def file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class PoseCache:
    """Tracks on disk, one `.npz` per (video content, settings)."""

    def __init__(self, root: Path | None = None, settings: PoseSettings | None = None) -> None:
        self.root = Path(root) if root is not None else default_cache_dir()
        self.settings = settings or PoseSettings()
        self._keys: dict[tuple[str, int, int], str] = {}

    def key(self, video: Path) -> str:
        """Content hash + settings; the hash is remembered per (path, size, mtime)."""
        stat = Path(video).stat()
        memo = (str(Path(video).resolve()), stat.st_size, stat.st_mtime_ns)
        if memo not in self._keys:
            settings = json.dumps({**asdict(self.settings), "v": EXTRACTOR_VERSION}, sort_keys=True)
            setting_hash = hashlib.sha256(settings.encode()).hexdigest()[:12]
            self._keys[memo] = f"{file_digest(video)[:32]}-{setting_hash}"
        return self._keys[memo]

    def path_for(self, video: Path) -> Path:
        return self.root / f"{self.key(video)}.npz"

    def load(self, video: Path) -> PoseTrack | None:
        path = self.path_for(video)
        return PoseTrack.load(path) if path.is_file() else None

    def get(self, video: Path) -> PoseTrack:
        """The cached track, extracting it first if needed."""
        track = self.load(video)
        if track is None:
            track = extract_track(video, self.settings)
            self.root.mkdir(parents=True, exist_ok=True)
            track.save(self.path_for(video))
        return track

    def get_many(
        self,
        videos: Sequence[Path],
        workers: int = 1,
        progress: Callable[[int, int], None] | None = None,
    ) -> dict[Path, PoseTrack]:
        """Tracks of every video, missing ones extracted in parallel (one video per process)."""
        unique = list(dict.fromkeys(Path(v) for v in videos))
        todo = [v for v in unique if not self.path_for(v).is_file()]
        if todo:
            log.info("pose: extracting %d of %d videos", len(todo), len(unique))
            self._extract_all(todo, workers, progress)
        return {v: self.get(v) for v in unique}

    def _extract_all(
        self, videos: list[Path], workers: int, progress: Callable[[int, int], None] | None
    ) -> None:
        if workers <= 1 or len(videos) == 1:
            for done, video in enumerate(videos, start=1):
                self.get(video)
                if progress:
                    progress(done, len(videos))
            return
        # spawn: a forked child would inherit torch's and MediaPipe's thread pools.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(min(workers, len(videos)), mp_context=context) as pool:
            jobs = [pool.submit(_extract_to_cache, v, self.root, self.settings) for v in videos]
            for done, job in enumerate(jobs, start=1):
                job.result()  # an extraction error is raised here, naming the video
                if progress:
                    progress(done, len(videos))


def _extract_to_cache(video: Path, root: Path, settings: PoseSettings) -> None:
    PoseCache(root, settings).get(video)


def extract_track(video: Path, settings: PoseSettings = PoseSettings()) -> PoseTrack:
    """Run MediaPipe Pose in tracking mode over every decoded frame of `video`."""
    import mediapipe as mp  # train extra only; heavy, so imported where it is used

    rows: list[tuple[np.ndarray, np.ndarray, np.ndarray, bool]] = []
    fps, size = 0.0, (0, 0)
    started = time.perf_counter()
    with mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=settings.model_complexity,
        smooth_landmarks=settings.smooth_landmarks,
        min_detection_confidence=settings.min_detection_confidence,
        min_tracking_confidence=settings.min_tracking_confidence,
    ) as pose:
        for index, (t, frame) in enumerate(iter_frames(video)):
            if index == 1:
                fps = 1.0 / t
            size = (frame.shape[1], frame.shape[0])
            rows.append(landmark_row(pose.process(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB))))
    elapsed_ms = (time.perf_counter() - started) * 1e3
    return PoseTrack(
        image=np.stack([r[0] for r in rows]),
        world=np.stack([r[1] for r in rows]),
        visibility=np.stack([r[2] for r in rows]),
        present=np.array([r[3] for r in rows], dtype=bool),
        fps=fps or _fps_of(video),
        width=size[0],
        height=size[1],
        ms_per_frame=elapsed_ms / max(len(rows), 1),
    )


def landmark_ms_per_frame(
    video: Path, frames: int = 40, warmup: int = 5, settings: PoseSettings = PoseSettings()
) -> float:
    """Median ms of one tracking-mode MediaPipe call on this video's frames, measured now.

    Measured beside the models' ONNX latencies in the same report, rather than taken from
    the extraction (which may have run elsewhere, in parallel, or under other load).
    """
    import mediapipe as mp

    times = []
    with mp.solutions.pose.Pose(
        static_image_mode=False,
        model_complexity=settings.model_complexity,
        smooth_landmarks=settings.smooth_landmarks,
    ) as pose:
        for index, (_, frame) in enumerate(iter_frames(video)):
            if index >= frames + warmup:
                break
            rgb = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
            started = time.perf_counter()
            pose.process(rgb)
            if index >= warmup:
                times.append((time.perf_counter() - started) * 1e3)
    if not times:
        raise ValueError(f"{video}: fewer than {warmup + 1} frames to time MediaPipe on")
    return float(np.median(times))


def _fps_of(video: Path) -> float:
    cap = cv2.VideoCapture(str(video))
    try:
        return float(cap.get(cv2.CAP_PROP_FPS))
    finally:
        cap.release()


def landmark_row(result: object) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
    """(image xyz, world xyz, visibility, present) of one frame; zeros when nobody was found."""
    image = np.zeros((NUM_LANDMARKS, 3), np.float32)
    world = np.zeros((NUM_LANDMARKS, 3), np.float32)
    visibility = np.zeros(NUM_LANDMARKS, np.float32)
    found = getattr(result, "pose_landmarks", None)
    found_world = getattr(result, "pose_world_landmarks", None)
    if found is None or found_world is None:
        return image, world, visibility, False
    for i, (lm, wl) in enumerate(zip(found.landmark, found_world.landmark, strict=True)):
        image[i] = (lm.x, lm.y, lm.z)
        world[i] = (wl.x, wl.y, wl.z)
        visibility[i] = lm.visibility
    return image, world, visibility, True
