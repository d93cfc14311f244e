"""Commands the gateway sends to the owning service over request/reply.

A command names itself ``resource.verb``; its routing key is that name, and
``mga_messaging.topology.COMMAND_OWNERS`` says which service's queue receives it. The reply
is a ``CommandReply``: either ``result`` (a small dictionary, usually the resource id) or
``error`` (an ``ApiError`` in wire form).
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import Field

from mga_events.envelope import WireModel
from mga_events.schemas import Language


class CommandName(StrEnum):
    CREATE_INVITATION = "invitation.create"
    CANCEL_INVITATION = "invitation.cancel"
    UPDATE_INVITATION = "invitation.update"
    RESEND_INVITATION = "invitation.resend"
    # Test mode only: expire a pending invitation now, as if its expiresAt had passed.
    EXPIRE_INVITATION = "invitation.expire"
    # Test mode only: play the candidate's part up to a step of the hosted interview.
    ADVANCE_INTERVIEW = "interview.advance"
    CREATE_WEBHOOK_ENDPOINT = "webhook_endpoint.create"
    DELETE_WEBHOOK_ENDPOINT = "webhook_endpoint.delete"
    ROTATE_WEBHOOK_SECRET = "webhook_endpoint.rotate_secret"
    REDELIVER_EVENT = "event.redeliver"


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


class ExpireInvitation(WireModel):
    context: CommandContext
    invitation_id: str


class AdvanceInterview(WireModel):
    context: CommandContext
    invitation_id: str
    # "open" opens the link, "start" also starts the interview, "complete" also answers
    # every question with scripted answers and finishes it.
    step: Literal["open", "start", "complete"]


class CreateWebhookEndpoint(WireModel):
    context: CommandContext
    # The caller's idempotency key, or a fresh one: one endpoint per key and account mode.
    request_key: str = Field(min_length=1, max_length=300)
    url: str
    enabled_events: list[str]
    description: str | None = None


class DeleteWebhookEndpoint(WireModel):
    context: CommandContext
    endpoint_id: str


class RotateWebhookSecret(WireModel):
    context: CommandContext
    endpoint_id: str
    # How long the previous secret keeps signing next to the new one.
    overlap_seconds: int | None = Field(default=None, ge=0, le=7 * 24 * 3600)


class RedeliverEvent(WireModel):
    context: CommandContext
    event_id: str
    # None redelivers to every endpoint of the account and mode enabled for the event type.
    endpoint_id: str | None = None


class CommandReply(WireModel):
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None


COMMAND_MODELS: dict[CommandName, type[WireModel]] = {
    CommandName.CREATE_INVITATION: CreateInvitation,
    CommandName.CANCEL_INVITATION: CancelInvitation,
    CommandName.UPDATE_INVITATION: UpdateInvitation,
    CommandName.RESEND_INVITATION: ResendInvitation,
    CommandName.EXPIRE_INVITATION: ExpireInvitation,
    CommandName.ADVANCE_INTERVIEW: AdvanceInterview,
    CommandName.CREATE_WEBHOOK_ENDPOINT: CreateWebhookEndpoint,
    CommandName.DELETE_WEBHOOK_ENDPOINT: DeleteWebhookEndpoint,
    CommandName.ROTATE_WEBHOOK_SECRET: RotateWebhookSecret,
    CommandName.REDELIVER_EVENT: RedeliverEvent,
}
