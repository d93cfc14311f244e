"""The API error tree.

Every failure the API reports is an ``ApiError``: an HTTP status, a stable ``code`` that
integrators branch on, a human ``message`` and the ``param`` it concerns. One handler in the
gateway renders them as ``{"error": {"code", "message", "param", "requestId"}}``.

    ApiError
    ├── InvalidRequest          400 invalid_request
    ├── Unauthenticated         401 unauthenticated
    ├── Forbidden               403 forbidden
    ├── NotFound                404 not_found
    ├── AlreadyCompleted        409 already_completed
    ├── PayloadTooLarge         413 payload_too_large
    ├── InsufficientBalance     422 insufficient_balance
    ├── RateLimited             429 rate_limited
    ├── GenerationFailed        503 generation_failed
    └── ServiceUnavailable      503 service_unavailable

Errors that only one service raises subclass ``ApiError`` next to that service. The
invitation service sends its errors to the gateway as ``to_wire()`` dictionaries, and
``ApiError.from_wire`` turns them back into an error with the same status and code.
"""

from typing import Any, ClassVar


class ApiError(Exception):
    """A failure with a stable machine-readable code, reported to the API caller."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "The request failed."

    def __init__(
        self,
        message: str | None = None,
        *,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.param = param
        self.headers = headers or {}
        super().__init__(self.message)

    def to_wire(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "code": self.code,
            "message": self.message,
            "param": self.param,
        }

    @staticmethod
    def from_wire(wire: dict[str, Any]) -> "ApiError":
        """Rebuild an error that another service reported with ``to_wire``."""
        error_type = type(
            "RemoteApiError",
            (ApiError,),
            {"status": int(wire["status"]), "code": str(wire["code"])},
        )
        return error_type(str(wire["message"]), param=wire.get("param"))


class InvalidRequest(ApiError):
    status = 400
    code = "invalid_request"
    default_message = "The request is invalid."


class Unauthenticated(ApiError):
    status = 401
    code = "unauthenticated"
    default_message = (
        "Missing or invalid API key. Send it as 'Authorization: Bearer mga_live_...' "
        "or 'Authorization: Bearer mga_test_...'."
    )

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'Bearer realm="mga"'})


class Forbidden(ApiError):
    status = 403
    code = "forbidden"
    default_message = "This API key may not perform this request."


class NotFound(ApiError):
    status = 404
    code = "not_found"
    default_message = "The resource does not exist."


class AlreadyCompleted(ApiError):
    status = 409
    code = "already_completed"
    default_message = "The invitation has already finished and can no longer be changed."


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"
    default_message = "The request body is too large."


class InsufficientBalance(ApiError):
    status = 422
    code = "insufficient_balance"
    default_message = (
        "Account does not have enough interview minutes to send this invitation."
    )


class RateLimited(ApiError):
    status = 429
    code = "rate_limited"
    default_message = "Too many requests for this API key. Retry after the given delay."

    def __init__(self, retry_after_seconds: int) -> None:
        super().__init__(headers={"Retry-After": str(max(1, retry_after_seconds))})


class GenerationFailed(ApiError):
    status = 503
    code = "generation_failed"
    default_message = "Generating content failed. Retry with the same idempotency key."


class ServiceUnavailable(ApiError):
    status = 503
    code = "service_unavailable"
    default_message = (
        "The service is temporarily unavailable. Retry with the same idempotency key."
    )

    def __init__(self, message: str | None = None, *, retry_after_seconds: int = 2) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after_seconds)})
