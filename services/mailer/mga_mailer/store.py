"""The mailer's collections: ``emails`` (one record per email) and ``email_attempts``.

This is the only module of the mailer that reads or writes MongoDB. Writes to one email
record hold its ``KeyedLocks`` entry, which the outbox relay shares. FerretDB 1.24 applies an
update by reading and rewriting the whole document, so without the lock an update racing the
relay's removal of a published event could lose one of the two changes.

Which worker may make a delivery attempt is decided by inserting ``email_attempts`` documents
whose ``_id`` is ``<email id>:<attempt number>``. The unique ``_id`` lets exactly one of two
workers that read the same record claim the next number, on MongoDB and on FerretDB alike.
"""

from datetime import datetime
from enum import StrEnum
from typing import Any, TypedDict

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mga_core.locks import KeyedLocks
from mga_events.envelope import EventEnvelope
from mga_messaging.outbox import outbox_fields
from mga_storage import Document, IndexSpec

COLLECTION = "emails"
ATTEMPTS_COLLECTION = "email_attempts"

INDEXES = IndexSpec(
    COLLECTION,
    (
        IndexModel([("outboxPending", ASCENDING)], name="outbox_pending"),
        IndexModel(
            [("invitationId", ASCENDING), ("createdAt", DESCENDING)], name="invitation_created"
        ),
    ),
)
ATTEMPT_INDEXES = IndexSpec(
    ATTEMPTS_COLLECTION,
    (IndexModel([("emailId", ASCENDING), ("attempt", ASCENDING)], name="email_attempt"),),
)


class EmailStatus(StrEnum):
    # Recorded, and an attempt may be running.
    SENDING = "sending"
    # The last attempt failed transiently, and the event waits for the consumer's retry.
    RETRYING = "retrying"
    # The SMTP server accepted the message, or a test-mode email was recorded.
    SENT = "sent"
    # The SMTP server rejected the message for good.
    FAILED = "failed"


class DeliveryErrorRecord(TypedDict):
    # The SMTP reply code, or None for a connection error, a timeout or a check of ours.
    smtpCode: int | None
    # The server's reply text or the underlying exception's message, unchanged.
    text: str
    at: datetime


class EmailDocument(TypedDict, total=False):
    _id: str  # the id of the event that requested this email
    eventType: str
    invitationId: str
    accountId: str
    livemode: bool
    correlationId: str
    language: str
    fromName: str
    fromAddress: str
    replyTo: str | None
    toName: str
    toAddress: str
    subject: str
    text: str
    html: str
    # Kept for every attempt, so that a second copy can be recognised by receiving systems.
    messageId: str
    status: str
    attempts: int
    attemptStartedAt: datetime | None
    lastError: DeliveryErrorRecord | None
    # Whether an SMTP server accepted the email. Always false for test-mode emails.
    delivered: bool
    createdAt: datetime
    updatedAt: datetime
    sentAt: datetime | None
    failedAt: datetime | None
    outbox: dict[str, str]
    outboxPending: bool


class EmailStore:
    def __init__(self, db: AsyncDatabase[Document], locks: KeyedLocks) -> None:
        self._emails = db[COLLECTION]
        self._attempts = db[ATTEMPTS_COLLECTION]
        self._locks = locks

    @property
    def collection(self) -> AsyncCollection[Document]:
        return self._emails

    async def insert(self, document: EmailDocument) -> bool:
        """Insert a new record, or return False when a record with its id exists already."""
        try:
            await self._emails.insert_one(dict(document))
        except DuplicateKeyError:
            return False
        return True

    async def get(self, email_id: str) -> Document | None:
        return await self._emails.find_one({"_id": email_id})

    async def claim_attempt(self, email_id: str, attempt: int, *, started_at: datetime) -> bool:
        """Claim delivery attempt number ``attempt``, or return False if another worker has it."""
        try:
            await self._attempts.insert_one(
                {
                    "_id": f"{email_id}:{attempt}",
                    "emailId": email_id,
                    "attempt": attempt,
                    "startedAt": started_at,
                    "finishedAt": None,
                    "outcome": None,
                    "error": None,
                }
            )
        except DuplicateKeyError:
            return False
        await self._set(
            email_id,
            {
                "status": EmailStatus.SENDING.value,
                "attempts": attempt,
                "attemptStartedAt": started_at,
                "updatedAt": started_at,
            },
        )
        return True

    async def finish_attempt(
        self,
        email_id: str,
        attempt: int,
        *,
        outcome: str,
        error: DeliveryErrorRecord | None,
        finished_at: datetime,
    ) -> None:
        """Store how an attempt ended. A failed one also sets the record's ``lastError``."""
        await self._attempts.update_one(
            {"_id": f"{email_id}:{attempt}"},
            {"$set": {"finishedAt": finished_at, "outcome": outcome, "error": error}},
        )
        if error is not None:
            await self._set(email_id, {"lastError": error, "updatedAt": finished_at})

    async def mark_retrying(self, email_id: str, *, at: datetime) -> None:
        await self._set(email_id, {"status": EmailStatus.RETRYING.value, "updatedAt": at})

    async def mark_sent(
        self, email_id: str, *, sent_at: datetime, delivered: bool, event: EventEnvelope
    ) -> None:
        """Set the record ``sent`` and queue ``event`` in its outbox, in one update."""
        await self._set(
            email_id,
            {
                "status": EmailStatus.SENT.value,
                "delivered": delivered,
                "sentAt": sent_at,
                "updatedAt": sent_at,
                **outbox_fields(event),
            },
        )

    async def mark_failed(
        self,
        email_id: str,
        *,
        failed_at: datetime,
        error: DeliveryErrorRecord,
        event: EventEnvelope,
    ) -> None:
        """Set the record ``failed`` with its error and queue ``event``, in one update."""
        await self._set(
            email_id,
            {
                "status": EmailStatus.FAILED.value,
                "lastError": error,
                "failedAt": failed_at,
                "updatedAt": failed_at,
                **outbox_fields(event),
            },
        )

    async def _set(self, email_id: str, fields: dict[str, Any]) -> None:
        async with self._locks.hold(email_id):
            await self._emails.update_one({"_id": email_id}, {"$set": fields})
