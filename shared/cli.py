"""The `vigil` command: one entry point, subcommands registered by each package.

Command modules are imported here only to register their arguments; each keeps its
heavy imports (torch, FastAPI) inside its handlers, so the edge subcommands run on a
device that has only the `edge` extra installed.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from shared.video import VideoError

# Modules exposing `register(subparsers)`; a module missing from this install is skipped.
COMMAND_MODULES = (
    "shared.dataset_cli",
    "cloud.training.cli",
    "cloud.demo",
    "cloud.service.cli",
    "edge.cli",
)


class MissingExtraError(RuntimeError):
    """A subcommand needs an install extra that is not present."""


def require_extra(extra: str, module: str, hint: str = "") -> None:
    """Raise a clear error when `module` (part of the `extra` install) cannot be imported."""
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"this command needs the '{extra}' extra ({exc.name} is missing): "
            f"pip install 'vigil[{extra}]'" + (f"; {hint}" if hint else "")
        ) from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vigil", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            # Skip a package this install lacks; a module missing inside it is a bug.
            if exc.name is None or not (name == exc.name or name.startswith(exc.name + ".")):
                raise
            continue
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # The ONNX exporter narrates every graph pass at INFO; keep its warnings and errors.
    for noisy in ("onnx_ir", "onnxscript", "torch.onnx", "alembic", "httpx"):
        logging.getLogger(noisy).setLevel(logging.ERROR if not args.verbose else logging.INFO)
    try:
        return int(args.handler(args) or 0)
    except MissingExtraError as exc:
        print(f"vigil: {exc}", file=sys.stderr)
        return 3
    except VideoError as exc:
        if args.verbose:
            raise
        print(f"vigil: error: {exc}; replace or remove that file and run again", file=sys.stderr)
        return 2
    except (OSError, ValueError, RuntimeError) as exc:
        # Bad input (a missing folder, a malformed manifest, an unreadable video, a run
        # directory holding another run) gets one clear line; -v shows the traceback.
        if args.verbose:
            raise
        print(f"vigil: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
