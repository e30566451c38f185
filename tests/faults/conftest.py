"""Fixtures for the fault-injection tests: a private PostgreSQL cluster for the session,
the colour-steered ONNX student, and one world (broker, cloud, device) per test.

The harnesses live beside their own tests (tests/edge, tests/deploy); `bench/faults.py`
imports the same modules, so the benchmark runs exactly these scenarios.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "edge"), str(TESTS / "deploy")]  # edge_testkit, deploy_harness

from edge_testkit import colour_model  # noqa: E402
from fault_kit import (  # noqa: E402
    FaultSetupError,
    PgCluster,
    find_tool,
    pg_bin_dir,
    small_filesystem,
)
from fault_scenarios import Rig, rig  # noqa: E402


def _root_conftest():  # noqa: ANN202 - a module
    """tests/conftest.py by path: every folder's conftest is a module named `conftest`."""
    spec = importlib.util.spec_from_file_location("vigil_tests_conftest", TESTS / "conftest.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_ROOT = _root_conftest()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        _ROOT.missing(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/pg_ctl)",
            _ROOT.require_services(),
        )
    for tool in ("mosquitto", "mosquitto_pub", "mosquitto_passwd"):
        if find_tool(tool) is None:
            _ROOT.missing(
                f"{tool} is not installed (apt-get install mosquitto mosquitto-clients)",
                _ROOT.require_services(),
            )
    assert bin_dir is not None
    cluster = PgCluster(bin_dir).init()
    cluster.start()
    yield cluster
    cluster.destroy()


@pytest.fixture(scope="session")
def fault_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("fault-model") / "student.onnx"
    path.write_bytes(colour_model("faults-1"))
    return path


@pytest.fixture
def world(pg_cluster: PgCluster, fault_model: Path, tmp_path: Path) -> Iterator[Rig]:
    with rig(tmp_path, pg_cluster, fault_model) as built:
        yield built


@pytest.fixture(scope="session")
def tmpfs_available(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Mounting a size-capped tmpfs works here (it needs root, or CAP_SYS_ADMIN)."""
    try:
        with small_filesystem(tmp_path_factory.mktemp("probe") / "disk", 64 * 1024):
            pass
    except FaultSetupError as exc:
        _ROOT.missing(str(exc), _ROOT.require_services())


@pytest.fixture
def small_disk(tmpfs_available: None, tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs."""
    with small_filesystem(tmp_path / "disk", 2 * 1024 * 1024):
        yield tmp_path / "disk"
