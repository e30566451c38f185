"""Fixtures for the fault-injection tests: a private PostgreSQL cluster for the session,
the colour-steered ONNX student, and one world (broker, cloud, device) per test.

The rigs live in tests.kit (`faults`, `fault_scenarios`); `bench.faults` imports the same
modules, so the benchmark runs exactly these scenarios.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.edge import colour_model
from tests.kit.fault_scenarios import Rig, rig
from tests.kit.faults import FaultSetupError, PgCluster, pg_bin_dir, small_filesystem
from tests.kit.mosquitto import find_tool
from tests.kit.outcomes import missing


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    bin_dir = pg_bin_dir()
    if bin_dir is None:
        missing("PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin/pg_ctl)")
    for tool in ("mosquitto", "mosquitto_pub", "mosquitto_passwd"):
        if find_tool(tool) is None:
            missing(f"{tool} is not installed (apt-get install mosquitto mosquitto-clients)")
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
        missing(str(exc))


@pytest.fixture
def small_disk(tmpfs_available: None, tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs."""
    with small_filesystem(tmp_path / "disk", 2 * 1024 * 1024):
        yield tmp_path / "disk"
