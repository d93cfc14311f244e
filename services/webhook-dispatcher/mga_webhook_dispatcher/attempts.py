"""One delivery attempt: check the endpoint, sign, send, record, and decide what comes next.

An attempt is claimed by inserting its record (``<delivery id>:<number>``) before anything is
sent, and finished by writing its outcome, then the delivery's new status. A dispatcher that
stops in between leaves one of two states, and the next run of the delivery mends either:

- an attempt record with an outcome but a delivery that does not show it yet: the outcome is
  applied to the delivery again;
- an attempt record without an outcome: once its timeout has passed it is recorded as
  interrupted and the delivery is retried at once. The receiver may have got that request,
  which is why integrators deduplicate by event id.
"""

import asyncio
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import structlog

from mga_core.timestamps import utc_now
from mga_storage import Document
from mga_webhook_dispatcher.delivery import OutgoingRequest, WebhookSender
from mga_webhook_dispatcher.metrics import (
    WEBHOOK_DELIVERIES,
    WEBHOOK_DELIVERY_DURATION,
    WEBHOOK_ENDPOINTS_FAILING,
)
from mga_webhook_dispatcher.policy import (
    GONE_STATUS,
    is_redirect,
    is_success,
    next_retry_delay,
)
from mga_webhook_dispatcher.signing import delivery_headers
from mga_webhook_dispatcher.ssrf import Resolver, UnsafeTarget, resolve_target
from mga_webhook_dispatcher.store import (
    RECEIVING_STATUSES,
    AttemptOutcome,
    DeliveryStatus,
    EndpointStatus,
    WebhookStore,
)

log = structlog.get_logger()

# How long after its timeout an unfinished attempt is taken for one whose dispatcher stopped.
_INTERRUPTED_GRACE = timedelta(seconds=5)
_INTERRUPTED_ERROR = (
    "The dispatcher stopped before the attempt finished; the endpoint may have received "
    "the request."
)
_MAX_LOCATION_LENGTH = 200
# Bound on following an exception's causes, in case a chain loops.
_MAX_CAUSE_DEPTH = 10


@dataclass(frozen=True)
class AttemptPolicy:
    timeout: timedelta
    retry_base: timedelta
    retry_cap: timedelta
    retry_after_cap: timedelta
    max_attempts: int
    allow_private_targets: bool


@dataclass(frozen=True)
class AttemptResult:
    """The outcome of one attempt: a response status, or the error that prevented one."""

    status_code: int | None
    error: str | None
    latency_ms: int
    response_body: str | None = None
    retry_after: str | None = None
    location: str | None = None


def attempt_id_of(delivery_id: str, number: int) -> str:
    return f"{delivery_id}:{number:03d}"


def active_secrets(endpoint: Document, now: datetime) -> list[str]:
    """Return the secrets that sign at ``now``, the newest first."""
    secrets = [
        entry
        for entry in endpoint.get("secrets", [])
        if entry.get("expiresAt") is None or entry["expiresAt"] > now
    ]
    secrets.sort(key=lambda entry: entry["createdAt"], reverse=True)
    return [str(entry["secret"]) for entry in secrets]


def describe_error(exc: BaseException) -> str:
    """Return the exception's type name and message, the way attempt records show errors.

    httpx timeouts often carry an empty message, so they get a plain one. When the
    exception wraps another (httpx's ConnectError wraps the socket error), the innermost one
    follows in brackets, because its message names the actual cause.
    """
    text = _type_and_message(exc)
    root = exc
    for _ in range(_MAX_CAUSE_DEPTH):
        inner = root.__cause__ or root.__context__
        if inner is None:
            break
        root = inner
    if root is not exc and str(root) != str(exc):
        text += f" ({_type_and_message(root)})"
    return text


def _type_and_message(exc: BaseException) -> str:
    message = str(exc)
    if not message and isinstance(exc, httpx.TimeoutException):
        message = "timed out"
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


class AttemptRunner:
    def __init__(
        self,
        *,
        store: WebhookStore,
        sender: WebhookSender,
        resolver: Resolver,
        policy: AttemptPolicy,
    ) -> None:
        self._store = store
        self._sender = sender
        self._resolver = resolver
        self._policy = policy

    async def run(self, delivery_id: str) -> None:
        """Make the next attempt of a pending delivery, or cancel it if its endpoint is gone."""
        delivery = await self._store.get_delivery(delivery_id)
        if delivery is None or delivery["status"] != DeliveryStatus.PENDING.value:
            return
        endpoint = await self._store.get_endpoint(delivery["endpointId"])
        event = await self._store.get_event(delivery["eventId"])
        if endpoint is None or endpoint["status"] not in RECEIVING_STATUSES:
            status = endpoint["status"] if endpoint else "missing"
            await self._cancel(delivery, reason=f"The endpoint is {status}.")
            return
        if event is None:
            await self._cancel(delivery, reason="The event is missing.")
            return

        number = int(delivery["attemptCount"]) + 1
        attempt_id = attempt_id_of(delivery_id, number)
        claimed = await self._store.claim_attempt(
            {
                "_id": attempt_id,
                "deliveryId": delivery_id,
                "eventId": delivery["eventId"],
                "endpointId": delivery["endpointId"],
                "number": number,
                "startedAt": utc_now(),
                "finishedAt": None,
                "outcome": None,
            }
        )
        if not claimed:
            await self._resume_claimed(delivery, endpoint, attempt_id, number)
            return

        try:
            result = await self._attempt(endpoint, event)
        except asyncio.CancelledError:
            # The runtime is stopping. Recording the attempt now lets a restart retry at once
            # instead of waiting until the attempt looks abandoned.
            await asyncio.shield(self._record_interrupted(delivery, endpoint, attempt_id, number))
            raise
        await self._record(delivery, endpoint, attempt_id, number, result)

    async def _attempt(self, endpoint: Document, event: Document) -> AttemptResult:
        """Resolve, check, sign and send, all within the attempt timeout."""
        timeout = self._policy.timeout.total_seconds()
        body = str(event["body"]).encode("utf-8")
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                target = await resolve_target(
                    endpoint["url"],
                    livemode=bool(endpoint["livemode"]),
                    allow_private=self._policy.allow_private_targets,
                    resolver=self._resolver,
                )
                headers = delivery_headers(
                    str(event["_id"]), body, active_secrets(endpoint, utc_now()), int(time.time())
                )
                response = await self._sender.send(OutgoingRequest(target, headers, body))
        except UnsafeTarget as exc:
            error: str = f"UnsafeTarget: url {exc}"
        except TimeoutError:
            error = f"TimeoutError: no response within {timeout:g} seconds"
        except (httpx.HTTPError, OSError) as exc:
            error = describe_error(exc)
        else:
            return AttemptResult(
                status_code=response.status_code,
                error=None,
                latency_ms=_elapsed_ms(started),
                response_body=response.body_excerpt,
                retry_after=response.retry_after,
                location=response.location,
            )
        return AttemptResult(status_code=None, error=error, latency_ms=_elapsed_ms(started))

    async def _record(
        self,
        delivery: Document,
        endpoint: Document,
        attempt_id: str,
        number: int,
        result: AttemptResult,
    ) -> None:
        now = utc_now()
        status_code = result.status_code
        error = result.error
        next_attempt_at: datetime | None = None
        if status_code is not None and is_success(status_code):
            outcome = AttemptOutcome.SUCCEEDED
        elif status_code == GONE_STATUS:
            outcome = AttemptOutcome.ENDPOINT_DISABLED
            error = "The endpoint responded with 410 Gone, so it was disabled."
        else:
            if status_code is not None and is_redirect(status_code):
                location = (result.location or "none")[:_MAX_LOCATION_LENGTH]
                error = (
                    f"Redirects are not followed: the endpoint responded with {status_code} "
                    f"with Location {location}. Register the final URL instead."
                )
            if number >= self._policy.max_attempts:
                outcome = AttemptOutcome.FAILED
            else:
                outcome = AttemptOutcome.RETRY_SCHEDULED
                next_attempt_at = now + next_retry_delay(
                    number,
                    status_code=status_code,
                    retry_after=result.retry_after,
                    now=now,
                    base=self._policy.retry_base,
                    cap=self._policy.retry_cap,
                    retry_after_cap=self._policy.retry_after_cap,
                )

        await self._store.finish_attempt(
            attempt_id,
            {
                "finishedAt": now,
                "outcome": outcome.value,
                "statusCode": status_code,
                "error": error,
                "latencyMs": result.latency_ms,
                "responseBody": result.response_body,
                "nextRetryAt": next_attempt_at,
            },
        )
        WEBHOOK_DELIVERIES.labels(outcome.value).inc()
        WEBHOOK_DELIVERY_DURATION.observe(result.latency_ms / 1000)
        _log_attempt(
            delivery, number, outcome, status_code, error, result.latency_ms, next_attempt_at
        )
        await self._apply(delivery, endpoint, number, outcome, next_attempt_at, error, now)

    async def _apply(
        self,
        delivery: Document,
        endpoint: Document,
        number: int,
        outcome: AttemptOutcome,
        next_attempt_at: datetime | None,
        error: str | None,
        now: datetime,
    ) -> None:
        """Write an attempt's outcome to its delivery, then to its endpoint."""
        delivery_id = str(delivery["_id"])
        fields: dict[str, Any] = {"attemptCount": number, "lastAttemptAt": now, "updatedAt": now}
        if outcome is AttemptOutcome.SUCCEEDED:
            fields |= {"status": DeliveryStatus.SUCCEEDED.value, "nextAttemptAt": None}
            fields |= {"finishedAt": now, "failureReason": None}
        elif next_attempt_at is not None:
            fields |= {"status": DeliveryStatus.PENDING.value, "nextAttemptAt": next_attempt_at}
        else:
            fields |= {"status": DeliveryStatus.FAILED.value, "nextAttemptAt": None}
            fields |= {"finishedAt": now, "failureReason": error}
        async with self._store.lock(delivery_id):
            await self._store.update_delivery(delivery_id, fields)

        endpoint_id = str(endpoint["_id"])
        if outcome is AttemptOutcome.SUCCEEDED:
            await self._mark_recovered(endpoint_id)
        elif outcome is AttemptOutcome.ENDPOINT_DISABLED:
            await self._disable(endpoint_id, delivery_id)
        elif next_attempt_at is None:
            await self._mark_failing(endpoint_id, delivery_id)

    async def _resume_claimed(
        self, delivery: Document, endpoint: Document, attempt_id: str, number: int
    ) -> None:
        """Handle an attempt number that an earlier run of the dispatcher claimed."""
        attempt = await self._store.get_attempt(attempt_id)
        if attempt is None:
            return
        if attempt.get("outcome") is not None:
            # The attempt finished, but the dispatcher stopped before the delivery showed it.
            await self._apply(
                delivery,
                endpoint,
                number,
                AttemptOutcome(attempt["outcome"]),
                attempt.get("nextRetryAt"),
                attempt.get("error"),
                attempt["finishedAt"],
            )
            return
        abandoned_at = attempt["startedAt"] + self._policy.timeout + _INTERRUPTED_GRACE
        if utc_now() < abandoned_at:
            # It may still be running in another process, so look again once it must have ended.
            delivery_id = str(delivery["_id"])
            async with self._store.lock(delivery_id):
                await self._store.update_delivery(delivery_id, {"nextAttemptAt": abandoned_at})
            return
        await self._record_interrupted(delivery, endpoint, attempt_id, number)

    async def _record_interrupted(
        self, delivery: Document, endpoint: Document, attempt_id: str, number: int
    ) -> None:
        now = utc_now()
        next_attempt_at = now if number < self._policy.max_attempts else None
        outcome = AttemptOutcome.INTERRUPTED
        await self._store.finish_attempt(
            attempt_id,
            {
                "finishedAt": now,
                "outcome": outcome.value,
                "statusCode": None,
                "error": _INTERRUPTED_ERROR,
                "latencyMs": None,
                "responseBody": None,
                "nextRetryAt": next_attempt_at,
            },
        )
        WEBHOOK_DELIVERIES.labels(outcome.value).inc()
        log.warning(
            "webhook.attempt_interrupted",
            delivery_id=delivery["_id"],
            event_id=delivery["eventId"],
            endpoint_id=delivery["endpointId"],
            attempt=number,
        )
        await self._apply(
            delivery, endpoint, number, outcome, next_attempt_at, _INTERRUPTED_ERROR, now
        )

    async def _cancel(self, delivery: Document, *, reason: str) -> None:
        delivery_id = str(delivery["_id"])
        now = utc_now()
        async with self._store.lock(delivery_id):
            await self._store.update_delivery(
                delivery_id,
                {
                    "status": DeliveryStatus.CANCELLED.value,
                    "nextAttemptAt": None,
                    "finishedAt": now,
                    "updatedAt": now,
                    "failureReason": reason,
                },
            )
        WEBHOOK_DELIVERIES.labels("cancelled").inc()
        log.info(
            "webhook.delivery_cancelled",
            delivery_id=delivery_id,
            event_id=delivery["eventId"],
            endpoint_id=delivery["endpointId"],
            reason=reason,
        )

    async def _disable(self, endpoint_id: str, delivery_id: str) -> None:
        """Disable an endpoint that responded with 410 Gone and cancel its pending deliveries."""
        now = utc_now()
        async with self._store.lock(endpoint_id):
            endpoint = await self._store.get_endpoint(endpoint_id)
            if endpoint is None or endpoint["status"] not in RECEIVING_STATUSES:
                return
            await self._store.update_endpoint(
                endpoint_id,
                {
                    "status": EndpointStatus.DISABLED.value,
                    "disabledAt": now,
                    "disabledReason": "The endpoint responded to a delivery with 410 Gone.",
                    "failingSince": None,
                    "updatedAt": now,
                },
            )
        cancelled = await self._store.cancel_pending_deliveries(
            endpoint_id,
            reason="The endpoint was disabled after it responded with 410 Gone.",
            now=now,
        )
        WEBHOOK_DELIVERIES.labels("cancelled").inc(len(cancelled))
        WEBHOOK_ENDPOINTS_FAILING.set(await self._store.count_failing_endpoints())
        log.warning(
            "webhook.endpoint_disabled",
            endpoint_id=endpoint_id,
            delivery_id=delivery_id,
            status_code=GONE_STATUS,
            deliveries_cancelled=len(cancelled),
        )

    async def _mark_failing(self, endpoint_id: str, delivery_id: str) -> None:
        now = utc_now()
        async with self._store.lock(endpoint_id):
            endpoint = await self._store.get_endpoint(endpoint_id)
            if endpoint is None or endpoint["status"] != EndpointStatus.ENABLED.value:
                return
            await self._store.update_endpoint(
                endpoint_id,
                {"status": EndpointStatus.FAILING.value, "failingSince": now, "updatedAt": now},
            )
        WEBHOOK_ENDPOINTS_FAILING.set(await self._store.count_failing_endpoints())
        log.warning("webhook.endpoint_failing", endpoint_id=endpoint_id, delivery_id=delivery_id)

    async def _mark_recovered(self, endpoint_id: str) -> None:
        async with self._store.lock(endpoint_id):
            endpoint = await self._store.get_endpoint(endpoint_id)
            if endpoint is None or endpoint["status"] != EndpointStatus.FAILING.value:
                return
            await self._store.update_endpoint(
                endpoint_id,
                {
                    "status": EndpointStatus.ENABLED.value,
                    "failingSince": None,
                    "updatedAt": utc_now(),
                },
            )
        WEBHOOK_ENDPOINTS_FAILING.set(await self._store.count_failing_endpoints())
        log.info("webhook.endpoint_recovered", endpoint_id=endpoint_id)


def _elapsed_ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)


def _log_attempt(
    delivery: Document,
    number: int,
    outcome: AttemptOutcome,
    status_code: int | None,
    error: str | None,
    latency_ms: int,
    next_attempt_at: datetime | None,
) -> None:
    fields: dict[str, Any] = {
        "delivery_id": delivery["_id"],
        "event_id": delivery["eventId"],
        "endpoint_id": delivery["endpointId"],
        "attempt": number,
        "status_code": status_code,
        "latency_ms": latency_ms,
    }
    if outcome is AttemptOutcome.SUCCEEDED:
        log.info("webhook.delivery_succeeded", **fields)
    elif outcome is AttemptOutcome.RETRY_SCHEDULED:
        log.warning(
            "webhook.delivery_retry_scheduled",
            error=error,
            next_attempt_at=next_attempt_at.isoformat() if next_attempt_at else None,
            **fields,
        )
    else:
        log.error("webhook.delivery_failed", outcome=outcome.value, error=error, **fields)
