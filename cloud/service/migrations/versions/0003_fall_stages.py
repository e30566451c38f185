"""two-stage fall alerts

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

A fall now opens its alert as `possible` (a warning) and the edge either confirms it
(critical, `confirmed_at`) or ends it as `recovered`. `alerts.stage` records where the
episode stands; alerts from before this revision, and those of one stage, have none.
Events keep the stage they carried and when the edge decided it (`stage`, `stage_at`).
`alerts.outcome` is the answer to "What happened?" given when acknowledging.

Escalation stage 3: `alerts.oncall_at` is when the on-call contact took an alert still
unanswered after its escalation (`oncall_attempted_at`: the last try).

The learning phase: `devices.score_history` keeps each room's window fall scores, and
`calibrations` each threshold set from them.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cloud.service.db.types import BigId, UtcDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("score_history", sa.JSON(), nullable=True))
    op.create_table(
        "calibrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.String(length=64), nullable=False),
        sa.Column("at", UtcDateTime(), nullable=False),
        sa.Column("by", sa.String(length=200), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("previous", sa.Float(), nullable=True),
        sa.Column("budget_per_week", sa.Float(), nullable=False),
        sa.Column("expected_per_week", sa.Float(), nullable=False),
        sa.Column("reachable", sa.Boolean(), nullable=False),
        sa.Column("windows", BigId, nullable=False),
        sa.Column("observed_s", sa.Float(), nullable=False),
        sa.Column("command_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_calibrations_device_id", "calibrations", ["device_id"])
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("stage_at", UtcDateTime(), nullable=True))
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stage", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("confirmed_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("outcome", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("oncall_attempted_at", UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column("oncall_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    op.drop_index("ix_calibrations_device_id", table_name="calibrations")
    op.drop_table("calibrations")
    with op.batch_alter_table("devices", schema=None) as batch_op:
        batch_op.drop_column("score_history")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("oncall_at")
        batch_op.drop_column("oncall_attempted_at")
        batch_op.drop_column("outcome")
        batch_op.drop_column("confirmed_at")
        batch_op.drop_column("stage")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_column("stage_at")
        batch_op.drop_column("stage")
