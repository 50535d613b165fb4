"""Risk: the risk register and the advisories that raise likelihoods.

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "risk_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("scenario", sa.Text(), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("category", sa.String(length=64), nullable=True),
        sa.Column("likelihood", sa.Integer(), nullable=False),
        sa.Column("impact", sa.Integer(), nullable=False),
        sa.Column("controls", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("owner", sa.String(length=64), nullable=False),
        sa.Column("review_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False, server_default="open"),
        sa.Column("created_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.String(length=128), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_entries")),
        sa.UniqueConstraint("key", name=op.f("uq_risk_entries_key")),
    )
    op.create_table(
        "risk_advisories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False, server_default="advisory"),
        sa.Column("reference", sa.String(length=128), nullable=False, server_default=""),
        sa.Column("software", sa.String(length=200), nullable=False, server_default=""),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("factor", sa.Float(), nullable=False),
        sa.Column("assets", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("kinds", sa.JSON(), nullable=False, server_default="[]"),
        sa.Column("expires_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_by", sa.String(length=128), nullable=False),
        sa.Column("withdrawn_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by", sa.String(length=128), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_risk_advisories")),
        sa.UniqueConstraint("key", name=op.f("uq_risk_advisories_key")),
    )


def downgrade() -> None:
    op.drop_table("risk_advisories")
    op.drop_table("risk_entries")
