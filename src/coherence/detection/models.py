"""Detection tables: one row per de-duplication key, and telemetry kept as evidence."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coherence.db import Base, UTCDateTime


class SignalKey(Base):
    """The incident a de-duplication key feeds; the primary key makes the key unique."""

    __tablename__ = "signal_keys"

    dedup_key: Mapped[str] = mapped_column(String(200), primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    asset: Mapped[str] = mapped_column(String(64))
    playbook: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(64))
    firing: Mapped[bool] = mapped_column(default=True)
    flapping: Mapped[bool] = mapped_column(default=False)
    severity: Mapped[str] = mapped_column(String(16))
    occurrences: Mapped[int] = mapped_column(Integer, default=0)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())
    last_detail: Mapped[str] = mapped_column(Text, default="")


class TelemetrySnapshot(Base):
    """The minutes of telemetry before an incident opened, kept exactly as received."""

    __tablename__ = "telemetry_snapshots"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    asset: Mapped[str] = mapped_column(String(64))
    samples: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
