"""Risk tables: the risk register and the advisories that raise likelihoods."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, Float, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coherence.db import Base, UTCDateTime


class RiskEntry(Base):
    """One risk: a scenario, the assets it threatens, likelihood, impact, controls, owner."""

    __tablename__ = "risk_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    scenario: Mapped[str] = mapped_column(Text)
    assets: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # An incident category whose learned rate on these assets is shown beside the likelihood.
    category: Mapped[str | None] = mapped_column(String(64))
    likelihood: Mapped[int] = mapped_column(Integer)
    impact: Mapped[int] = mapped_column(Integer)
    controls: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    owner: Mapped[str] = mapped_column(String(64))
    review_date: Mapped[date] = mapped_column(Date)
    # open, treated, accepted or closed
    status: Mapped[str] = mapped_column(String(16), server_default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_by: Mapped[str] = mapped_column(String(128))


class AdvisoryRecord(Base):
    """A vulnerability advisory or supply-chain alert raising the likelihood of some assets."""

    __tablename__ = "risk_advisories"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    # advisory or supply_chain
    source: Mapped[str] = mapped_column(String(16), server_default="advisory")
    reference: Mapped[str] = mapped_column(String(128), default="", server_default="")
    software: Mapped[str] = mapped_column(String(200), default="", server_default="")
    reason: Mapped[str] = mapped_column(Text)
    factor: Mapped[float] = mapped_column(Float)
    assets: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    kinds: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(128))
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by: Mapped[str | None] = mapped_column(String(128))
