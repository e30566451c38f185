"""deploy/systemd/vigil-edge.service: systemd accepts it, and it keeps its hardening.

`systemd-analyze verify` parses the unit as systemd would (unknown keys, bad values, a
missing ExecStart binary); the ExecStart binary is swapped for a stub because no venv is
installed at /opt/vigil here. Without systemd-analyze, a structural parse still runs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.kit.deploy import DEPLOY

UNIT = DEPLOY / "systemd" / "vigil-edge.service"
VIGIL_BIN = "/opt/vigil/venv/bin/vigil"
REQUIRED = {
    "Restart": "always",
    "EnvironmentFile": "/etc/vigil/edge.env",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "ReadWritePaths": "/var/lib/vigil-edge",
    "SupplementaryGroups": "video",
    "User": "vigil-edge",
}
MAX_EXPOSURE = 3.0  # systemd-analyze security: 0 (locked down) .. 10 (unprotected)


def service_section() -> dict[str, list[str]]:
    """[Service] keys; a key may repeat (systemd appends), so values are lists."""
    values: dict[str, list[str]] = {}
    section = ""
    for raw in UNIT.read_text().splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not a key=value line: {raw!r}"
        if section == "Service":
            values.setdefault(key.strip(), []).append(value.strip())
    return values


def test_the_unit_has_its_restart_policy_secrets_and_hardening() -> None:
    service = service_section()
    for key, value in REQUIRED.items():
        assert value in service.get(key, []), f"{key}={value} missing"
    assert int(service["RestartSec"][-1]) > 0
    memory_max = service["MemoryMax"][-1]
    assert re.fullmatch(r"\d+[KMG]", memory_max), memory_max
    exec_start = service["ExecStart"][-1]
    assert exec_start.startswith(f"{VIGIL_BIN} edge run --config /etc/vigil/edge.yaml")
    # `vigil edge run` wants --cloud or --model on the command line (edge/cli.py).
    assert "--cloud ${VIGIL_CLOUD_URL}" in exec_start and "--source ${VIGIL_SOURCE}" in exec_start
    inline = " ".join(service.get("Environment", []))
    assert "TOKEN" not in inline and "PASSWORD" not in inline, "secrets go in edge.env"


def stub_unit(tmp_path: Path) -> Path:
    stub = tmp_path / "bin" / "vigil"
    stub.parent.mkdir()
    stub.write_text("#!/bin/sh\nexit 0\n")
    stub.chmod(0o755)
    unit = tmp_path / UNIT.name
    unit.write_text(UNIT.read_text().replace(VIGIL_BIN, str(stub)))
    return unit


def test_systemd_accepts_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed; the structural test above still ran")
    result = subprocess.run(
        [analyze, "verify", str(stub_unit(tmp_path))], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    # Unknown keys or bad values are only warnings ("..., ignoring."): refuse them too.
    complaints = [ln for ln in result.stderr.splitlines() if UNIT.name in ln or "ignoring" in ln]
    assert not complaints, complaints


def test_the_unit_exposure_stays_low(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed")
    result = subprocess.run(
        [analyze, "security", "--offline=yes", "--no-pager", str(stub_unit(tmp_path))],
        capture_output=True,
        text=True,
        timeout=60,
    )
    if result.returncode != 0 and "offline" in result.stderr:
        pytest.skip(f"this systemd-analyze has no --offline (systemd < 250): {result.stderr}")
    found = re.search(r"Overall exposure level for \S+: (\d+\.\d+)", result.stdout)
    assert found, result.stdout[-500:] + result.stderr
    assert float(found.group(1)) <= MAX_EXPOSURE, result.stdout
