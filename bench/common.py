"""What every benchmark records beside its numbers: the machine and the command."""

from __future__ import annotations

import json
import os
import platform
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {
        "host": platform.node(),
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
    }
    try:
        import torch

        info["torch"] = torch.__version__
        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    for module in ("onnxruntime", "cv2", "numpy"):
        try:
            info[module] = __import__(module).__version__
        except ImportError:
            pass
    # The development machine is shared: what else ran is part of the result.
    info["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def git_commit(repo: Path = REPO) -> str:
    """HEAD of `repo`, 40 hex digits; a RuntimeError naming git's complaint otherwise.

    `git rev-parse HEAD` in a repository without commits prints "HEAD" and exits 128:
    its output means nothing unless it exited 0 with a commit id.
    """
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    except OSError as error:
        raise RuntimeError(f"cannot run `git rev-parse HEAD` in {repo}: {error}") from error
    commit = out.stdout.strip()
    if out.returncode != 0:
        raise RuntimeError(
            f"`git rev-parse HEAD` failed in {repo} (exit {out.returncode}): {out.stderr.strip()}"
        )
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise RuntimeError(f"`git rev-parse HEAD` in {repo} printed {commit!r}, not a commit id")
    return commit


# The code that runs is the code at start: HEAD may move while a long benchmark runs.
try:
    COMMIT_AT_START: str | None = git_commit()
    _NO_COMMIT_BECAUSE = ""
except RuntimeError as error:
    # Scripts and tests that import this module for its helpers alone must still import;
    # write_result raises instead, before it writes anything. Said now, so that a long
    # benchmark can be stopped at once rather than end in that error.
    COMMIT_AT_START, _NO_COMMIT_BECAUSE = None, str(error)
    print(f"bench.common: no result will be written: {error}", file=sys.stderr)


def commit_at_start() -> str:
    """The commit a result records: the one taken at start, or a RuntimeError saying why not."""
    if COMMIT_AT_START is None:
        raise RuntimeError(f"a result must name the commit it ran: {_NO_COMMIT_BECAUSE}")
    return COMMIT_AT_START


def cli_settings(args: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A script's parsed arguments as JSON values (paths as text), less `drop`."""
    return {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in drop
    }


def command_line() -> str:
    """How this benchmark was started: `python -m bench.X ...` when run as a module."""
    main = sys.modules.get("__main__")
    spec = getattr(main, "__spec__", None)
    program = ["-m", spec.name] if spec is not None else sys.argv[:1]
    return " ".join([Path(sys.executable).name, *program, *sys.argv[1:]])


def write_result(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    commit = commit_at_start()  # before anything is written: no result without its commit
    path = out or RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "command": command_line(),
        "machine": machine(),
        "commit": commit,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **payload,
    }
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path


# -- what counts as a fall's alarm in the events an agent printed ------------------------


def fall_alarms(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each fall episode's alarm, once, in order: its critical `start` (an agent of one
    stage) or the `update` that confirmed a possible fall. A long lie is critical too, but
    not a fall's alarm; a possible fall is the warning before it."""
    from shared.labels import is_fall_label

    out, seen = [], set()
    for event in events:
        if event["severity"] != "critical" or not is_fall_label(event["action"]):
            continue
        confirms = event["type"] == "update" and event.get("stage") == "confirmed"
        if (event["type"] == "start" or confirms) and event["started_at"] not in seen:
            seen.add(event["started_at"])
            out.append(event)
    return out


def alarm_at(event: dict[str, Any]) -> datetime:
    """When the edge raised the alarm: when it decided the stage, else the event's start."""
    return datetime.fromisoformat(event.get("stage_at") or event["started_at"])
