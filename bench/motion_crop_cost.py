"""What the motion crop costs a device per frame, on one core.

    python -m bench.motion_crop_cost [--video V.mp4] [--repeats 5]

-> bench/results/motion_crop_cost.json

The edge agent turns every captured frame into the model's input size as it arrives
(`edge.capture`): `downsample_frame` alone for a whole-frame model; for a model trained
on the motion crop, `MotionCropper.update`, `crop_frame` and then `downsample_frame`.
Both paths run here over the same decoded frames of a real 640x480 UP-Fall video (or
`--video`), alternated `--repeats` times, with OpenCV on one thread; the result is each
path's median microseconds per frame and their ratio, measured in one run.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import cv2

from bench.common import REPO, cli_settings, write_result
from shared.motion_crop import MotionCropper, MotionCropSpec, crop_frame
from shared.preprocess import downsample_frame
from shared.video import read_video

DEFAULT_VIDEO = REPO.parent / "shared/data/upfall-s1/fall_sideways/s1_trial1_cam2.mp4"
SIZE = 32


def whole_frame(frames: list, timestamps: list[float]) -> float:
    started = time.perf_counter()
    for frame in frames:
        downsample_frame(frame, SIZE, SIZE)
    return time.perf_counter() - started


def motion_crop(frames: list, timestamps: list[float]) -> float:
    cropper = MotionCropper(MotionCropSpec())
    started = time.perf_counter()
    for frame, t in zip(frames, timestamps, strict=True):
        downsample_frame(crop_frame(frame, cropper.update(frame, t)), SIZE, SIZE)
    return time.perf_counter() - started


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--video", type=Path, default=DEFAULT_VIDEO)
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--out", type=Path, help="JSON path (default bench/results/...)")
    args = p.parse_args()
    if not args.video.exists():
        sys.exit(f"motion_crop_cost: {args.video} not found (pass --video)")
    cv2.setNumThreads(1)
    video = read_video(args.video)
    frames, times = list(video.frames), [float(t) for t in video.timestamps]
    runs: dict[str, list[float]] = {"whole_frame": [], "motion_crop": []}
    for _ in range(args.repeats):
        runs["whole_frame"].append(whole_frame(frames, times))
        runs["motion_crop"].append(motion_crop(frames, times))
    per_frame = {k: statistics.median(v) / len(frames) * 1e6 for k, v in runs.items()}
    height, width = frames[0].shape[:2]
    result = {
        "settings": cli_settings(args),
        "video": {"path": str(args.video), "frames": len(frames), "size": [width, height]},
        "opencv_threads": 1,
        "per_frame_us": {k: round(v, 1) for k, v in per_frame.items()},
        "crop_over_whole": round(per_frame["motion_crop"] / per_frame["whole_frame"], 2),
        "crop_extra_us": round(per_frame["motion_crop"] - per_frame["whole_frame"], 1),
    }
    path = write_result("motion_crop_cost.json", result, args.out)
    print(f"{per_frame} -> {path}")


if __name__ == "__main__":
    main()
