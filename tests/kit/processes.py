"""Child processes for the rigs and the benchmarks: `vigil serve`, and stopping one for good."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.loopback import free_port, wait_until


def stop_process(proc: subprocess.Popen, grace_s: float = 10.0) -> int | None:
    """SIGTERM, wait `grace_s`, then SIGKILL; returns the exit code."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
    return proc.returncode


@contextmanager
def vigil_serve(env: dict[str, str | None], work: Path) -> Iterator[tuple[str, str]]:
    """`vigil serve` in its own process, as deployed, with `env` over this one's settings
    (a None there unsets the variable).

    Yields (base URL, admin token) once `/readyz` answers 200; logs to `work/serve.log`;
    SIGTERM (30 s to drain) at the end.
    """
    import httpx

    port, admin_token = free_port(), secrets.token_urlsafe(32)
    base = f"http://127.0.0.1:{port}"
    merged: dict[str, str | None] = {
        **os.environ,
        "VIGIL_ENV": "production",
        "VIGIL_ADMIN_TOKEN": admin_token,
        "VIGIL_DATA_DIR": str(work / "data"),
        "VIGIL_PUBLIC_BASE_URL": base,
        **env,
    }
    log_path = work / "serve.log"
    vigil = Path(sys.executable).with_name("vigil")
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [str(vigil), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env={name: value for name, value in merged.items() if value is not None},
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=work,
        )

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"vigil serve exited:\n{log_path.read_text()[-3000:]}")
            try:
                return httpx.get(base + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        try:
            wait_until(ready, 120, "vigil serve to be ready (database, broker, ingest)", 0.2)
            yield base, admin_token
        finally:
            stop_process(proc, grace_s=30)
