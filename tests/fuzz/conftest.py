"""The fuzzers' service: one real `vigil serve` (PostgreSQL, Mosquitto) per module.

`VIGIL_FUZZ_EXAMPLES` sets the examples per operation and mode (CI: a few; the long run,
`python -m bench.bad_inputs`, many more).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.kit.security import Callers, Server, make_callers, running_service


@pytest.fixture(scope="module")
def fuzz_server(
    postgres_url: str, mqtt_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    with running_service(postgres_url, mqtt_url, tmp_path_factory.mktemp("fuzz")) as server:
        yield server


@pytest.fixture(scope="module")
def fuzz_callers(fuzz_server: Server) -> Callers:
    return make_callers(fuzz_server)
