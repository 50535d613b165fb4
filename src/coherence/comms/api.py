"""Comms HTTP API: delivery receipts from gateways, and how each channel is faring."""

from __future__ import annotations

import time
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from coherence.access.api import Public, ReadsFacility
from coherence.comms import outcomes
from coherence.comms.statements_api import router as statements_router
from coherence.errors import NotFound
from coherence.http import ERROR_RESPONSES, ClockDep, SessionDep

router = APIRouter(prefix="/api/v1", tags=["notifications"], responses=ERROR_RESPONSES)
router.include_router(statements_router)

MessageKey = Annotated[
    str,
    Path(
        pattern=r"^[0-9a-f-]{36}$",
        description="The message id sent with the message (X-Coherence-Message-Id).",
    ),
]


class Receipt(BaseModel):
    """A gateway's word on one message."""

    model_config = {"extra": "forbid"}

    status: Literal["delivered", "failed"] = "delivered"
    detail: str = Field("", max_length=500, description="The gateway's reason, if it failed.")


class ReceiptRead(BaseModel):
    """Where the message stands after the receipt."""

    message_id: str
    status: str
    channel: str


@router.post(
    "/deliveries/{key}/receipt",
    response_model=ReceiptRead,
    summary="Report a delivery receipt",
    dependencies=[
        Depends(Public("gateways report receipts; the unguessable message id is the key"))
    ],
)
def delivery_receipt(
    key: MessageKey, receipt: Receipt, session: SessionDep, clock: ClockDep
) -> ReceiptRead:
    """For SMS and other gateways that confirm delivery later: the message id is the credential.

    ``failed`` moves the message to the recipient's next contact point at once. A receipt for a
    message that is not waiting for one changes nothing.
    """
    message = outcomes.confirm_receipt(
        session,
        clock=clock,
        key=key,
        delivered=receipt.status == "delivered",
        detail=receipt.detail,
    )
    if message is None:
        raise NotFound("no message with this id", field="key")
    return ReceiptRead(message_id=key, status=message.status, channel=message.channel)


@router.get(
    "/channels/health",
    response_model=dict[str, dict[str, Any]],
    summary="How each notification channel is faring",
)
def channel_health(request: Request, _caller: ReadsFacility) -> dict[str, dict[str, Any]]:
    """Per channel, as this server's dispatcher saw it: state (ok, failing, skipped), recent
    attempts and failures, median and worst latency. A skipped channel is passed over to each
    recipient's next contact point until its cool-down ends."""
    report: dict[str, dict[str, Any]] = request.app.state.workers.dispatcher.health.report(
        time.monotonic()
    )
    return report
