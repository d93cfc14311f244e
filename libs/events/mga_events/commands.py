"""Commands the gateway sends to the invitation service over request/reply.

A command names itself ``resource.verb``; its routing key is that name. The reply is a
``CommandReply``: either ``result`` (the invitation document as the API shows it) or
``error`` (an ``ApiError`` in wire form).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import Field

from mga_events.envelope import WireModel
from mga_events.schemas import Language


class CommandName(StrEnum):
    CREATE_INVITATION = "invitation.create"
    CANCEL_INVITATION = "invitation.cancel"
    UPDATE_INVITATION = "invitation.update"
    RESEND_INVITATION = "invitation.resend"


class CommandContext(WireModel):
    account_id: str
    livemode: bool
    correlation_id: str


class CreateInvitation(WireModel):
    context: CommandContext
    # The caller's idempotency key, or a fresh one: one invitation per key and account mode.
    request_key: str = Field(min_length=1, max_length=300)
    candidate_email: str
    candidate_name: str
    role: str
    job_posting: str
    toughness: int = Field(ge=1, le=5)
    duration_minutes: int
    language: Language
    expires_at: datetime
    metadata: dict[str, Any]


class CancelInvitation(WireModel):
    context: CommandContext
    invitation_id: str


class UpdateInvitation(WireModel):
    context: CommandContext
    invitation_id: str
    expires_at: datetime | None = None
    metadata: dict[str, Any] | None = None


class ResendInvitation(WireModel):
    context: CommandContext
    invitation_id: str


class CommandReply(WireModel):
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


COMMAND_MODELS: dict[CommandName, type[WireModel]] = {
    CommandName.CREATE_INVITATION: CreateInvitation,
    CommandName.CANCEL_INVITATION: CancelInvitation,
    CommandName.UPDATE_INVITATION: UpdateInvitation,
    CommandName.RESEND_INVITATION: ResendInvitation,
}
