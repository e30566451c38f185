"""escalation channels and alert severities

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04

Escalation channels: an alert nobody acknowledges in time now escalates on every
dashboard whether or not a webhook is configured: `alerts.escalated_at` is when that
happened, `alerts.notified_at` when the webhook took it (before this revision the two were
one column, set on delivery). Each escalation row names its channel; a dashboard
escalation has no URL.

Alert severities: a room that goes dark (`device_offline`, `camera_fault`) opens a
`warning` alert; every alert before this revision was a `critical` one.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from cloud.service.db.types import UtcDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("notified_at", UtcDateTime(), nullable=True))
        batch_op.add_column(
            sa.Column("severity", sa.String(length=16), server_default="critical", nullable=False)
        )
    op.execute("UPDATE alerts SET notified_at = escalated_at")
    with op.batch_alter_table("alert_escalations", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("channel", sa.String(length=16), server_default="webhook", nullable=False)
        )
        batch_op.alter_column("url", existing_type=sa.String(length=2048), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM alert_escalations WHERE url IS NULL")
    with op.batch_alter_table("alert_escalations", schema=None) as batch_op:
        batch_op.alter_column("url", existing_type=sa.String(length=2048), nullable=False)
        batch_op.drop_column("channel")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("severity")
        batch_op.drop_column("notified_at")
