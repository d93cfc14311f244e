"""Message handlers: the events the mailer reads, under the consumer's ack and retry policy."""

from mga_events.envelope import EventEnvelope
from mga_events.schemas import InvitationCreated, InvitationResendRequested
from mga_events.types import EventType
from mga_mailer.service import MailerService
from mga_messaging.consumer import EventHandler


def event_handlers(service: MailerService) -> dict[EventType, EventHandler]:
    """Handlers for the mailer's queue. Each event requests one invitation email."""

    async def send_invitation(event: EventEnvelope) -> None:
        await service.deliver_invitation(event, event.data_as(InvitationCreated))

    async def resend_invitation(event: EventEnvelope) -> None:
        await service.deliver_invitation(event, event.data_as(InvitationResendRequested))

    return {
        EventType.INVITATION_CREATED: send_invitation,
        EventType.INVITATION_RESEND_REQUESTED: resend_invitation,
    }
