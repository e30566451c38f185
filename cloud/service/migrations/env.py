"""Alembic environment: run with the connection the service hands over (see db.session)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from cloud.service.db.tables import Base

config = context.config
target_metadata = Base.metadata


def run_with(connection) -> None:  # alembic's Connection
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite cannot ALTER much
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_with(connection)
        return
    # `alembic -x url=...` from the command line, e.g. to draft a new migration.
    url = context.get_x_argument(as_dictionary=True)["url"]
    with create_engine(url).begin() as conn:
        run_with(conn)


if context.is_offline_mode():
    raise SystemExit("offline (SQL script) migrations are not supported; run them online")
run_migrations_online()
