"""The versioned envelope every event travels in, and its JSON encoding."""

from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.alias_generators import to_camel

from mga_core.ids import IdPrefix, new_id
from mga_core.timestamps import utc_now
from mga_events.types import EventType

SCHEMA_VERSION = 1

DataModel = TypeVar("DataModel", bound=BaseModel)


class WireModel(BaseModel):
    """Base of every message schema: camelCase on the wire, unknown fields rejected."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class MalformedEvent(ValueError):
    """A message body that is not a valid event; it can never succeed, so it is dead-lettered."""


class EventEnvelope(WireModel):
    id: str = Field(pattern=r"^evt_[0-9A-HJKMNP-TV-Z]{26}$")
    type: EventType
    schema_version: int = Field(default=SCHEMA_VERSION, ge=1)
    occurred_at: datetime
    account_id: str
    livemode: bool
    correlation_id: str
    data: dict[str, Any]

    def data_as(self, model: type[DataModel]) -> DataModel:
        """Validate ``data`` against the schema of this event type."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            # Without the input: event data holds candidate links and addresses.
            raise MalformedEvent(
                f"{self.type} data is invalid: {exc.errors(include_input=False)}"
            ) from None

    def to_json(self) -> bytes:
        return self.model_dump_json(by_alias=True).encode()


def build_event(
    event_type: EventType,
    data: BaseModel,
    *,
    account_id: str,
    livemode: bool,
    correlation_id: str,
    occurred_at: datetime | None = None,
) -> EventEnvelope:
    """Wrap ``data`` in a new envelope with a fresh ``evt_`` id."""
    return EventEnvelope(
        id=new_id(IdPrefix.EVENT),
        type=event_type,
        occurred_at=occurred_at or utc_now(),
        account_id=account_id,
        livemode=livemode,
        correlation_id=correlation_id,
        data=data.model_dump(mode="json", by_alias=True),
    )


def decode_event(body: bytes) -> EventEnvelope:
    """Parse a message body into an envelope, checking ``data`` against its type's schema.

    Raises ``MalformedEvent`` for a body that is not JSON, not an envelope, of a schema
    version this code does not read, or whose data does not fit its type.
    """
    from mga_events.schemas import EVENT_DATA_MODELS

    try:
        envelope = EventEnvelope.model_validate_json(body)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'body'}: {error['msg']}"
            for error in exc.errors(include_input=False)
        )
        raise MalformedEvent(f"not a valid event envelope: {reasons}") from None
    if envelope.schema_version != SCHEMA_VERSION:
        raise MalformedEvent(f"unsupported schema version {envelope.schema_version}")
    envelope.data_as(EVENT_DATA_MODELS[envelope.type])
    return envelope
