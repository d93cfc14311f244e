"""The public payload of each event type, as integrators receive it.

A payload is ``{"id", "type", "createdAt", "data"}``. It is serialized once, when the event
arrives, and the stored text is what every attempt and redelivery sends, so retries carry
the same bytes and the same signature input.
"""

import json
from typing import Any

from mga_core.timestamps import format_timestamp
from mga_events.envelope import EventEnvelope, MalformedEvent
from mga_events.schemas import (
    InterviewCompleted,
    InterviewStarted,
    InvitationExpired,
    InvitationOpened,
)
from mga_events.types import EventType


def render_data(event: EventEnvelope) -> dict[str, Any]:
    """Return the ``data`` object of a public event; raise ``MalformedEvent`` for others."""
    match event.type:
        case EventType.INVITATION_OPENED:
            opened = event.data_as(InvitationOpened)
            return {
                "invitationId": opened.invitation_id,
                "openedAt": format_timestamp(opened.opened_at),
            }
        case EventType.INTERVIEW_STARTED:
            started = event.data_as(InterviewStarted)
            return {
                "invitationId": started.invitation_id,
                "startedAt": format_timestamp(started.started_at),
            }
        case EventType.INVITATION_EXPIRED:
            expired = event.data_as(InvitationExpired)
            return {
                "invitationId": expired.invitation_id,
                "expiredAt": format_timestamp(expired.expired_at),
            }
        case EventType.INTERVIEW_COMPLETED:
            return _completed_data(event.data_as(InterviewCompleted))
        case _:
            raise MalformedEvent(f"{event.type} is not delivered to webhook endpoints")


def _completed_data(completed: InterviewCompleted) -> dict[str, Any]:
    """Return the full result, as GET /v1/invitations/{id}/result shows it, with invitationId.

    An event without the result (scoring did not attach one) still carries the score and
    summary the event has.
    """
    if completed.result is None:
        return {
            "invitationId": completed.invitation_id,
            "completedAt": format_timestamp(completed.completed_at),
            "overallScore": completed.overall_score,
            "summary": completed.summary,
        }
    result = completed.result.model_dump(mode="json", by_alias=True)
    return {"invitationId": completed.invitation_id, **result}


def render_body(event: EventEnvelope, data: dict[str, Any]) -> str:
    """Serialize the payload: compact JSON, non-ASCII characters kept as UTF-8."""
    payload = {
        "id": event.id,
        "type": event.type.value,
        "createdAt": format_timestamp(event.occurred_at),
        "data": data,
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
