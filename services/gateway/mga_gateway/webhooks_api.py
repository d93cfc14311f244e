"""Routes for webhook endpoints and events under /v1. Handlers decode, authenticate and delegate.

The gateway app must include ``router`` and provide a ``WebhooksService`` as
``webhooks`` on its ``routing.Dependencies``.
"""

from typing import Annotated, Any, Literal, get_args
from urllib.parse import urlsplit

from fastapi import APIRouter, Path, Query, Request, status
from fastapi.responses import JSONResponse
from pydantic import Field, StrictInt, StrictStr, field_validator

from mga_gateway.edge import parse_model, read_json_object
from mga_gateway.pagination import DEFAULT_LIMIT, MAX_LIMIT
from mga_gateway.routing import (
    ERROR_RESPONSES,
    CallerDep,
    IdempotencyKey,
    body_schema,
    dependencies,
    idempotent_post,
    json_response,
)
from mga_gateway.schemas import ApiModel
from mga_gateway.text import forbidden_character, single_line
from mga_gateway.webhooks_service import WebhooksService

MAX_URL_LENGTH = 2048
MAX_DESCRIPTION_LENGTH = 500
# How long a rotated secret may keep signing next to the new one: at most seven days.
MAX_OVERLAP_SECONDS = 7 * 24 * 3600
ALL_EVENTS = "*"

# The public event types of mga_events.types.PUBLIC_EVENT_TYPES, spelled out for OpenAPI.
WebhookEventType = Literal[
    "invitation.opened", "interview.started", "interview.completed", "invitation.expired"
]
EVENT_TYPES: tuple[str, ...] = get_args(WebhookEventType)


def _check_url(value: str) -> str:
    """Check the URL's form. The dispatcher checks the addresses it resolves to."""
    if len(value) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    if forbidden_character(value) is not None or value != value.strip() or " " in value:
        raise ValueError("must be a URL without spaces or control characters")
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http"):
        raise ValueError(
            "must start with https:// (http:// is accepted only for test-mode endpoints, "
            "or on a development stack that allows private targets)"
        )
    if not parts.hostname:
        raise ValueError("must name a host, such as https://hooks.example.com/mga")
    if parts.username is not None or parts.password is not None:
        raise ValueError(
            "must not contain a user name or password; put a token in the path or query instead"
        )
    return value


def _check_enabled_events(value: list[str]) -> list[str]:
    allowed = ", ".join(EVENT_TYPES)
    if not value:
        raise ValueError(f'must name at least one event type ({allowed}), or be ["*"]')
    if ALL_EVENTS in value and len(value) > 1:
        raise ValueError('must be ["*"] alone or a list of event types, not both')
    if len(set(value)) != len(value):
        raise ValueError("must not repeat an event type")
    for name in value:
        if name != ALL_EVENTS and name not in EVENT_TYPES:
            raise ValueError(
                f"contains '{name[:64]}', which is not a webhook event type; use {allowed}, "
                'or ["*"] for all'
            )
    return value


class CreateWebhookEndpointRequest(ApiModel):
    url: StrictStr = Field(
        description="HTTPS URL that receives the events; test-mode endpoints may use http. "
        "It must resolve to public addresses only."
    )
    enabled_events: list[StrictStr] = Field(
        description='Event types to receive, or ["*"] for every type.'
    )
    description: StrictStr | None = Field(
        default=None, description=f"Free text, at most {MAX_DESCRIPTION_LENGTH} characters."
    )

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        return _check_url(value)

    @field_validator("enabled_events")
    @classmethod
    def _valid_events(cls, value: list[str]) -> list[str]:
        return _check_enabled_events(value)

    @field_validator("description")
    @classmethod
    def _valid_description(cls, value: str | None) -> str | None:
        return None if value is None else single_line(value, max_length=MAX_DESCRIPTION_LENGTH)


class RotateSecretRequest(ApiModel):
    overlap_seconds: StrictInt | None = Field(
        default=None,
        ge=0,
        le=MAX_OVERLAP_SECONDS,
        description="Seconds the previous secret keeps signing next to the new one; "
        "default 86400 (24 hours), 0 retires it at once.",
    )


class RedeliverRequest(ApiModel):
    endpoint_id: StrictStr | None = Field(
        default=None,
        description="Send only to this endpoint; by default every enabled endpoint that "
        "receives the event type gets it again.",
    )


class WebhookEndpoint(ApiModel):
    id: str
    url: str
    enabled_events: list[str]
    description: str | None
    status: Literal["enabled", "failing", "disabled"]
    disabled_reason: str | None
    created_at: str
    livemode: bool


class CreatedWebhookEndpoint(WebhookEndpoint):
    secret: str = Field(description="The signing secret. It is shown only in this response.")


class RotatedWebhookEndpoint(CreatedWebhookEndpoint):
    previous_secret_expires_at: str


class WebhookEndpointList(ApiModel):
    data: list[WebhookEndpoint]
    has_more: bool
    next_cursor: str | None


class DeletedWebhookEndpoint(ApiModel):
    id: str
    deleted: bool


class Event(ApiModel):
    id: str
    type: WebhookEventType
    created_at: str
    data: dict[str, Any]
    livemode: bool


class EventList(ApiModel):
    data: list[Event]
    has_more: bool
    next_cursor: str | None


class DeliveryAttempt(ApiModel):
    number: int
    attempted_at: str
    outcome: str
    status_code: int | None
    error: str | None
    latency_ms: int | None
    response_body: str | None = Field(description="The first kilobyte of the response body.")
    next_retry_at: str | None


class Delivery(ApiModel):
    id: str
    event_id: str
    endpoint_id: str
    status: Literal["pending", "succeeded", "failed", "cancelled"]
    redelivery: bool
    created_at: str
    finished_at: str | None
    failure_reason: str | None
    next_retry_at: str | None
    attempts: list[DeliveryAttempt]


class DeliveryList(ApiModel):
    data: list[Delivery]
    has_more: bool
    next_cursor: str | None


class Redelivery(ApiModel):
    event_id: str
    deliveries: list[Delivery]


EndpointId = Annotated[str, Path(description="Webhook endpoint id, such as we_01HX2BT8...")]
EventId = Annotated[str, Path(description="Event id, such as evt_01HX2BT8...")]


def _webhooks(request: Request) -> WebhooksService:
    return dependencies(request).webhooks


def _optional_body_schema(model: type[ApiModel]) -> dict[str, Any]:
    schema = body_schema(model)
    schema["requestBody"]["required"] = False
    return schema


async def _optional_json_object(request: Request) -> dict[str, Any]:
    """Read an optional JSON object body; an empty body counts as ``{}``."""
    if not await request.body():
        return {}
    return await read_json_object(request)


router = APIRouter(prefix="/v1", responses=ERROR_RESPONSES, tags=["webhooks"])


@router.post(
    "/webhook_endpoints",
    status_code=status.HTTP_201_CREATED,
    response_model=CreatedWebhookEndpoint,
    summary="Register a webhook endpoint",
    openapi_extra=body_schema(CreateWebhookEndpointRequest),
)
async def create_webhook_endpoint(
    request: Request, caller: CallerDep, key: IdempotencyKey
) -> JSONResponse:
    payload = await read_json_object(request)
    body = parse_model(CreateWebhookEndpointRequest, payload)
    webhooks = _webhooks(request)

    async def create(request_key: str) -> dict[str, Any]:
        return await webhooks.create_endpoint(
            caller,
            url=body.url,
            enabled_events=body.enabled_events,
            description=body.description,
            request_key=request_key,
            correlation_id=request.state.correlation_id,
        )

    return await idempotent_post(
        request, caller, key, create, payload=payload, status_code=status.HTTP_201_CREATED
    )


@router.get(
    "/webhook_endpoints", response_model=WebhookEndpointList, summary="List webhook endpoints"
)
async def list_webhook_endpoints(
    request: Request,
    caller: CallerDep,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONResponse:
    page = await _webhooks(request).list_endpoints(caller, limit=limit, cursor=cursor)
    return json_response(200, page)


@router.get(
    "/webhook_endpoints/{endpoint_id}",
    response_model=WebhookEndpoint,
    summary="Get a webhook endpoint",
)
async def get_webhook_endpoint(
    request: Request, caller: CallerDep, endpoint_id: EndpointId
) -> JSONResponse:
    return json_response(200, await _webhooks(request).get_endpoint(caller, endpoint_id))


@router.delete(
    "/webhook_endpoints/{endpoint_id}",
    response_model=DeletedWebhookEndpoint,
    summary="Delete a webhook endpoint; its pending deliveries stop",
)
async def delete_webhook_endpoint(
    request: Request, caller: CallerDep, endpoint_id: EndpointId
) -> JSONResponse:
    deleted = await _webhooks(request).delete_endpoint(
        caller, endpoint_id, correlation_id=request.state.correlation_id
    )
    return json_response(200, deleted)


@router.post(
    "/webhook_endpoints/{endpoint_id}/rotate_secret",
    response_model=RotatedWebhookEndpoint,
    summary="Rotate an endpoint's signing secret",
    openapi_extra=_optional_body_schema(RotateSecretRequest),
)
async def rotate_webhook_secret(
    request: Request, caller: CallerDep, endpoint_id: EndpointId, key: IdempotencyKey
) -> JSONResponse:
    payload = await _optional_json_object(request)
    body = parse_model(RotateSecretRequest, payload)
    webhooks = _webhooks(request)

    async def rotate(_request_key: str) -> dict[str, Any]:
        return await webhooks.rotate_secret(
            caller,
            endpoint_id,
            overlap_seconds=body.overlap_seconds,
            correlation_id=request.state.correlation_id,
        )

    return await idempotent_post(request, caller, key, rotate, payload=payload)


@router.get("/events", response_model=EventList, summary="List events, newest first")
async def list_events(
    request: Request,
    caller: CallerDep,
    event_type: Annotated[WebhookEventType | None, Query(alias="type")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONResponse:
    page = await _webhooks(request).list_events(
        caller, event_type=event_type, limit=limit, cursor=cursor
    )
    return json_response(200, page)


@router.get("/events/{event_id}", response_model=Event, summary="Get an event")
async def get_event(request: Request, caller: CallerDep, event_id: EventId) -> JSONResponse:
    return json_response(200, await _webhooks(request).get_event(caller, event_id))


@router.get(
    "/events/{event_id}/deliveries",
    response_model=DeliveryList,
    summary="List an event's deliveries and their attempts",
)
async def list_event_deliveries(
    request: Request, caller: CallerDep, event_id: EventId
) -> JSONResponse:
    return json_response(200, await _webhooks(request).list_deliveries(caller, event_id))


@router.post(
    "/events/{event_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Redelivery,
    summary="Deliver an event again",
    openapi_extra=_optional_body_schema(RedeliverRequest),
)
async def redeliver_event(
    request: Request, caller: CallerDep, event_id: EventId, key: IdempotencyKey
) -> JSONResponse:
    payload = await _optional_json_object(request)
    body = parse_model(RedeliverRequest, payload)
    webhooks = _webhooks(request)

    async def redeliver(_request_key: str) -> dict[str, Any]:
        return await webhooks.redeliver(
            caller,
            event_id,
            endpoint_id=body.endpoint_id,
            correlation_id=request.state.correlation_id,
        )

    return await idempotent_post(
        request, caller, key, redeliver, payload=payload, status_code=status.HTTP_202_ACCEPTED
    )
