"""The interview_sessions collection: the only module of this service that reads or writes it.

One document per invitation, keyed by the invitation id, with a unique index on the link
token. Writes to one session are serialized inside the process (``lock``), because FerretDB
1.24 applies an update by reading and rewriting the whole document, so two concurrent
updates of one document could lose one of them. With FerretDB, run one simulation replica.
On MongoDB, updates that append a turn are also conditional on the number of turns.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from pymongo import ASCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mga_core.locks import KeyedLocks
from mga_events.envelope import EventEnvelope
from mga_messaging.outbox import outbox_fields
from mga_simulation.errors import TokenTaken
from mga_storage import Document, IndexSpec

COLLECTION = "interview_sessions"

INDEXES = IndexSpec(
    COLLECTION,
    (
        IndexModel([("token", ASCENDING)], name="token", unique=True),
        IndexModel([("status", ASCENDING), ("deadline", ASCENDING)], name="status_deadline"),
        IndexModel([("outboxPending", ASCENDING)], name="outbox_pending"),
    ),
)


class SessionStatus(StrEnum):
    PENDING = "pending"
    STARTED = "started"
    FINISHED = "finished"
    CANCELLED = "cancelled"
    EXPIRED = "expired"


class TurnDocument(TypedDict):
    speaker: str  # "interviewer" or "candidate"
    # The panelist's name and role; None for the candidate.
    name: str | None
    role: str | None
    text: str
    # "question", "follow_up", "closing" or "answer"
    kind: str
    at: datetime


class SessionDocument(TypedDict, total=False):
    _id: str  # the invitation id
    token: str
    accountId: str
    livemode: bool
    correlationId: str
    status: str
    candidateName: str
    candidateEmail: str | None
    role: str
    jobPosting: str
    toughness: int
    durationMinutes: int
    language: str
    expiresAt: datetime
    # Metadata is kept as JSON text, so integrators' keys may contain "." or start with "$".
    metadataJson: str
    # occurredAt of the last invitation.updated applied, so an older one never wins.
    invitationUpdatedAt: datetime | None
    createdAt: datetime
    updatedAt: datetime
    openedAt: datetime | None
    # "sandbox" or "llm", fixed when the panel is generated.
    engine: str | None
    panel: list[dict[str, str]] | None
    # [{"text", "panelist"}], generated when the interview starts.
    questionPlan: list[dict[str, Any]] | None
    questionIndex: int
    followUpsAsked: int
    # True from a stored answer until the panel's reply to it is stored.
    panelTurnDue: bool
    turns: list[TurnDocument]
    consentedAt: datetime | None
    startedAt: datetime | None
    deadline: datetime | None
    finishedAt: datetime | None
    finishReason: str | None
    minutesUsed: int | None
    cancelledAt: datetime | None
    expiredAt: datetime | None
    outbox: dict[str, str]
    outboxPending: bool


class SessionStore:
    def __init__(self, db: AsyncDatabase[Document], locks: KeyedLocks) -> None:
        self._sessions = db[COLLECTION]
        self._locks = locks

    @property
    def collection(self) -> AsyncCollection[Document]:
        return self._sessions

    def lock(self, invitation_id: str):  # type: ignore[no-untyped-def]
        return self._locks.hold(invitation_id)

    async def insert(self, document: SessionDocument) -> bool:
        """Insert a session; return False when one with this invitation id exists.

        Raises ``TokenTaken`` when another session already has the token. The database error
        is not passed on, because its message contains the token.
        """
        try:
            await self._sessions.insert_one(dict(document))
        except DuplicateKeyError:
            if await self.get_by_id(document["_id"]) is not None:
                return False
            raise TokenTaken(f"the token of invitation {document['_id']} is already in use") from None
        return True

    async def get_by_id(self, invitation_id: str) -> Document | None:
        return await self._sessions.find_one({"_id": invitation_id})

    async def get_by_token(self, token: str) -> Document | None:
        return await self._sessions.find_one({"token": token})

    async def update(
        self,
        invitation_id: str,
        *,
        expected_status: str,
        fields: dict[str, Any],
        events: tuple[EventEnvelope, ...] = (),
        turn: TurnDocument | None = None,
        expected_turns: int | None = None,
    ) -> bool:
        """Set ``fields``, append ``turn`` and queue ``events`` if the session is as expected.

        The session must still have ``expected_status`` and, if given, ``expected_turns``
        turns. On MongoDB that condition is atomic, so replicas cannot store two replies to
        one answer. The caller holds ``lock(invitation_id)``. Returns whether it matched.
        """
        change: dict[str, Any] = {"$set": {**fields, **outbox_fields(*events)} if events else fields}
        if turn is not None:
            change["$push"] = {"turns": dict(turn)}
        condition: dict[str, Any] = {"_id": invitation_id, "status": expected_status}
        if expected_turns is not None:
            condition["turns"] = {"$size": expected_turns}
        result = await self._sessions.update_one(condition, change)
        return result.matched_count == 1

    async def due_for_finish(self, cutoff: datetime, *, limit: int = 100) -> list[str]:
        """Return ids of started sessions whose deadline is at or before ``cutoff``."""
        cursor = self._sessions.find(
            {"status": SessionStatus.STARTED.value, "deadline": {"$lte": cutoff}},
            projection={"_id": 1},
        ).limit(limit)
        return [str(document["_id"]) async for document in cursor]

    async def count_running(self) -> int:
        return await self._sessions.count_documents({"status": SessionStatus.STARTED.value})
