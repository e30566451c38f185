"""Install profiles: one `cv2` in the cloud environment, no MediaPipe for the edge.

MediaPipe (the pose teacher, cloud only) pulls opencv-contrib-python; the edge extra
pulls opencv-python-headless. Both install a `cv2` package into the same folder, so an
environment holding both has whichever wrote last, half-overwritten by the other.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
EXTRAS = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]


def name_of(requirement: str) -> str:
    return re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0].lower()


def cv2_distributions() -> list[str]:
    """Installed distributions that put a top-level `cv2` into site-packages."""
    found = []
    for dist in metadata.distributions():
        files = dist.files or []
        if any(f.parts[:1] == ("cv2",) for f in files):
            found.append(dist.metadata["Name"])
    return sorted(found)


def test_the_edge_extra_never_pulls_mediapipe_or_the_cloud() -> None:
    edge = {name_of(r) for r in EXTRAS["edge"]}
    assert "mediapipe" not in edge and "torch" not in edge
    assert not any(name.startswith("vigil") for name in edge)


def test_the_cloud_extra_has_the_edge_runtime_but_only_mediapipes_opencv() -> None:
    cloud = {name_of(r) for r in EXTRAS["cloud"]}
    edge = {name_of(r) for r in EXTRAS["edge"]}
    assert "mediapipe" in cloud
    assert not any(name.startswith("opencv") for name in cloud)
    assert not any(name.startswith("vigil") for name in cloud), "vigil[edge] brings headless cv2"
    base = {name_of(r) for r in tomllib.loads((REPO / "pyproject.toml").read_text())["project"][
        "dependencies"]}  # fmt: skip
    assert edge - cloud - base == {"opencv-python-headless"}


def test_this_environment_holds_one_cv2_and_the_edge_path_runs_on_it() -> None:
    providers = cv2_distributions()
    if "mediapipe" not in {d.metadata["Name"].lower() for d in metadata.distributions()}:
        pytest.skip("an edge-only environment: the cloud extra is not installed")
    assert providers == ["opencv-contrib-python"], providers
    code = (
        "import cv2, numpy as np, mediapipe;"
        "from shared.preprocess import InputSpec, window_to_input;"
        "import edge.config, edge.inference;"
        "x = window_to_input([np.zeros((480, 640, 3), np.uint8)] * 8, InputSpec());"
        "assert x.shape == (3, 8, 32, 32), x.shape; print(cv2.__version__)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr[-2000:]
