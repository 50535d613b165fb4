"""Training and watchful access: curricula, training records, reminders; access events, findings.

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "training_curricula",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), server_default="", nullable=False),
        sa.Column("loaded_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("loaded_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_curricula")),
        sa.UniqueConstraint("version", name=op.f("uq_training_curricula_version")),
    )
    op.create_table(
        "training_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("course", sa.String(length=64), nullable=True),
        sa.Column("exercise", sa.String(length=200), nullable=True),
        sa.Column("role_played", sa.String(length=64), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("completed_on", sa.Date(), nullable=False),
        sa.Column("assessor", sa.String(length=200), server_default="", nullable=False),
        sa.Column("evidence", sa.Text(), server_default="", nullable=False),
        sa.Column("recorded_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_training_records_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_records")),
    )
    op.create_index(
        op.f("ix_training_records_person_id"), "training_records", ["person_id"], unique=False
    )
    op.create_table(
        "training_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("days_before", sa.Integer(), nullable=False),
        sa.Column("due_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("sent_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_training_reminders_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_training_reminders")),
        sa.UniqueConstraint(
            "person_id",
            "role",
            "expires_on",
            "days_before",
            name=op.f("uq_training_reminders_person_id"),
        ),
    )
    op.create_index(
        op.f("ix_training_reminders_person_id"), "training_reminders", ["person_id"], unique=False
    )
    op.create_table(
        "access_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("hour", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("path", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_events")),
    )
    op.create_index(op.f("ix_access_events_at"), "access_events", ["at"], unique=False)
    op.create_index(
        "ix_access_events_incident_id_at", "access_events", ["incident_id", "at"], unique=False
    )
    op.create_index("ix_access_events_person_at", "access_events", ["person", "at"], unique=False)
    op.create_table(
        "access_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person", sa.String(length=64), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("sensitive", sa.Integer(), nullable=False),
        sa.Column("raised_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_findings")),
    )
    op.create_index(
        "ix_access_findings_person_rule",
        "access_findings",
        ["person", "rule", "raised_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_access_findings_person_rule", table_name="access_findings")
    op.drop_table("access_findings")
    op.drop_index("ix_access_events_person_at", table_name="access_events")
    op.drop_index("ix_access_events_incident_id_at", table_name="access_events")
    op.drop_index(op.f("ix_access_events_at"), table_name="access_events")
    op.drop_table("access_events")
    op.drop_index(op.f("ix_training_reminders_person_id"), table_name="training_reminders")
    op.drop_table("training_reminders")
    op.drop_index(op.f("ix_training_records_person_id"), table_name="training_records")
    op.drop_table("training_records")
    op.drop_table("training_curricula")
