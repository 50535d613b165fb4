"""The evidence register: content-addressed items; custody lives in the ledger.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 08:39:53.163195
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "evidence_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=True),
        sa.Column("asset", sa.String(length=64), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("category", sa.String(length=24), nullable=False),
        sa.Column("collected_by", sa.String(length=64), nullable=False),
        sa.Column("collected_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("custodian", sa.String(length=64), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_evidence_items_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_evidence_items")),
    )
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_evidence_items_incident_id"), ["incident_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_evidence_items_sha256"), ["sha256"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("evidence_items", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_evidence_items_sha256"))
        batch_op.drop_index(batch_op.f("ix_evidence_items_incident_id"))

    op.drop_table("evidence_items")
