"""Schemathesis over the service's own OpenAPI schema, one operation at a time.

Every operation gets valid (positive) and invalid (negative) requests, sent over real HTTP
as a caller allowed to reach its handler (a device on the device's routes, else the
admin), so the handler and the database see the input, not just the auth check. Checks:
no 5xx, and each answer whose status the schema documents matches its schema and media
type. Used by `test_api_fuzz.py` (a few examples each) and `bench/bad_inputs.py` (more).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

# The SSE stream never ends by itself; the auth matrix and the live tests cover it.
SKIPPED = {("GET", "/api/v1/stream")}
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# Routes only a device may call: fuzzed with a device token, or they stop at the 403.
DEVICE_ROUTES = {
    ("POST", "/api/v1/events"),
    ("POST", "/api/v1/clips"),
    ("POST", "/api/v1/devices/{device_id}/heartbeat"),
}


@dataclass(frozen=True)
class Caller:
    """Who calls an operation, and path parameters that name its own things (or {})."""

    headers: dict[str, str]
    path_parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class OperationResult:
    """What one operation answered: counts by class and the distinct failures."""

    operation: str
    tried: int = 0
    rejected: int = 0  # 4xx
    server_errors: int = 0  # 5xx
    failures: list[str] = field(default_factory=list)

    def record(self, status: int) -> None:
        self.tried += 1
        self.rejected += 400 <= status < 500
        self.server_errors += status >= 500

    def fail(self, message: str) -> None:
        if message not in self.failures:
            self.failures.append(message)


def fuzz_examples(default: int) -> int:
    """Examples per operation (or MQTT messages): `VIGIL_FUZZ_EXAMPLES`, else `default`."""
    return int(os.environ.get("VIGIL_FUZZ_EXAMPLES", default))


def caller_for(callers: Any) -> Callable[[str, str], Caller]:
    """The admin, or on the device routes the device (on its own path)."""

    def pick(method: str, path: str) -> Caller:
        if (method, path) not in DEVICE_ROUTES:
            return Caller(callers.admin)
        own = {"device_id": callers.device.id} if "{device_id}" in path else {}
        return Caller(callers.device.headers, own)

    return pick


def load_schema(raw: dict[str, Any]) -> Any:
    schema = schemathesis.openapi.from_dict(raw)
    # The caller's token is set per operation; a generated one would only spend the
    # sign-in limit of 127.0.0.1 (bad tokens are the auth tests' business).
    schema.config.generation.update(with_security_parameters=False)
    return schema


def fuzz_api(
    base_url: str,
    raw_schema: dict[str, Any],
    caller_for: Callable[[str, str], Caller],
    examples: int,
    derandomize: bool = True,
) -> list[OperationResult]:
    """Fuzz every operation of `raw_schema` with `examples` cases per mode."""
    results = []
    for found in load_schema(raw_schema).get_all_operations():
        operation = found.ok()
        method, path = operation.method.upper(), operation.path
        if (method, path) in SKIPPED:
            continue
        result = OperationResult(f"{method} {path}")
        caller = caller_for(method, path)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_mode(operation, mode, base_url, caller, examples, derandomize, result)
        results.append(result)
    return results


def _fuzz_mode(
    operation: Any,
    mode: GenerationMode,
    base_url: str,
    caller: Caller,
    examples: int,
    derandomize: bool,
    result: OperationResult,
) -> None:
    headers = caller.headers
    strategy = operation.as_strategy(
        generation_mode=mode, headers=headers, path_parameters=caller.path_parameters
    )

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # every failure is kept, none shrunk
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, headers=headers, timeout=30)
        result.record(response.status_code)
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except BaseException as exc:  # schemathesis raises an ExceptionGroup
            result.fail(f"{mode.value}: {_first_line(exc)}\n{case.as_curl_command()}")

    try:
        run()
    except Unsatisfiable:  # an operation without parameters has no invalid input
        pass


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return " ".join(line.strip() for line in text[:6])
