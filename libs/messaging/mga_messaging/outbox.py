"""The transactional outbox, without transactions.

A service changes a document and, in the same atomic single-document update, stores the
events that change must publish under ``outbox.<event id>`` (the envelope as JSON text, so
that free-form keys in event data never clash with MongoDB field-name rules) and sets
``outboxPending``. The relay publishes each stored event with publisher confirms and removes
it only after the broker confirmed it was routed. A crash between the write and the publish
therefore loses nothing: the sweep finds the document again. A crash between the confirm and
the removal publishes the event twice, with the same event id, which consumers drop.
"""

import asyncio
from typing import Any

import structlog
from pymongo.asynchronous.collection import AsyncCollection

from mga_core.locks import KeyedLocks
from mga_core.metrics import OUTBOX_PENDING
from mga_events.envelope import EventEnvelope
from mga_messaging.publisher import EventPublisher, PublishFailed

log = structlog.get_logger()

Document = dict[str, Any]


def outbox_fields(*events: EventEnvelope) -> dict[str, Any]:
    """Return the ``$set`` fields that store ``events`` in a document's outbox."""
    fields: dict[str, Any] = {"outboxPending": True}
    for event in events:
        fields[f"outbox.{event.id}"] = event.to_json().decode()
    return fields


def outbox_document(*events: EventEnvelope) -> dict[str, Any]:
    """Return the fields that store ``events`` in the outbox of a document being inserted."""
    return {
        "outboxPending": bool(events),
        "outbox": {event.id: event.to_json().decode() for event in events},
    }


class OutboxRelay:
    """Publish and clear the outbox of documents in one collection."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        publisher: EventPublisher,
        *,
        service: str,
        sweep_interval_seconds: float = 2.0,
        batch_size: int = 100,
        locks: KeyedLocks | None = None,
    ) -> None:
        self._collection = collection
        self._publisher = publisher
        self._service = service
        self._interval = sweep_interval_seconds
        self._batch_size = batch_size
        # The writers' per-document locks, so that clearing the outbox never races them.
        self._locks = locks or KeyedLocks()

    async def flush(self, document_id: str) -> bool:
        """Publish the pending events of one document; return whether all were published."""
        return await self._flush_document({"_id": document_id})

    async def sweep(self) -> int:
        """Flush every document with pending events; return how many still have some."""
        cursor = self._collection.find(
            {"outboxPending": True}, projection={"outbox": 1}
        ).limit(self._batch_size)
        still_pending = 0
        async for document in cursor:
            if not await self._flush_document(document):
                still_pending += 1
        OUTBOX_PENDING.labels(self._service).set(still_pending)
        return still_pending

    async def run(self) -> None:
        """Sweep forever at the configured interval; cancel the task to stop."""
        while True:
            try:
                await self.sweep()
            except Exception as exc:  # keep sweeping through database or broker outages
                log.warning("outbox.sweep_failed", error=repr(exc))
            await asyncio.sleep(self._interval)

    async def _flush_document(self, document: Document) -> bool:
        async with self._locks.hold(document["_id"]):
            current = await self._collection.find_one(
                {"_id": document["_id"]}, projection={"outbox": 1}
            )
            return await self._publish_outbox(current or {"_id": document["_id"]})

    async def _publish_outbox(self, document: Document) -> bool:
        outbox: dict[str, str] = document.get("outbox") or {}
        for event_id in sorted(outbox):
            event = EventEnvelope.model_validate_json(outbox[event_id])
            try:
                await self._publisher.publish(event)
            except PublishFailed as exc:
                log.warning(
                    "outbox.publish_failed",
                    event_id=event_id,
                    event_type=event.type.value,
                    reason=exc.reason,
                    error=str(exc),
                )
                return False
            await self._collection.update_one(
                {"_id": document["_id"]}, {"$unset": {f"outbox.{event_id}": ""}}
            )
        await self._collection.update_one(
            {"_id": document["_id"], "outbox": {}}, {"$set": {"outboxPending": False}}
        )
        return True
