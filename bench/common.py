"""What every benchmark records beside its numbers: the machine and the command."""

from __future__ import annotations

import json
import os
import platform
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


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True)
        return out.stdout.strip() or None
    except OSError:
        return None


# The code that runs is the code at start: HEAD may move while a long benchmark runs.
COMMIT_AT_START = git_commit()


def cli_settings(args: Any, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """A script's parsed arguments as JSON values (paths as text), less `drop`."""
    return {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in drop
    }


def write_result(name: str, payload: dict[str, Any], out: Path | None = None) -> Path:
    path = out or RESULTS / name
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "benchmark": name,
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "commit": COMMIT_AT_START,
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        **payload,
    }
    path.write_text(json.dumps(record, indent=2, default=str) + "\n")
    return path
