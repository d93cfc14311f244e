"""Handlers for the invitation events this service reads.

Ack policy: the consumer's (retry with delays, then dead-letter). Every handler is idempotent.
An event about an invitation whose ``invitation.created`` has not been handled yet raises
``SessionNotYetCreated``, so it is retried after a delay instead of being lost.
"""

from mga_events.types import EventType
from mga_messaging.consumer import EventHandler
from mga_simulation.service import InterviewService


def event_handlers(service: InterviewService) -> dict[EventType, EventHandler]:
    return {
        EventType.INVITATION_CREATED: service.record_created,
        EventType.INVITATION_CANCELLED: service.record_cancelled,
        EventType.INVITATION_EXPIRED: service.record_expired,
        EventType.INVITATION_UPDATED: service.record_updated,
    }
