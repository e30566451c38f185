"""Real processes for the fault-injection tests and `bench.faults`, all on 127.0.0.1.

- `PgCluster`: a PostgreSQL cluster of our own (initdb into a temporary folder, its own
  port, no Unix socket), run as the `postgres` user when we are root; never the machine's
  shared cluster, so that stopping it disturbs nobody.
- `Broker` (tests.kit.deploy): Mosquitto on the shipped config, ACL and limits, with
  authentication; here killed, paused and restarted.
- `CloudProcess`: `vigil serve` in its own process, as deployed (a persistent MQTT session
  for the ingest, as in docker-compose.yml), killed with SIGKILL and started again.
- `AgentProcess`: `vigil edge run` in its own process; every event it prints is stamped
  with the wall-clock time it was read.

Nothing here decides whether a fault was survived: `tests.kit.fault_scenarios` does.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg

from shared.loopback import free_port, port_open, wait_until
from tests.kit.deploy import CLOUD_USER, Broker, start_broker
from tests.kit.mosquitto import find_tool
from tests.kit.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
PG_USER = "postgres"


class FaultSetupError(RuntimeError):
    """A service the scenario needs could not be started (not a fault under test)."""


# -- PostgreSQL ---------------------------------------------------------------------------


def pg_bin_dir() -> Path | None:
    """The newest installed PostgreSQL's bin folder (Debian layout), or None."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return found[-1].parent if found else None


class PgCluster:
    """A private cluster: `start`, `stop(mode)` and `start` again is a database restart."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin = bin_dir
        self.port = free_port()
        self.base = Path(os.path.realpath(_tempdir("vigil-faults-pg-")))
        self.data = self.base / "data"
        self.log = self.base / "postgres.log"
        self._as_user: list[str] = []
        if os.geteuid() == 0:  # postgres refuses to run as root
            entry = pwd.getpwnam(PG_USER)
            os.chown(self.base, entry.pw_uid, entry.pw_gid)
            self._as_user = ["runuser", "-u", PG_USER, "--"]

    def _run(self, *args: str, timeout: float = 60) -> None:
        done = subprocess.run(
            [*self._as_user, *args], capture_output=True, text=True, timeout=timeout
        )
        if done.returncode != 0:
            raise FaultSetupError(f"{args[0]} failed: {done.stdout}{done.stderr}")

    def init(self) -> PgCluster:
        self._run(
            str(self.bin / "initdb"),
            "-D",
            str(self.data),
            "-U",
            PG_USER,
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-instructions",
            "--no-sync",  # a throw-away cluster: no need to wait for the disk
        )
        return self

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -c unix_socket_directories=''"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash (recovery on the next start); `fast` a clean shutdown."""
        self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def running(self) -> bool:
        return port_open(self.port)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{PG_USER}@127.0.0.1:{self.port}/{database}"

    def dsn(self, database: str = "postgres") -> str:
        return f"host=127.0.0.1 port={self.port} user={PG_USER} dbname={database}"

    def create_database(self) -> str:
        name = f"vigil_faults_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.dsn(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return name

    def destroy(self) -> None:
        if self.running():
            self.stop("immediate")
        shutil.rmtree(self.base, ignore_errors=True)


def _tempdir(prefix: str) -> str:
    """A folder in /tmp itself: pytest's own are 0700 and the postgres user cannot enter."""
    import tempfile

    return tempfile.mkdtemp(prefix=prefix, dir="/tmp")


@dataclass(frozen=True)
class Row:
    event_id: str
    seq: int
    severity: str
    received_at: float  # epoch seconds


def stored_rows(pg: PgCluster, database: str, device_ids: list[str]) -> list[Row]:
    """Every event row the cloud stored for these devices, straight from the database."""
    with psycopg.connect(pg.dsn(database)) as conn:
        rows = conn.execute(
            "SELECT event_id, seq, severity, received_at FROM events WHERE device_id = ANY(%s)",
            (device_ids,),
        ).fetchall()
    return [Row(str(r[0]), int(r[1]), str(r[2]), _epoch(r[3])) for r in rows]


def _epoch(value: datetime) -> float:
    return value.timestamp()


# -- Mosquitto (the shipped config) -------------------------------------------------------


class FaultBroker:
    """The deploy harness's broker plus the faults: SIGKILL, pause, resume, save."""

    def __init__(self, base: Path) -> None:
        if find_tool("mosquitto") is None:
            raise FaultSetupError("mosquitto is not installed (apt-get install mosquitto)")
        base.mkdir(parents=True, exist_ok=True)
        self.cloud_password = secrets.token_urlsafe(24)
        self.broker: Broker = start_broker(base, {CLOUD_USER: self.cloud_password})

    @property
    def port(self) -> int:
        return self.broker.port

    @property
    def url(self) -> str:
        return self.broker.url

    @property
    def cloud_url(self) -> str:
        return f"mqtt://{CLOUD_USER}:{self.cloud_password}@127.0.0.1:{self.port}"

    def add_password_line(self, line: str) -> None:
        with self.broker.passwd.open("a") as fh:
            fh.write(line.rstrip("\n") + "\n")
        self.broker.reload()

    def _signal(self, sig: signal.Signals) -> None:
        assert self.broker.process is not None and self.broker.process.poll() is None
        self.broker.process.send_signal(sig)

    def save(self) -> None:
        """SIGUSR1: write the persistence database now (mosquitto(8)), as autosave would."""
        self._signal(signal.SIGUSR1)

    def kill(self) -> None:
        assert self.broker.process is not None
        self.broker.process.kill()
        self.broker.process.wait(10)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def start(self) -> None:
        self.broker.start()

    def stop(self) -> None:
        if self.broker.process is not None and self.broker.process.poll() is None:
            self.broker.process.send_signal(signal.SIGCONT)  # a paused broker cannot stop
        self.broker.stop()


# -- the cloud service ----------------------------------------------------------------------


class CloudProcess:
    """`vigil serve --no-worker` as deployed; `kill()` then `start()` is a crash and restart."""

    def __init__(self, work: Path, database_url: str, mqtt_url: str) -> None:
        self.work = work
        self.port = free_port()
        self.admin_token = secrets.token_urlsafe(32)
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "VIGIL_ENV": "production",
            "VIGIL_ADMIN_TOKEN": self.admin_token,
            "DATABASE_URL": database_url,
            "VIGIL_MQTT_URL": mqtt_url,
            "VIGIL_MQTT_TOPIC_ROOT": "vigil",
            # docker-compose.yml: a persistent session, the broker queues while we are down.
            "VIGIL_MQTT_CLIENT_ID": f"vigil-ingest-{uuid.uuid4().hex[:6]}",
            "VIGIL_DATA_DIR": str(work / "cloud-data"),
            "VIGIL_PUBLIC_BASE_URL": self.base_url,
        }
        self.log_path = work / "cloud.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "shared", "serve", "--host", "127.0.0.1"]
                + ["--port", str(self.port), "--no-worker"],
                env=self.env,
                cwd=self.work,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._ready, timeout, "vigil serve to be ready", 0.1)

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise FaultSetupError(f"vigil serve exited:\n{self.log_tail()}")
        try:
            return httpx.get(self.base_url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None:
            stop_process(self.proc, grace_s=30)

    def register(self, site: str, device: str) -> dict[str, Any]:
        """POST /api/v1/devices: the device's token and its Mosquitto password line."""
        response = httpx.post(
            self.base_url + "/api/v1/devices",
            json={"device_id": device, "site": site},
            headers={"Authorization": f"Bearer {self.admin_token}"},
            timeout=30,
        )
        response.raise_for_status()
        return dict(response.json())

    def metric(self, name: str, source: str | None = None) -> float:
        """A Prometheus counter summed over its labels, or one `source` (0 when absent).

        Counters start again at 0 when the service restarts.
        """
        text = httpx.get(self.base_url + "/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            if not (line.startswith(name + "{") or line.startswith(name + " ")):
                continue
            if source is None or f'source="{source}"' in line:
                total += float(line.rpartition(" ")[2])
        return total


# -- the edge agent -------------------------------------------------------------------------


@dataclass(frozen=True)
class Emitted:
    """An event the agent printed (it prints after the outbox commit), and when we read it."""

    event_id: str
    seq: int
    severity: str
    at: float  # epoch seconds
    what: tuple[str, str, str] = ("", "", "")  # type, action, started_at: the decision

    @classmethod
    def from_json(cls, event: dict[str, Any], at: float) -> Emitted:
        what = (event["type"], event["action"], event["started_at"])
        return cls(event["event_id"], event["seq"], event["severity"], at, what)


@dataclass
class AgentProcess:
    """`vigil edge run ... --print` in its own process, stdout read line by line."""

    args: list[str]
    env: dict[str, str]
    work: Path
    name: str = "agent"
    proc: subprocess.Popen[str] | None = None
    printed: list[Emitted] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self) -> AgentProcess:
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "shared", "edge", "run", *self.args, "--print"],
            cwd=self.work,
            env={**os.environ, "PYTHONPATH": str(REPO), **self.env},
            text=True,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        log.close()
        threading.Thread(target=self._read, args=(self.proc,), daemon=True).start()
        return self

    def _read(self, proc: subprocess.Popen[str]) -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if not line.startswith("{"):
                continue
            event = Emitted.from_json(json.loads(line), time.time())
            with self._lock:
                self.printed.append(event)

    def events(self) -> list[Emitted]:
        with self._lock:
            return list(self.printed)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def wait(self, timeout: float) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def ensure_stopped(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    @property
    def log(self) -> Path:
        return self.work / f"{self.name}.log"

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def reference_events(source: Path, model: Path, start_time: str, work: Path) -> list[Emitted]:
    """The decisions the agent makes on this source: one run in this process, printing only.

    Event times are the video's own (`capture.start_time` plus frame time), so a run with
    the same start time and settings yields the same events: the known set to count.
    """
    import io

    from edge.agent import Agent
    from edge.config import load_settings

    settings = load_settings(
        None, data_dir=work / "reference-data", capture={"start_time": start_time}
    )
    printed = io.StringIO()
    Agent(settings, str(source), model, printed).run(max_seconds=120)
    lines = printed.getvalue().splitlines()
    return [Emitted.from_json(json.loads(line), 0.0) for line in lines]


def outbox_events(path: Path, at: float) -> list[Emitted]:
    """Every event still queued in an outbox file (stamped `at`: when we looked)."""
    conn = sqlite3.connect(str(path))
    try:
        rows = conn.execute("SELECT payload FROM outbox WHERE kind = 'event'").fetchall()
    finally:
        conn.close()
    return [Emitted.from_json(json.loads(payload), at) for (payload,) in rows]


def outbox_counter(path: Path, name: str) -> int:
    conn = sqlite3.connect(str(path))
    try:
        row = conn.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()
    finally:
        conn.close()
    return int(row[0]) if row else 0


# -- a size-capped folder ---------------------------------------------------------------------


@contextmanager
def small_filesystem(path: Path, size_bytes: int) -> Iterator[str]:
    """A tmpfs of `size_bytes` mounted at `path`; yields how ("tmpfs")."""
    path.mkdir(parents=True, exist_ok=True)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        raise FaultSetupError(f"cannot mount a tmpfs at {path}: {mounted.stderr.strip()}")
    try:
        yield "tmpfs"
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave_bytes: int) -> Path:
    """Another writer takes the disk: a file that leaves only `leave_bytes` free."""
    filler = path / "filler.bin"
    size = max(0, free_bytes(path) - leave_bytes)
    with filler.open("wb") as fh:
        fh.write(b"\0" * size)
    return filler


def log_times(path: Path, needle: str) -> list[float]:
    """Epoch times of the log lines (shared.cli's format) that contain `needle`."""
    if not path.exists():
        return []
    times = []
    for line in path.read_text(errors="replace").splitlines():
        if needle in line:
            try:
                stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
            except ValueError:
                continue
            times.append(stamp.timestamp())
    return times


def first_after(times: list[float], t: float) -> float | None:
    """Seconds from `t` to the first of `times` after it (None: never)."""
    later = [x for x in times if x >= t]
    return round(min(later) - t, 2) if later else None
