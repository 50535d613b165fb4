"""Obligations: triage answers per incident, a clock per regulatory report, report drafts.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 10:55:44.941737
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "obligation_assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("personal_data", sa.Boolean(), nullable=True),
        sa.Column("cross_border", sa.Boolean(), nullable=True),
        sa.Column("significant", sa.Boolean(), nullable=True),
        sa.Column("major_ict", sa.Boolean(), nullable=True),
        sa.Column("ransom_paid", sa.Boolean(), nullable=True),
        sa.Column("aware_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("classified_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ransom_paid_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("impact_summary", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("recorded_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_obligation_assessments_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation_assessments")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_obligation_assessments_incident_id")),
    )
    op.create_table(
        "obligation_clocks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("obligation", sa.String(length=48), nullable=False),
        sa.Column("report", sa.String(length=48), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("report_title", sa.String(length=300), nullable=False),
        sa.Column("authority", sa.String(length=300), nullable=False),
        sa.Column("citation", sa.String(length=300), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("starts_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("due_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("basis", sa.String(length=300), nullable=False),
        sa.Column("provisional", sa.Boolean(), nullable=False),
        sa.Column("warn_at", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("started_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("warned_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("missed_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_obligation_clocks_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation_clocks")),
        sa.UniqueConstraint(
            "incident_id", "obligation", "report", name=op.f("uq_obligation_clocks_incident_id")
        ),
    )
    with op.batch_alter_table("obligation_clocks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_obligation_clocks_due_at"), ["due_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_obligation_clocks_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_obligation_clocks_state"), ["state"], unique=False)

    op.create_table(
        "obligation_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("clock_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("edited", sa.JSON(), nullable=False),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("drafted_by", sa.String(length=128), nullable=False),
        sa.Column("drafted_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=128), nullable=True),
        sa.Column("reviewed_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_by", sa.String(length=128), nullable=True),
        sa.Column("submitted_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_sha256", sa.String(length=64), nullable=True),
        sa.Column("submitted_content", sa.Text(), nullable=True),
        sa.Column("receipt", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["clock_id"],
            ["obligation_clocks.id"],
            name=op.f("fk_obligation_reports_clock_id_obligation_clocks"),
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_obligation_reports_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_obligation_reports")),
        sa.UniqueConstraint("clock_id", name=op.f("uq_obligation_reports_clock_id")),
    )
    with op.batch_alter_table("obligation_reports", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_obligation_reports_incident_id"), ["incident_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("obligation_reports", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligation_reports_incident_id"))

    op.drop_table("obligation_reports")
    with op.batch_alter_table("obligation_clocks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_obligation_clocks_state"))
        batch_op.drop_index(batch_op.f("ix_obligation_clocks_incident_id"))
        batch_op.drop_index(batch_op.f("ix_obligation_clocks_due_at"))

    op.drop_table("obligation_clocks")
    op.drop_table("obligation_assessments")
