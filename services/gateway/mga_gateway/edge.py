"""The gateway's HTTP edge: strict JSON bodies, body size limit, the error envelope.

Every failure leaves as ``{"error": {"code", "message", "param", "requestId"}}`` with the
request id also in the ``X-Request-Id`` header. Messages never echo the request body.
"""

import json
import re
from typing import Any, TypeVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mga_core.errors import ApiError, InvalidRequest, NotFound, PayloadTooLarge

log = structlog.get_logger()

Model = TypeVar("Model", bound=BaseModel)


def error_response(request_id: str | None, error: ApiError) -> JSONResponse:
    return JSONResponse(
        {
            "error": {
                "code": error.code,
                "message": error.message,
                "param": error.param,
                "requestId": request_id,
            }
        },
        status_code=error.status,
        headers=error.headers,
    )


def _request_id(request: Request) -> str | None:
    return getattr(request.state, "request_id", None)


class BodySizeLimitMiddleware:
    """Reject bodies over ``max_bytes``: at once by Content-Length, or while streaming."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            request_id = scope.get("state", {}).get("request_id")
            response = error_response(request_id, self._too_large())
            await response(scope, receive, send)
            return

        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self._too_large()
            return message

        await self.app(scope, counting_receive, send)

    def _too_large(self) -> PayloadTooLarge:
        return PayloadTooLarge(f"The request body exceeds the limit of {self.max_bytes} bytes.")


def _reject_constant(_name: str) -> Any:
    raise ValueError("non-finite numbers are not valid JSON")


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key '{key}'")
        result[key] = value
    return result


async def read_json_object(request: Request) -> dict[str, Any]:
    """Read the body as one strict JSON object: UTF-8, no NaN, no duplicate keys."""
    body = await request.body()
    if not body:
        raise InvalidRequest("The request body is empty; send a JSON object.")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type and content_type != "application/json" and not content_type.endswith("+json"):
        raise InvalidRequest("Send the request body as JSON with Content-Type: application/json.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidRequest("The request body is not valid UTF-8.") from None
    try:
        value = json.loads(
            text, parse_constant=_reject_constant, object_pairs_hook=_reject_duplicates
        )
    except json.JSONDecodeError as exc:
        raise InvalidRequest(
            f"The request body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}."
        ) from None
    except ValueError as exc:
        raise InvalidRequest(f"The request body is not valid JSON: {exc}.") from None
    if not isinstance(value, dict):
        raise InvalidRequest("The request body must be a JSON object.")
    return value


def _param_of(location: tuple[int | str, ...]) -> str | None:
    parts = [str(part) for part in location if part not in ("body", "query", "path", "header")]
    if not parts:
        return None
    if parts[0] == "metadata" and len(parts) > 1:
        return f"metadata.{parts[1]}"
    return parts[0]


def _first_error(errors: list[Any]) -> InvalidRequest:
    # An unknown field is reported first: it is often a misspelling that also explains a
    # "required" error for the field it was meant to be.
    unknown = [error for error in errors if error.get("type") == "extra_forbidden"]
    error = (unknown or errors)[0]
    param = _param_of(tuple(error.get("loc", ())))
    kind = error.get("type")
    if kind == "extra_forbidden":
        return InvalidRequest(
            f"Unknown field '{param}'. Check the field name against the API reference.",
            param=param,
        )
    if kind == "missing":
        return InvalidRequest(f"{param} is required.", param=param)
    message = str(error.get("msg", "is invalid")).removeprefix("Value error, ").rstrip(".")
    # pydantic writes "Input should be ..."; the API's messages say what the field must be.
    message = re.sub(r"^Input should be ", "must be ", message)
    message = re.sub(r"^String should have ", "must have ", message)
    if not param:
        return InvalidRequest(f"{message}.")
    return InvalidRequest(f"{param} {message[0].lower()}{message[1:]}.", param=param)


def parse_model(model: type[Model], data: dict[str, Any]) -> Model:
    """Validate ``data`` against ``model``; the first problem becomes a 400 with its param."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _first_error(exc.errors(include_input=False, include_url=False)) from None


def _routes(routes: list[Any]) -> list[Any]:
    """Flatten routes, including those of included routers."""
    flat: list[Any] = []
    for route in routes:
        included = getattr(route, "original_router", None)
        flat.extend(_routes(included.routes) if included is not None else [route])
    return flat


def _allowed_methods(request: Request) -> str | None:
    """List the methods of every route on this path; Starlette's Allow names only one."""
    methods: set[str] = set()
    for route in _routes(request.app.routes):
        pattern = getattr(route, "path_regex", None)
        if pattern is not None and pattern.match(request.url.path):
            methods.update(getattr(route, "methods", None) or ())
    methods.discard("HEAD")
    return ", ".join(sorted(methods)) or None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        log.info("request.failed", code=exc.code, status=exc.status, param=exc.param)
        return error_response(_request_id(request), exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        error = _first_error(list(exc.errors()))
        log.info("request.invalid", param=error.param)
        return error_response(_request_id(request), error)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        allowed = _allowed_methods(request) if exc.status_code == 405 else None
        if exc.status_code == 404:
            error: ApiError = NotFound("No such endpoint. Check the path against the API reference.")
        elif exc.status_code == 405 and allowed:
            error = ApiError.from_wire(
                {
                    "status": 405,
                    "code": "method_not_allowed",
                    "message": f"{request.method} is not allowed on this path; use {allowed}.",
                    "param": None,
                }
            )
        else:
            error = ApiError.from_wire(
                {
                    "status": exc.status_code,
                    "code": "invalid_request",
                    "message": str(exc.detail),
                    "param": None,
                }
            )
        response = error_response(_request_id(request), error)
        for name, value in (exc.headers or {}).items():
            response.headers[name] = value
        if allowed:
            response.headers["Allow"] = allowed
        return response

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request.crashed", error=repr(exc))
        error = ApiError("An internal error occurred. It has been logged; quote the request id.")
        return error_response(_request_id(request), error)
