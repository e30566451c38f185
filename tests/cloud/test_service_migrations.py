"""The migrations build exactly the tables the models describe, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from cloud.service.db.session import make_engine, migrate
from cloud.service.db.tables import Base
from tests.kit.service import database_for


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    for url in database_for(
        request.param, tmp_path, lambda: request.getfixturevalue("postgres_url")
    ):
        engine = make_engine(url)
        yield engine
        engine.dispose()


def test_migrations_match_the_models_and_run_twice(engine: Engine, tmp_path: Path) -> None:
    migrate(engine, tmp_path)
    migrate(engine, tmp_path)  # a second start finds nothing to do
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata
        )
    assert diff == []
    tables = set(inspect(engine).get_table_names())
    assert set(Base.metadata.tables) | {"alembic_version"} == tables
