"""Errors only the gateway raises."""

from mga_core.errors import ApiError


class IdempotencyKeyReused(ApiError):
    status = 400
    code = "idempotency_key_reused"
    default_message = (
        "This Idempotency-Key was already used with a different request. "
        "Use a new key for a new request."
    )


class RequestInProgress(ApiError):
    status = 409
    code = "request_in_progress"
    default_message = (
        "A request with this Idempotency-Key is still being processed. "
        "Retry after the given delay with the same key and body."
    )

    def __init__(self) -> None:
        super().__init__(headers={"Retry-After": "1"})


class ResultNotReady(ApiError):
    status = 409
    code = "result_not_ready"
    default_message = (
        "The interview has not been completed and scored yet. Wait for the "
        "interview.completed webhook, or poll GET /v1/invitations/{id} until its status is "
        "completed."
    )
