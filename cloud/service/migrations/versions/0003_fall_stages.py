"""two-stage fall alerts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

A fall now opens its alert as `possible` (a warning) and the edge either confirms it
(critical, `confirmed_at`) or ends it as `recovered`. `alerts.stage` records where the
episode stands; alerts from before this revision, and those of one stage, have none.
Events keep the stage they carried and when the edge decided it (`stage`, `stage_at`).
`alerts.outcome` is the answer to "What happened?" given when acknowledging.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cloud.service.db.types import UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("stage_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("outcome")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("stage")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("stage_at")
        batch_op.drop_column("stage")
