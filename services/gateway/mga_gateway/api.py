"""Routes of the public API under /v1. Handlers decode, authenticate and delegate."""

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse

from mga_gateway.edge import parse_model, read_json_object
from mga_gateway.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mga_gateway.routing import (
    ERROR_RESPONSES,
    CallerDep,
    Dependencies,
    IdempotencyKey,
    body_schema,
    dependencies,
    idempotent_post,
    json_response,
)
from mga_gateway.schemas import (
    Balance,
    CreateInvitationRequest,
    Invitation,
    InvitationList,
    InvitationStatus,
    RenderedEmailList,
    Result,
    UpdateInvitationRequest,
)

__all__ = ["CallerDep", "Dependencies", "IdempotencyKey", "router"]

InvitationId = Annotated[str, Path(description="Invitation id, such as inv_01HX2BT8...")]

router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES)


@router.post(
    "/invitations",
    status_code=status.HTTP_201_CREATED,
    response_model=Invitation,
    summary="Send an interview invitation",
    openapi_extra=body_schema(CreateInvitationRequest),
)
async def create_invitation(
    request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    payload = await read_json_object(request)
    body = parse_model(CreateInvitationRequest, payload)
    service = dependencies(request).service

    async def create(request_key: str) -> dict[str, object]:
        return await service.create_invitation(
            caller, body, request_key=request_key, correlation_id=request.state.correlation_id
        )

    return await idempotent_post(
        request, caller, key, create, payload=payload, status_code=status.HTTP_201_CREATED
    )


@router.get("/invitations", response_model=InvitationList, summary="List invitations")
async def list_invitations(
    request: Request,
    caller: CallerDep,
    status_filter: Annotated[InvitationStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONResponse:
    page = await dependencies(request).service.list_invitations(
        caller, status=status_filter, limit=limit, cursor=cursor
    )
    return json_response(200, page)


@router.get(
    "/invitations/{invitation_id}", response_model=Invitation, summary="Get invitation status"
)
async def get_invitation(
    request: Request, caller: CallerDep, invitation_id: InvitationId
) -> JSONResponse:
    return json_response(200, await dependencies(request).service.get_invitation(caller, invitation_id))


@router.get(
    "/invitations/{invitation_id}/result",
    response_model=Result,
    summary="Get the full result of a completed interview",
)
async def get_result(
    request: Request, caller: CallerDep, invitation_id: InvitationId
) -> JSONResponse:
    return json_response(200, await dependencies(request).service.get_result(caller, invitation_id))


@router.post(
    "/invitations/{invitation_id}",
    response_model=Invitation,
    summary="Update an invitation's expiry or metadata",
    openapi_extra=body_schema(UpdateInvitationRequest),
)
async def update_invitation(
    request: Request, caller: CallerDep, invitation_id: InvitationId, key: IdempotencyKey
) -> JSONResponse:
    payload = await read_json_object(request)
    body = parse_model(UpdateInvitationRequest, payload)
    service = dependencies(request).service

    async def update(_request_key: str) -> dict[str, object]:
        return await service.update_invitation(
            caller, invitation_id, body, correlation_id=request.state.correlation_id
        )

    return await idempotent_post(request, caller, key, update, payload=payload)


@router.post(
    "/invitations/{invitation_id}/cancel",
    response_model=Invitation,
    summary="Cancel a pending invitation",
)
async def cancel_invitation(
    request: Request, caller: CallerDep, invitation_id: InvitationId, key: IdempotencyKey
) -> JSONResponse:
    service = dependencies(request).service

    async def run(_request_key: str) -> dict[str, object]:
        return await service.cancel_invitation(
            caller, invitation_id, correlation_id=request.state.correlation_id
        )

    return await idempotent_post(request, caller, key, run)


@router.post(
    "/invitations/{invitation_id}/resend",
    response_model=Invitation,
    summary="Send the invitation email again",
)
async def resend_invitation(
    request: Request, caller: CallerDep, invitation_id: InvitationId, key: IdempotencyKey
) -> JSONResponse:
    service = dependencies(request).service

    async def run(_request_key: str) -> dict[str, object]:
        return await service.resend_invitation(
            caller, invitation_id, correlation_id=request.state.correlation_id
        )

    return await idempotent_post(request, caller, key, run)


@router.post(
    "/test_helpers/invitations/{invitation_id}/expire",
    response_model=Invitation,
    summary="Expire a pending test invitation now",
    tags=["test helpers"],
)
async def expire_test_invitation(
    request: Request, caller: CallerDep, invitation_id: InvitationId, key: IdempotencyKey
) -> JSONResponse:
    service = dependencies(request).service

    async def run(_request_key: str) -> dict[str, object]:
        return await service.expire_test_invitation(
            caller, invitation_id, correlation_id=request.state.correlation_id
        )

    return await idempotent_post(request, caller, key, run)


def _advance_route(step: Literal["open", "start", "complete"], summary: str) -> None:
    async def advance(
        request: Request, caller: CallerDep, invitation_id: InvitationId, key: IdempotencyKey
    ) -> JSONResponse:
        service = dependencies(request).service

        async def run(_request_key: str) -> dict[str, object]:
            return await service.advance_test_invitation(
                caller, invitation_id, step, correlation_id=request.state.correlation_id
            )

        return await idempotent_post(request, caller, key, run)

    router.add_api_route(
        f"/test_helpers/invitations/{{invitation_id}}/{step}",
        advance,
        methods=["POST"],
        response_model=Invitation,
        summary=summary,
        tags=["test helpers"],
        name=f"{step}_test_invitation",
    )


_advance_route("open", "Open a test invitation's link, as the candidate would")
_advance_route("start", "Open and start a test invitation's interview")
_advance_route("complete", "Play a test invitation's interview to its end with scripted answers")


@router.get(
    "/test_helpers/invitations/{invitation_id}/emails",
    response_model=RenderedEmailList,
    summary="Read the emails rendered for a test-mode invitation",
    tags=["test helpers"],
)
async def list_test_emails(
    request: Request, caller: CallerDep, invitation_id: InvitationId
) -> JSONResponse:
    return json_response(200, await dependencies(request).service.list_test_emails(caller, invitation_id))


@router.get("/balance", response_model=Balance, summary="Read the interview-minute balance")
async def get_balance(request: Request, caller: CallerDep) -> JSONResponse:
    return json_response(200, await dependencies(request).service.balance(caller))


