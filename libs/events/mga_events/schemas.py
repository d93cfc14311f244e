"""The ``data`` schema of each event type."""

from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from mga_core.timestamps import ApiTimestamp
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


class Panelist(WireModel):
    name: str
    role: str
    focus: str
    persona: str


class TranscriptTurn(WireModel):
    speaker: Literal["interviewer", "candidate"]
    # The panelist's name for interviewer turns; None, and left out of JSON, for the candidate.
    name: str | None = None
    text: str

    @model_serializer(mode="wrap")
    def _omit_missing_name(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        data: dict[str, Any] = handler(self)
        if data.get("name") is None:
            data.pop("name", None)
        return data


class FinishReason(StrEnum):
    CANDIDATE_FINISHED = "candidate_finished"
    QUESTIONS_EXHAUSTED = "questions_exhausted"
    TIME_UP = "time_up"
    ABANDONED = "abandoned"


class InterviewFinished(WireModel):
    """A finished interview, with everything scoring needs."""

    invitation_id: str
    finished_at: datetime
    started_at: datetime
    minutes_used: int = Field(ge=0)
    reason: FinishReason
    candidate_name: str
    role: str
    job_posting: str
    toughness: int = Field(ge=1, le=5)
    language: Language
    panel: list[Panelist]
    transcript: list[TranscriptTurn]
    metadata: dict[str, Any]
    # Test-mode rules may depend on it (a "+score<NN>" tag selects the sandbox score).
    candidate_email: str | None = None


class SkillAssessment(WireModel):
    score: int = Field(ge=1, le=10)
    evidence: str


class Skills(WireModel):
    communication: SkillAssessment
    structured_thinking: SkillAssessment
    problem_solving: SkillAssessment
    leadership: SkillAssessment
    domain_depth: SkillAssessment
    composite_and_pressure: SkillAssessment


class PanelRemark(WireModel):
    name: str
    role: str
    remark: str


class InterviewResult(WireModel):
    """The scored interview, in the shape ``GET /v1/invitations/{id}/result`` returns."""

    id: str
    candidate_name: str
    role: str
    completed_at: ApiTimestamp
    overall_score: int = Field(ge=0, le=100)
    summary: str
    skills: Skills
    strengths: list[str]
    improvements: list[str]
    panel: list[PanelRemark]
    transcript: list[TranscriptTurn]
    metadata: dict[str, Any]


class InterviewCompleted(WireModel):
    invitation_id: str
    completed_at: datetime
    overall_score: int = Field(ge=0, le=100)
    summary: str
    minutes_used: int = Field(ge=0)
    # The full result; webhook deliveries of interview.completed carry it.
    result: InterviewResult | None = None


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
