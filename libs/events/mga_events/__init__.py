"""Event and command schemas shared by every service."""

from mga_events.envelope import EventEnvelope, MalformedEvent, build_event, decode_event
from mga_events.types import PUBLIC_EVENT_TYPES, EventType

__all__ = [
    "PUBLIC_EVENT_TYPES",
    "EventEnvelope",
    "EventType",
    "MalformedEvent",
    "build_event",
    "decode_event",
]
