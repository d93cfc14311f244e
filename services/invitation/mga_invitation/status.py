"""The invitation status machine, in one function.

    pending ──start──▶ started ──complete──▶ completed
       │
       ├──expire──▶ expired
       └──cancel──▶ cancelled

Opening the link keeps an invitation ``pending`` (it records ``openedAt`` only).
"""

from enum import StrEnum
from typing import assert_never

from mga_core.errors import AlreadyCompleted
from mga_invitation.errors import InvitationNotPending


class Status(StrEnum):
    PENDING = "pending"
    STARTED = "started"
    COMPLETED = "completed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class Action(StrEnum):
    OPEN = "open"
    START = "start"
    COMPLETE = "complete"
    EXPIRE = "expire"
    CANCEL = "cancel"


def require_pending(current: Status, change: str) -> None:
    """Raise the API error for ``change`` (such as "resent") unless the invitation is pending."""
    if current is Status.COMPLETED:
        raise AlreadyCompleted()
    if current is not Status.PENDING:
        raise InvitationNotPending(
            f"The invitation is {current.value}; only a pending invitation can be {change}."
        )


def next_status(current: Status, action: Action) -> Status:
    """Return the status ``action`` leads to from ``current``, or raise the API error."""
    if current is Status.COMPLETED:
        raise AlreadyCompleted()

    match action:
        case Action.OPEN:
            allowed, target = {Status.PENDING}, Status.PENDING
        case Action.START:
            allowed, target = {Status.PENDING}, Status.STARTED
        case Action.COMPLETE:
            allowed, target = {Status.STARTED}, Status.COMPLETED
        case Action.EXPIRE:
            allowed, target = {Status.PENDING}, Status.EXPIRED
        case Action.CANCEL:
            allowed, target = {Status.PENDING}, Status.CANCELLED
        case _:
            assert_never(action)

    if current not in allowed:
        raise InvitationNotPending(
            f"The invitation is {current.value}; '{action.value}' needs it to be "
            f"{' or '.join(sorted(status.value for status in allowed))}."
        )
    return target
