"""Fixtures for the edge tests: the colour model on disk, a recording cloud, a signer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.kit.edge import CloudStub, Signer, colour_model


@pytest.fixture(scope="session")
def model_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("model") / "student.onnx"
    path.write_bytes(colour_model("test-1"))
    return path


@pytest.fixture
def cloud() -> Iterator[CloudStub]:
    stub = CloudStub().start()
    yield stub
    stub.stop()


@pytest.fixture(scope="session")
def signer() -> Signer:
    return Signer()
