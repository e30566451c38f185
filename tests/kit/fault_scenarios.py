"""The fault scenarios, shared by tests/faults and `bench.faults`.

Each scenario builds its own world (a database in the private PostgreSQL cluster, a
Mosquitto on the shipped config, `vigil serve`, one registered device, `vigil edge run`
streaming a colour video at its frame rate), injects one fault while events flow, waits
(bounded) until the cloud has caught up, and returns a `FaultReport`: what the agent
emitted against what the cloud stored. The callers decide what passes.

What the agent emitted: the events it printed (`--print` writes an event only after its
outbox commit), plus, when the agent is killed, the events still in its outbox file
afterwards (committed but perhaps not yet printed). What the cloud stored: the rows of
the `events` table for the device, read with SQL.
"""

from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shared.loopback import wait_until
from shared.messages import ActionEvent, utc_now
from shared.topics import device_topic
from tests.kit.edge import colour_video
from tests.kit.faults import (
    AgentProcess,
    CloudProcess,
    Emitted,
    FaultBroker,
    PgCluster,
    Row,
    fill,
    first_after,
    free_bytes,
    log_times,
    outbox_counter,
    outbox_events,
    reference_events,
    small_filesystem,
    stored_rows,
)

# 8 s per cycle: 8 events, two of them critical (a fall's start and end).
CYCLE: list[tuple[str | tuple[int, int, int], float]] = [
    ("walking", 2.0),
    ("falling", 1.0),
    ("lying_on_floor", 2.0),
    ("sitting_down", 2.0),
    ("no_person", 1.0),
]
BROKER_OUTAGE_S = 15.0  # issue #9
SHORT_OUTAGE_S = 3.0
LATE_S = 2.0  # over MQTT an event is stored within milliseconds; 2 s is late
SETTLE_S = 60.0  # generous: a deadline for waiting, never an assertion on speed


@dataclass
class FaultReport:
    fault: str
    emitted: int
    critical_emitted: int
    stored: int
    lost: int
    critical_lost: int
    duplicated: int
    unexpected: int  # rows of events the agent never emitted
    dropped_by_policy: int
    outage_s: float
    # Restart issued -> the last event the fault made late (stored > LATE_S after it was
    # emitted) is stored: delivery is back to normal. 0: nothing late after the restart.
    recover_s: float | None
    max_lag_s: float | None  # worst emission -> row delay of any event
    details: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key in ("outage_s", "recover_s", "max_lag_s"):
            if out[key] is not None:
                out[key] = round(out[key], 2)
        return out


def tally(
    fault: str,
    emitted: dict[str, Emitted],
    rows: list[Row],
    restarted: float,
    outage_s: float,
    dropped: int = 0,
    reference: list[Emitted] | None = None,
    details: dict[str, Any] | None = None,
) -> FaultReport:
    """Compare emitted events with stored rows (by event_id, and by seq for re-emissions).

    With a `reference` (the decisions a clean run makes), a decision the agent never
    queued (so never printed) counts as lost too: nothing downstream can know of it.
    """
    ids = [r.event_id for r in rows]
    seqs = [r.seq for r in rows]
    by_id = {r.event_id: r for r in rows}
    lost = [e for e in emitted.values() if e.event_id not in by_id]
    never_queued = never_printed(reference, list(emitted.values())) if reference else []
    details = {**(details or {}), "never_queued": len(never_queued)}
    if reference is not None:
        details["reference_events"] = len(reference)
    lost += never_queued
    arrived = [(e, by_id[e.event_id]) for e in emitted.values() if e.event_id in by_id]
    late = [row.received_at for e, row in arrived if row.received_at - e.at > LATE_S]
    return FaultReport(
        fault=fault,
        emitted=len(emitted) + len(never_queued),
        critical_emitted=sum(e.severity == "critical" for e in [*emitted.values(), *never_queued]),
        stored=len(rows),
        lost=len(lost),
        critical_lost=sum(e.severity == "critical" for e in lost),
        duplicated=(len(ids) - len(set(ids))) + (len(seqs) - len(set(seqs))),
        unexpected=len(set(ids) - set(emitted)),
        dropped_by_policy=dropped,
        outage_s=outage_s,
        recover_s=max(0.0, max(late, default=restarted) - restarted) if arrived else None,
        max_lag_s=max((row.received_at - e.at for e, row in arrived), default=None),
        details=details,
    )


def never_printed(reference: list[Emitted], printed: list[Emitted]) -> list[Emitted]:
    """Reference decisions with no printed event of the same type, action and start."""
    left = Counter(e.what for e in printed)
    missing = []
    for e in reference:
        if left[e.what] > 0:
            left[e.what] -= 1
        else:
            missing.append(e)
    return missing


# -- one scenario's world ----------------------------------------------------------------------


class Rig:
    """Broker, cloud and a registered device for one scenario; agents started on demand."""

    def __init__(self, work: Path, pg: PgCluster, model: Path) -> None:
        self.work, self.pg, self.model = work, pg, model
        self.site, self.device = f"s{uuid.uuid4().hex[:8]}", "cam1"
        self.data_dir = work / "edge-data"
        self.agents: list[AgentProcess] = []
        # Event times = this start time + video time: the same decisions in every run.
        self.common_env = {"VIGIL_CAPTURE__START_TIME": utc_now().isoformat()}
        self.database = pg.create_database()
        self.broker = FaultBroker(work / "broker")
        self.cloud = CloudProcess(work, pg.url(self.database), self.broker.cloud_url)
        try:
            self.cloud.start()
            self.token = self.add_device(self.device)
        except BaseException:
            self.close()
            raise

    def add_device(self, device: str) -> str:
        registered = self.cloud.register(self.site, device)
        self.broker.add_password_line(registered["mqtt"]["password_file_line"])
        return str(registered["token"])

    def agent(
        self, video: Path, name: str = "agent", *extra: str, env: dict[str, str] | None = None
    ) -> AgentProcess:
        args = [
            "--source",
            str(video),
            "--model",
            str(self.model),
            "--mqtt",
            self.broker.url,
            "--cloud",
            self.cloud.base_url,
            "--site",
            self.site,
            "--device-id",
            self.device,
            "--data-dir",
            str(self.data_dir),
            "--realtime",
            *extra,
        ]
        secrets = {
            "VIGIL_DEVICE_TOKEN": self.token,
            "VIGIL_MQTT_PASSWORD": self.token,
            "VIGIL_MQTT__USERNAME": self.device,
        }
        agent = AgentProcess(args, {**self.common_env, **secrets, **(env or {})}, self.work, name)
        self.agents.append(agent)
        return agent.start()

    def video(self, cycles: int) -> Path:
        return colour_video(self.work / f"scenario-{cycles}.mp4", CYCLE * cycles)

    def reference(self, video: Path) -> list[Emitted]:
        start = self.common_env["VIGIL_CAPTURE__START_TIME"]
        return reference_events(video, self.model, start, self.work)

    def rows(self, devices: list[str] | None = None) -> list[Row]:
        return stored_rows(self.pg, self.database, devices or [self.device])

    def wait_rows(self, count: int, timeout: float = 30) -> None:
        wait_until(lambda: len(self.rows()) >= count, timeout, f"{count} rows stored")

    def settle(self, ids: set[str], devices: list[str] | None = None, may_miss: int = 0) -> None:
        """Wait (bounded) until all but `may_miss` of `ids` are stored; a timeout is left
        to the tally to show."""
        try:
            wait_until(
                lambda: len(ids - {r.event_id for r in self.rows(devices)}) <= may_miss,
                SETTLE_S,
                "every emitted event stored",
                0.25,
            )
        except TimeoutError:
            pass

    def close(self) -> None:
        for agent in self.agents:
            agent.ensure_stopped()
        self.cloud.stop()
        self.broker.stop()


@contextmanager
def rig(work: Path, pg: PgCluster, model: Path) -> Iterator[Rig]:
    world = Rig(work, pg, model)
    try:
        yield world
    finally:
        world.close()


def by_id(*groups: list[Emitted]) -> dict[str, Emitted]:
    out: dict[str, Emitted] = {}
    for group in groups:
        for e in group:
            out.setdefault(e.event_id, e)
    return out


def sleep_until(t: float) -> None:
    time.sleep(max(0.0, t - time.time()))


# -- 1. the broker is killed and restarted after 15 s --------------------------------------


def broker_killed(world: Rig, saved: bool = True) -> FaultReport:
    video = world.video(cycles=3)
    reference = world.reference(video)
    # Reconnect backoff capped at 5 s (default 30): the agent is back on MQTT within this
    # 24 s video, so its events also cross the restarted broker, not only the HTTP fallback.
    agent = world.agent(video, env={"VIGIL_MQTT__RECONNECT_MAX_S": "5"})
    world.wait_rows(2)
    # A broker that has run longer than its autosave_interval (60 s, shipped config) has
    # the ingest's persistent session on disk; ours is younger, so save it as autosave would.
    if saved:
        world.broker.save()
        time.sleep(0.5)
    killed = time.time()
    world.broker.kill()
    sleep_until(killed + BROKER_OUTAGE_S)
    back = time.time()
    world.broker.start()
    agent.wait(120)
    emitted = by_id(agent.events())
    world.settle(set(emitted))
    return tally(
        "broker killed (SIGKILL), restarted after 15 s",
        emitted,
        world.rows(),
        back,
        back - killed,
        reference=reference,
        details={
            "duplicates_skipped_by_cloud": world.cloud.metric("vigil_ingest_duplicates_total"),
            "events_over_http": world.cloud.metric("vigil_ingest_events_total", "http"),
            "events_over_mqtt": world.cloud.metric("vigil_ingest_events_total", "mqtt"),
            "agent_reconnected_s": first_after(log_times(agent.log, "connected to mqtt"), back),
            "ingest_resubscribed_s": first_after(
                log_times(world.cloud.log_path, "MQTT ingest subscribed"), back
            ),
        },
    )


# -- 2. the cloud service is killed and restarted --------------------------------------------


def cloud_killed(world: Rig) -> FaultReport:
    video = world.video(cycles=2)
    reference = world.reference(video)
    agent = world.agent(video)
    world.wait_rows(2)
    killed = time.time()
    world.cloud.kill()
    time.sleep(SHORT_OUTAGE_S)
    back = time.time()
    world.cloud.start()
    agent.wait(120)
    emitted = by_id(agent.events())
    world.settle(set(emitted))
    return tally(
        "cloud service killed (SIGKILL), restarted",
        emitted,
        world.rows(),
        back,
        back - killed,
        reference=reference,
        details={
            "duplicates_skipped_by_cloud": world.cloud.metric("vigil_ingest_duplicates_total")
        },
    )


# -- 3. the edge agent is killed with SIGKILL and restarted -----------------------------------


def agent_killed(world: Rig) -> FaultReport:
    video = world.video(cycles=2)
    first = world.agent(video, "agent")
    world.wait_rows(2)
    # Hold the broker's PUBACKs for a moment, so that the kill finds events published but
    # unacknowledged: they are still in the outbox, and may also reach the cloud.
    world.broker.pause()
    before = len(first.events())
    try:
        wait_until(lambda: len(first.events()) >= before + 2, 20, "events in flight")
        killed = time.time()
        first.kill()
    finally:
        world.broker.resume()
    queued = outbox_events(world.data_dir / "outbox.sqlite", killed)
    back = time.time()
    second = world.agent(video, "agent-restarted", "--max-seconds", "6")
    second.wait(120)
    in_outbox = queued
    emitted = by_id(first.events(), in_outbox, second.events())
    world.settle(set(emitted))
    printed = {e.event_id for e in first.events()}
    return tally(
        "edge agent killed (SIGKILL), restarted",
        emitted,
        world.rows(),
        back,
        back - killed,
        details={
            "queued_in_outbox_at_kill": len(queued),
            "queued_but_not_printed": sum(e.event_id not in printed for e in in_outbox),
            "duplicates_skipped_by_cloud": world.cloud.metric("vigil_ingest_duplicates_total"),
        },
    )


# -- 4. PostgreSQL restarted under ingest load --------------------------------------------------


class LoadPublisher:
    """QoS 1 events for one more device at `rate`/s through `mosquitto_pub -l` (C client)."""

    def __init__(self, world: Rig, device: str, rate: float) -> None:
        token = world.add_device(device)
        self.world, self.device, self.rate = world, device, rate
        self.ids: list[str] = []
        self._stop = threading.Event()
        self.proc = subprocess.Popen(
            ["mosquitto_pub", "-h", "127.0.0.1", "-p", str(world.broker.port), "-q", "1", "-l"]
            + ["-t", device_topic(world.site, device, "events"), "-u", device, "-P", token]
            + ["-i", f"{device}-{uuid.uuid4().hex[:6]}"],
            stdin=subprocess.PIPE,
            text=True,
        )
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _event(self, seq: int) -> str:
        return ActionEvent(
            event_id=uuid.uuid4(),
            device_id=self.device,
            site=self.world.site,
            type="start",
            action="walking",
            severity="info",
            confidence=0.9,
            started_at=utc_now(),
            model_version="load",
            seq=seq,
        ).model_dump_json()

    def _run(self) -> None:
        assert self.proc.stdin is not None
        started = time.monotonic()
        while not self._stop.is_set():
            due = int((time.monotonic() - started) * self.rate)
            while len(self.ids) < due:
                line = self._event(len(self.ids))
                self.ids.append(line[len('{"event_id":"') :].split('"', 1)[0])
                self.proc.stdin.write(line + "\n")
            self.proc.stdin.flush()
            time.sleep(0.02)

    def start(self) -> LoadPublisher:
        self.thread.start()
        return self

    def stop(self) -> int:
        """Stop and wait for the last PUBACK: exit 0 means every line was acknowledged."""
        self._stop.set()
        self.thread.join(10)
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        return self.proc.wait(60)


def postgres_restarted(world: Rig, load_rate: float = 200.0) -> FaultReport:
    video = world.video(cycles=2)
    reference = world.reference(video)
    agent = world.agent(video)
    world.wait_rows(2)
    load = LoadPublisher(world, "load1", load_rate).start()
    time.sleep(2.0)
    stopped = time.time()
    world.pg.stop("immediate")  # a crash: recovery from the WAL on the next start
    try:
        time.sleep(SHORT_OUTAGE_S)
    finally:
        back = time.time()
        world.pg.start()  # the cluster is shared by the session: always back up
    time.sleep(2.0)
    load_exit = load.stop()
    agent.wait(120)
    emitted = by_id(agent.events())
    load_ids = set(load.ids)
    world.settle(set(emitted))
    world.settle(load_ids, [load.device])
    load_rows = world.rows([load.device])
    load_stored = {r.event_id for r in load_rows}
    return tally(
        "PostgreSQL restarted (immediate stop) under ingest load",
        emitted,
        world.rows(),
        back,
        back - stopped,
        reference=reference,
        details={
            "load_rate_per_s": load_rate,
            "load_published_and_acked": len(load_ids) if load_exit == 0 else 0,
            "load_publisher_exit": load_exit,
            "load_stored": len(load_rows),
            "load_lost": len(load_ids - load_stored),
            "load_duplicated": len(load_rows) - len(load_stored),
        },
    )


# -- 5. the outbox's disk fills up -------------------------------------------------------------

DISK_BYTES = 2 * 1024 * 1024
LEFT_FOR_OUTBOX = 64 * 1024


def outbox_disk_full(world: Rig) -> FaultReport:
    """The outbox lives on a small tmpfs; with the uplink down another writer fills it."""
    video = world.video(cycles=2)
    reference = world.reference(video)
    with small_filesystem(world.data_dir, DISK_BYTES) as how:
        agent = world.agent(
            video,
            # MQTT only: with the broker down nothing else delivers, so the outbox grows.
            env={"VIGIL_HTTP__FALLBACK_AFTER_S": "3600"},
        )
        world.wait_rows(2)
        world.broker.stop()  # the uplink goes (cleanly: not the fault under test)
        down = time.time()
        filler = fill(world.data_dir, LEFT_FOR_OUTBOX)
        full_at, free_when_full = time.time(), free_bytes(world.data_dir)
        wait_until(
            lambda: sum(e.severity == "critical" and e.at > full_at for e in agent.events()) >= 1,
            30,
            "a critical event emitted on the full disk",
        )
        time.sleep(3.0)
        back = time.time()
        world.broker.start()
        agent.wait(120)
        emitted = by_id(agent.events())
        dropped = outbox_counter(world.data_dir / "outbox.sqlite", "dropped")
        # The policy's drops never arrive; a dropped event already in flight still may.
        world.settle(set(emitted), may_miss=dropped)
        details = {
            "capped_by": how,
            "disk_bytes": DISK_BYTES,
            "free_after_filling": free_when_full,
            "filler_bytes": filler.stat().st_size,
            "critical_emitted_on_full_disk": sum(
                e.severity == "critical" and e.at > full_at for e in emitted.values()
            ),
            "agent_errors_logged": agent.log.read_text(errors="replace").count(" ERROR "),
        }
        return tally(
            "outbox disk full (uplink down)",
            emitted,
            world.rows(),
            back,
            back - down,
            dropped=dropped,
            reference=reference,
            details=details,
        )


SCENARIOS: dict[str, Callable[[Rig], FaultReport]] = {
    "broker_killed": broker_killed,
    "cloud_killed": cloud_killed,
    "agent_killed": agent_killed,
    "postgres_restarted": postgres_restarted,
    "outbox_disk_full": outbox_disk_full,
}
