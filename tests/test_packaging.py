"""Install profiles by role: what each extra holds, and that each role runs on its own.

`edge` (devices), `service` (API, ingest; no torch, no MediaPipe), `train` (torch,
MediaPipe), `cloud` (service + train). MediaPipe pulls opencv-contrib-python, the edge
and service extras opencv-python-headless; both install a `cv2` package into the same
folder, so an environment holding both has whichever wrote last, half-overwritten by the
other: `cloud` spells the service out without opencv-python-headless.

"Runs on its own" is checked in this environment, which has every extra: a child process
refuses to import any module that the role's extra (with everything it requires, and the
base dependencies) does not install, then starts the role's entry points.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
import tomllib
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[1]
PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
EXTRAS: dict[str, list[str]] = PROJECT["optional-dependencies"]
BASE: list[str] = PROJECT["dependencies"]
HEAVY = {"torch", "mediapipe"}


def name_of(requirement: str) -> str:
    return Requirement(requirement).name.lower()


def names(extra: str) -> set[str]:
    return {name_of(r) for r in EXTRAS[extra]}


def cv2_distributions() -> list[str]:
    """Installed distributions that put a top-level `cv2` into site-packages."""
    found = []
    for dist in metadata.distributions():
        files = dist.files or []
        if any(f.parts[:1] == ("cv2",) for f in files):
            found.append(dist.metadata["Name"])
    return sorted(found)


def test_each_role_holds_only_what_it_needs() -> None:
    assert not (names("edge") | names("service")) & HEAVY
    assert HEAVY <= names("train")
    assert not any(n in names("edge") for n in ("fastapi", "sqlalchemy", "uvicorn"))
    for extra in EXTRAS:
        assert not any(n.startswith("vigil") for n in names(extra)), f"{extra} pulls vigil[...]"


def test_the_cloud_extra_is_service_and_train_with_only_mediapipes_opencv() -> None:
    cloud = names("cloud")
    assert (names("service") - {"opencv-python-headless"}) | names("train") <= cloud
    assert not any(n.startswith("opencv") for n in cloud)
    # The demo runs an edge agent beside the service: the edge runtime, less its cv2.
    assert names("edge") - cloud - {name_of(r) for r in BASE} == {"opencv-python-headless"}


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


# -- each role on its own ----------------------------------------------------------------


@cache
def top_levels_by_distribution() -> dict[str, set[str]]:
    """distribution name (lower case) -> the top-level modules it installs."""
    out: dict[str, set[str]] = {}
    for module, dists in metadata.packages_distributions().items():
        for dist in dists:
            out.setdefault(dist.lower().replace("_", "-"), set()).add(module)
    return out


def installed_closure(requirements: list[str]) -> set[str]:
    """The distributions these requirements install, with everything they require."""
    seen: set[str] = set()
    todo = [Requirement(r) for r in requirements]
    while todo:
        req = todo.pop()
        name = req.name.lower().replace("_", "-")
        key = f"{name}[{','.join(sorted(req.extras))}]"
        if key in seen:
            continue
        seen.add(key)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue  # an optional dependency this environment does not have
        for line in requires:
            child = Requirement(line)
            envs = [{"extra": e} for e in req.extras] or [{"extra": ""}]
            if child.marker is None or any(child.marker.evaluate(env) for env in envs):
                todo.append(child)
    return {key.split("[")[0] for key in seen}


def allowed_modules(extra: str) -> set[str]:
    modules = {"shared", "cloud", "edge", "_distutils_hack"}
    by_dist = top_levels_by_distribution()
    for dist in installed_closure(EXTRAS[extra] + BASE):
        modules |= by_dist.get(dist, set())
    if extra in ("edge", "service"):  # opencv-python-headless's cv2 is contrib's here
        modules.add("cv2")
    return modules


def refused_modules(extra: str) -> set[str]:
    """Top-level modules installed here by a distribution that the extra does not install."""
    return set(metadata.packages_distributions()) - allowed_modules(extra)


# Runs in a child: a finder first in line refuses every module the role does not install.
ROLE_CHILD = textwrap.dedent(
    """
    import importlib.abc, json, sys
    REFUSED = set(json.loads(sys.argv[1]))

    class Refuse(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            top = name.partition(".")[0]
            if top in REFUSED:
                raise ModuleNotFoundError(f"No module named {top!r} (not in this extra)", name=top)
            return None

    sys.meta_path.insert(0, Refuse())
    exec(sys.argv[2])
    heavy = sorted(m for m in ("torch", "mediapipe", "fastapi") if m in sys.modules)
    print(json.dumps({"heavy": heavy}))
    """
)

SERVICE_RUNS = """
import tempfile
from pathlib import Path
from fastapi.testclient import TestClient
from cloud.service.app import create_app
from cloud.service.settings import Settings
from shared.cli import build_parser

build_parser().parse_args(["serve", "--no-worker"])
data = Path(tempfile.mkdtemp())
settings = Settings(env="development", data_dir=data, mqtt_url=None, run_worker=False)
with TestClient(create_app(settings)) as client:
    assert client.get("/healthz").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
import cloud.service.worker, cloud.service.cli  # the worker reaches training by subprocess
"""

EDGE_RUNS = """
import numpy as np
import edge.agent, edge.cli
from shared.cli import build_parser
from shared.preprocess import InputSpec, window_to_input

build_parser().parse_args(["edge", "run", "--source", "0", "--print"])
assert window_to_input([np.zeros((48, 64, 3), np.uint8)] * 8, InputSpec()).shape == (3, 8, 32, 32)
"""


def run_as(extra: str, code: str) -> dict[str, list[str]]:
    refused = json.dumps(sorted(refused_modules(extra)))
    done = subprocess.run(
        [sys.executable, "-c", ROLE_CHILD, refused, code],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_service_runs_with_the_service_extra_alone() -> None:
    loaded = run_as("service", SERVICE_RUNS)
    assert "torch" not in loaded["heavy"] and "mediapipe" not in loaded["heavy"]


def test_the_edge_runs_with_the_edge_extra_alone() -> None:
    assert run_as("edge", EDGE_RUNS)["heavy"] == []


def test_the_refusal_is_real() -> None:
    """The child refuses what an extra lacks (else the two tests above prove nothing)."""
    code = "import cloud.training.pipeline"
    refused = json.dumps(sorted(refused_modules("service")))
    assert HEAVY <= refused_modules("service")
    done = subprocess.run(
        [sys.executable, "-c", ROLE_CHILD, refused, code], capture_output=True, text=True, cwd=REPO
    )
    assert done.returncode != 0
    refused = r"No module named '(torch|matplotlib|tqdm|onnx)' \(not in this extra\)"
    assert re.search(refused, done.stderr), done.stderr[-2000:]
