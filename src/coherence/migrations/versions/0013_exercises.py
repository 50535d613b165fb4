"""Exercises: runs of scenarios, their injects, and the incidents they produced.

Revision ID: 0013
Revises: 0012
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "exercises",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("scenario", sa.JSON(), nullable=False),
        sa.Column("playbook_key", sa.String(length=64), nullable=False),
        sa.Column("playbook_version", sa.Integer(), nullable=False),
        sa.Column("site", sa.String(length=64), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("speed", sa.Float(), server_default="1", nullable=False),
        sa.Column("page_real", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("segments", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("steps", sa.JSON(), server_default="[]", nullable=False),
        sa.Column("targets", sa.JSON(), server_default="{}", nullable=False),
        sa.Column("started_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("ended_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercises")),
    )
    op.create_index(op.f("ix_exercises_key"), "exercises", ["key"], unique=False)
    op.create_index(op.f("ix_exercises_status"), "exercises", ["status"], unique=False)
    op.create_table(
        "exercise_injects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("at_seconds", sa.Float(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("fired_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("fired_seconds", sa.Float(), nullable=True),
        sa.Column("result", sa.JSON(), server_default="{}", nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_injects_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_injects")),
        sa.UniqueConstraint(
            "exercise_id", "position", name=op.f("uq_exercise_injects_exercise_id")
        ),
    )
    op.create_index(
        op.f("ix_exercise_injects_exercise_id"), "exercise_injects", ["exercise_id"], unique=False
    )
    op.create_table(
        "exercise_incidents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("exercise_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("linked_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["exercise_id"],
            ["exercises.id"],
            name=op.f("fk_exercise_incidents_exercise_id_exercises"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_exercise_incidents_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_exercise_incidents")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_exercise_incidents_incident_id")),
    )
    op.create_index(
        op.f("ix_exercise_incidents_exercise_id"),
        "exercise_incidents",
        ["exercise_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_exercise_incidents_exercise_id"), table_name="exercise_incidents")
    op.drop_table("exercise_incidents")
    op.drop_index(op.f("ix_exercise_injects_exercise_id"), table_name="exercise_injects")
    op.drop_table("exercise_injects")
    op.drop_index(op.f("ix_exercises_status"), table_name="exercises")
    op.drop_index(op.f("ix_exercises_key"), table_name="exercises")
    op.drop_table("exercises")
