"""Shared fixtures: real data and real services, found by setting, never mocked.

`VIGIL_REQUIRE_SERVICES=1` (set by `.ci/run`) turns a missing PostgreSQL or Mosquitto
into a failure instead of a skip; `VIGIL_REQUIRE_DATA=1` (or `CI=true`) does the same
for the real clips in `../shared/data`.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.kit.outcomes import missing, require_data, require_services

REPO = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    """Under xdist each worker, and everything it starts (a training job, the demo), trains
    on one thread: two workers on this 2-core machine, each with torch's two threads,
    would oversubscribe the cores and spin OpenMP's waits against each other."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        os.environ["OMP_NUM_THREADS"] = "1"
        os.environ["MKL_NUM_THREADS"] = "1"


# The file that trains the quick demo, the longest by far: first, so that under xdist one
# worker starts on it while the other takes everything else.
LONGEST_FIRST = "tests/test_demo.py"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # stable


def data_root() -> Path:
    return Path(os.environ.get("VIGIL_DATA_ROOT", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def upfall_root() -> Path:
    root = data_root() / "upfall-s1"
    if not (root / "manifest.csv").exists():
        missing(f"real UP-Fall clips not found at {root} (set VIGIL_DATA_ROOT)", require_data())
    return root


@pytest.fixture(scope="session")
def gmdcsa_root() -> Path:
    root = data_root() / "gmdcsa24-s1-3"
    if not (root / "manifest.csv").exists():
        missing(f"real GMDCSA24 clips not found at {root} (set VIGIL_DATA_ROOT)", require_data())
    return root


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


@pytest.fixture(scope="session")
def mqtt_url() -> str:
    url = os.environ.get("VIGIL_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
    host_port = url.split("://", 1)[-1]
    host, _, port = host_port.partition(":")
    if not port_open(host, int(port or 1883)):
        missing(f"Mosquitto is not reachable at {url}", require_services())
    return url


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get(
        "VIGIL_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    )
    if not port_open("127.0.0.1", 5432):
        missing(f"PostgreSQL is not reachable for {url}", require_services())
    return url


# Two UP-Fall activities, camera 1, trials 1-3 (about 130 frames each): small enough for
# the pose teacher's tests; trial 3 of camera 2 of both is the unlabelled footage.
TINY_UPFALL_LABELS = ("fall_forward_knees", "picking_up_object")


@pytest.fixture(scope="session")
def upfall_tiny(upfall_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """{'data': a labelled folder (manifest with absolute paths), 'unlabeled': videos only}."""
    base = tmp_path_factory.mktemp("upfall-tiny")
    data, unlabeled = base / "data", base / "unlabeled"
    data.mkdir()
    unlabeled.mkdir()
    rows = ["path,label,trial,camera"]
    for label in TINY_UPFALL_LABELS:
        for trial in (1, 2, 3):
            rows.append(f"{upfall_root / label / f's1_trial{trial}_cam1.mp4'},{label},{trial},1")
        (unlabeled / f"{label}.mp4").symlink_to(upfall_root / label / "s1_trial3_cam2.mp4")
    (data / "manifest.csv").write_text("\n".join(rows) + "\n")
    return {"data": data, "unlabeled": unlabeled}


@pytest.fixture(scope="session")
def quick_demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """`vigil demo --quick --exit`, run once: its folder and what it printed.

    The demo trains a student through the real service, the slowest thing the suite does;
    the edge scenario test runs the agent again on the student it exported.
    """
    out = tmp_path_factory.mktemp("demo") / "run"
    done = subprocess.run(
        [sys.executable, "-m", "shared", "demo", "--quick", "--exit", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=1500,
        cwd=REPO,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return out, done.stdout
