"""Prefixed, time-ordered identifiers such as ``inv_01HX2BT8A3JXG5Z3F4WV7QY3K9``."""

from enum import StrEnum

from ulid import ULID


class IdPrefix(StrEnum):
    ACCOUNT = "acct"
    API_KEY = "key"
    EVENT = "evt"
    INVITATION = "inv"
    REQUEST = "req"
    WEBHOOK_ENDPOINT = "we"
    COMMAND = "cmd"


def new_id(prefix: IdPrefix) -> str:
    """Return a new identifier: the prefix, an underscore and a ULID."""
    return f"{prefix}_{ULID()}"


def has_prefix(value: str, prefix: IdPrefix) -> bool:
    """Tell whether ``value`` looks like an identifier of the given kind."""
    head, _, tail = value.partition("_")
    return head == prefix.value and len(tail) == 26 and tail.isalnum()
