"""Statement templates with approvals, issued statements, on-call overrides, clearances.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 07:55:56.017864
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "statement_templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("required_approvals", sa.JSON(), nullable=False),
        sa.Column("update_every_minutes", sa.Float(), nullable=True),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("approvals", sa.JSON(), nullable=False),
        sa.Column("created_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("approved_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statement_templates")),
        sa.UniqueConstraint("key", "version", name=op.f("uq_statement_templates_key")),
    )
    with op.batch_alter_table("statement_templates", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statement_templates_key"), ["key"], unique=False)

    op.create_table(
        "oncall_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rotation_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("starts_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("cancelled_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_oncall_overrides_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["rotation_id"],
            ["rotations.id"],
            name=op.f("fk_oncall_overrides_rotation_id_rotations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oncall_overrides")),
    )
    with op.batch_alter_table("oncall_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oncall_overrides_rotation_id"), ["rotation_id"], unique=False
        )

    op.create_table(
        "statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("audience", sa.String(length=16), nullable=False),
        sa.Column("template_key", sa.String(length=64), nullable=False),
        sa.Column("template_version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("plain_score", sa.Integer(), nullable=True),
        sa.Column("cap_identifier", sa.String(length=120), nullable=False),
        sa.Column("cap_msg_type", sa.String(length=8), nullable=False),
        sa.Column("cap_references", sa.JSON(), nullable=False),
        sa.Column("issued_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_by", sa.String(length=64), nullable=False),
        sa.Column("withdraws_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_statements_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_statements")),
        sa.UniqueConstraint("cap_identifier", name=op.f("uq_statements_cap_identifier")),
    )
    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_statements_audience"), ["audience"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_statements_incident_id"), ["incident_id"], unique=False
        )

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("clearances", sa.JSON(), server_default="[]", nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("clearances")

    with op.batch_alter_table("statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statements_incident_id"))
        batch_op.drop_index(batch_op.f("ix_statements_audience"))

    op.drop_table("statements")
    with op.batch_alter_table("oncall_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oncall_overrides_rotation_id"))

    op.drop_table("oncall_overrides")
    with op.batch_alter_table("statement_templates", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_statement_templates_key"))

    op.drop_table("statement_templates")
