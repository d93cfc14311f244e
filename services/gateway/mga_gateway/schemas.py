"""Request and response bodies of the public API, camelCase as the documentation shows."""

import json
import math
from datetime import datetime
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    field_validator,
)
from pydantic.alias_generators import to_camel

from mga_core.timestamps import TimestampError, parse_timestamp
from mga_gateway.text import forbidden_character, multi_line, single_line

MAX_ROLE_LENGTH = 200
MAX_NAME_LENGTH = 200
MAX_JOB_POSTING_LENGTH = 2000
MAX_EMAIL_LENGTH = 254
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
MAX_METADATA_BYTES = 8 * 1024
DURATIONS = (10, 15, 20, 30, 45, 60)



def _check_email(value: str) -> str:
    if len(value) > MAX_EMAIL_LENGTH:
        raise ValueError(f"must be at most {MAX_EMAIL_LENGTH} characters")
    if forbidden_character(value) is not None or value != value.strip():
        raise ValueError("must be a bare email address without spaces or control characters")
    try:
        result = validate_email(value, check_deliverability=False, allow_smtputf8=True)
    except EmailNotValidError as exc:
        raise ValueError(f"is not a valid email address: {exc}") from None
    return result.normalized


def _check_timestamp(value: str) -> datetime:
    try:
        return parse_timestamp(value)
    except TimestampError as exc:
        raise ValueError(str(exc)) from None


def _check_metadata_key(key: str) -> str:
    if not key or len(key) > MAX_METADATA_KEY_LENGTH:
        raise ValueError(f"keys must be 1 to {MAX_METADATA_KEY_LENGTH} characters")
    if forbidden_character(key) is not None:
        raise ValueError("keys must not contain control characters")
    return key


def _check_metadata_value(item: Any) -> Any:
    if isinstance(item, float) and not math.isfinite(item):
        raise ValueError("must be a finite number")
    if isinstance(item, str):
        if len(item) > MAX_METADATA_VALUE_LENGTH:
            raise ValueError(f"must be at most {MAX_METADATA_VALUE_LENGTH} characters")
        if forbidden_character(item, allow_newlines=True) is not None:
            raise ValueError("must not contain control characters")
    return item


def _check_metadata(value: dict[str, Any]) -> dict[str, Any]:
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"must have at most {MAX_METADATA_KEYS} keys")
    if len(json.dumps(value, ensure_ascii=False).encode()) > MAX_METADATA_BYTES:
        raise ValueError(f"must be at most {MAX_METADATA_BYTES} bytes as JSON")
    return value


Email = Annotated[StrictStr, AfterValidator(_check_email)]
Name = Annotated[StrictStr, AfterValidator(lambda v: single_line(v, max_length=MAX_NAME_LENGTH))]
Role = Annotated[StrictStr, AfterValidator(lambda v: single_line(v, max_length=MAX_ROLE_LENGTH))]
JobPosting = Annotated[
    StrictStr, AfterValidator(lambda v: multi_line(v, max_length=MAX_JOB_POSTING_LENGTH))
]
Timestamp = Annotated[StrictStr, AfterValidator(_check_timestamp)]
MetadataKey = Annotated[str, AfterValidator(_check_metadata_key)]
MetadataValue = Annotated[
    StrictStr | StrictInt | float | bool | None, AfterValidator(_check_metadata_value)
]
Metadata = Annotated[dict[MetadataKey, MetadataValue], AfterValidator(_check_metadata)]
Language = Literal["en", "de"]
InvitationStatus = Literal["pending", "started", "completed", "expired", "cancelled"]


class ApiModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class RequestModel(BaseModel):
    """A request body: only the documented camelCase names are accepted."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=False, extra="forbid")


class CreateInvitationRequest(RequestModel):
    candidate_email: Email = Field(
        description="Email address that receives the invitation.",
        json_schema_extra={"format": "email", "maxLength": MAX_EMAIL_LENGTH},
    )
    candidate_name: Name = Field(
        description="Used in the email greeting and the interview.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_NAME_LENGTH},
    )
    role: Role = Field(
        description="Target role. At most 200 characters.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_ROLE_LENGTH},
    )
    job_posting: JobPosting = Field(
        description="Full job description. At most 2000 characters.",
        json_schema_extra={"minLength": 1, "maxLength": MAX_JOB_POSTING_LENGTH},
    )
    toughness: StrictInt = Field(default=3, ge=1, le=5, description="Panel difficulty, 1 to 5.")
    duration_minutes: Literal[10, 15, 20, 30, 45, 60] = Field(
        default=30, description="Interview length in minutes."
    )
    language: Language = Field(default="en", description="Locale of email and interview.")
    expires_at: Timestamp | None = Field(
        default=None,
        description="ISO 8601 timestamp with a timezone; defaults to 14 days from creation.",
        json_schema_extra={"format": "date-time"},
    )
    metadata: Metadata = Field(
        default_factory=dict,
        description="Up to 50 keys of at most 40 characters; values are strings of at most "
        "500 characters, numbers, booleans or null. Returned verbatim.",
    )

    @field_validator("duration_minutes", mode="before")
    @classmethod
    def _strict_duration(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(
                f"must be {', '.join(map(str, DURATIONS[:-1]))} or {DURATIONS[-1]}"
            )
        return value


class UpdateInvitationRequest(RequestModel):
    expires_at: Timestamp | None = Field(
        default=None, json_schema_extra={"format": "date-time"}
    )
    metadata: Metadata | None = None


class EmailStatus(ApiModel):
    status: Literal["queued", "sent", "failed"]
    error: str | None = Field(
        default=None, description="The SMTP server's reply when the email failed."
    )


class RenderedEmail(ApiModel):
    id: str
    invitation_id: str
    status: str
    language: str | None
    to: str | None
    subject: str | None
    text: str | None
    html: str | None
    created_at: str | None
    sent_at: str | None
    error: str | None


class RenderedEmailList(ApiModel):
    data: list[RenderedEmail]
    has_more: bool
    next_cursor: str | None


class Invitation(ApiModel):
    id: str
    status: InvitationStatus
    candidate_email: str
    candidate_name: str
    role: str
    invitation_url: str
    expires_at: str
    created_at: str
    opened_at: str | None
    started_at: str | None
    completed_at: str | None
    expired_at: str | None
    cancelled_at: str | None
    summary: str | None
    job_posting: str
    toughness: int
    duration_minutes: int
    language: Language
    metadata: dict[str, Any]
    email: EmailStatus
    livemode: bool


class InvitationList(ApiModel):
    data: list[Invitation]
    has_more: bool
    next_cursor: str | None


class Result(ApiModel):
    """The scored interview; transcript candidate turns carry no name."""

    id: str
    candidate_name: str
    role: str
    completed_at: str
    overall_score: int = Field(ge=0, le=100)
    summary: str
    skills: dict[str, dict[str, Any]]
    strengths: list[str]
    improvements: list[str]
    panel: list[dict[str, str]]
    transcript: list[dict[str, str]]
    metadata: dict[str, Any]


class Balance(ApiModel):
    available_minutes: int = Field(description="Minutes free to reserve for new invitations.")
    reserved_minutes: int = Field(description="Minutes held by pending and running interviews.")
    charged_minutes: int = Field(description="Minutes charged for completed interviews.")


class ErrorBody(ApiModel):
    code: str
    message: str
    param: str | None
    request_id: str


class ErrorResponse(ApiModel):
    error: ErrorBody
