"""The service the security checks run against: real uvicorn, PostgreSQL and Mosquitto,
one per module, with an admin, a viewer and two devices to call it as."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kit.security import Callers, Server, make_callers, running_service


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
