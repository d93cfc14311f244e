"""The results collection (and scoring failures), written only by the scoring service."""

import json
from typing import Any

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mga_core.timestamps import utc_now
from mga_events.envelope import EventEnvelope
from mga_events.schemas import InterviewResult
from mga_messaging.outbox import outbox_document
from mga_storage import Document, IndexSpec

RESULTS = "results"
FAILURES = "scoring_failures"

INDEXES = [
    IndexSpec(RESULTS, (IndexModel([("outboxPending", ASCENDING)], name="outbox_pending"),)),
    IndexSpec(FAILURES),
]


class ResultStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._results = db[RESULTS]
        self._failures = db[FAILURES]

    @property
    def collection(self):  # type: ignore[no-untyped-def]
        return self._results

    async def exists(self, invitation_id: str) -> bool:
        return await self._results.find_one({"_id": invitation_id}, projection={"_id": 1}) is not None

    async def insert(
        self,
        result: InterviewResult,
        *,
        account_id: str,
        livemode: bool,
        engine: str,
        event: EventEnvelope,
    ) -> bool:
        """Store a result with its interview.completed event; False if one exists already."""
        document: dict[str, Any] = {
            "_id": result.id,
            "accountId": account_id,
            "livemode": livemode,
            "engine": engine,
            "overallScore": result.overall_score,
            "completedAt": result.completed_at,
            # JSON text keeps integrator metadata keys verbatim, whatever characters they use.
            "resultJson": result.model_dump_json(by_alias=True),
            "createdAt": utc_now(),
            **outbox_document(event),
        }
        try:
            await self._results.insert_one(document)
        except DuplicateKeyError:
            return False
        return True

    async def record_failure(self, invitation_id: str, *, error: str) -> None:
        await self._failures.update_one(
            {"_id": invitation_id},
            {"$inc": {"attempts": 1}, "$set": {"lastError": error, "updatedAt": utc_now()}},
            upsert=True,
        )

    async def failure(self, invitation_id: str) -> Document | None:
        return await self._failures.find_one({"_id": invitation_id})


def load_result(document: Document) -> dict[str, Any]:
    return json.loads(document["resultJson"])
