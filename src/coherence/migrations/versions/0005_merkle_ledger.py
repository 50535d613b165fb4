"""The ledger becomes a Merkle tree: leaf hashes, complete-subtree nodes, signed checkpoints.

Existing entries are hashed and the tree built over them, so an upgraded ledger verifies.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 08:23:43.559053
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import coherence.db
from coherence.ledger import merkle
from coherence.ledger.domain import entry_bytes

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_checkpoints",
        sa.Column("size", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("root", sa.LargeBinary(length=32), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("signed_at", coherence.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("size", name=op.f("pk_ledger_checkpoints")),
    )
    op.create_table(
        "ledger_nodes",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("index", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.PrimaryKeyConstraint("level", "index", name=op.f("pk_ledger_nodes")),
    )
    with op.batch_alter_table("ledger_head", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("frontier", sa.LargeBinary(), server_default="", nullable=False)
        )
    _build_tree()


def _build_tree() -> None:
    bind = op.get_bind()
    entries = sa.table(
        "ledger_entries",
        sa.column("seq", sa.Integer),
        sa.column("entry_type", sa.String),
        sa.column("recorded_at", coherence.db.UTCDateTime()),
        sa.column("actor", sa.String),
        sa.column("subject", sa.String),
        sa.column("incident_id", sa.Integer),
        sa.column("payload", sa.Text),
        sa.column("leaf_hash", sa.LargeBinary),
    )
    nodes = sa.table(
        "ledger_nodes",
        sa.column("level", sa.Integer),
        sa.column("index", sa.Integer),
        sa.column("hash", sa.LargeBinary),
    )
    head = sa.table(
        "ledger_head", sa.column("id", sa.Integer), sa.column("frontier", sa.LargeBinary)
    )
    frontier = merkle.Frontier()
    for row in bind.execute(sa.select(entries).order_by(entries.c.seq)).mappings():
        leaf = merkle.leaf_hash(
            entry_bytes(
                seq=row["seq"],
                entry_type=row["entry_type"],
                recorded_at=row["recorded_at"],
                actor=row["actor"],
                subject=row["subject"],
                incident_id=row["incident_id"],
                payload=row["payload"].encode(),
            )
        )
        bind.execute(entries.update().where(entries.c.seq == row["seq"]).values(leaf_hash=leaf))
        created = [n for n in frontier.append(leaf) if n.level > 0]
        if created:
            bind.execute(
                nodes.insert(),
                [{"level": n.level, "index": n.index, "hash": n.hash} for n in created],
            )
    bind.execute(head.update().values(frontier=b"".join(frontier.hashes)))


def downgrade() -> None:
    with op.batch_alter_table("ledger_head", schema=None) as batch_op:
        batch_op.drop_column("frontier")

    op.drop_table("ledger_nodes")
    op.drop_table("ledger_checkpoints")
