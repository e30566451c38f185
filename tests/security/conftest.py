"""The service the security checks run against: real uvicorn, PostgreSQL and Mosquitto,
one per module, with an admin, a viewer and two devices to call it as."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path[:0] = [
    str(Path(__file__).resolve().parent),
    str(Path(__file__).resolve().parents[1] / "fuzz"),
]

from security_harness import Callers, Server, make_callers, running_service  # noqa: E402


@pytest.fixture(scope="module")
def secure_server(
    request: pytest.FixtureRequest,
    postgres_url: str,
    mqtt_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Server]:
    """A module may set `SERVER_SETTINGS` (a dict of Settings fields) for its server."""
    overrides = getattr(request.module, "SERVER_SETTINGS", {})
    data = tmp_path_factory.mktemp("secure") / "data"
    with running_service(postgres_url, mqtt_url, data, **overrides) as server:
        yield server


@pytest.fixture(scope="module")
def callers(secure_server: Server) -> Callers:
    return make_callers(secure_server)
