"""Schemathesis against the running service: no 5xx, answers as the schema documents."""

from __future__ import annotations

import httpx
import pytest

from tests.kit.api_fuzz import caller_for, fuzz_api, fuzz_examples
from tests.kit.security import Callers, Server

pytestmark = pytest.mark.services


def test_no_operation_answers_5xx_or_off_schema(fuzz_server: Server, fuzz_callers: Callers) -> None:
    raw = httpx.get(f"{fuzz_server.base_url}/api/v1/openapi.json", timeout=30).json()
    results = fuzz_api(
        fuzz_server.base_url, raw, caller_for(fuzz_callers), examples=fuzz_examples(8)
    )
    assert len(results) >= 30, "the schema lost its operations"
    assert sum(r.tried for r in results) >= len(results) * 2
    failures = [f"{r.operation}: {f}" for r in results for f in r.failures]
    assert not failures, "\n\n".join(failures)
    assert sum(r.server_errors for r in results) == 0
