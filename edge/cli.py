"""`vigil edge run`: the edge agent on a video file, a camera index or a stream URL.

Only argparse at the top: `vigil` imports this module to register the subcommand, and
the agent's imports (OpenCV, onnxruntime, paho) load only when the command runs.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the agent's imports are heavy: only for type checking here
    from edge.agent import Agent

EXIT_SOURCE = 2
EXIT_CONFIG = 2
EXIT_MODEL = 4
EXIT_REFUSED = 5  # the cloud refused the device token: restarting will not help


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("edge", help="run the edge agent")
    sub = parser.add_subparsers(dest="edge_command", required=True, metavar="ACTION")
    run = sub.add_parser(
        "run",
        help="watch a video source, emit events (MQTT/HTTP/stdout)",
        description="SRC: a video file, a camera index (0) or an rtsp:// / http:// URL.",
    )
    run.add_argument("--source", required=True, metavar="SRC", help="file, camera index or URL")
    run.add_argument("--model", type=Path, default=None, help="local ONNX student (trusted)")
    run.add_argument(
        "--cloud",
        default=None,
        metavar="URL",
        help="cloud base URL: fetch the current model, HTTP fallback, clips",
    )
    run.add_argument("--config", type=Path, default=None, help="edge.yaml (env VIGIL_* wins)")
    run.add_argument("--device-id", default=None)
    run.add_argument("--site", default=None)
    run.add_argument("--mqtt", default=None, metavar="URL", help="mqtt://host:1883")
    run.add_argument("--data-dir", type=Path, default=None, help="outbox, clips, model cache")
    run.add_argument("--realtime", action="store_true", help="pace a file at its frame rate")
    run.add_argument(
        "--print",
        dest="print_events",
        action="store_true",
        help="write events as JSON lines to stdout",
    )
    run.add_argument(
        "--max-seconds", type=float, default=None, help="stop (gracefully) after this many seconds"
    )
    run.set_defaults(handler=run_agent)


def overrides_from(args: argparse.Namespace) -> dict[str, object]:
    """Command-line values that override the config file and the environment."""
    out: dict[str, object] = {
        "device_id": args.device_id,
        "site": args.site,
        "cloud_url": args.cloud,
        "data_dir": args.data_dir,
    }
    if args.mqtt is not None:
        out["mqtt"] = {"url": args.mqtt}
    if args.realtime:
        out["capture"] = {"realtime": True}
    return {k: v for k, v in out.items() if v is not None}


def run_agent(args: argparse.Namespace) -> int:
    import logging

    agent_or_code = build_agent(args)
    if isinstance(agent_or_code, int):
        return agent_or_code
    agent = agent_or_code
    install_signal_handlers(agent)
    summary = agent.run(max_seconds=args.max_seconds)
    if summary.refused is not None:
        return EXIT_REFUSED  # the agent logged why, at ERROR
    logging.getLogger("edge").info(
        "done: %d windows, %d events, %d items left in the outbox",
        summary.windows,
        summary.events,
        summary.outbox_depth,
    )
    return 0


def build_agent(args: argparse.Namespace) -> Agent | int:
    """The agent for these arguments, or the exit code of a clear error on stderr."""
    import sys

    from edge.agent import Agent, AgentError, TokenRefused
    from edge.config import ConfigError, load_settings
    from shared.video import VideoError

    printer = sys.stdout if args.print_events else None
    try:
        settings = load_settings(args.config, **overrides_from(args))
        if args.model is None and settings.cloud_url is None:
            # cloud_url may come from --cloud, the config file or VIGIL_CLOUD_URL.
            print("vigil edge run: give --model FILE.onnx or a cloud URL", file=sys.stderr)
            return EXIT_CONFIG
        return Agent(settings, args.source, model_path=args.model, printer=printer)
    except ConfigError as exc:
        print(f"vigil edge run: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    except VideoError as exc:
        print(f"vigil edge run: cannot read source {exc}", file=sys.stderr)
        return EXIT_SOURCE
    except TokenRefused as exc:
        print(f"vigil edge run: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except AgentError as exc:
        print(f"vigil edge run: {exc}", file=sys.stderr)
        return EXIT_MODEL


def install_signal_handlers(agent: Agent) -> None:
    """First SIGTERM/SIGINT: end the stream, drain and flush; a second one: stop now."""
    import signal

    def on_signal(signum: int, frame: object) -> None:
        if agent.capture.finishing:
            agent.stop_event.set()
        agent.finish()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
