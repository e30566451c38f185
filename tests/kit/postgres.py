"""Throw-away PostgreSQL databases beside an admin URL's, for the tests and the benchmarks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy.engine import make_url


def create_postgres_database(admin_url: str, prefix: str = "vigil_test") -> str:
    """A fresh database beside `admin_url`'s; returns its SQLAlchemy URL."""
    url = make_url(admin_url)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(url), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(db_url: str) -> None:
    url = make_url(db_url)
    with psycopg.connect(_libpq(url.set(database="postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


@contextmanager
def postgres_database(admin_url: str, prefix: str = "vigil_test") -> Iterator[str]:
    """A fresh database beside `admin_url`'s for the `with` block, dropped afterwards."""
    db_url = create_postgres_database(admin_url, prefix)
    try:
        yield db_url
    finally:
        drop_postgres_database(db_url)


def _libpq(url: Any) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
