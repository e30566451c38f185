"""Production needs real secrets: `vigil serve` refuses to start without an admin token
or with a placeholder one (production is the default), and the signing key stays 0600.
(tests/cloud/test_service_units.py checks the Settings rules themselves.)"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from shared.loopback import free_port
from tests.kit.security import Server

REPO = Path(__file__).resolve().parents[2]


def serve(tmp: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("VIGIL_")}
    return subprocess.run(
        [sys.executable, "-m", "shared", "serve", "--port", str(free_port())],
        cwd=tmp,
        env={**clean, "PYTHONPATH": str(REPO), "VIGIL_DATA_DIR": str(tmp / "data"), **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"VIGIL_ADMIN_TOKEN": "changeme"},
        {"VIGIL_ADMIN_TOKEN": "short-secret"},
        {"VIGIL_ENV": "production", "VIGIL_ADMIN_TOKEN": ""},
    ],  # fmt: skip
    ids=["unset", "placeholder", "short", "empty"],
)
def test_serve_refuses_to_start_without_a_real_admin_token(
    tmp_path: Path, env: dict[str, str]
) -> None:
    done = serve(tmp_path, **env)
    assert done.returncode != 0
    assert "VIGIL_ADMIN_TOKEN" in done.stderr
    assert "Uvicorn running" not in done.stderr
    assert not (tmp_path / "data" / "keys").exists(), "nothing is made before the check"


@pytest.mark.services
def test_the_signing_key_is_readable_by_its_owner_only(secure_server: Server) -> None:
    key = secure_server.settings.data_dir / "keys" / "model-signing.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
