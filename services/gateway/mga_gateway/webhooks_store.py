"""Reads of the webhook collections, which the webhook dispatcher writes.

The collection and field names are those of ``mga_webhook_dispatcher.store``. The gateway
never writes these collections. Every change goes to the dispatcher as a command.
"""

from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from mga_storage import Document

WEBHOOK_ENDPOINTS = "webhook_endpoints"
WEBHOOK_EVENTS = "webhook_events"
WEBHOOK_DELIVERIES = "webhook_deliveries"
WEBHOOK_ATTEMPTS = "webhook_attempts"

# Endpoint status of a deleted endpoint, which the API treats as not found.
DELETED = "deleted"
# Fields never read by the gateway: the secrets, and the request key only the dispatcher uses.
_ENDPOINT_PROJECTION = {"secrets": 0, "requestKey": 0}
_EVENT_PROJECTION = {"body": 0}


def _after(query: dict[str, Any], after: tuple[datetime, str] | None) -> dict[str, Any]:
    """Restrict ``query`` to items strictly after a (createdAt, id) cursor, newest first."""
    if after is None:
        return query
    created_at, item_id = after
    return {
        **query,
        "$or": [
            {"createdAt": {"$lt": created_at}},
            {"createdAt": created_at, "_id": {"$lt": item_id}},
        ],
    }


class WebhooksStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def get_endpoint(
        self, endpoint_id: str, *, account_id: str, livemode: bool
    ) -> Document | None:
        return await self._db[WEBHOOK_ENDPOINTS].find_one(
            {
                "_id": endpoint_id,
                "accountId": account_id,
                "livemode": livemode,
                "status": {"$ne": DELETED},
            },
            projection=_ENDPOINT_PROJECTION,
        )

    async def list_endpoints(
        self,
        *,
        account_id: str,
        livemode: bool,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Document]:
        """Return up to ``limit`` endpoints, newest first, strictly after the cursor."""
        query = _after(
            {"accountId": account_id, "livemode": livemode, "status": {"$ne": DELETED}}, after
        )
        cursor = (
            self._db[WEBHOOK_ENDPOINTS]
            .find(query, projection=_ENDPOINT_PROJECTION)
            .sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [endpoint async for endpoint in cursor]

    async def get_event(
        self, event_id: str, *, account_id: str, livemode: bool
    ) -> Document | None:
        return await self._db[WEBHOOK_EVENTS].find_one(
            {"_id": event_id, "accountId": account_id, "livemode": livemode},
            projection=_EVENT_PROJECTION,
        )

    async def list_events(
        self,
        *,
        account_id: str,
        livemode: bool,
        event_type: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Document]:
        """Return up to ``limit`` events, newest first, strictly after the cursor."""
        query: dict[str, Any] = {"accountId": account_id, "livemode": livemode}
        if event_type is not None:
            query["type"] = event_type
        cursor = (
            self._db[WEBHOOK_EVENTS]
            .find(_after(query, after), projection=_EVENT_PROJECTION)
            .sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [event async for event in cursor]

    async def list_deliveries(self, event_id: str, *, limit: int) -> list[Document]:
        """Return up to ``limit`` deliveries of an event, the oldest first."""
        cursor = (
            self._db[WEBHOOK_DELIVERIES]
            .find({"eventId": event_id})
            .sort([("createdAt", ASCENDING), ("_id", ASCENDING)])
            .limit(limit)
        )
        return [delivery async for delivery in cursor]

    async def get_deliveries(self, delivery_ids: list[str]) -> list[Document]:
        cursor = self._db[WEBHOOK_DELIVERIES].find({"_id": {"$in": delivery_ids}})
        return [delivery async for delivery in cursor]

    async def list_attempts(self, delivery_ids: list[str]) -> list[Document]:
        """Return the attempts of the given deliveries, ordered by delivery and number."""
        if not delivery_ids:
            return []
        cursor = (
            self._db[WEBHOOK_ATTEMPTS]
            .find({"deliveryId": {"$in": delivery_ids}})
            .sort([("deliveryId", ASCENDING), ("number", ASCENDING)])
        )
        return [attempt async for attempt in cursor]
