"""Invitation domain logic: creation with minute reservation, changes, expiry.

Every state change and the events it publishes are written in one single-document update
(the outbox), then the relay publishes them. Minutes are settled through the idempotent
ledger twice: right after the change, and again when this service consumes its own
``invitation.expired`` and ``invitation.cancelled`` events. A crash between the status change
and the settlement therefore still releases the minutes.
"""

import json
import secrets
from datetime import datetime
from typing import Any, Protocol

import structlog

from mga_core.errors import AlreadyCompleted, ApiError, Forbidden, NotFound
from mga_core.ids import IdPrefix, new_id
from mga_core.metrics import (
    INVITATION_TRANSITIONS,
    INVITATIONS_CREATED,
    MINUTES_CHARGED,
    MINUTES_RELEASED,
    MINUTES_RESERVED,
)
from mga_core.timestamps import utc_now
from mga_events.commands import (
    CancelInvitation,
    CommandContext,
    CreateInvitation,
    ExpireInvitation,
    ResendInvitation,
    UpdateInvitation,
)
from mga_events.envelope import build_event
from mga_events.envelope import EventEnvelope
from mga_events.schemas import (
    EmailFailed,
    EmailSent,
    InvitationCancelled,
    InvitationCreated,
    InvitationExpired,
    InvitationResendRequested,
    InvitationUpdated,
    InterviewCompleted,
    InterviewStarted,
    InvitationOpened,
)
from mga_events.types import EventType
from mga_invitation.errors import InvitationNotPending
from mga_invitation.ledger import MinuteLedger
from mga_invitation.status import Action, Status, next_status, require_pending
from mga_invitation.store import InvitationDocument, InvitationStore
from mga_messaging.outbox import outbox_document

log = structlog.get_logger()


class EventArrivedEarly(Exception):
    """An event that depends on one not yet handled; the consumer retries it after a delay."""


class OutboxFlusher(Protocol):
    async def flush(self, document_id: str) -> bool: ...


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


class InvitationService:
    def __init__(
        self,
        *,
        store: InvitationStore,
        ledger: MinuteLedger,
        outbox: OutboxFlusher,
        public_base_url: str,
    ) -> None:
        self._store = store
        self._ledger = ledger
        self._outbox = outbox
        self._public_base_url = public_base_url.rstrip("/")

    async def create(self, command: CreateInvitation) -> str:
        """Create an invitation once per request key; return its id."""
        context = command.context
        existing = await self._store.find_by_request_key(
            account_id=context.account_id,
            livemode=context.livemode,
            request_key=command.request_key,
        )
        if existing is not None:
            log.info("invitation.create_replayed", invitation_id=existing["_id"])
            return str(existing["_id"])

        invitation_id = new_id(IdPrefix.INVITATION)
        if context.livemode:
            await self._ledger.reserve(
                context.account_id, invitation_id, command.duration_minutes
            )

        document = self._new_document(invitation_id, command)
        if not await self._store.insert(document):
            # A concurrent request with the same key won; give back what this one reserved.
            if context.livemode:
                await self._ledger.release(
                    context.account_id, invitation_id, command.duration_minutes
                )
            winner = await self._store.find_by_request_key(
                account_id=context.account_id,
                livemode=context.livemode,
                request_key=command.request_key,
            )
            if winner is None:
                raise RuntimeError(
                    f"insert of {invitation_id} failed on a duplicate request key, "
                    "but no invitation with that key was found"
                )
            return str(winner["_id"])

        INVITATIONS_CREATED.labels(_mode(context.livemode)).inc()
        if context.livemode:
            MINUTES_RESERVED.inc(command.duration_minutes)
        log.info("invitation.created", invitation_id=invitation_id)
        await self._outbox.flush(invitation_id)
        return invitation_id

    @staticmethod
    def _email_fields(document: dict[str, Any]) -> dict[str, Any]:
        """Collect the invitation fields that an invitation email shows, as event data."""
        return {
            "invitation_id": document["_id"],
            "candidate_email": document["candidateEmail"],
            "candidate_name": document["candidateName"],
            "role": document["role"],
            "job_posting": document["jobPosting"],
            "toughness": document["toughness"],
            "duration_minutes": document["durationMinutes"],
            "language": document["language"],
            "expires_at": document["expiresAt"],
            "invitation_url": document["invitationUrl"],
            "metadata": json.loads(document["metadataJson"]),
        }

    def _new_document(self, invitation_id: str, command: CreateInvitation) -> InvitationDocument:
        context = command.context
        now = utc_now()
        token = secrets.token_urlsafe(32)
        invitation_url = f"{self._public_base_url}/invite/{token}"
        created = build_event(
            EventType.INVITATION_CREATED,
            InvitationCreated(
                invitation_id=invitation_id,
                candidate_email=command.candidate_email,
                candidate_name=command.candidate_name,
                role=command.role,
                job_posting=command.job_posting,
                toughness=command.toughness,
                duration_minutes=command.duration_minutes,
                language=command.language,
                expires_at=command.expires_at,
                invitation_url=invitation_url,
                metadata=command.metadata,
            ),
            account_id=context.account_id,
            livemode=context.livemode,
            correlation_id=context.correlation_id,
            occurred_at=now,
        )
        return {
            "_id": invitation_id,
            "accountId": context.account_id,
            "livemode": context.livemode,
            "requestKey": command.request_key,
            "status": Status.PENDING.value,
            "candidateEmail": command.candidate_email,
            "candidateName": command.candidate_name,
            "role": command.role,
            "jobPosting": command.job_posting,
            "toughness": command.toughness,
            "durationMinutes": command.duration_minutes,
            "language": command.language,
            "metadataJson": json.dumps(command.metadata, ensure_ascii=False),
            "token": token,
            "invitationUrl": invitation_url,
            "createdAt": now,
            "updatedAt": now,
            "expiresAt": command.expires_at,
            "openedAt": None,
            "startedAt": None,
            "completedAt": None,
            "expiredAt": None,
            "cancelledAt": None,
            "summary": None,
            "email": {"status": "queued", "updatedAt": now, "error": None},
            "minutesReserved": command.duration_minutes if context.livemode else 0,
            **outbox_document(created),  # type: ignore[typeddict-item]
        }

    async def cancel(self, command: CancelInvitation) -> str:
        context = command.context
        async with self._store.lock(command.invitation_id):
            document = await self._owned(command.invitation_id, context)
            next_status(Status(document["status"]), Action.CANCEL)
            now = utc_now()
            event = build_event(
                EventType.INVITATION_CANCELLED,
                InvitationCancelled(invitation_id=command.invitation_id, cancelled_at=now),
                account_id=context.account_id,
                livemode=context.livemode,
                correlation_id=context.correlation_id,
                occurred_at=now,
            )
            changed = await self._store.update(
                command.invitation_id,
                expected_status=Status.PENDING.value,
                fields={"status": Status.CANCELLED.value, "cancelledAt": now, "updatedAt": now},
                events=(event,),
            )
        if not changed:
            raise InvitationNotPending()
        INVITATION_TRANSITIONS.labels(Status.CANCELLED.value, _mode(context.livemode)).inc()
        log.info("invitation.cancelled", invitation_id=command.invitation_id)
        await self.release_minutes(document, reason="cancelled")
        await self._outbox.flush(command.invitation_id)
        return command.invitation_id

    async def update(self, command: UpdateInvitation) -> str:
        context = command.context
        async with self._store.lock(command.invitation_id):
            document = await self._owned(command.invitation_id, context)
            status = Status(document["status"])
            if command.expires_at is not None:
                require_pending(status, "given a new expiry")
            elif status is Status.COMPLETED:
                raise AlreadyCompleted()

            now = utc_now()
            fields: dict[str, Any] = {"updatedAt": now}
            expires_at: datetime = command.expires_at or document["expiresAt"]
            metadata = (
                command.metadata
                if command.metadata is not None
                else json.loads(document["metadataJson"])
            )
            fields["expiresAt"] = expires_at
            fields["metadataJson"] = json.dumps(metadata, ensure_ascii=False)
            event = build_event(
                EventType.INVITATION_UPDATED,
                InvitationUpdated(
                    invitation_id=command.invitation_id, expires_at=expires_at, metadata=metadata
                ),
                account_id=context.account_id,
                livemode=context.livemode,
                correlation_id=context.correlation_id,
                occurred_at=now,
            )
            changed = await self._store.update(
                command.invitation_id,
                expected_status=status.value,
                fields=fields,
                events=(event,),
            )
        if not changed:
            raise InvitationNotPending("The invitation changed meanwhile; read it and retry.")
        log.info("invitation.updated", invitation_id=command.invitation_id)
        await self._outbox.flush(command.invitation_id)
        return command.invitation_id

    async def resend(self, command: ResendInvitation) -> str:
        """Queue a new copy of the invitation email; only pending invitations get one."""
        context = command.context
        async with self._store.lock(command.invitation_id):
            document = await self._owned(command.invitation_id, context)
            status = Status(document["status"])
            require_pending(status, "resent")
            now = utc_now()
            event = build_event(
                EventType.INVITATION_RESEND_REQUESTED,
                InvitationResendRequested(
                    **self._email_fields(document), requested_at=now
                ),
                account_id=context.account_id,
                livemode=context.livemode,
                correlation_id=context.correlation_id,
                occurred_at=now,
            )
            changed = await self._store.update(
                command.invitation_id,
                expected_status=status.value,
                fields={
                    "updatedAt": now,
                    "email": {**document.get("email", {}), "status": "queued", "error": None},
                },
                events=(event,),
            )
        if not changed:
            raise InvitationNotPending("The invitation changed meanwhile; read it and retry.")
        log.info("invitation.resend_requested", invitation_id=command.invitation_id)
        await self._outbox.flush(command.invitation_id)
        return command.invitation_id

    async def record_email_outcome(self, event: EventEnvelope) -> None:
        """Show the latest email's outcome on the invitation; older outcomes never win."""
        outcome: EmailSent | EmailFailed
        if event.type is EventType.EMAIL_SENT:
            outcome = event.data_as(EmailSent)
            email = {"status": "sent", "error": None, "emailId": outcome.email_id,
                     "delivered": outcome.delivered, "updatedAt": outcome.sent_at}
        else:
            outcome = event.data_as(EmailFailed)
            email = {"status": "failed", "error": outcome.reason, "emailId": outcome.email_id,
                     "updatedAt": outcome.failed_at}
        async with self._store.lock(outcome.invitation_id):
            document = await self._store.get_by_id(outcome.invitation_id)
            if document is None:
                log.warning("email_outcome.unknown_invitation", invitation_id=outcome.invitation_id)
                return
            latest = (document.get("email") or {}).get("emailId")
            if latest is not None and latest > outcome.email_id:
                return
            await self._store.update(
                outcome.invitation_id,
                expected_status=document["status"],
                fields={"email": email},
            )
        log.info("invitation.email_status_changed", invitation_id=outcome.invitation_id,
                 email_status=email["status"])

    async def record_opened(self, event: EventEnvelope) -> None:
        """Keep the first time the candidate opened the link; the status stays pending."""
        opened = event.data_as(InvitationOpened)
        async with self._store.lock(opened.invitation_id):
            document = await self._store.get_by_id(opened.invitation_id)
            if document is None or document.get("openedAt") is not None:
                return
            await self._store.update(
                opened.invitation_id,
                expected_status=document["status"],
                fields={"openedAt": opened.opened_at, "updatedAt": utc_now()},
            )
        log.info("invitation.opened", invitation_id=opened.invitation_id)

    async def record_started(self, event: EventEnvelope) -> None:
        """Move a pending invitation to started; its minute reservation is now in use."""
        started = event.data_as(InterviewStarted)
        await self._transition(
            started.invitation_id,
            Action.START,
            {"startedAt": started.started_at, "minutesActive": True},
        )

    async def record_completed(self, event: EventEnvelope) -> None:
        """Complete a started invitation and charge the minutes used, once."""
        completed = event.data_as(InterviewCompleted)
        await self._transition(
            completed.invitation_id,
            Action.COMPLETE,
            {"completedAt": completed.completed_at, "summary": completed.summary},
            too_early={Status.PENDING},
        )
        # Charge whenever the invitation is completed and its reservation still open, not
        # only right after the transition: a crash in between is then mended by redelivery.
        document = await self._store.get_by_id(completed.invitation_id)
        if document is None or document["status"] != Status.COMPLETED.value:
            return
        if not document["livemode"] or not await self._ledger.is_reserved(completed.invitation_id):
            return
        reserved = int(document.get("minutesReserved") or 0)
        used = min(completed.minutes_used, reserved)
        await self._ledger.charge(
            document["accountId"], completed.invitation_id, reserved=reserved, used=used
        )
        MINUTES_CHARGED.inc(used)
        MINUTES_RELEASED.labels("completed").inc(reserved - used)
        log.info(
            "minutes.charged",
            invitation_id=completed.invitation_id,
            minutes_used=used,
            minutes_released=reserved - used,
        )

    async def _transition(
        self,
        invitation_id: str,
        action: Action,
        fields: dict[str, Any],
        *,
        too_early: frozenset[Status] | set[Status] = frozenset(),
    ) -> dict[str, Any] | None:
        """Apply ``action`` if the status machine allows it; return the document it changed.

        Events report what already happened elsewhere, so a transition the machine does not
        allow (a duplicate, or an interview started just after expiry) is logged and skipped.
        A status in ``too_early`` means an earlier event is still on its way (consumers run
        several messages at once), so ``EventArrivedEarly`` asks the consumer to retry later.
        """
        async with self._store.lock(invitation_id):
            document = await self._store.get_by_id(invitation_id)
            if document is None:
                log.warning("invitation.transition_unknown", invitation_id=invitation_id)
                return None
            current = Status(document["status"])
            if current in too_early:
                raise EventArrivedEarly(
                    f"{action.value} of {invitation_id} arrived while it is {current.value}"
                )
            try:
                target = next_status(current, action)
            except ApiError as exc:
                log.warning(
                    "invitation.transition_skipped",
                    invitation_id=invitation_id,
                    action=action.value,
                    status=current.value,
                    reason=exc.code,
                )
                return None
            changed = await self._store.update(
                invitation_id,
                expected_status=current.value,
                fields={"status": target.value, "updatedAt": utc_now(), **fields},
            )
        if not changed:
            return None
        mode = _mode(document["livemode"])
        INVITATION_TRANSITIONS.labels(target.value, mode).inc()
        log.info("invitation.status_changed", invitation_id=invitation_id, status=target.value)
        return document

    async def expire_due(self) -> int:
        """Expire every pending invitation whose ``expiresAt`` has passed; return the count."""
        expired = 0
        for document in await self._store.due_for_expiry(utc_now()):
            if await self.expire(str(document["_id"])):
                expired += 1
        return expired

    async def expire_now(self, command: ExpireInvitation) -> str:
        """Expire a pending test-mode invitation at once, through the normal expiry."""
        context = command.context
        if context.livemode:
            raise Forbidden("Test helpers are only available with test keys (mga_test_...).")
        document = await self._owned(command.invitation_id, context)
        next_status(Status(document["status"]), Action.EXPIRE)
        if not await self.expire(command.invitation_id, due_now=True):
            raise InvitationNotPending("The invitation changed meanwhile; read it and retry.")
        return command.invitation_id

    async def expire(self, invitation_id: str, *, due_now: bool = False) -> bool:
        """Expire a pending invitation whose ``expiresAt`` has passed, or any if ``due_now``."""
        async with self._store.lock(invitation_id):
            document = await self._store.get_by_id(invitation_id)
            now = utc_now()
            if document is None or document["status"] != Status.PENDING.value:
                return False
            if document["expiresAt"] > now and not due_now:
                return False
            event = build_event(
                EventType.INVITATION_EXPIRED,
                InvitationExpired(invitation_id=invitation_id, expired_at=now),
                account_id=document["accountId"],
                livemode=document["livemode"],
                correlation_id=invitation_id,
                occurred_at=now,
            )
            changed = await self._store.update(
                invitation_id,
                expected_status=Status.PENDING.value,
                fields={"status": Status.EXPIRED.value, "expiredAt": now, "updatedAt": now},
                events=(event,),
            )
        if not changed:
            return False
        INVITATION_TRANSITIONS.labels(Status.EXPIRED.value, _mode(document["livemode"])).inc()
        log.info("invitation.expired", invitation_id=invitation_id)
        await self.release_minutes(document, reason="expired")
        await self._outbox.flush(invitation_id)
        return True

    async def release_minutes(self, document: dict[str, Any], *, reason: str) -> None:
        """Release a live invitation's reservation in full; a second call changes nothing."""
        if not document["livemode"] or not document.get("minutesReserved"):
            return
        invitation_id = str(document["_id"])
        if not await self._ledger.is_reserved(invitation_id):
            return
        await self._ledger.release(
            document["accountId"], invitation_id, int(document["minutesReserved"])
        )
        MINUTES_RELEASED.labels(reason).inc(int(document["minutesReserved"]))
        log.info("minutes.released", invitation_id=invitation_id, reason=reason)

    async def release_for_event(self, invitation_id: str, *, reason: str) -> None:
        document = await self._store.get_by_id(invitation_id)
        if document is None:
            return
        await self.release_minutes(document, reason=reason)

    async def _owned(self, invitation_id: str, context: CommandContext) -> dict[str, Any]:
        document = await self._store.get(
            invitation_id, account_id=context.account_id, livemode=context.livemode
        )
        if document is None:
            raise NotFound(f"No invitation with id '{invitation_id}'.", param="id")
        return document
