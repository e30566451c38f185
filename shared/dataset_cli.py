"""`vigil dataset synth | scenario | info`."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from shared.progress import ProgressLine


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dataset", help="make or inspect video datasets")
    sub = parser.add_subparsers(dest="dataset_command", required=True, metavar="ACTION")

    synth = sub.add_parser("synth", help="write synthetic indoor clips in class folders")
    synth.add_argument("--out", type=Path, required=True, help="output folder")
    synth.add_argument("--clips-per-class", type=int, default=50)
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument("--size", type=int, default=112, help="frame size in pixels (square)")
    synth.add_argument("--seconds", type=float, default=3.0, help="clip length")
    synth.add_argument("--fps", type=float, default=15.0)
    synth.add_argument(
        "--site-seed",
        type=int,
        default=None,
        help="film every other clip in the room of this scene seed (a scenario's --seed)",
    )
    synth.set_defaults(handler=run_synth)

    scenario = sub.add_parser("scenario", help="write one scripted video and its timeline")
    scenario.add_argument("--out", type=Path, required=True, help="output .mp4 (a .json beside)")
    scenario.add_argument("--script", default=None, help="label:seconds,... (default: a fall)")
    scenario.add_argument("--seed", type=int, default=0)
    scenario.add_argument("--size", type=int, default=320)
    scenario.add_argument("--fps", type=float, default=15.0)
    scenario.set_defaults(handler=run_scenario)

    info = sub.add_parser("info", help="summarise a video folder and list unreadable files")
    info.add_argument("root", type=Path)
    info.set_defaults(handler=run_info)


def run_synth(args: argparse.Namespace) -> int:
    from shared.synth import write_synth_dataset

    started = time.monotonic()
    manifest = write_synth_dataset(
        args.out,
        clips_per_class=args.clips_per_class,
        seed=args.seed,
        site_seed=args.site_seed,
        size=args.size,
        seconds=args.seconds,
        fps=args.fps,
        progress=ProgressLine("synth", 1),
    )
    print(f"wrote {manifest} in {time.monotonic() - started:.1f} s")
    return 0


def run_scenario(args: argparse.Namespace) -> int:
    from shared.synth import DEFAULT_SCENARIO, parse_script, write_scenario

    script = parse_script(args.script or DEFAULT_SCENARIO)
    timeline = write_scenario(args.out, script, seed=args.seed, size=args.size, fps=args.fps)
    print(f"wrote {args.out} and {timeline}")
    return 0


def run_info(args: argparse.Namespace) -> int:
    from shared.datasets import describe_folder, format_report

    report = describe_folder(args.root, progress=ProgressLine("probe", 1))
    print(format_report(report))
    return 0
