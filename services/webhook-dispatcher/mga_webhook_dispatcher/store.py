"""The dispatcher's collections; only this module writes them (the gateway reads them).

- ``webhook_endpoints``: registered endpoints with their secrets.
- ``webhook_events``: each public event once, with the body every delivery of it sends.
- ``webhook_deliveries``: one per delivery of an event to an endpoint, with its status and
  the time of its next attempt. The scheduler polls this collection, so a restarted
  dispatcher picks up where the last one stopped.
- ``webhook_attempts``: one per attempt. Its ``_id`` is the delivery id and the attempt
  number, so inserting it claims that attempt exactly once.

Anything that must happen once is an insert against a unique index. Writes to one endpoint
or one delivery are serialized in the process with ``KeyedLocks``, because FerretDB 1.24
applies an update by rewriting the whole document and two concurrent updates could lose
one. NOTE: that makes one dispatcher replica correct on FerretDB; several replicas need
MongoDB, whose single-document updates are atomic.
"""

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mga_core.locks import KeyedLocks
from mga_storage import Document, IndexSpec

ENDPOINTS = "webhook_endpoints"
EVENTS = "webhook_events"
DELIVERIES = "webhook_deliveries"
ATTEMPTS = "webhook_attempts"


class EndpointStatus(StrEnum):
    ENABLED = "enabled"
    # A delivery used up its attempts. Deliveries go on, and a success sets it enabled again.
    FAILING = "failing"
    # The endpoint responded with 410 Gone, so it receives nothing more.
    DISABLED = "disabled"
    DELETED = "deleted"


RECEIVING_STATUSES = (EndpointStatus.ENABLED.value, EndpointStatus.FAILING.value)


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class AttemptOutcome(StrEnum):
    SUCCEEDED = "succeeded"
    RETRY_SCHEDULED = "retry_scheduled"
    # The last attempt allowed failed.
    FAILED = "failed"
    ENDPOINT_DISABLED = "endpoint_disabled"
    # The dispatcher stopped before the attempt finished, so the receiver may have got it.
    INTERRUPTED = "interrupted"


INDEXES = [
    IndexSpec(
        ENDPOINTS,
        (
            IndexModel(
                [("accountId", ASCENDING), ("livemode", ASCENDING), ("requestKey", ASCENDING)],
                name="request_key",
                unique=True,
            ),
            IndexModel(
                [
                    ("accountId", ASCENDING),
                    ("livemode", ASCENDING),
                    ("createdAt", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="account_created",
            ),
            IndexModel([("status", ASCENDING)], name="status"),
        ),
    ),
    IndexSpec(
        EVENTS,
        (
            IndexModel(
                [
                    ("accountId", ASCENDING),
                    ("livemode", ASCENDING),
                    ("createdAt", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="account_created",
            ),
            IndexModel(
                [
                    ("accountId", ASCENDING),
                    ("livemode", ASCENDING),
                    ("type", ASCENDING),
                    ("createdAt", DESCENDING),
                    ("_id", DESCENDING),
                ],
                name="account_type_created",
            ),
        ),
    ),
    IndexSpec(
        DELIVERIES,
        (
            IndexModel([("deliveryKey", ASCENDING)], name="delivery_key", unique=True),
            IndexModel([("status", ASCENDING), ("nextAttemptAt", ASCENDING)], name="due"),
            IndexModel([("eventId", ASCENDING), ("createdAt", ASCENDING)], name="event"),
            IndexModel([("endpointId", ASCENDING), ("status", ASCENDING)], name="endpoint_status"),
        ),
    ),
    IndexSpec(
        ATTEMPTS,
        (IndexModel([("deliveryId", ASCENDING), ("number", ASCENDING)], name="delivery"),),
    ),
]


class WebhookStore:
    def __init__(self, db: AsyncDatabase[Document], locks: KeyedLocks) -> None:
        self._endpoints = db[ENDPOINTS]
        self._events = db[EVENTS]
        self._deliveries = db[DELIVERIES]
        self._attempts = db[ATTEMPTS]
        self._locks = locks

    def lock(self, document_id: str):  # type: ignore[no-untyped-def]
        """Hold the in-process lock of one endpoint or delivery while writing it."""
        return self._locks.hold(document_id)

    # Endpoints

    async def insert_endpoint(self, endpoint: Document) -> bool:
        """Insert a new endpoint; return False when its request key already made one."""
        try:
            await self._endpoints.insert_one(endpoint)
        except DuplicateKeyError:
            return False
        return True

    async def find_endpoint_by_request_key(
        self, *, account_id: str, livemode: bool, request_key: str
    ) -> Document | None:
        return await self._endpoints.find_one(
            {"accountId": account_id, "livemode": livemode, "requestKey": request_key}
        )

    async def get_endpoint(self, endpoint_id: str) -> Document | None:
        return await self._endpoints.find_one({"_id": endpoint_id})

    async def get_owned_endpoint(
        self, endpoint_id: str, *, account_id: str, livemode: bool
    ) -> Document | None:
        """Return the endpoint if the account and mode own it and it is not deleted."""
        return await self._endpoints.find_one(
            {
                "_id": endpoint_id,
                "accountId": account_id,
                "livemode": livemode,
                "status": {"$ne": EndpointStatus.DELETED.value},
            }
        )

    async def receiving_endpoints(
        self, *, account_id: str, livemode: bool, event_type: str
    ) -> list[Document]:
        """Return the endpoints of the account and mode that receive ``event_type``."""
        cursor = self._endpoints.find(
            {
                "accountId": account_id,
                "livemode": livemode,
                "status": {"$in": list(RECEIVING_STATUSES)},
                "enabledEvents": {"$in": [event_type, "*"]},
            },
            projection={"secrets": 0},
        ).sort("_id", ASCENDING)
        return [endpoint async for endpoint in cursor]

    async def update_endpoint(self, endpoint_id: str, fields: dict[str, Any]) -> None:
        """Set ``fields``. The caller must hold ``lock(endpoint_id)``."""
        await self._endpoints.update_one({"_id": endpoint_id}, {"$set": fields})

    async def count_failing_endpoints(self) -> int:
        return await self._endpoints.count_documents({"status": EndpointStatus.FAILING.value})

    # Events

    async def insert_event(self, event: Document) -> bool:
        """Insert an event; return False when it is stored already."""
        try:
            await self._events.insert_one(event)
        except DuplicateKeyError:
            return False
        return True

    async def get_event(self, event_id: str) -> Document | None:
        return await self._events.find_one({"_id": event_id})

    async def get_owned_event(
        self, event_id: str, *, account_id: str, livemode: bool
    ) -> Document | None:
        return await self._events.find_one(
            {"_id": event_id, "accountId": account_id, "livemode": livemode}
        )

    # Deliveries

    async def insert_delivery(self, delivery: Document) -> bool:
        """Insert a delivery; return False when its delivery key made one already."""
        try:
            await self._deliveries.insert_one(delivery)
        except DuplicateKeyError:
            return False
        return True

    async def get_delivery(self, delivery_id: str) -> Document | None:
        return await self._deliveries.find_one({"_id": delivery_id})

    async def due_deliveries(
        self,
        now: datetime,
        *,
        skip_deliveries: Sequence[str],
        skip_endpoints: Sequence[str],
        limit: int,
    ) -> list[Document]:
        """Return pending deliveries whose next attempt is due, the longest-waiting first."""
        query: dict[str, Any] = {
            "status": DeliveryStatus.PENDING.value,
            "nextAttemptAt": {"$lte": now},
        }
        if skip_deliveries:
            query["_id"] = {"$nin": list(skip_deliveries)}
        if skip_endpoints:
            query["endpointId"] = {"$nin": list(skip_endpoints)}
        cursor = (
            self._deliveries.find(query, projection={"_id": 1, "endpointId": 1})
            .sort("nextAttemptAt", ASCENDING)
            .limit(limit)
        )
        return [delivery async for delivery in cursor]

    async def pending_delivery_ids(self, endpoint_id: str) -> list[str]:
        cursor = self._deliveries.find(
            {"endpointId": endpoint_id, "status": DeliveryStatus.PENDING.value},
            projection={"_id": 1},
        )
        return [str(delivery["_id"]) async for delivery in cursor]

    async def update_delivery(self, delivery_id: str, fields: dict[str, Any]) -> None:
        """Set ``fields``. The caller must hold ``lock(delivery_id)``."""
        await self._deliveries.update_one({"_id": delivery_id}, {"$set": fields})

    async def cancel_pending_deliveries(
        self, endpoint_id: str, *, reason: str, now: datetime
    ) -> list[str]:
        """Cancel the endpoint's pending deliveries and return their ids.

        An attempt already in flight still records its outcome afterwards. If that outcome is
        another retry, the check before the next attempt cancels the delivery.
        """
        cancelled: list[str] = []
        for delivery_id in await self.pending_delivery_ids(endpoint_id):
            async with self.lock(delivery_id):
                delivery = await self.get_delivery(delivery_id)
                if delivery is None or delivery["status"] != DeliveryStatus.PENDING.value:
                    continue
                await self.update_delivery(
                    delivery_id,
                    {
                        "status": DeliveryStatus.CANCELLED.value,
                        "nextAttemptAt": None,
                        "finishedAt": now,
                        "updatedAt": now,
                        "failureReason": reason,
                    },
                )
            cancelled.append(delivery_id)
        return cancelled

    async def count_retries_pending(self) -> int:
        return await self._deliveries.count_documents(
            {"status": DeliveryStatus.PENDING.value, "attemptCount": {"$gte": 1}}
        )

    # Attempts

    async def claim_attempt(self, attempt: Document) -> bool:
        """Insert an attempt before it starts; return False when that number is taken."""
        try:
            await self._attempts.insert_one(attempt)
        except DuplicateKeyError:
            return False
        return True

    async def get_attempt(self, attempt_id: str) -> Document | None:
        return await self._attempts.find_one({"_id": attempt_id})

    async def finish_attempt(self, attempt_id: str, fields: dict[str, Any]) -> None:
        """Record an attempt's outcome.

        Only the task that claimed the attempt writes it, or a later task that found it
        unfinished long after its timeout, when its dispatcher must have stopped.
        """
        await self._attempts.update_one({"_id": attempt_id}, {"$set": fields})
