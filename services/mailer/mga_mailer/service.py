"""Sending the invitation email for ``invitation.created`` and ``invitation.resend_requested``.

The email id is the event id. The email is rendered and its record inserted (status
``sending``) before anything is sent, and the unique ``_id`` decides what a redelivered event
does:

- record ``sent`` or ``failed``: nothing is sent; the record's outbox is flushed again;
- record ``retrying``: the last attempt ended with a transient failure, so it is sent again;
- record ``sending``: an attempt is running, or the worker died during one. While the lease
  since the attempt started lasts, the event is handed back for a later retry. After the
  lease the email is sent again.

Trade-off: a worker that dies after the server accepted the message but before ``sent`` was
stored leaves the record in ``sending``, and after the lease a second copy goes out. The copy
has the same Message-ID and Date, so receiving systems that drop duplicates by Message-ID
drop it. Never re-sending a record stuck in ``sending`` would instead lose the email whenever
the worker died before the server accepted it, and that is the likelier case, because
connecting and waiting for replies take most of an attempt. SMTP has no way to ask a server
whether it already has a message. The same holds for a timeout while waiting for the reply
to DATA: the server may have kept the message, and the retry sends a copy.

Transient failures (4xx replies, connection errors, timeouts) are retried within the handler
with exponential backoff. After the last attempt the record becomes ``retrying`` and the
error is raised, so the consumer's delayed retries and dead-letter queue take over. A
permanent rejection (a 5xx reply to the message) sets ``failed``, queues ``email.failed`` and
returns, so the event is acknowledged.

Test-mode events (``livemode`` false) are rendered and recorded like live ones and set
``sent`` with ``delivered`` false, without any SMTP connection. A test-mode address with the
tag ``+bounce`` before the ``@`` (``alex+bounce@example.com``) is recorded as a permanent 550
rejection instead, so integrators can try their handling of failed emails.
"""

import re
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from mga_core.timestamps import utc_now
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import EmailFailed, EmailSent, InvitationCreated
from mga_events.types import EventType
from mga_mailer.errors import DeliveryDeferred, DeliveryError, EmailInFlight, EmailRejected
from mga_mailer.message import Mailbox, OutgoingEmail, new_message_id
from mga_mailer.metrics import EMAIL_SEND_DURATION, EMAILS
from mga_mailer.render import InvitationContent, InvitationRenderer, single_line
from mga_mailer.sender import SmtpSender
from mga_mailer.store import DeliveryErrorRecord, EmailDocument, EmailStatus, EmailStore

log = structlog.get_logger()

_SANDBOX_BOUNCE = re.compile(r"\+bounce@", re.IGNORECASE)


class OutboxFlusher(Protocol):
    async def flush(self, document_id: str) -> bool: ...


@dataclass(frozen=True)
class DeliveryPolicy:
    # Attempts within one handling of an event, the first included.
    attempts: int
    initial_backoff_seconds: float
    max_backoff_seconds: float
    # How long a started attempt keeps other deliveries of the same email from sending.
    lease: timedelta


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


def _error_record(exc: DeliveryError) -> DeliveryErrorRecord:
    return {"smtpCode": exc.smtp_code, "text": exc.text, "at": utc_now()}


class MailerService:
    def __init__(
        self,
        *,
        store: EmailStore,
        sender: SmtpSender,
        outbox: OutboxFlusher,
        renderer: InvitationRenderer,
        policy: DeliveryPolicy,
        from_mailbox: Mailbox,
        reply_to: str | None,
    ) -> None:
        self._store = store
        self._sender = sender
        self._outbox = outbox
        self._renderer = renderer
        self._policy = policy
        self._from = from_mailbox
        self._reply_to = reply_to

    async def deliver_invitation(self, event: EventEnvelope, invitation: InvitationCreated) -> None:
        """Send the invitation email requested by ``event`` once, whatever the redeliveries.

        Raises ``DeliveryDeferred`` or ``EmailInFlight`` when the event must be retried later,
        and ``InvalidInvitation`` for data no email can be made from.
        """
        email_id = event.id
        structlog.contextvars.bind_contextvars(
            email_id=email_id, invitation_id=invitation.invitation_id
        )
        record, inserted = await self._record(event, invitation)
        labels = (record["language"], _mode(event.livemode))
        status = EmailStatus(record["status"])

        if status in (EmailStatus.SENT, EmailStatus.FAILED):
            EMAILS.labels("duplicate", *labels).inc()
            log.info("email.duplicate_skipped", status=status.value)
            await self._outbox.flush(email_id)
            return

        if not event.livemode:
            if _SANDBOX_BOUNCE.search(invitation.candidate_email):
                await self._mark_failed(
                    record,
                    EmailRejected(
                        "5.1.1 Mailbox unavailable (test mode: the address carries +bounce)",
                        smtp_code=550,
                    ),
                )
                return
            await self._mark_sent(record, delivered=False, attempts=0)
            return

        try:
            if status is EmailStatus.SENDING and not inserted:
                self._check_lease(record)
            await self._deliver(record)
        except EmailInFlight:
            EMAILS.labels("in_flight", *labels).inc()
            log.info("email.in_flight", attempts=record.get("attempts", 0))
            raise

    async def _record(
        self, event: EventEnvelope, invitation: InvitationCreated
    ) -> tuple[dict[str, Any], bool]:
        """Insert the rendered email's record, or read the one an earlier delivery inserted."""
        rendered = self._renderer.render(
            InvitationContent(
                language=invitation.language,
                candidate_name=invitation.candidate_name,
                role=invitation.role,
                duration_minutes=invitation.duration_minutes,
                expires_at=invitation.expires_at,
                invitation_url=invitation.invitation_url,
                sender_name=self._from.display_name,
            )
        )
        now = utc_now()
        document: EmailDocument = {
            "_id": event.id,
            "eventType": event.type.value,
            "invitationId": invitation.invitation_id,
            "accountId": event.account_id,
            "livemode": event.livemode,
            "correlationId": event.correlation_id,
            "language": invitation.language,
            "fromName": self._from.display_name,
            "fromAddress": self._from.address,
            "replyTo": self._reply_to,
            "toName": single_line(invitation.candidate_name),
            "toAddress": invitation.candidate_email.strip(),
            "subject": rendered.subject,
            "text": rendered.text,
            "html": rendered.html,
            "messageId": new_message_id(self._from.address),
            "status": EmailStatus.SENDING.value,
            "attempts": 0,
            "attemptStartedAt": None,
            "lastError": None,
            "delivered": False,
            "createdAt": now,
            "updatedAt": now,
            "sentAt": None,
            "failedAt": None,
            "outbox": {},
            "outboxPending": False,
        }
        if await self._store.insert(document):
            return dict(document), True
        existing = await self._store.get(event.id)
        if existing is None:
            raise RuntimeError(f"email {event.id} collided on insert but cannot be read back")
        return existing, False

    def _check_lease(self, record: dict[str, Any]) -> None:
        """Raise ``EmailInFlight`` while the record's latest attempt may still be running."""
        started = record.get("attemptStartedAt") or record["createdAt"]
        age = utc_now() - started
        if age < self._policy.lease:
            raise EmailInFlight(
                f"email {record['_id']} has an attempt that started {age.total_seconds():.0f} s "
                f"ago, within the {self._policy.lease.total_seconds():.0f} s lease"
            )
        if record.get("attempts", 0) > 0:
            # The worker of that attempt is gone, and it may have got the message accepted.
            log.warning(
                "email.lease_expired",
                attempts=record["attempts"],
                age_seconds=round(age.total_seconds()),
            )

    async def _deliver(self, record: dict[str, Any]) -> None:
        email_id = str(record["_id"])
        outgoing = self._outgoing(record)
        attempt_number = int(record.get("attempts", 0))
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._policy.attempts),
            wait=wait_exponential(
                multiplier=self._policy.initial_backoff_seconds,
                max=self._policy.max_backoff_seconds,
            ),
            retry=retry_if_exception_type(DeliveryDeferred),
            # Raise the delivery error itself, never tenacity's RetryError around it.
            reraise=True,
            before_sleep=self._log_retry,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    attempt_number += 1
                    await self._attempt(email_id, attempt_number, outgoing)
        except DeliveryDeferred as exc:
            await self._store.mark_retrying(email_id, at=utc_now())
            EMAILS.labels("deferred", outgoing.language, "live").inc()
            log.warning(
                "email.delivery_deferred",
                attempt=attempt_number,
                smtp_code=exc.smtp_code,
                error=str(exc),
            )
            raise
        except EmailRejected as exc:
            await self._mark_failed(record, exc)
            return

        await self._mark_sent(record, delivered=True, attempts=attempt_number)
        await self._store.finish_attempt(
            email_id, attempt_number, outcome="accepted", error=None, finished_at=utc_now()
        )

    async def _attempt(self, email_id: str, number: int, outgoing: OutgoingEmail) -> None:
        if not await self._store.claim_attempt(email_id, number, started_at=utc_now()):
            raise EmailInFlight(f"attempt {number} of email {email_id} belongs to another worker")

        started = time.perf_counter()
        try:
            await self._sender.send(outgoing)
        except DeliveryError as exc:
            result = "rejected" if isinstance(exc, EmailRejected) else "deferred"
            EMAIL_SEND_DURATION.labels(result).observe(time.perf_counter() - started)
            await self._store.finish_attempt(
                email_id, number, outcome=result, error=_error_record(exc), finished_at=utc_now()
            )
            raise
        EMAIL_SEND_DURATION.labels("accepted").observe(time.perf_counter() - started)

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "email.attempt_failed",
            attempt=state.attempt_number,
            smtp_code=getattr(exc, "smtp_code", None),
            error=str(exc),
            retry_in_seconds=round(state.upcoming_sleep, 2),
        )

    def _outgoing(self, record: dict[str, Any]) -> OutgoingEmail:
        return OutgoingEmail(
            message_id=record["messageId"],
            date=record["createdAt"],
            sender=Mailbox(record["fromName"], record["fromAddress"]),
            recipient=Mailbox(record["toName"], record["toAddress"]),
            reply_to=record.get("replyTo"),
            subject=record["subject"],
            text=record["text"],
            html=record["html"],
            language=record["language"],
        )

    async def _mark_sent(self, record: dict[str, Any], *, delivered: bool, attempts: int) -> None:
        email_id = str(record["_id"])
        sent_at = utc_now()
        event = build_event(
            EventType.EMAIL_SENT,
            EmailSent(
                invitation_id=record["invitationId"],
                email_id=email_id,
                sent_at=sent_at,
                delivered=delivered,
            ),
            account_id=record["accountId"],
            livemode=record["livemode"],
            correlation_id=record["correlationId"],
            occurred_at=sent_at,
        )
        await self._store.mark_sent(email_id, sent_at=sent_at, delivered=delivered, event=event)
        EMAILS.labels("sent", record["language"], _mode(record["livemode"])).inc()
        log.info("email.sent", delivered=delivered, attempts=attempts)
        await self._outbox.flush(email_id)

    async def _mark_failed(self, record: dict[str, Any], exc: EmailRejected) -> None:
        email_id = str(record["_id"])
        failed_at = utc_now()
        event = build_event(
            EventType.EMAIL_FAILED,
            EmailFailed(
                invitation_id=record["invitationId"],
                email_id=email_id,
                failed_at=failed_at,
                reason=exc.reason,
            ),
            account_id=record["accountId"],
            livemode=record["livemode"],
            correlation_id=record["correlationId"],
            occurred_at=failed_at,
        )
        await self._store.mark_failed(
            email_id, failed_at=failed_at, error=_error_record(exc), event=event
        )
        EMAILS.labels("failed", record["language"], _mode(record["livemode"])).inc()
        log.warning("email.failed", smtp_code=exc.smtp_code, reason=str(exc))
        await self._outbox.flush(email_id)
