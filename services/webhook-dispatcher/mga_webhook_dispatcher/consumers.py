"""Message handlers: the gateway's webhook commands and the public events to deliver."""

from typing import Any

from mga_events.commands import (
    CommandName,
    CreateWebhookEndpoint,
    DeleteWebhookEndpoint,
    RedeliverEvent,
    RotateWebhookSecret,
)
from mga_events.types import PUBLIC_EVENT_TYPES, EventType
from mga_messaging.consumer import EventHandler
from mga_messaging.rpc import CommandHandler
from mga_webhook_dispatcher.service import WebhookService


def command_handlers(service: WebhookService) -> dict[CommandName, CommandHandler]:
    """Return a handler for each webhook command of the gateway.

    Create and rotate replies carry secrets, and RpcServer does not log replies.
    """

    async def create(command: CreateWebhookEndpoint) -> dict[str, Any]:
        return await service.create_endpoint(command)

    async def delete(command: DeleteWebhookEndpoint) -> dict[str, Any]:
        return await service.delete_endpoint(command)

    async def rotate(command: RotateWebhookSecret) -> dict[str, Any]:
        return await service.rotate_secret(command)

    async def redeliver(command: RedeliverEvent) -> dict[str, Any]:
        return await service.redeliver(command)

    return {
        CommandName.CREATE_WEBHOOK_ENDPOINT: create,
        CommandName.DELETE_WEBHOOK_ENDPOINT: delete,
        CommandName.ROTATE_WEBHOOK_SECRET: rotate,
        CommandName.REDELIVER_EVENT: redeliver,
    }


def event_handlers(service: WebhookService) -> dict[EventType, EventHandler]:
    """Return a handler for each public event type.

    Each handler only stores the event and schedules its deliveries, so the message is
    acknowledged before any endpoint is called.
    """
    return {event_type: service.record_event for event_type in PUBLIC_EVENT_TYPES}
