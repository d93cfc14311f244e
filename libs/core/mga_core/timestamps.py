"""UTC timestamps as the API writes and reads them.

MongoDB stores datetimes with millisecond precision, so every timestamp is cut to whole
milliseconds before it is stored or returned. The API renders whole seconds with a ``Z``
suffix (``2026-06-01T00:00:00Z``), the single form the public documentation uses, so a
value returned by POST and by a later GET is the identical string.
"""

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import PlainSerializer

_ISO_8601 = re.compile(
    r"(?P<date>\d{4}-\d{2}-\d{2})[Tt]"
    r"(?P<hour>\d{2}):(?P<minute>\d{2}):(?P<second>\d{2})"
    r"(?:\.(?P<fraction>\d{1,9}))?"
    r"(?P<offset>[Zz]|[+-]\d{2}:\d{2})"
)


class TimestampError(ValueError):
    """A timestamp string that is not ISO 8601 with an explicit offset."""


def utc_now() -> datetime:
    """Return the current time in UTC, cut to whole milliseconds."""
    return to_storage(datetime.now(UTC))


def to_storage(value: datetime) -> datetime:
    """Convert an aware datetime to UTC with millisecond precision, as MongoDB keeps it."""
    if value.tzinfo is None:
        raise TimestampError("naive datetimes are ambiguous; attach a timezone")
    value = value.astimezone(UTC)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def format_timestamp(value: datetime | None) -> str | None:
    """Render a stored datetime as ``YYYY-MM-DDTHH:MM:SSZ``; ``None`` stays ``None``."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_timestamp(text: str) -> datetime:
    """Parse an ISO 8601 timestamp that carries ``Z`` or a numeric offset.

    Accepts a lower-case ``t`` or ``z`` and up to nine fractional digits (digits past the
    millisecond are dropped). Raises ``TimestampError`` for anything else, including a
    timestamp without an offset, which would be ambiguous.
    """
    match = _ISO_8601.fullmatch(text.strip())
    if match is None:
        raise TimestampError(
            "must be an ISO 8601 timestamp with a timezone, such as 2030-05-01T12:00:00Z"
        )
    fraction = (match["fraction"] or "").ljust(6, "0")[:6]
    offset = match["offset"].upper()
    base = f"{match['date']}T{match['hour']}:{match['minute']}:{match['second']}"
    try:
        parsed = datetime.fromisoformat(
            f"{base}.{fraction}{'+00:00' if offset == 'Z' else offset}"
        )
        return to_storage(parsed)
    except ValueError as exc:
        raise TimestampError(f"is not a valid date or time: {exc}") from None
    except OverflowError:
        raise TimestampError("is outside the supported range of dates") from None


def seconds_until(moment: datetime, now: datetime) -> float:
    """Return how many seconds lie between ``now`` and ``moment`` (negative if past)."""
    return (moment - now) / timedelta(seconds=1)


# A datetime that serializes to JSON as the API writes timestamps, for public payloads.
ApiTimestamp = Annotated[datetime, PlainSerializer(format_timestamp, return_type=str, when_used="json")]
