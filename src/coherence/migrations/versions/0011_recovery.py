"""Recovery: restoration plans, steps and gates; spares and vendor contracts.

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "recovery_contracts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("vendor", sa.String(length=64), nullable=False),
        sa.Column("response_hours", sa.Float(), nullable=False),
        sa.Column("repair_hours", sa.Float(), nullable=False),
        sa.Column("windows", sa.JSON(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("loaded_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_contracts")),
        sa.UniqueConstraint("vendor", name=op.f("uq_recovery_contracts_vendor")),
    )
    op.create_table(
        "recovery_readings",
        sa.Column("asset", sa.String(length=64), nullable=False),
        sa.Column("metric", sa.String(length=64), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("numeric", sa.Float(), nullable=True),
        sa.Column("unit", sa.String(length=32), nullable=False),
        sa.Column("at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("asset", "metric", name=op.f("pk_recovery_readings")),
    )
    op.create_table(
        "recovery_spares",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("part", sa.String(length=64), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("fits", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("loaded_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_spares")),
        sa.UniqueConstraint("site", "part", name=op.f("uq_recovery_spares_site")),
    )
    op.create_table(
        "recovery_plans",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("roots", sa.JSON(), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("eta_hours", sa.Float(), nullable=True),
        sa.Column("waves", sa.Integer(), nullable=False),
        sa.Column("began_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_recovery_plans_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_plans")),
        sa.UniqueConstraint("incident_id", "version", name=op.f("uq_recovery_plans_incident_id")),
    )
    op.create_index(
        op.f("ix_recovery_plans_incident_id"), "recovery_plans", ["incident_id"], unique=False
    )
    op.create_table(
        "recovery_steps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("asset", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=48), nullable=False),
        sa.Column("criticality", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("wave", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("waits_for", sa.JSON(), nullable=False),
        sa.Column("notes", sa.JSON(), nullable=False),
        sa.Column("duration_hours", sa.Float(), nullable=False),
        sa.Column("part", sa.JSON(), nullable=True),
        sa.Column("start_hours", sa.Float(), nullable=True),
        sa.Column("finish_hours", sa.Float(), nullable=True),
        sa.Column("gates", sa.JSON(), nullable=False),
        sa.Column("rollback_point", sa.JSON(), nullable=True),
        sa.Column("started_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["recovery_plans.id"],
            name=op.f("fk_recovery_steps_plan_id_recovery_plans"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_steps")),
        sa.UniqueConstraint("plan_id", "asset", name=op.f("uq_recovery_steps_plan_id")),
    )
    op.create_index(op.f("ix_recovery_steps_plan_id"), "recovery_steps", ["plan_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_recovery_steps_plan_id"), table_name="recovery_steps")
    op.drop_table("recovery_steps")
    op.drop_index(op.f("ix_recovery_plans_incident_id"), table_name="recovery_plans")
    op.drop_table("recovery_plans")
    op.drop_table("recovery_spares")
    op.drop_table("recovery_readings")
    op.drop_table("recovery_contracts")
