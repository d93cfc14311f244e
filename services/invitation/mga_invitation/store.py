"""The invitations collection: the only module of this service that writes it.

Writes to one invitation are serialized inside the process (``KeyedLocks``). On MongoDB each
update is atomic anyway; FerretDB 1.24 applies an update by reading and rewriting the whole
document, so two concurrent updates of one document could lose one of them. The lock keeps a
single invitation replica correct on FerretDB; several replicas need MongoDB.
"""

from datetime import datetime
from typing import Any, TypedDict

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mga_core.locks import KeyedLocks
from mga_events.envelope import EventEnvelope
from mga_messaging.outbox import outbox_fields
from mga_storage import Document, IndexSpec

COLLECTION = "invitations"

INDEXES = IndexSpec(
    COLLECTION,
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
        IndexModel(
            [
                ("accountId", ASCENDING),
                ("livemode", ASCENDING),
                ("status", ASCENDING),
                ("createdAt", DESCENDING),
                ("_id", DESCENDING),
            ],
            name="account_status_created",
        ),
        IndexModel([("status", ASCENDING), ("expiresAt", ASCENDING)], name="status_expires"),
        IndexModel([("token", ASCENDING)], name="token", unique=True),
        IndexModel([("outboxPending", ASCENDING)], name="outbox_pending"),
    ),
)


class InvitationDocument(TypedDict, total=False):
    _id: str
    accountId: str
    livemode: bool
    requestKey: str
    status: str
    candidateEmail: str
    candidateName: str
    role: str
    jobPosting: str
    toughness: int
    durationMinutes: int
    language: str
    # Metadata is kept as JSON text, so integrators' keys may contain "." or start with "$".
    metadataJson: str
    token: str
    invitationUrl: str
    createdAt: datetime
    updatedAt: datetime
    expiresAt: datetime
    openedAt: datetime | None
    startedAt: datetime | None
    completedAt: datetime | None
    expiredAt: datetime | None
    cancelledAt: datetime | None
    summary: str | None
    email: dict[str, Any]
    minutesReserved: int
    outbox: dict[str, str]
    outboxPending: bool


class InvitationStore:
    def __init__(self, db: AsyncDatabase[Document], locks: KeyedLocks) -> None:
        self._invitations = db[COLLECTION]
        self._locks = locks

    @property
    def collection(self):  # type: ignore[no-untyped-def]
        return self._invitations

    def lock(self, invitation_id: str):  # type: ignore[no-untyped-def]
        return self._locks.hold(invitation_id)

    async def insert(self, document: InvitationDocument) -> bool:
        """Insert a new invitation; return False when its request key already made one."""
        try:
            await self._invitations.insert_one(dict(document))
        except DuplicateKeyError:
            return False
        return True

    async def find_by_request_key(
        self, *, account_id: str, livemode: bool, request_key: str
    ) -> Document | None:
        return await self._invitations.find_one(
            {"accountId": account_id, "livemode": livemode, "requestKey": request_key}
        )

    async def get(self, invitation_id: str, *, account_id: str, livemode: bool) -> Document | None:
        return await self._invitations.find_one(
            {"_id": invitation_id, "accountId": account_id, "livemode": livemode}
        )

    async def get_by_id(self, invitation_id: str) -> Document | None:
        return await self._invitations.find_one({"_id": invitation_id})

    async def update(
        self,
        invitation_id: str,
        *,
        expected_status: str,
        fields: dict[str, Any],
        events: tuple[EventEnvelope, ...] = (),
    ) -> bool:
        """Set ``fields`` and queue ``events`` if the status is still ``expected_status``.

        The caller holds ``lock(invitation_id)``. Returns whether the invitation matched.
        """
        result = await self._invitations.update_one(
            {"_id": invitation_id, "status": expected_status},
            {"$set": {**fields, **outbox_fields(*events)} if events else fields},
        )
        return result.matched_count == 1

    async def due_for_expiry(self, now: datetime, *, limit: int = 100) -> list[Document]:
        cursor = self._invitations.find(
            {"status": "pending", "expiresAt": {"$lte": now}},
            projection={"_id": 1},
        ).limit(limit)
        return [document async for document in cursor]
