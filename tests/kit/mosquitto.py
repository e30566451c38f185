"""Private Mosquittos on 127.0.0.1 for the tests and the benchmarks: one process, three configs.

- `Mosquitto`: anonymous or with password users, never dropping a queued message (the
  edge tests, which stop and start it for an outage);
- `tests.kit.deploy.Broker`: deploy/mosquitto/mosquitto.conf as shipped, only its paths
  and port rewritten (the deploy and fault tests);
- `mosquitto()`: the shipped delivery limits, anonymous, for a `with` block (the benchmarks).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Self

from shared.loopback import free_port, port_open
from tests.kit.outcomes import missing, wait_for
from tests.kit.processes import stop_process

REPO = Path(__file__).resolve().parents[2]
# Delivery limits of the shipped broker config (deploy/mosquitto/mosquitto.conf): the
# defaults (1000 queued, 20 in flight) drop QoS 1 messages for a subscriber that lags.
SHIPPED_CONF = REPO / "deploy" / "mosquitto" / "mosquitto.conf"
MAX_QUEUED_MESSAGES = 1_000_000
MAX_QUEUED_BYTES = 536_870_912
MAX_INFLIGHT_MESSAGES = 500


def find_tool(name: str) -> str | None:
    """A Mosquitto tool on PATH or in the Debian locations (/usr/sbin is often off PATH)."""
    return shutil.which(name) or next(
        (p for p in (f"/usr/sbin/{name}", f"/usr/bin/{name}") if Path(p).exists()), None
    )


def add_users(passwd: Path, users: dict[str, str]) -> None:
    """Append password-file lines made by the real `mosquitto_passwd -b`."""
    tool = find_tool("mosquitto_passwd")
    if tool is None:
        missing("mosquitto_passwd is not installed (apt-get install mosquitto)")
    if not passwd.exists():
        passwd.write_text("")
    for user, password in users.items():
        subprocess.run([tool, "-b", str(passwd), user, password], check=True, timeout=10)


def stay_root() -> list[str]:
    """Started as root, Mosquitto switches to its own user, which cannot open files in
    pytest's private temporary folders: a throw-away broker stays root."""
    return ["user root"] if os.geteuid() == 0 else []


class MosquittoProcess:
    """`mosquitto -c WORKDIR/mosquitto.conf` on its own port, logging to WORKDIR/mosquitto.log.

    `config()` says what it runs. `stop()` then `start()` is an outage: the port stays,
    and with persistence the retained messages and the queues.
    """

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.process: subprocess.Popen[bytes] | None = None

    def config(self) -> str:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    @property
    def conf(self) -> Path:
        return self.workdir / "mosquitto.conf"

    @property
    def log(self) -> Path:
        return self.workdir / "mosquitto.log"

    def start(self) -> Self:
        binary = find_tool("mosquitto")
        if binary is None:
            missing("mosquitto is not installed (apt-get install mosquitto)")
        self.conf.write_text(self.config())
        with self.log.open("ab") as log:
            process = subprocess.Popen([binary, "-c", str(self.conf)], stdout=log, stderr=log)
        self.process = process
        wait_for(lambda: port_open(self.port) or process.poll() is not None, 10, "mosquitto")
        if process.poll() is not None:
            raise RuntimeError(f"mosquitto exited: {self.log.read_text(errors='replace')}")
        return self

    def reload(self) -> None:
        """SIGHUP: Mosquitto rereads its password file and ACL (mosquitto(8))."""
        assert self.process is not None
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, grace_s=15)  # Mosquitto saves its database on SIGTERM

    def restart(self) -> None:
        self.stop()
        self.start()


class Mosquitto(MosquittoProcess):
    """Anonymous, or only password `users`; never drops a queued QoS 1 message."""

    def __init__(
        self, workdir: Path, persistence: bool = False, users: dict[str, str] | None = None
    ) -> None:
        super().__init__(workdir)
        self.persistence = persistence
        self.auth = ["allow_anonymous true"]
        if users:
            add_users(workdir / "passwd", users)
            self.auth = ["allow_anonymous false", f"password_file {workdir / 'passwd'}"]

    def config(self) -> str:
        lines = [
            *stay_root(),
            f"listener {self.port} 127.0.0.1",
            *self.auth,
            # 0 = no limit: never drop queued QoS 1 messages (DESIGN.md, Real services).
            "max_queued_messages 0",
            "max_inflight_messages 0",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "log_dest stdout",
        ]
        return "\n".join(lines) + "\n"


class ShippedLimitsMosquitto(MosquittoProcess):
    """The shipped broker's delivery limits, anonymous, no persistence (the benchmarks)."""

    def __init__(self, workdir: Path, max_inflight: int = MAX_INFLIGHT_MESSAGES) -> None:
        super().__init__(workdir)
        self.max_inflight = max_inflight

    def config(self) -> str:
        lines = [
            f"# bench broker; limits as in {SHIPPED_CONF.relative_to(REPO)}",
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            "persistence false",
            f"max_queued_messages {MAX_QUEUED_MESSAGES}",
            f"max_queued_bytes {MAX_QUEUED_BYTES}",
            f"max_inflight_messages {self.max_inflight}",
            "queue_qos0_messages false",
            "max_packet_size 1048576",
            "set_tcp_nodelay true",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        return "\n".join(lines) + "\n"


@contextmanager
def mosquitto(max_inflight: int = MAX_INFLIGHT_MESSAGES) -> Iterator[str]:
    """A `ShippedLimitsMosquitto` in a folder of its own, removed afterwards; yields its URL."""
    with tempfile.TemporaryDirectory(prefix="vigil-bench-mqtt-") as work:
        broker = ShippedLimitsMosquitto(Path(work), max_inflight).start()
        try:
            yield broker.url
        finally:
            broker.stop()
