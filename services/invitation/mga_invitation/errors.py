"""Errors only the invitation service raises."""

from mga_core.errors import ApiError


class InvitationNotPending(ApiError):
    status = 409
    code = "invitation_not_pending"
    default_message = "Only a pending invitation can be changed this way."


class LedgerContention(ApiError):
    status = 503
    code = "service_unavailable"
    default_message = "The minute balance is busy. Retry with the same idempotency key."
