"""Routes of the public API under /v1. Handlers decode, authenticate and delegate."""

from dataclasses import dataclass
from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, Header, Path, Query, Request, status
from fastapi.responses import JSONResponse

from mga_gateway.auth import Caller, authenticate
from mga_gateway.edge import parse_model, read_json_object
from mga_gateway.idempotency import HEADER as IDEMPOTENCY_HEADER
from mga_gateway.idempotency import Idempotency, check_key, fingerprint
from mga_gateway.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mga_gateway.ratelimit import RateLimiter
from mga_gateway.schemas import (
    Balance,
    CreateInvitationRequest,
    ErrorResponse,
    Invitation,
    InvitationList,
    InvitationStatus,
    RenderedEmailList,
    Result,
    UpdateInvitationRequest,
)
from mga_gateway.service import GatewayService
from mga_gateway.store import GatewayStore


@dataclass
class Dependencies:
    store: GatewayStore
    service: GatewayService
    rate_limiter: RateLimiter
    idempotency: Idempotency


def _deps(request: Request) -> Dependencies:
    return request.app.state.deps  # type: ignore[no-any-return]


async def caller(
    request: Request,
    authorization: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Caller:
    deps = _deps(request)
    authenticated = await authenticate(deps.store, authorization)
    structlog.contextvars.bind_contextvars(
        account_id=authenticated.account_id, livemode=authenticated.livemode
    )
    await deps.rate_limiter.check(authenticated)
    return authenticated


CallerDep = Annotated[Caller, Depends(caller)]
InvitationId = Annotated[str, Path(description="Invitation id, such as inv_01HX2BT8...")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_HEADER,
        description="Makes a retried POST safe: the same key and body within 24 hours "
        "returns the first response.",
    ),
]

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 409, 413, 422, 429, 503)
}


def _body_schema(model: type[Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": model.model_json_schema(by_alias=True)}},
        }
    }


def _json(status_code: int, body: dict[str, Any], *, replayed: bool = False) -> JSONResponse:
    headers = {"Idempotent-Replayed": "true"} if replayed else None
    return JSONResponse(body, status_code=status_code, headers=headers)


router = APIRouter(prefix="/v1", responses=_ERRORS)


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=Invitation,
    summary="Send an interview invitation",
    openapi_extra=_body_schema(CreateInvitationRequest),
)
async def create_invitation(
    request: Request, caller: CallerDep, idempotency_key: IdempotencyKey = None
) -> JSONResponse:
    deps = _deps(request)
    key = check_key(idempotency_key)
    payload = await read_json_object(request)
    body = parse_model(CreateInvitationRequest, payload)

    async def create(request_key: str) -> tuple[int, dict[str, Any]]:
        invitation = await deps.service.create_invitation(
            caller,
            body,
            request_key=request_key,
            correlation_id=request.state.correlation_id,
        )
        return status.HTTP_201_CREATED, invitation

    outcome = await deps.idempotency.run(
        caller, key, fingerprint("POST", "/v1/invitations", payload), create
    )
    return _json(outcome.status, outcome.body, replayed=outcome.replayed)


@router.get("/invitations", response_model=InvitationList, summary="List invitations")
async def list_invitations(
    request: Request,
    caller: CallerDep,
    status_filter: Annotated[InvitationStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONResponse:
    page = await _deps(request).service.list_invitations(
        caller, status=status_filter, limit=limit, cursor=cursor
    )
    return _json(200, page)


@router.get(
    "/invitations/{invitation_id}", response_model=Invitation, summary="Get invitation status"
)
async def get_invitation(
    request: Request, caller: CallerDep, invitation_id: InvitationId
) -> JSONResponse:
    return _json(200, await _deps(request).service.get_invitation(caller, invitation_id))


@router.get(
    "/invitations/{invitation_id}/result",
    response_model=Result,
    summary="Get the full result of a completed interview",
)
async def get_result(
    request: Request, caller: CallerDep, invitation_id: InvitationId
) -> JSONResponse:
    return _json(200, await _deps(request).service.get_result(caller, invitation_id))


@router.post(
    "/invitations/{invitation_id}",
    response_model=Invitation,
    summary="Update an invitation's expiry or metadata",
    openapi_extra=_body_schema(UpdateInvitationRequest),
)
async def update_invitation(
    request: Request,
    caller: CallerDep,
    invitation_id: InvitationId,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    deps = _deps(request)
    key = check_key(idempotency_key)
    payload = await read_json_object(request)
    body = parse_model(UpdateInvitationRequest, payload)

    async def update(_request_key: str) -> tuple[int, dict[str, Any]]:
        invitation = await deps.service.update_invitation(
            caller, invitation_id, body, correlation_id=request.state.correlation_id
        )
        return 200, invitation

    outcome = await deps.idempotency.run(
        caller, key, fingerprint("POST", f"/v1/invitations/{invitation_id}", payload), update
    )
    return _json(outcome.status, outcome.body, replayed=outcome.replayed)


@router.post(
    "/invitations/{invitation_id}/cancel",
    response_model=Invitation,
    summary="Cancel a pending invitation",
)
async def cancel_invitation(
    request: Request,
    caller: CallerDep,
    invitation_id: InvitationId,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    deps = _deps(request)
    key = check_key(idempotency_key)

    async def cancel(_request_key: str) -> tuple[int, dict[str, Any]]:
        invitation = await deps.service.cancel_invitation(
            caller, invitation_id, correlation_id=request.state.correlation_id
        )
        return 200, invitation

    outcome = await deps.idempotency.run(
        caller, key, fingerprint("POST", f"/v1/invitations/{invitation_id}/cancel", None), cancel
    )
    return _json(outcome.status, outcome.body, replayed=outcome.replayed)


@router.post(
    "/invitations/{invitation_id}/resend",
    response_model=Invitation,
    summary="Send the invitation email again",
)
async def resend_invitation(
    request: Request,
    caller: CallerDep,
    invitation_id: InvitationId,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    deps = _deps(request)
    key = check_key(idempotency_key)

    async def resend(_request_key: str) -> tuple[int, dict[str, Any]]:
        invitation = await deps.service.resend_invitation(
            caller, invitation_id, correlation_id=request.state.correlation_id
        )
        return 200, invitation

    outcome = await deps.idempotency.run(
        caller, key, fingerprint("POST", f"/v1/invitations/{invitation_id}/resend", None), resend
    )
    return _json(outcome.status, outcome.body, replayed=outcome.replayed)


@router.post(
    "/test_helpers/invitations/{invitation_id}/expire",
    response_model=Invitation,
    summary="Expire a pending test invitation now",
    tags=["test helpers"],
)
async def expire_test_invitation(
    request: Request,
    caller: CallerDep,
    invitation_id: InvitationId,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    deps = _deps(request)
    key = check_key(idempotency_key)

    async def expire(_request_key: str) -> tuple[int, dict[str, Any]]:
        invitation = await deps.service.expire_test_invitation(
            caller, invitation_id, correlation_id=request.state.correlation_id
        )
        return 200, invitation

    path = f"/v1/test_helpers/invitations/{invitation_id}/expire"
    outcome = await deps.idempotency.run(caller, key, fingerprint("POST", path, None), expire)
    return _json(outcome.status, outcome.body, replayed=outcome.replayed)


@router.get(
    "/test_helpers/invitations/{invitation_id}/emails",
    response_model=RenderedEmailList,
    summary="Read the emails rendered for a test-mode invitation",
    tags=["test helpers"],
)
async def list_test_emails(
    request: Request, caller: CallerDep, invitation_id: InvitationId
) -> JSONResponse:
    return _json(200, await _deps(request).service.list_test_emails(caller, invitation_id))


@router.get("/balance", response_model=Balance, summary="Read the interview-minute balance")
async def get_balance(request: Request, caller: CallerDep) -> JSONResponse:
    return _json(200, await _deps(request).service.balance(caller))


