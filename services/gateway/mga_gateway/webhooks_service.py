"""Gateway logic for webhooks: reads go to MongoDB, changes go to the webhook dispatcher.

Endpoint secrets never pass through the gateway's reads. A secret reaches the caller only
in the reply to the create or rotate command, which the gateway returns once.
"""

import json
from collections.abc import Callable
from typing import Any

from mga_core.errors import NotFound
from mga_core.ids import IdPrefix, has_prefix
from mga_core.timestamps import format_timestamp
from mga_events.commands import (
    CommandContext,
    CommandName,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RedeliverEvent,
    RotateWebhookSecret,
)
from mga_gateway.auth import Caller
from mga_gateway.pagination import DEFAULT_LIMIT, MAX_LIMIT, decode_cursor, encode_cursor
from mga_gateway.service import CommandSender
from mga_gateway.webhooks_store import WebhooksStore
from mga_storage import Document

# An attempt whose record has no outcome yet is still running.
_IN_PROGRESS = "in_progress"


def render_endpoint(document: Document) -> dict[str, Any]:
    """Render a stored endpoint as the API shows it, without any secret."""
    return {
        "id": document["_id"],
        "url": document["url"],
        "enabledEvents": list(document["enabledEvents"]),
        "description": document.get("description"),
        "status": document["status"],
        "disabledReason": document.get("disabledReason"),
        "createdAt": format_timestamp(document["createdAt"]),
        "livemode": document["livemode"],
    }


def render_event(document: Document) -> dict[str, Any]:
    return {
        "id": document["_id"],
        "type": document["type"],
        "createdAt": format_timestamp(document["createdAt"]),
        "data": json.loads(document["dataJson"]),
        "livemode": document["livemode"],
    }


def render_attempt(document: Document) -> dict[str, Any]:
    return {
        "number": document["number"],
        "attemptedAt": format_timestamp(document["startedAt"]),
        "outcome": document.get("outcome") or _IN_PROGRESS,
        "statusCode": document.get("statusCode"),
        "error": document.get("error"),
        "latencyMs": document.get("latencyMs"),
        "responseBody": document.get("responseBody"),
        "nextRetryAt": format_timestamp(document.get("nextRetryAt")),
    }


def render_delivery(document: Document, attempts: list[Document]) -> dict[str, Any]:
    pending = document["status"] == "pending"
    return {
        "id": document["_id"],
        "eventId": document["eventId"],
        "endpointId": document["endpointId"],
        "status": document["status"],
        "redelivery": bool(document.get("redelivery")),
        "createdAt": format_timestamp(document["createdAt"]),
        "finishedAt": format_timestamp(document.get("finishedAt")),
        "failureReason": document.get("failureReason"),
        "nextRetryAt": format_timestamp(document.get("nextAttemptAt")) if pending else None,
        "attempts": [render_attempt(attempt) for attempt in attempts],
    }


class WebhooksService:
    def __init__(self, *, store: WebhooksStore, commands: CommandSender) -> None:
        self._store = store
        self._commands = commands

    # Endpoints

    async def create_endpoint(
        self,
        caller: Caller,
        *,
        url: str,
        enabled_events: list[str],
        description: str | None,
        request_key: str,
        correlation_id: str,
    ) -> dict[str, Any]:
        """Register an endpoint and return it with its secret, which no other response shows."""
        command = CreateWebhookEndpoint(
            context=_context(caller, correlation_id),
            request_key=request_key,
            url=url,
            enabled_events=enabled_events,
            description=description,
        )
        reply = await self._commands.call(
            CommandName.CREATE_WEBHOOK_ENDPOINT, command, correlation_id=correlation_id
        )
        endpoint = await self._require_endpoint(caller, str(reply["id"]))
        return {**render_endpoint(endpoint), "secret": reply["secret"]}

    async def get_endpoint(self, caller: Caller, endpoint_id: str) -> dict[str, Any]:
        return render_endpoint(await self._require_endpoint(caller, endpoint_id))

    async def list_endpoints(
        self, caller: Caller, *, limit: int = DEFAULT_LIMIT, cursor: str | None = None
    ) -> dict[str, Any]:
        documents = await self._store.list_endpoints(
            account_id=caller.account_id,
            livemode=caller.livemode,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        return _page(documents, limit, render_endpoint)

    async def delete_endpoint(
        self, caller: Caller, endpoint_id: str, *, correlation_id: str
    ) -> dict[str, Any]:
        await self._require_endpoint(caller, endpoint_id)
        command = DeleteWebhookEndpoint(
            context=_context(caller, correlation_id), endpoint_id=endpoint_id
        )
        await self._commands.call(
            CommandName.DELETE_WEBHOOK_ENDPOINT, command, correlation_id=correlation_id
        )
        return {"id": endpoint_id, "deleted": True}

    async def rotate_secret(
        self,
        caller: Caller,
        endpoint_id: str,
        *,
        overlap_seconds: int | None,
        correlation_id: str,
    ) -> dict[str, Any]:
        """Add a new secret and return it once, with the end of the previous secret's overlap."""
        await self._require_endpoint(caller, endpoint_id)
        command = RotateWebhookSecret(
            context=_context(caller, correlation_id),
            endpoint_id=endpoint_id,
            overlap_seconds=overlap_seconds,
        )
        reply = await self._commands.call(
            CommandName.ROTATE_WEBHOOK_SECRET, command, correlation_id=correlation_id
        )
        endpoint = await self._require_endpoint(caller, endpoint_id)
        return {
            **render_endpoint(endpoint),
            "secret": reply["secret"],
            "previousSecretExpiresAt": reply["previousSecretExpiresAt"],
        }

    # Events and deliveries

    async def list_events(
        self,
        caller: Caller,
        *,
        event_type: str | None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        """Return a page of the caller's events, newest first, for catching up on missed ones."""
        documents = await self._store.list_events(
            account_id=caller.account_id,
            livemode=caller.livemode,
            event_type=event_type,
            after=decode_cursor(cursor) if cursor else None,
            limit=limit + 1,
        )
        return _page(documents, limit, render_event)

    async def get_event(self, caller: Caller, event_id: str) -> dict[str, Any]:
        return render_event(await self._require_event(caller, event_id))

    async def list_deliveries(self, caller: Caller, event_id: str) -> dict[str, Any]:
        """Return the deliveries of an event, the oldest first, each with its attempts."""
        await self._require_event(caller, event_id)
        documents = await self._store.list_deliveries(event_id, limit=MAX_LIMIT + 1)
        page = documents[:MAX_LIMIT]
        return {
            "data": await self._render_deliveries(page),
            "hasMore": len(documents) > MAX_LIMIT,
            "nextCursor": None,
        }

    async def redeliver(
        self,
        caller: Caller,
        event_id: str,
        *,
        endpoint_id: str | None,
        correlation_id: str,
    ) -> dict[str, Any]:
        """Schedule the event again, to one endpoint or every endpoint receiving its type."""
        await self._require_event(caller, event_id)
        if endpoint_id is not None:
            await self._require_endpoint(caller, endpoint_id, param="endpointId")
        command = RedeliverEvent(
            context=_context(caller, correlation_id), event_id=event_id, endpoint_id=endpoint_id
        )
        reply = await self._commands.call(
            CommandName.REDELIVER_EVENT, command, correlation_id=correlation_id
        )
        deliveries = await self._store.get_deliveries([str(item) for item in reply["deliveryIds"]])
        deliveries.sort(key=lambda delivery: str(delivery["_id"]))
        return {"eventId": event_id, "deliveries": await self._render_deliveries(deliveries)}

    async def _render_deliveries(self, deliveries: list[Document]) -> list[dict[str, Any]]:
        delivery_ids = [str(delivery["_id"]) for delivery in deliveries]
        attempts = await self._store.list_attempts(delivery_ids)
        by_delivery: dict[str, list[Document]] = {}
        for attempt in attempts:
            by_delivery.setdefault(str(attempt["deliveryId"]), []).append(attempt)
        return [
            render_delivery(delivery, by_delivery.get(str(delivery["_id"]), []))
            for delivery in deliveries
        ]

    async def _require_endpoint(
        self, caller: Caller, endpoint_id: str, *, param: str = "id"
    ) -> Document:
        document = None
        if has_prefix(endpoint_id, IdPrefix.WEBHOOK_ENDPOINT):
            document = await self._store.get_endpoint(
                endpoint_id, account_id=caller.account_id, livemode=caller.livemode
            )
        if document is None:
            raise NotFound(f"No webhook endpoint with id '{endpoint_id[:64]}'.", param=param)
        return document

    async def _require_event(self, caller: Caller, event_id: str) -> Document:
        document = None
        if has_prefix(event_id, IdPrefix.EVENT):
            document = await self._store.get_event(
                event_id, account_id=caller.account_id, livemode=caller.livemode
            )
        if document is None:
            raise NotFound(f"No event with id '{event_id[:64]}'.", param="id")
        return document


def _context(caller: Caller, correlation_id: str) -> CommandContext:
    return CommandContext(
        account_id=caller.account_id, livemode=caller.livemode, correlation_id=correlation_id
    )


def _page(
    documents: list[Document], limit: int, render: Callable[[Document], dict[str, Any]]
) -> dict[str, Any]:
    """Cut one extra document off a query result and turn it into a page with a cursor."""
    page, has_more = documents[:limit], len(documents) > limit
    next_cursor = (
        encode_cursor(page[-1]["createdAt"], page[-1]["_id"]) if has_more and page else None
    )
    return {
        "data": [render(document) for document in page],
        "hasMore": has_more,
        "nextCursor": next_cursor,
    }
