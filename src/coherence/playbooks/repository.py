"""Every playbook query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coherence.playbooks.models import PlaybookVersion


def latest(session: Session, key: str) -> PlaybookVersion | None:
    """Return the newest version of playbook ``key``."""
    query = (
        select(PlaybookVersion)
        .where(PlaybookVersion.key == key)
        .order_by(PlaybookVersion.version.desc())
        .limit(1)
    )
    return session.scalars(query).first()


def version(session: Session, key: str, number: int) -> PlaybookVersion | None:
    """Return one version of playbook ``key``."""
    query = select(PlaybookVersion).where(
        PlaybookVersion.key == key, PlaybookVersion.version == number
    )
    return session.scalars(query).one_or_none()


def all_latest(session: Session) -> Sequence[PlaybookVersion]:
    """Return the newest version of every playbook, ordered by key."""
    newest = (
        select(PlaybookVersion.key, func.max(PlaybookVersion.version).label("version"))
        .group_by(PlaybookVersion.key)
        .subquery()
    )
    query = (
        select(PlaybookVersion)
        .join(
            newest,
            (PlaybookVersion.key == newest.c.key) & (PlaybookVersion.version == newest.c.version),
        )
        .order_by(PlaybookVersion.key)
    )
    return session.scalars(query).all()


def history(session: Session, key: str) -> Sequence[PlaybookVersion]:
    """Return every version of playbook ``key``, oldest first."""
    query = select(PlaybookVersion).where(PlaybookVersion.key == key)
    return session.scalars(query.order_by(PlaybookVersion.version)).all()
