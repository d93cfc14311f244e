"""Message handlers: commands from the gateway and the events this service reads."""

from typing import Any

from mga_events.commands import (
    CancelInvitation,
    CommandName,
    CreateInvitation,
    ExpireInvitation,
    ResendInvitation,
    UpdateInvitation,
)
from mga_events.envelope import EventEnvelope
from mga_events.types import EventType
from mga_invitation.service import InvitationService
from mga_messaging.consumer import EventHandler
from mga_messaging.rpc import CommandHandler


def command_handlers(service: InvitationService) -> dict[CommandName, CommandHandler]:
    """Handlers for the gateway's commands; each replies with the invitation id."""

    async def create(command: CreateInvitation) -> dict[str, Any]:
        return {"id": await service.create(command)}

    async def cancel(command: CancelInvitation) -> dict[str, Any]:
        return {"id": await service.cancel(command)}

    async def update(command: UpdateInvitation) -> dict[str, Any]:
        return {"id": await service.update(command)}

    async def resend(command: ResendInvitation) -> dict[str, Any]:
        return {"id": await service.resend(command)}

    async def expire(command: ExpireInvitation) -> dict[str, Any]:
        return {"id": await service.expire_now(command)}

    return {
        CommandName.EXPIRE_INVITATION: expire,
        CommandName.CREATE_INVITATION: create,
        CommandName.CANCEL_INVITATION: cancel,
        CommandName.UPDATE_INVITATION: update,
        CommandName.RESEND_INVITATION: resend,
    }


def event_handlers(service: InvitationService) -> dict[EventType, EventHandler]:
    """Handlers for events; ack policy: the consumer's (retry, then dead-letter)."""

    async def release_on_expiry(event: EventEnvelope) -> None:
        await service.release_for_event(str(event.data["invitationId"]), reason="expired")

    async def release_on_cancel(event: EventEnvelope) -> None:
        await service.release_for_event(str(event.data["invitationId"]), reason="cancelled")

    return {
        EventType.INVITATION_EXPIRED: release_on_expiry,
        EventType.INVITATION_CANCELLED: release_on_cancel,
        EventType.INVITATION_OPENED: service.record_opened,
        EventType.INTERVIEW_STARTED: service.record_started,
        EventType.INTERVIEW_COMPLETED: service.record_completed,
        EventType.EMAIL_SENT: service.record_email_outcome,
        EventType.EMAIL_FAILED: service.record_email_outcome,
    }
