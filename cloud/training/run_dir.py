"""A run directory: refuses to mix two different runs, writes every file whole."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from shared.files import write_bytes_atomic

RUN_FILE = "run.json"


class RunDirError(RuntimeError):
    """The run directory holds another run, or cannot be used."""


def claim_run_dir(out: Path, identity: dict[str, Any]) -> dict[str, Any]:
    """Create `out` for this run, or reuse it when it holds the same run (to resume).

    `identity` is what makes a run itself (data, splits, seeds, schedules); a folder
    written by a different run is refused rather than silently mixed.
    """
    out.mkdir(parents=True, exist_ok=True)
    run_file = out / RUN_FILE
    if run_file.exists():
        previous = json.loads(run_file.read_text())
        if previous.get("identity") != identity:
            raise RunDirError(
                f"{out} already holds a different run (see {run_file}); "
                "choose another --out or delete it"
            )
        return dict(previous)
    if any(out.iterdir()):
        raise RunDirError(f"{out} is not empty and holds no {RUN_FILE}; choose an empty --out")
    state = {"identity": identity}
    write_json(run_file, state)
    return state


def write_json(path: Path, value: Any) -> Path:
    return write_bytes_atomic(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def write_text(path: Path, text: str) -> Path:
    return write_bytes_atomic(path, text.encode())
