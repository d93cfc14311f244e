"""Webhook endpoints, stored events and the deliveries they schedule.

Commands from the gateway register, delete and rotate endpoints and redeliver events. Each
public event is stored once and gets one delivery per receiving endpoint. This module only
stores and schedules, and the scheduler makes the attempts, so the AMQP handler does not
wait on an integrator's server.
"""

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import structlog
from ulid import ULID

from mga_core.errors import InvalidRequest, NotFound
from mga_core.ids import IdPrefix, new_id
from mga_core.timestamps import format_timestamp, to_storage, utc_now
from mga_events.commands import (
    CommandContext,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RedeliverEvent,
    RotateWebhookSecret,
)
from mga_events.envelope import EventEnvelope, MalformedEvent
from mga_events.types import PUBLIC_EVENT_TYPES
from mga_messaging.consumer import PermanentError
from mga_storage import Document
from mga_webhook_dispatcher.errors import EndpointDisabled
from mga_webhook_dispatcher.payloads import render_body, render_data
from mga_webhook_dispatcher.signing import generate_secret
from mga_webhook_dispatcher.ssrf import Resolver, UnsafeTarget, resolve_target
from mga_webhook_dispatcher.store import (
    RECEIVING_STATUSES,
    DeliveryStatus,
    EndpointStatus,
    WebhookStore,
)

log = structlog.get_logger()

ALL_EVENTS = "*"
PUBLIC_EVENT_NAMES = frozenset(event_type.value for event_type in PUBLIC_EVENT_TYPES)
MAX_DESCRIPTION_LENGTH = 500
DELIVERY_ID_PREFIX = "dlv"


def new_delivery_id() -> str:
    return f"{DELIVERY_ID_PREFIX}_{ULID()}"


def check_enabled_events(enabled_events: list[str]) -> list[str]:
    """Return the list unchanged if it is ``["*"]`` or distinct public event types."""
    allowed = ", ".join(sorted(PUBLIC_EVENT_NAMES))
    if not enabled_events:
        raise InvalidRequest(
            f'enabledEvents must name at least one event type: {allowed}, or ["*"] for all.',
            param="enabledEvents",
        )
    if ALL_EVENTS in enabled_events and len(enabled_events) > 1:
        raise InvalidRequest(
            'enabledEvents must be ["*"] alone or a list of event types, not both.',
            param="enabledEvents",
        )
    if len(set(enabled_events)) != len(enabled_events):
        raise InvalidRequest("enabledEvents must not repeat an event type.", param="enabledEvents")
    for name in enabled_events:
        if name != ALL_EVENTS and name not in PUBLIC_EVENT_NAMES:
            raise InvalidRequest(
                f"enabledEvents contains '{name[:64]}', which is not a webhook event type. "
                f"Use {allowed}, or [\"*\"] for all.",
                param="enabledEvents",
            )
    return enabled_events


class WebhookService:
    def __init__(
        self,
        *,
        store: WebhookStore,
        resolver: Resolver,
        allow_private_targets: bool,
        default_secret_overlap: timedelta,
        on_scheduled: Callable[[], None],
    ) -> None:
        self._store = store
        self._resolver = resolver
        self._allow_private = allow_private_targets
        self._default_overlap = default_secret_overlap
        self._on_scheduled = on_scheduled

    # Endpoint commands

    async def create_endpoint(self, command: CreateWebhookEndpoint) -> dict[str, Any]:
        """Register an endpoint once per request key and return its id and current secret."""
        context = command.context
        existing = await self._store.find_endpoint_by_request_key(
            account_id=context.account_id,
            livemode=context.livemode,
            request_key=command.request_key,
        )
        if existing is not None:
            log.info("webhook.endpoint_create_replayed", endpoint_id=existing["_id"])
            return _created_reply(existing)

        enabled_events = check_enabled_events(list(command.enabled_events))
        if command.description is not None and len(command.description) > MAX_DESCRIPTION_LENGTH:
            raise InvalidRequest(
                f"description must be at most {MAX_DESCRIPTION_LENGTH} characters.",
                param="description",
            )
        await self._check_url(command.url, livemode=context.livemode)

        now = utc_now()
        endpoint: Document = {
            "_id": new_id(IdPrefix.WEBHOOK_ENDPOINT),
            "accountId": context.account_id,
            "livemode": context.livemode,
            "requestKey": command.request_key,
            "url": command.url,
            "enabledEvents": enabled_events,
            "description": command.description,
            "status": EndpointStatus.ENABLED.value,
            "secrets": [{"secret": generate_secret(), "createdAt": now, "expiresAt": None}],
            "createdAt": now,
            "updatedAt": now,
            "disabledAt": None,
            "disabledReason": None,
            "failingSince": None,
            "deletedAt": None,
        }
        if not await self._store.insert_endpoint(endpoint):
            # A concurrent command with the same request key won.
            winner = await self._store.find_endpoint_by_request_key(
                account_id=context.account_id,
                livemode=context.livemode,
                request_key=command.request_key,
            )
            if winner is None:
                raise RuntimeError(
                    "insert of a webhook endpoint failed on a duplicate request key, "
                    "but no endpoint with that key was found"
                )
            return _created_reply(winner)
        log.info(
            "webhook.endpoint_created",
            endpoint_id=endpoint["_id"],
            livemode=context.livemode,
            enabled_events=enabled_events,
        )
        return _created_reply(endpoint)

    async def delete_endpoint(self, command: DeleteWebhookEndpoint) -> dict[str, Any]:
        """Delete an endpoint: it receives nothing more, and its pending deliveries stop."""
        endpoint_id = command.endpoint_id
        now = utc_now()
        async with self._store.lock(endpoint_id):
            await self._owned_endpoint(endpoint_id, command.context, param="id")
            await self._store.update_endpoint(
                endpoint_id,
                {
                    "status": EndpointStatus.DELETED.value,
                    "deletedAt": now,
                    "updatedAt": now,
                    # A deleted endpoint never signs again, so its secrets are not kept.
                    "secrets": [],
                },
            )
        cancelled = await self._store.cancel_pending_deliveries(
            endpoint_id, reason="The endpoint was deleted.", now=now
        )
        log.info(
            "webhook.endpoint_deleted",
            endpoint_id=endpoint_id,
            deliveries_cancelled=len(cancelled),
        )
        return {"id": endpoint_id}

    async def rotate_secret(self, command: RotateWebhookSecret) -> dict[str, Any]:
        """Add a new secret. The current ones keep signing until the overlap ends."""
        endpoint_id = command.endpoint_id
        overlap = (
            timedelta(seconds=command.overlap_seconds)
            if command.overlap_seconds is not None
            else self._default_overlap
        )
        async with self._store.lock(endpoint_id):
            endpoint = await self._owned_endpoint(endpoint_id, command.context, param="id")
            now = utc_now()
            previous_expires_at = to_storage(now + overlap)
            kept: list[dict[str, Any]] = []
            for entry in endpoint.get("secrets", []):
                expires_at: datetime | None = entry.get("expiresAt")
                if expires_at is not None and expires_at <= now:
                    continue
                if expires_at is None or expires_at > previous_expires_at:
                    expires_at = previous_expires_at
                if expires_at > now:
                    kept.append({**entry, "expiresAt": expires_at})
            secret = generate_secret()
            kept.append({"secret": secret, "createdAt": now, "expiresAt": None})
            await self._store.update_endpoint(endpoint_id, {"secrets": kept, "updatedAt": now})
        log.info(
            "webhook.secret_rotated",
            endpoint_id=endpoint_id,
            overlap_seconds=int(overlap.total_seconds()),
        )
        return {
            "id": endpoint_id,
            "secret": secret,
            "previousSecretExpiresAt": format_timestamp(previous_expires_at),
        }

    # Events and deliveries

    async def record_event(self, event: EventEnvelope) -> None:
        """Store a public event once and schedule one delivery per receiving endpoint.

        Running it again for the same event adds only deliveries that are missing, so a
        redelivered message mends a crash between storing the event and its deliveries.
        """
        try:
            data = render_data(event)
        except MalformedEvent as exc:
            raise PermanentError(str(exc)) from exc
        now = utc_now()
        stored = await self._store.insert_event(
            {
                "_id": event.id,
                "type": event.type.value,
                "createdAt": to_storage(event.occurred_at),
                "accountId": event.account_id,
                "livemode": event.livemode,
                "dataJson": _json_text(data),
                "body": render_body(event, data),
                "receivedAt": now,
            }
        )
        endpoints = await self._store.receiving_endpoints(
            account_id=event.account_id, livemode=event.livemode, event_type=event.type.value
        )
        scheduled = 0
        for endpoint in endpoints:
            endpoint_id = str(endpoint["_id"])
            created = await self._schedule(
                event_id=event.id,
                event_type=event.type.value,
                endpoint=endpoint,
                delivery_key=f"{event.id}:{endpoint_id}:initial",
                redelivery=False,
            )
            scheduled += created is not None
        if scheduled:
            self._on_scheduled()
        log.info(
            "webhook.event_recorded",
            event_id=event.id,
            event_type=event.type.value,
            first_time=stored,
            deliveries_scheduled=scheduled,
        )

    async def redeliver(self, command: RedeliverEvent) -> dict[str, Any]:
        """Schedule a new delivery of a stored event to one endpoint or to every receiving one."""
        context = command.context
        event = await self._store.get_owned_event(
            command.event_id, account_id=context.account_id, livemode=context.livemode
        )
        if event is None:
            raise NotFound(f"No event with id '{command.event_id[:64]}'.", param="id")
        event_type = str(event["type"])

        if command.endpoint_id is not None:
            endpoint = await self._owned_endpoint(command.endpoint_id, context, param="endpointId")
            if endpoint["status"] not in RECEIVING_STATUSES:
                raise EndpointDisabled(param="endpointId")
            if not _receives(endpoint, event_type):
                raise InvalidRequest(
                    f"The endpoint is not enabled for {event_type} events.", param="endpointId"
                )
            endpoints = [endpoint]
        else:
            endpoints = await self._store.receiving_endpoints(
                account_id=context.account_id, livemode=context.livemode, event_type=event_type
            )
            if not endpoints:
                raise InvalidRequest(
                    f"No enabled webhook endpoint receives {event_type} events; "
                    "register one before redelivering."
                )

        delivery_ids: list[str] = []
        for endpoint in endpoints:
            delivery_id = await self._schedule(
                event_id=str(event["_id"]),
                event_type=event_type,
                endpoint=endpoint,
                delivery_key=f"{event['_id']}:{endpoint['_id']}:redelivery:{ULID()}",
                redelivery=True,
            )
            if delivery_id is not None:
                delivery_ids.append(delivery_id)
        self._on_scheduled()
        log.info(
            "webhook.event_redelivery_scheduled",
            event_id=event["_id"],
            deliveries=len(delivery_ids),
        )
        return {"eventId": event["_id"], "deliveryIds": delivery_ids}

    async def _schedule(
        self,
        *,
        event_id: str,
        event_type: str,
        endpoint: Document,
        delivery_key: str,
        redelivery: bool,
    ) -> str | None:
        """Insert a delivery due now and return its id, or None if the key made one already."""
        now = utc_now()
        delivery_id = new_delivery_id()
        inserted = await self._store.insert_delivery(
            {
                "_id": delivery_id,
                "deliveryKey": delivery_key,
                "eventId": event_id,
                "eventType": event_type,
                "endpointId": endpoint["_id"],
                "accountId": endpoint["accountId"],
                "livemode": endpoint["livemode"],
                "redelivery": redelivery,
                "status": DeliveryStatus.PENDING.value,
                "attemptCount": 0,
                "nextAttemptAt": now,
                "createdAt": now,
                "updatedAt": now,
                "lastAttemptAt": None,
                "finishedAt": None,
                "failureReason": None,
            }
        )
        return delivery_id if inserted else None

    async def _check_url(self, url: str, *, livemode: bool) -> None:
        try:
            await resolve_target(
                url, livemode=livemode, allow_private=self._allow_private, resolver=self._resolver
            )
        except UnsafeTarget as exc:
            raise InvalidRequest(f"url {exc}.", param="url") from None

    async def _owned_endpoint(
        self, endpoint_id: str, context: CommandContext, *, param: str
    ) -> Document:
        endpoint = await self._store.get_owned_endpoint(
            endpoint_id, account_id=context.account_id, livemode=context.livemode
        )
        if endpoint is None:
            raise NotFound(f"No webhook endpoint with id '{endpoint_id[:64]}'.", param=param)
        return endpoint


def _created_reply(endpoint: Document) -> dict[str, Any]:
    """Reply to a create command: the id and the newest secret, shown only in this reply.

    A replayed create of an endpoint deleted since then has no secret left to show.
    """
    secrets = endpoint.get("secrets") or []
    newest = max(secrets, key=lambda entry: entry["createdAt"]) if secrets else None
    return {"id": endpoint["_id"], "secret": newest["secret"] if newest else None}


def _receives(endpoint: Document, event_type: str) -> bool:
    enabled = endpoint.get("enabledEvents", [])
    return ALL_EVENTS in enabled or event_type in enabled


def _json_text(data: dict[str, Any]) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))
