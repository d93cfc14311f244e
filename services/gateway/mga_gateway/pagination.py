"""Opaque cursors for lists ordered by ``createdAt`` then id, both descending.

A cursor names the last item of a page. The next page holds items strictly after it in
that order, so items sharing a ``createdAt`` are neither skipped nor repeated, and items
created meanwhile (newer than every listed one) do not shift later pages.
"""

import base64
import binascii
import json
from datetime import UTC, datetime

from mga_core.errors import InvalidRequest

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


def encode_cursor(created_at: datetime, item_id: str) -> str:
    millis = int(created_at.timestamp() * 1000)
    raw = json.dumps([millis, item_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        millis, item_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(millis, int) or not isinstance(item_id, str):
            raise ValueError("unexpected cursor content")
        return datetime.fromtimestamp(millis / 1000, tz=UTC), item_id
    # OSError: the platform cannot represent the timestamp (errno EOVERFLOW).
    except (ValueError, TypeError, binascii.Error, OverflowError, OSError):
        raise InvalidRequest(
            "The cursor is not valid. Pass the nextCursor of a previous page unchanged.",
            param="cursor",
        ) from None
