"""The ``data`` schema of each event type."""

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from mga_events.envelope import WireModel
from mga_events.types import EventType

Language = Literal["en", "de"]


class InvitationCreated(WireModel):
    invitation_id: str
    candidate_email: str
    candidate_name: str
    role: str
    job_posting: str
    toughness: int = Field(ge=1, le=5)
    duration_minutes: int
    language: Language
    expires_at: datetime
    invitation_url: str
    metadata: dict[str, Any]


class InvitationExpired(WireModel):
    invitation_id: str
    expired_at: datetime


class InvitationCancelled(WireModel):
    invitation_id: str
    cancelled_at: datetime


class InvitationUpdated(WireModel):
    invitation_id: str
    expires_at: datetime
    metadata: dict[str, Any]


class InvitationResendRequested(InvitationCreated):
    """A new copy of the invitation email; carries everything the email shows."""

    requested_at: datetime


class InvitationOpened(WireModel):
    invitation_id: str
    opened_at: datetime


class InterviewStarted(WireModel):
    invitation_id: str
    started_at: datetime


class InterviewFinished(WireModel):
    invitation_id: str
    finished_at: datetime
    minutes_used: int = Field(ge=0)


class InterviewCompleted(WireModel):
    invitation_id: str
    completed_at: datetime
    overall_score: int = Field(ge=0, le=100)
    summary: str
    minutes_used: int = Field(ge=0)


class EmailSent(WireModel):
    invitation_id: str
    email_id: str
    sent_at: datetime
    # False for test-mode invitations: the email was rendered and recorded, not sent.
    delivered: bool


class EmailFailed(WireModel):
    invitation_id: str
    email_id: str
    failed_at: datetime
    # The SMTP reply code and text, or the connection error, as the server gave it.
    reason: str


EVENT_DATA_MODELS: dict[EventType, type[BaseModel]] = {
    EventType.INVITATION_CREATED: InvitationCreated,
    EventType.INVITATION_EXPIRED: InvitationExpired,
    EventType.INVITATION_CANCELLED: InvitationCancelled,
    EventType.INVITATION_UPDATED: InvitationUpdated,
    EventType.INVITATION_RESEND_REQUESTED: InvitationResendRequested,
    EventType.INVITATION_OPENED: InvitationOpened,
    EventType.INTERVIEW_STARTED: InterviewStarted,
    EventType.INTERVIEW_FINISHED: InterviewFinished,
    EventType.INTERVIEW_COMPLETED: InterviewCompleted,
    EventType.EMAIL_SENT: EmailSent,
    EventType.EMAIL_FAILED: EmailFailed,
}
