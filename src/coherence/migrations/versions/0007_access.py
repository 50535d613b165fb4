"""Access: roles in the tool, passwords, sessions, break-glass, incident TLP, retention marks.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 10:02:03.815359
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("via", sa.String(length=16), nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("created_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_login_sessions_person_id_people")
        ),
        sa.ForeignKeyConstraint(
            ["token_id"], ["api_tokens.id"], name=op.f("fk_login_sessions_token_id_api_tokens")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_sessions")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_login_sessions_secret_hash")),
    )
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_login_sessions_person_id"), ["person_id"], unique=False
        )

    op.create_table(
        "break_glass_grants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("started_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_break_glass_grants_incident_id_incidents"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name=op.f("fk_break_glass_grants_person_id_people")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_break_glass_grants")),
    )
    with op.batch_alter_table("break_glass_grants", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_break_glass_grants_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_break_glass_grants_person_id"), ["person_id"], unique=False
        )

    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purged_at", coherence.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("tlp", sa.String(length=16), server_default="AMBER", nullable=False)
        )
        batch_op.add_column(
            sa.Column("tlp_recipients", sa.JSON(), server_default="[]", nullable=False)
        )

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("purged_at", coherence.db.UTCDateTime(timezone=True), nullable=True)
        )

    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "access_role", sa.String(length=24), server_default="responder", nullable=False
            )
        )
        batch_op.add_column(sa.Column("password_hash", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("password_hash")
        batch_op.drop_column("access_role")

    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_column("purged_at")

    with op.batch_alter_table("incidents", schema=None) as batch_op:
        batch_op.drop_column("tlp_recipients")
        batch_op.drop_column("tlp")

    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_column("purged_at")

    with op.batch_alter_table("break_glass_grants", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_break_glass_grants_person_id"))
        batch_op.drop_index(batch_op.f("ix_break_glass_grants_incident_id"))

    op.drop_table("break_glass_grants")
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_login_sessions_person_id"))

    op.drop_table("login_sessions")
