"""MongoDB access of the gateway.

The gateway writes accounts, API keys, idempotency records and rate-limit windows. It only
reads invitations and the minute ledger, which the invitation service writes.
"""

from datetime import datetime, timedelta
from typing import Any, TypedDict

from pymongo import ASCENDING, DESCENDING, IndexModel, ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mga_core.timestamps import utc_now
from mga_storage import Document, IndexSpec

ACCOUNTS = "accounts"
API_KEYS = "api_keys"
IDEMPOTENCY = "idempotency_keys"
RATE_LIMITS = "rate_limit_windows"
INVITATIONS = "invitations"
MINUTE_LEDGER = "minute_ledger"
EMAILS = "emails"
RESULTS = "results"

INDEXES = [
    IndexSpec(ACCOUNTS),
    IndexSpec(
        API_KEYS,
        (
            IndexModel([("secretHash", ASCENDING)], name="secret_hash", unique=True),
            IndexModel([("accountId", ASCENDING)], name="account"),
        ),
    ),
    IndexSpec(IDEMPOTENCY, (IndexModel([("createdAt", ASCENDING)], name="created"),)),
    IndexSpec(RATE_LIMITS, (IndexModel([("windowEnd", ASCENDING)], name="window_end"),)),
]


class ApiKeyDocument(TypedDict):
    _id: str
    accountId: str
    livemode: bool
    secretHash: str
    lastFour: str
    createdAt: datetime
    revokedAt: datetime | None


class GatewayStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    # Accounts and keys

    async def insert_account(self, account_id: str, name: str) -> None:
        await self._db[ACCOUNTS].insert_one(
            {"_id": account_id, "name": name, "createdAt": utc_now()}
        )

    async def get_account(self, account_id: str) -> Document | None:
        return await self._db[ACCOUNTS].find_one({"_id": account_id})

    async def insert_api_key(self, key: ApiKeyDocument) -> None:
        await self._db[API_KEYS].insert_one(dict(key))

    async def find_api_key(self, secret_hash: str) -> Document | None:
        return await self._db[API_KEYS].find_one({"secretHash": secret_hash})

    async def list_api_keys(self, account_id: str) -> list[Document]:
        cursor = self._db[API_KEYS].find({"accountId": account_id}, projection={"secretHash": 0})
        return [key async for key in cursor.sort("createdAt", ASCENDING)]

    async def revoke_api_key(self, key_id: str) -> bool:
        result = await self._db[API_KEYS].update_one(
            {"_id": key_id, "revokedAt": None}, {"$set": {"revokedAt": utc_now()}}
        )
        return result.modified_count == 1

    # Idempotency records

    async def claim_idempotency_key(self, record: dict[str, Any]) -> bool:
        """Insert a new in-progress record; return False when the key already has one."""
        try:
            await self._db[IDEMPOTENCY].insert_one(record)
        except DuplicateKeyError:
            return False
        return True

    async def get_idempotency_record(self, record_id: str) -> Document | None:
        return await self._db[IDEMPOTENCY].find_one({"_id": record_id})

    async def take_over_idempotency_key(
        self, record_id: str, *, expired_lock: datetime, locked_until: datetime
    ) -> bool:
        result = await self._db[IDEMPOTENCY].update_one(
            {"_id": record_id, "state": "in_progress", "lockedUntil": expired_lock},
            {"$set": {"lockedUntil": locked_until}},
        )
        return result.modified_count == 1

    async def complete_idempotency_key(self, record_id: str, *, status: int, body: str) -> None:
        await self._db[IDEMPOTENCY].update_one(
            {"_id": record_id},
            {"$set": {"state": "completed", "responseStatus": status, "responseBody": body}},
        )

    async def delete_idempotency_key(self, record_id: str) -> None:
        await self._db[IDEMPOTENCY].delete_one({"_id": record_id})

    async def purge_idempotency_keys(self, older_than: datetime) -> int:
        result = await self._db[IDEMPOTENCY].delete_many({"createdAt": {"$lt": older_than}})
        return result.deleted_count

    # Rate limits

    async def count_request(self, window_id: str, *, window_end: datetime) -> int:
        """Count one request in a fixed window and return the window's count so far."""
        update = {"$inc": {"count": 1}, "$setOnInsert": {"windowEnd": window_end}}
        try:
            document = await self._db[RATE_LIMITS].find_one_and_update(
                {"_id": window_id}, update, upsert=True, return_document=ReturnDocument.AFTER
            )
        except DuplicateKeyError:
            # Two first requests of a window raced to insert it; the loser now updates it.
            document = await self._db[RATE_LIMITS].find_one_and_update(
                {"_id": window_id}, update, return_document=ReturnDocument.AFTER
            )
        return int(document["count"]) if document else 1

    async def purge_rate_limit_windows(self, older_than: datetime) -> int:
        result = await self._db[RATE_LIMITS].delete_many({"windowEnd": {"$lt": older_than}})
        return result.deleted_count

    # Reads of data the invitation service owns

    async def get_invitation(
        self, invitation_id: str, *, account_id: str, livemode: bool
    ) -> Document | None:
        return await self._db[INVITATIONS].find_one(
            {"_id": invitation_id, "accountId": account_id, "livemode": livemode},
            projection={"outbox": 0},
        )

    async def list_invitations(
        self,
        *,
        account_id: str,
        livemode: bool,
        status: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[Document]:
        """Return up to ``limit`` invitations, newest first, strictly after the cursor."""
        query: dict[str, Any] = {"accountId": account_id, "livemode": livemode}
        if status is not None:
            query["status"] = status
        if after is not None:
            created_at, invitation_id = after
            query["$or"] = [
                {"createdAt": {"$lt": created_at}},
                {"createdAt": created_at, "_id": {"$lt": invitation_id}},
            ]
        cursor = (
            self._db[INVITATIONS]
            .find(query, projection={"outbox": 0})
            .sort([("createdAt", DESCENDING), ("_id", DESCENDING)])
            .limit(limit)
        )
        return [document async for document in cursor]

    async def list_emails(self, invitation_id: str, *, limit: int = 100) -> list[Document]:
        cursor = (
            self._db[EMAILS]
            .find({"invitationId": invitation_id}, projection={"outbox": 0})
            .sort("_id", ASCENDING)
            .limit(limit)
        )
        return [email async for email in cursor]

    async def get_result(self, invitation_id: str) -> Document | None:
        return await self._db[RESULTS].find_one(
            {"_id": invitation_id}, projection={"resultJson": 1}
        )

    async def latest_ledger_entry(self, account_id: str) -> Document | None:
        return await self._db[MINUTE_LEDGER].find_one(
            {"accountId": account_id}, sort=[("seq", DESCENDING)]
        )


def window_start(now: datetime, window: timedelta) -> datetime:
    seconds = window.total_seconds()
    epoch = now.timestamp()
    return datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo)
