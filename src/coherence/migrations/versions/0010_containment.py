"""Containment: change records, approvals and overrides.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "change_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("procedure_key", sa.String(length=64), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("what", sa.Text(), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False),
        sa.Column("expected_effect", sa.Text(), nullable=False),
        sa.Column("risk", sa.String(length=8), nullable=False),
        sa.Column("rollback_plan", sa.Text(), nullable=False),
        sa.Column("safety_critical", sa.Boolean(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("preconditions", sa.JSON(), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=False),
        sa.Column("proposed_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("executed_by", sa.String(length=128), nullable=True),
        sa.Column("executed_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verified_by", sa.String(length=128), nullable=True),
        sa.Column("verified_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("verification", sa.Text(), nullable=True),
        sa.Column("ended_by", sa.String(length=128), nullable=True),
        sa.Column("ended_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.Text(), nullable=True),
        sa.Column("updated_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_change_records_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_change_records")),
    )
    op.create_index(
        op.f("ix_change_records_incident_id"), "change_records", ["incident_id"], unique=False
    )
    op.create_index(op.f("ix_change_records_state"), "change_records", ["state"], unique=False)
    op.create_table(
        "containment_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("unverified", sa.JSON(), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_containment_overrides_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_containment_overrides")),
    )
    op.create_index(
        op.f("ix_containment_overrides_incident_id"),
        "containment_overrides",
        ["incident_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_containment_overrides_incident_id"), table_name="containment_overrides")
    op.drop_table("containment_overrides")
    op.drop_index(op.f("ix_change_records_state"), table_name="change_records")
    op.drop_index(op.f("ix_change_records_incident_id"), table_name="change_records")
    op.drop_table("change_records")
