"""Event types. Each value is also the routing key the event is published with."""

from enum import StrEnum


class EventType(StrEnum):
    # Public: delivered to integrators' webhook endpoints.
    INVITATION_OPENED = "invitation.opened"
    INTERVIEW_STARTED = "interview.started"
    INTERVIEW_COMPLETED = "interview.completed"
    INVITATION_EXPIRED = "invitation.expired"

    # Internal: only services consume these.
    INVITATION_CREATED = "invitation.created"
    INVITATION_CANCELLED = "invitation.cancelled"
    INVITATION_UPDATED = "invitation.updated"
    INVITATION_RESEND_REQUESTED = "invitation.resend_requested"
    EMAIL_SENT = "email.sent"
    EMAIL_FAILED = "email.failed"
    INTERVIEW_FINISHED = "interview.finished"


PUBLIC_EVENT_TYPES = frozenset(
    {
        EventType.INVITATION_OPENED,
        EventType.INTERVIEW_STARTED,
        EventType.INTERVIEW_COMPLETED,
        EventType.INVITATION_EXPIRED,
    }
)
