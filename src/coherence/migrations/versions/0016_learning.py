"""Learning: near misses, the lessons library; reviews of things other than incidents.

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "near_misses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("site_id", sa.Integer(), nullable=True),
        sa.Column("asset_id", sa.Integer(), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("anonymous", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("reported_by", sa.String(length=128), nullable=True),
        sa.Column("reported_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("closed_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["asset_id"], ["assets.id"], name=op.f("fk_near_misses_asset_id_assets")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_near_misses_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_near_misses")),
    )
    op.create_index(op.f("ix_near_misses_category"), "near_misses", ["category"], unique=False)
    op.create_index(op.f("ix_near_misses_status"), "near_misses", ["status"], unique=False)
    op.create_table(
        "lessons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("lesson", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=64), nullable=False),
        sa.Column("asset_kind", sa.String(length=64), nullable=True),
        sa.Column("playbook", sa.String(length=64), nullable=True),
        sa.Column("site", sa.String(length=64), nullable=True),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("data_category", sa.String(length=32), nullable=False),
        sa.Column("origin_organisation", sa.String(length=64), nullable=False),
        sa.Column("origin_reference", sa.String(length=32), nullable=True),
        sa.Column("package_sha256", sa.String(length=64), nullable=True),
        sa.Column("ledger_seq", sa.Integer(), nullable=True),
        sa.Column("published_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["review_findings.id"],
            name=op.f("fk_lessons_finding_id_review_findings"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lessons")),
        sa.UniqueConstraint("finding_id", name=op.f("uq_lessons_finding_id")),
        sa.UniqueConstraint(
            "origin_organisation",
            "origin_reference",
            name=op.f("uq_lessons_origin_organisation"),
        ),
    )
    op.create_index(op.f("ix_lessons_asset_kind"), "lessons", ["asset_kind"], unique=False)
    op.create_index(op.f("ix_lessons_category"), "lessons", ["category"], unique=False)
    op.create_index(
        op.f("ix_lessons_origin_organisation"), "lessons", ["origin_organisation"], unique=False
    )
    op.create_index(op.f("ix_lessons_playbook"), "lessons", ["playbook"], unique=False)
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reference", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("subject", sa.String(length=64), nullable=True))
        batch_op.alter_column("incident_id", existing_type=sa.INTEGER(), nullable=True)
        batch_op.create_unique_constraint(batch_op.f("uq_reviews_reference"), ["reference"])


def downgrade() -> None:
    with op.batch_alter_table("reviews", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_reviews_reference"), type_="unique")
        batch_op.alter_column("incident_id", existing_type=sa.INTEGER(), nullable=False)
        batch_op.drop_column("subject")
        batch_op.drop_column("reference")
    op.drop_index(op.f("ix_lessons_playbook"), table_name="lessons")
    op.drop_index(op.f("ix_lessons_origin_organisation"), table_name="lessons")
    op.drop_index(op.f("ix_lessons_category"), table_name="lessons")
    op.drop_index(op.f("ix_lessons_asset_kind"), table_name="lessons")
    op.drop_table("lessons")
    op.drop_index(op.f("ix_near_misses_status"), table_name="near_misses")
    op.drop_index(op.f("ix_near_misses_category"), table_name="near_misses")
    op.drop_table("near_misses")
