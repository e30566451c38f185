"""Does the edge catch the fall wherever its windows fall? Training hop against window phase.

    python -m bench.window_phase                  # both recipes, 1 training seed, 8 phases
    python -m bench.window_phase --train-seeds 0 1

-> bench/results/window_phase.json

The edge runs its student on a window every 0.5 s of video time (`inference.hop_s`),
starting from the first frame, so where those windows fall on a motion depends on when
the camera started. A student trained only on windows every 0.5 s of 3 s clips has seen
three phases of each motion; this measures whether that matters, and whether training on
denser windows fixes it.

What runs: each recipe trains the quick demo's student without KD (`cloud.demo.QUICK`:
the demo room's synthetic footage, 30 clips a class at 64 px, 40 epochs, no early stop)
and exports it to ONNX. The default scenario (a fall scripted at 12-14 s) is rendered once
in the same room (`--size` px), and played to the real edge agent (`vigil edge run
--print`, its own process, no cloud) once per phase: phase k drops the video's first k
frames, so the agent's windows land k/fps seconds later on the motion. Every phase's video
is re-encoded the same way, phase 0 included. Per phase: whether a critical fall alert
started inside the fall (scripted start to end + `--late-s`), its latency, and critical
fall alerts before the fall (false alarms).

The recipes (`--recipe HOP:DRAWS[:JITTER]`, repeatable) default to three: windows every
0.5 s with 8 augmentation draws (the demo's recipe before this benchmark); every 0.25 s
with 5 draws; every 0.5 s with 8 draws, each moving its window by up to 0.25 s either way
(`--time-jitter`). Epoch e trains on draw e mod DRAWS of every window, so a denser hop
costs training time in proportion to its windows (`train_windows`, `train_wall_s` per
run) and the jitter costs nothing. The student is trained on one room
and tested in it: this is about timing, not generalisation (bench/kd_quality.py measures
that).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import REPO, alarm_at, cli_settings, fall_alarms, write_result
from cloud.demo import QUICK, ROOM_SEED, VIDEO_EPOCH

Recipe = tuple[float, int, float]  # training hop (s), augmentation draws, time jitter (s)


def parse_recipe(text: str) -> Recipe:
    parts = text.split(":")
    try:
        hop, draws, jitter = float(parts[0]), int(parts[1]), float(parts[2] if parts[2:] else 0)
    except (ValueError, IndexError):
        hop, draws, jitter = 0.0, 0, 0.0
    if len(parts) > 3 or hop <= 0 or draws < 1 or jitter < 0:
        raise argparse.ArgumentTypeError(
            f"expected HOP_S:DRAWS[:JITTER_S] like 0.25:5 or 0.5:8:0.25, got {text!r}"
        )
    return hop, draws, jitter


def recipe_name(recipe: Recipe) -> str:
    hop, draws, jitter = recipe
    return f"{hop:g}:{draws}" + (f":{jitter:g}" if jitter else "")


def train_student(
    work: Path, recipe: Recipe, seed: int, epochs: int, clips_per_class: int
) -> dict[str, Any]:
    """The quick demo's student without KD, trained to this recipe (cached)."""
    hop_s, draws, jitter = recipe
    from cloud.training.export import export_onnx
    from cloud.training.pipeline import PipelineConfig, prepare_run_data, stage_student
    from cloud.training.report import ModelName
    from shared.labels import DEFAULT_LABELS
    from shared.synth import write_synth_dataset

    data = work / f"data-{clips_per_class}-per-class"
    if not (data / "manifest.csv").exists():
        write_synth_dataset(
            data, clips_per_class=clips_per_class, seed=0, size=QUICK.scenes.size,
            seconds=QUICK.scenes.seconds, fps=15.0, labels=QUICK.scenes.labels or DEFAULT_LABELS,
            site_seed=ROOM_SEED, site_share=1.0,
        )  # fmt: skip
    out = work / (
        f"student-c{clips_per_class}-hop{hop_s:g}-draws{draws}-jitter{jitter:g}-e{epochs}-s{seed}"
    )
    onnx_file, info_file = out / "student.onnx", out / "train.json"
    if not info_file.exists():
        # The quick demo's settings but for the recipe, the epochs and the seed.
        params = QUICK.params.model_copy(update={
            "epochs": epochs, "patience": epochs, "augment_draws": draws, "hop_s": hop_s,
            "time_jitter_s": jitter, "seed": seed,
        })  # fmt: skip
        cfg = PipelineConfig(params=params, data=data, out=out)
        out.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        prepared = prepare_run_data(cfg)
        trained = stage_student(cfg, prepared, "window-phase", ModelName.STUDENT_SCRATCH, None)
        export_onnx(trained.checkpoint, onnx_file)
        info = {
            "train_windows": len(prepared.train.windows),
            "train_wall_s": round(time.monotonic() - started, 1),
        }
        info_file.write_text(json.dumps(info))
    return {"onnx": onnx_file, **json.loads(info_file.read_text())}


def phase_videos(work: Path, size: int, phases: int) -> tuple[list[Path], dict[str, Any], float]:
    """The scenario in the demo's room, re-encoded once per phase (first k frames dropped)."""
    from shared.synth import DEFAULT_SCENARIO, parse_script, write_scenario
    from shared.video import read_video, write_video

    source = work / f"scenario-{size}px.mp4"
    timeline = json.loads(
        write_scenario(source, parse_script(DEFAULT_SCENARIO), seed=ROOM_SEED, size=size)
        .read_text()
    )  # fmt: skip
    decoded = read_video(source)
    videos = []
    for k in range(phases):
        path = work / f"scenario-{size}px-phase{k}.mp4"
        write_video(path, decoded.frames[k:], decoded.fps)
        videos.append(path)
    return videos, timeline, decoded.fps


def run_agent(video: Path, model: Path) -> list[dict[str, Any]]:
    """`vigil edge run --print` on one video, from an empty data folder: what it printed."""
    env = {**os.environ, "VIGIL_CAPTURE__START_TIME": VIDEO_EPOCH.isoformat()}
    with tempfile.TemporaryDirectory(prefix="vigil-bench-phase-") as data_dir:
        cmd = [
            sys.executable, "-m", "shared", "edge", "run", "--source", str(video),
            "--model", str(model), "--print", "--data-dir", data_dir,
            "--device-id", "room-1", "--site", "bench",
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"edge agent failed on {video.name}:\n{done.stderr[-2000:]}")
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def score_phase(
    events: list[dict[str, Any]], fall: dict[str, Any], shift_s: float, late_s: float
) -> dict[str, Any]:
    """Fall alarms (bench.common.fall_alarms) against the fall, in the phase's own video
    time."""
    start, end = fall["start_s"] - shift_s, fall["end_s"] - shift_s
    alerts = sorted((alarm_at(e) - VIDEO_EPOCH).total_seconds() for e in fall_alarms(events))
    caught = [t for t in alerts if start <= t <= end + late_s]
    return {
        "caught": bool(caught),
        "latency_s": round(caught[0] - start, 2) if caught else None,
        "false_alarms": sum(t < start for t in alerts),
        "alerts_s": [round(t, 2) for t in alerts],
    }


def summarise(phases: list[dict[str, Any]]) -> dict[str, Any]:
    latencies = [p["latency_s"] for p in phases if p["latency_s"] is not None]
    return {
        "phases": len(phases),
        "caught": sum(p["caught"] for p in phases),
        "with_false_alarm": sum(p["false_alarms"] > 0 for p in phases),
        "latency_s_median": sorted(latencies)[len(latencies) // 2] if latencies else None,
        "latency_s_max": max(latencies) if latencies else None,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--recipe", action="append", type=parse_recipe, help="HOP_S:DRAWS[:JITTER_S] (repeatable)"
    )
    parser.add_argument("--train-seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--epochs", type=int, default=QUICK.params.epochs, help="the quick demo's")
    parser.add_argument("--clips-per-class", type=int, default=QUICK.scenes.clips_per_class)
    parser.add_argument("--phases", type=int, default=8, help="window offsets, 1 frame apart")
    parser.add_argument("--size", type=int, default=160, help="scenario video size (px)")
    parser.add_argument("--late-s", type=float, default=2.0, help="alert allowed after the fall")
    parser.add_argument("--work", type=Path, default=REPO / ".benchdata" / "window-phase")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    from edge.config import InferenceConfig

    recipes = args.recipe or [(0.5, 8, 0.0), (0.25, 5, 0.0), (0.5, 8, 0.25)]
    started = time.monotonic()
    args.work.mkdir(parents=True, exist_ok=True)
    videos, timeline, fps = phase_videos(args.work, args.size, args.phases)
    fall = next(s for s in timeline["segments"] if s["label"] == "falling")
    runs = []
    for recipe in recipes:
        hop_s, draws, jitter = recipe
        for seed in args.train_seeds:
            student = train_student(args.work, recipe, seed, args.epochs, args.clips_per_class)
            phases = []
            for k, video in enumerate(videos):
                events = run_agent(video, student["onnx"])
                phases.append({"phase": k, **score_phase(events, fall, k / fps, args.late_s)})
                print(f"{recipe_name(recipe)} seed {seed} phase {k}: {phases[-1]}", flush=True)
            runs.append({
                "recipe": recipe_name(recipe), "hop_s": hop_s, "draws": draws,
                "time_jitter_s": jitter, "train_seed": seed,
                "train_windows": student["train_windows"],
                "train_wall_s": student["train_wall_s"],
                "summary": summarise(phases), "per_phase": phases,
            })  # fmt: skip
    by_recipe = {}
    for recipe in recipes:
        mine = [r for r in runs if r["recipe"] == recipe_name(recipe)]
        by_recipe[recipe_name(recipe)] = summarise([p for r in mine for p in r["per_phase"]])
    path = write_result(
        "window_phase.json",
        {
            "settings": cli_settings(args, drop=("recipe",)),
            "recipes": [recipe_name(r) for r in recipes],
            "edge_hop_s": InferenceConfig().hop_s,
            "fall": {"start_s": fall["start_s"], "end_s": fall["end_s"]},
            "fps": fps,
            "by_recipe": by_recipe,
            "runs": runs,
            "wall_s": round(time.monotonic() - started, 1),
        },
        args.out,
    )
    print(json.dumps(by_recipe, indent=2))
    print(f"written to {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
