"""Pydantic I/O for telemetry and alert intake."""

from __future__ import annotations

from pydantic import BaseModel, Field


class RejectedSample(BaseModel):
    """One refused sample and why."""

    index: int = Field(description="Place of the item in the batch (line for NDJSON), from 0.")
    field: str
    message: str


class IntakeResult(BaseModel):
    """What a batch did."""

    accepted: int = Field(description="Samples or alerts taken and evaluated.")
    rejected: list[RejectedSample] = Field(description="Every refused item, with the reason.")
    incidents_opened: list[str] = Field(description="References of incidents this opened.")
    incidents_updated: list[str] = Field(description="References of incidents this updated.")


class IntakeStatus(BaseModel):
    """The detector's state and the MQTT intake's counters."""

    tracked_series: int = Field(description="(series, rule) pairs holding state.")
    mqtt_enabled: bool
    mqtt_active: bool = Field(
        description="Whether this process is the one taking MQTT telemetry (one at a time)."
    )
    mqtt_received: int
    mqtt_accepted: int
    mqtt_rejected: int
    mqtt_last_rejections: list[str] = Field(description="The latest refusals, newest last.")


class FaultInjection(BaseModel):
    """Strike a simulated asset with a named fault."""

    model_config = {"extra": "forbid"}

    fault: str = Field(max_length=64, description="cooling-outage, compressor-trip, ...")
    asset: str = Field(max_length=64, description="Key of a simulated asset.")
    after_seconds: float = Field(0, ge=0, le=86_400, description="Delay before it strikes.")


class FaultRead(BaseModel):
    """A fault that has struck or will strike."""

    fault: str
    asset: str
    strikes_at: float = Field(description="Seconds since the epoch (UTC).")
