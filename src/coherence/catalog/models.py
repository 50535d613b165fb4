"""Catalog tables."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coherence.db import Base, UTCDateTime


class Organisation(Base):
    """An operator, research group, vendor, regulator or partner."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    country: Mapped[str | None] = mapped_column(String(2))
    # Sectors it operates in (e.g. research, digital_infrastructure) and, under NIS2, whether
    # it is an essential or important entity: regulatory obligations trigger on these.
    sectors: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    entity_class: Mapped[str | None] = mapped_column(String(16))


class Site(Base):
    """A location holding assets."""

    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    timezone: Mapped[str] = mapped_column(String(64))
    escalation_policy_id: Mapped[int | None] = mapped_column(ForeignKey("escalation_policies.id"))

    organisation: Mapped[Organisation] = relationship()
    escalation_policy: Mapped[EscalationPolicy | None] = relationship()


class Asset(Base):
    """A piece of equipment or infrastructure."""

    __tablename__ = "assets"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(48))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    criticality: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    # Export control classification number (e.g. 4A906), when the item is controlled.
    eccn: Mapped[str | None] = mapped_column(String(16))

    site: Mapped[Site] = relationship()
    owner: Mapped[Organisation] = relationship()
    dependency_groups: Mapped[list[DependencyGroup]] = relationship(
        back_populates="asset", cascade="all, delete-orphan", order_by="DependencyGroup.position"
    )
    vendors: Mapped[list[Organisation]] = relationship(
        secondary="asset_vendors", order_by="Organisation.key"
    )


class AssetVendor(Base):
    """A vendor organisation that supports an asset."""

    __tablename__ = "asset_vendors"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), primary_key=True)


class DependencyGroup(Base):
    """An asset needs ``min_required`` of the group's members to work."""

    __tablename__ = "dependency_groups"
    __table_args__ = (UniqueConstraint("asset_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(64))
    min_required: Mapped[int] = mapped_column(Integer)

    asset: Mapped[Asset] = relationship(back_populates="dependency_groups")
    members: Mapped[list[DependencyMember]] = relationship(
        cascade="all, delete-orphan", order_by="DependencyMember.position"
    )


class DependencyMember(Base):
    """One asset inside a dependency group."""

    __tablename__ = "dependency_members"
    __table_args__ = (UniqueConstraint("group_id", "asset_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("dependency_groups.id", ondelete="CASCADE"))
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"))
    position: Mapped[int] = mapped_column(Integer)

    asset: Mapped[Asset] = relationship()


class Person(Base):
    """Someone who responds or must be told; contacts and roles are small lists."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    roles: Mapped[list[str]] = mapped_column(JSON, default=list)
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # What this person may approve beyond their ICS roles, e.g. "legal" for statements.
    clearances: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Standing in the tool itself (administrator, responder, observer, auditor, integration).
    access_role: Mapped[str] = mapped_column(
        String(24), default="responder", server_default="responder"
    )
    # argon2id hash for dashboard sign-in; None means the person signs in with a token only.
    password_hash: Mapped[str | None] = mapped_column(String(200))

    organisation: Mapped[Organisation] = relationship()


class Rotation(Base):
    """An on-call rotation for one ICS role at one site."""

    __tablename__ = "rotations"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    role: Mapped[str] = mapped_column(String(48))
    shift_hours: Mapped[float] = mapped_column(Float)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())

    site: Mapped[Site] = relationship()
    members: Mapped[list[RotationMember]] = relationship(
        cascade="all, delete-orphan", order_by="RotationMember.position"
    )


class RotationMember(Base):
    """A person's place in a rotation."""

    __tablename__ = "rotation_members"
    __table_args__ = (UniqueConstraint("rotation_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rotation_id: Mapped[int] = mapped_column(ForeignKey("rotations.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    position: Mapped[int] = mapped_column(Integer)

    person: Mapped[Person] = relationship()


class EscalationPolicy(Base):
    """Levels paged in turn while an incident is unacknowledged."""

    __tablename__ = "escalation_policies"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    levels: Mapped[list[dict[str, Any]]] = mapped_column(JSON)


class OnCallOverride(Base):
    """Someone covering a rotation for a while: the rotation's own member steps aside."""

    __tablename__ = "oncall_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    rotation_id: Mapped[int] = mapped_column(ForeignKey("rotations.id"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    rotation: Mapped[Rotation] = relationship()
    person: Mapped[Person] = relationship()
