"""Incident tables: the incident, its tasks and who holds each ICS role."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coherence.catalog.models import Asset, Person, Site
from coherence.db import Base, UTCDateTime


class Incident(Base):
    """One incident; its history lives in the ledger, its raw timestamps here."""

    __tablename__ = "incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text, default="")
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    category: Mapped[str] = mapped_column(String(64))
    impact: Mapped[str] = mapped_column(String(32))
    urgency: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    asset_id: Mapped[int] = mapped_column(ForeignKey("assets.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    playbook_key: Mapped[str | None] = mapped_column(String(64))
    playbook_version: Mapped[int | None] = mapped_column(Integer)
    escalation_policy: Mapped[str | None] = mapped_column(String(64))
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    opened_by: Mapped[str] = mapped_column(String(128))
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    contained_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    recovering_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # TLP 2.0 label of the incident record; RED limits it to the named recipients.
    tlp: Mapped[str] = mapped_column(String(16), default="AMBER", server_default="AMBER")
    tlp_recipients: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")

    asset: Mapped[Asset] = relationship()
    site: Mapped[Site] = relationship()
    tasks: Mapped[list[Task]] = relationship(
        back_populates="incident", order_by="Task.position", cascade="all, delete-orphan"
    )
    roles: Mapped[list[RoleAssignment]] = relationship(
        back_populates="incident", cascade="all, delete-orphan"
    )


class Task(Base):
    """A step the response must take, usually from the playbook, with a due time."""

    __tablename__ = "tasks"
    __table_args__ = (UniqueConstraint("incident_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))
    step_key: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(300))
    details: Mapped[str] = mapped_column(Text, default="")
    hazard: Mapped[str | None] = mapped_column(Text)
    owner_role: Mapped[str] = mapped_column(String(48))
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    requires_change_record: Mapped[bool] = mapped_column(Boolean, default=False)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="open")
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_by: Mapped[str | None] = mapped_column(String(128))
    note: Mapped[str | None] = mapped_column(Text)

    incident: Mapped[Incident] = relationship(back_populates="tasks")
    assignee: Mapped[Person | None] = relationship()


class RoleAssignment(Base):
    """Who holds one ICS role on one incident now; the history is in the ledger."""

    __tablename__ = "incident_roles"
    __table_args__ = (UniqueConstraint("incident_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    role: Mapped[str] = mapped_column(String(48))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())

    incident: Mapped[Incident] = relationship(back_populates="roles")
    person: Mapped[Person] = relationship()
