"""Faults survived, with real processes: while `vigil edge run` streams a colour video into
`vigil serve` (through Mosquitto on the shipped config, into a PostgreSQL cluster of our
own), one thing fails. Every event the agent emitted is counted against the rows stored.

Recovery times are reported (bench/faults.py writes them), never asserted: the machine is
shared. The scenarios themselves are in fault_scenarios.py.
"""

from __future__ import annotations

import json

import pytest

from tests.kit.fault_scenarios import (
    FaultReport,
    Rig,
    agent_killed,
    broker_killed,
    cloud_killed,
    outbox_disk_full,
    postgres_restarted,
)

pytestmark = [pytest.mark.services, pytest.mark.slow]


def shown(report: FaultReport) -> str:
    return json.dumps(report.as_dict(), indent=1)


def assert_nothing_lost(report: FaultReport) -> None:
    """A known number of events, a fall among them; every one stored exactly once."""
    assert report.emitted >= 8 and report.critical_emitted >= 2, shown(report)
    assert report.details.get("never_queued", 0) == 0, shown(report)
    assert report.lost == 0 and report.critical_lost == 0, shown(report)
    assert report.duplicated == 0 and report.unexpected == 0, shown(report)
    assert report.stored == report.emitted, shown(report)


def test_broker_killed_and_restarted_after_15_s_loses_nothing(world: Rig) -> None:
    report = broker_killed(world)
    assert_nothing_lost(report)
    assert report.details["reference_events"] == report.emitted  # the whole video's events


def test_cloud_service_killed_and_restarted_loses_nothing(world: Rig) -> None:
    report = cloud_killed(world)
    assert_nothing_lost(report)
    assert report.details["reference_events"] == report.emitted


def test_agent_killed_with_sigkill_redelivers_its_outbox_after_restart(world: Rig) -> None:
    report = agent_killed(world)
    assert_nothing_lost(report)
    # The kill found events published but not yet acknowledged: the outbox had work to do.
    assert report.details["queued_in_outbox_at_kill"] >= 1, shown(report)


def test_postgres_restarted_under_ingest_load_loses_nothing(world: Rig) -> None:
    report = postgres_restarted(world)
    assert_nothing_lost(report)
    load = report.details
    assert load["load_publisher_exit"] == 0, shown(report)  # every load event acknowledged
    assert load["load_published_and_acked"] >= 1000, shown(report)
    assert load["load_lost"] == 0 and load["load_duplicated"] == 0, shown(report)
    assert load["load_stored"] == load["load_published_and_acked"], shown(report)


def test_outbox_disk_full_drops_only_counted_non_critical_events(
    tmpfs_available: None, world: Rig
) -> None:
    report = outbox_disk_full(world)
    assert report.details["critical_emitted_on_full_disk"] >= 1, shown(report)
    assert report.details["never_queued"] == 0, shown(report)  # every decision was queued
    assert report.details["agent_errors_logged"] == 0, shown(report)
    assert report.dropped_by_policy >= 1, shown(report)  # the policy did engage
    # Lost: only what the policy dropped and counted (a dropped event already in flight
    # may still arrive), and nothing critical.
    assert report.lost <= report.dropped_by_policy, shown(report)
    assert report.critical_lost == 0, shown(report)
    assert report.duplicated == 0 and report.unexpected == 0, shown(report)
