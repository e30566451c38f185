"""Real services for the benchmarks: a private Mosquitto, a throw-away PostgreSQL database.

Everything listens on 127.0.0.1 only and is removed when its `with` block ends, also
when the benchmark fails half-way.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import numpy as np

from bench.common import REPO
from shared.loopback import free_port, port_open, wait_until  # noqa: F401 (re-exported to tests)

T = TypeVar("T")

# Delivery limits of the shipped broker config (deploy/mosquitto/mosquitto.conf): the
# defaults (1000 queued, 20 in flight) drop QoS 1 messages for a subscriber that lags.
SHIPPED_CONF = REPO / "deploy" / "mosquitto" / "mosquitto.conf"
MAX_QUEUED_MESSAGES = 1_000_000
MAX_QUEUED_BYTES = 536_870_912
MAX_INFLIGHT_MESSAGES = 500


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


def mosquitto_config(port: int, max_inflight: int = MAX_INFLIGHT_MESSAGES) -> str:
    """The shipped broker's delivery limits on a private loopback listener, anonymous."""
    return "\n".join(
        [
            f"# bench broker; limits as in {SHIPPED_CONF.relative_to(REPO)}",
            f"listener {port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            f"max_queued_messages {MAX_QUEUED_MESSAGES}",
            f"max_queued_bytes {MAX_QUEUED_BYTES}",
            f"max_inflight_messages {max_inflight}",
            "queue_qos0_messages false",
            "max_packet_size 1048576",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
            "",
        ]
    )


@contextmanager
def mosquitto(max_inflight: int = MAX_INFLIGHT_MESSAGES) -> Iterator[str]:
    """A private Mosquitto on a free loopback port; yields its mqtt:// URL."""
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-mqtt-") as work:
        conf = Path(work) / "mosquitto.conf"
        conf.write_text(mosquitto_config(port, max_inflight))
        log = (Path(work) / "mosquitto.log").open("w")
        proc = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=log)
        try:
            wait_until(lambda: port_open(port) or proc.poll() is not None, 10, "mosquitto")
            if proc.poll() is not None:
                raise RuntimeError(
                    f"mosquitto exited: {(Path(work) / 'mosquitto.log').read_text()}"
                )
            yield f"mqtt://127.0.0.1:{port}"
        finally:
            stop_process(proc)
            log.close()


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A fresh PostgreSQL database beside `admin_url`'s, dropped afterwards; yields its URL."""
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(admin_url)
    name = f"vigil_bench_{uuid.uuid4().hex[:10]}"
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentiles(values: Sequence[float], qs: Sequence[float] = (50, 95)) -> dict[str, float]:
    """{'p50': ..., 'p95': ...} of `values` (empty: {})."""
    if len(values) == 0:
        return {}
    points = np.percentile(np.asarray(values, dtype=np.float64), qs)
    return {f"p{q:g}": round(float(v), 3) for q, v in zip(qs, points, strict=True)}
