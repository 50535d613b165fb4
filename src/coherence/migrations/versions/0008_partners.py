"""Partners: agreements, operational periods, share overrides; sectors and ECCNs in the catalog.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 10:48:14.290856
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agreements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("parties", sa.JSON(), nullable=False),
        sa.Column("scope", sa.JSON(), nullable=False),
        sa.Column("ceiling", sa.String(length=16), nullable=False),
        sa.Column("data_categories", sa.JSON(), nullable=False),
        sa.Column("legal_basis", sa.Text(), nullable=False),
        sa.Column("jurisdiction", sa.String(length=2), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("transfer_bases", sa.JSON(), nullable=False),
        sa.Column("licences", sa.JSON(), nullable=False),
        sa.Column("mutual_aid", sa.JSON(), nullable=False),
        sa.Column("liaisons", sa.JSON(), nullable=False),
        sa.Column("loaded_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agreements")),
        sa.UniqueConstraint("key", name=op.f("uq_agreements_key")),
    )
    op.create_table(
        "operational_periods",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("starts_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ends_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("objectives", sa.JSON(), nullable=False),
        sa.Column("organisations", sa.JSON(), nullable=False),
        sa.Column("safety_message", sa.Text(), nullable=False),
        sa.Column("set_by", sa.String(length=128), nullable=False),
        sa.Column("set_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_operational_periods_incident_id_incidents"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operational_periods")),
        sa.UniqueConstraint(
            "incident_id", "number", name=op.f("uq_operational_periods_incident_id")
        ),
    )
    with op.batch_alter_table("operational_periods", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_operational_periods_incident_id"), ["incident_id"], unique=False
        )

    op.create_table(
        "share_overrides",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("organisation", sa.String(length=64), nullable=False),
        sa.Column("blocked", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("approved_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_share_overrides_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_share_overrides")),
    )
    with op.batch_alter_table("share_overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_share_overrides_incident_id"), ["incident_id"], unique=False
        )

    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("eccn", sa.String(length=16), nullable=True))

    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sectors", sa.JSON(), server_default="[]", nullable=False))
        batch_op.add_column(sa.Column("entity_class", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("organisations", schema=None) as batch_op:
        batch_op.drop_column("entity_class")
        batch_op.drop_column("sectors")

    with op.batch_alter_table("assets", schema=None) as batch_op:
        batch_op.drop_column("eccn")

    with op.batch_alter_table("share_overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_share_overrides_incident_id"))

    op.drop_table("share_overrides")
    with op.batch_alter_table("operational_periods", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_operational_periods_incident_id"))

    op.drop_table("operational_periods")
    op.drop_table("agreements")
