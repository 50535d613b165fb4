"""Reviews: after-action reviews, findings, proposed playbook changes, playbook reviews.

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "playbook_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("playbook_key", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), server_default="", nullable=False),
        sa.Column("reviewed_by", sa.String(length=128), nullable=False),
        sa.Column("reviewed_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_reviews")),
    )
    op.create_index(op.f("ix_playbook_reviews_playbook_key"), "playbook_reviews", ["playbook_key"])
    op.create_table(
        "reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("summary", sa.Text(), server_default="", nullable=False),
        sa.Column("started_by", sa.String(length=128), nullable=False),
        sa.Column("started_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_reviews_incident_id_incidents")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("incident_id", name=op.f("uq_reviews_incident_id")),
    )
    op.create_table(
        "review_findings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("review_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("what_happened", sa.Text(), nullable=False),
        sa.Column("owner", sa.String(length=128), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=128), nullable=False),
        sa.Column("created_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["review_id"], ["reviews.id"], name=op.f("fk_review_findings_review_id_reviews")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_review_findings")),
        sa.UniqueConstraint("review_id", "number", name=op.f("uq_review_findings_review_id")),
    )
    op.create_index(op.f("ix_review_findings_review_id"), "review_findings", ["review_id"])
    op.create_table(
        "playbook_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("finding_id", sa.Integer(), nullable=False),
        sa.Column("playbook_key", sa.String(length=64), nullable=False),
        sa.Column("base_version", sa.Integer(), nullable=True),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("rationale", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=128), nullable=False),
        sa.Column("proposed_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submitted_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.String(length=128), nullable=True),
        sa.Column("decided_at", coherence.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.Text(), nullable=True),
        sa.Column("published_version_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["finding_id"],
            ["review_findings.id"],
            name=op.f("fk_playbook_changes_finding_id_review_findings"),
        ),
        sa.ForeignKeyConstraint(
            ["published_version_id"],
            ["playbook_versions.id"],
            name=op.f("fk_playbook_changes_published_version_id_playbook_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_playbook_changes")),
    )
    op.create_index(op.f("ix_playbook_changes_finding_id"), "playbook_changes", ["finding_id"])
    op.create_index(op.f("ix_playbook_changes_playbook_key"), "playbook_changes", ["playbook_key"])
    op.create_index(op.f("ix_playbook_changes_status"), "playbook_changes", ["status"])
    with op.batch_alter_table("playbook_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("finding", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("playbook_versions", schema=None) as batch_op:
        batch_op.drop_column("finding")
    op.drop_index(op.f("ix_playbook_changes_status"), table_name="playbook_changes")
    op.drop_index(op.f("ix_playbook_changes_playbook_key"), table_name="playbook_changes")
    op.drop_index(op.f("ix_playbook_changes_finding_id"), table_name="playbook_changes")
    op.drop_table("playbook_changes")
    op.drop_index(op.f("ix_review_findings_review_id"), table_name="review_findings")
    op.drop_table("review_findings")
    op.drop_table("reviews")
    op.drop_index(op.f("ix_playbook_reviews_playbook_key"), table_name="playbook_reviews")
    op.drop_table("playbook_reviews")
