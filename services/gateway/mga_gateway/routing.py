"""What every route module of the gateway shares: dependencies, responses, idempotent POSTs."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse

from mga_gateway.auth import Caller, authenticate
from mga_gateway.idempotency import HEADER as IDEMPOTENCY_HEADER
from mga_gateway.idempotency import Idempotency, check_key, fingerprint
from mga_gateway.ratelimit import RateLimiter
from mga_gateway.schemas import ErrorResponse
from mga_gateway.service import GatewayService
from mga_gateway.store import GatewayStore
from mga_gateway.webhooks_service import WebhooksService


@dataclass
class Dependencies:
    store: GatewayStore
    service: GatewayService
    rate_limiter: RateLimiter
    idempotency: Idempotency
    webhooks: WebhooksService


def dependencies(request: Request) -> Dependencies:
    return request.app.state.deps  # type: ignore[no-any-return]


async def authenticated_caller(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Caller:
    deps = dependencies(request)
    caller = await authenticate(deps.store, authorization)
    structlog.contextvars.bind_contextvars(account_id=caller.account_id, livemode=caller.livemode)
    await deps.rate_limiter.check(caller)
    return caller


async def idempotency_key(
    key: Annotated[
        str | None,
        Header(
            alias=IDEMPOTENCY_HEADER,
            description="Makes a retried POST safe: the same key and body within 24 hours "
            "returns the first response.",
        ),
    ] = None,
) -> str | None:
    return check_key(key)


CallerDep = Annotated[Caller, Depends(authenticated_caller)]
IdempotencyKey = Annotated[str | None, Depends(idempotency_key)]

ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def body_schema(model: type[Any]) -> dict[str, Any]:
    """Describe a request body in OpenAPI; the route parses the body itself, strictly."""
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


def json_response(
    status_code: int, body: dict[str, Any], *, replayed: bool = False
) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(body, status_code=status_code, headers=headers)


async def idempotent_post(
    request: Request,
    caller: Caller,
    key: str | None,
    operation: Callable[[str], Awaitable[dict[str, Any]]],
    *,
    payload: Any = None,
    status_code: int = 200,
) -> JSONResponse:
    """Run a POST once per ``Idempotency-Key``; ``operation`` receives the request key."""

    async def run(request_key: str) -> tuple[int, dict[str, Any]]:
        return status_code, await operation(request_key)

    outcome = await dependencies(request).idempotency.run(
        caller, key, fingerprint("POST", request.url.path, payload), run
    )
    return json_response(outcome.status, outcome.body, replayed=outcome.replayed)
