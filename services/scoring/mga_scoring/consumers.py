"""Message handlers of the scoring service."""

from mga_events.types import EventType
from mga_messaging.consumer import EventHandler
from mga_scoring.service import ScoringService


def event_handlers(service: ScoringService) -> dict[EventType, EventHandler]:
    """Handlers for events; ack policy: the consumer's (retry with delay, then dead-letter).

    A language model that keeps failing is retried by the consumer's delays and, after the
    last attempt, dead-lettered with the finished interview intact in the message, while
    the failure is recorded in ``scoring_failures``.
    """
    return {EventType.INTERVIEW_FINISHED: service.score}
