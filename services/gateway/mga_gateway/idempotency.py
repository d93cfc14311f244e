"""Idempotency keys: a retried POST returns the first response and changes nothing.

A record per account, mode and key holds a fingerprint of the request and, once done, the
response. Claiming a key is an insert against the unique ``_id``, so of two concurrent
requests exactly one runs; the other waits a few seconds for the result and otherwise gets a
retryable 409. A record whose holder died is taken over after ``lock`` has passed. The
command sent to the invitation service carries the record's own request key, so even a
taken-over request cannot create a second invitation. Errors a caller can fix (4xx) are
stored and replayed like successes; 5xx errors release the key so that a retry runs again.
"""

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import structlog

from mga_core.errors import ApiError, InvalidRequest
from mga_core.ids import IdPrefix, new_id
from mga_core.timestamps import utc_now
from mga_gateway.auth import Caller
from mga_gateway.errors import IdempotencyKeyReused, RequestInProgress
from mga_gateway.store import GatewayStore

log = structlog.get_logger()

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
_POLL_INTERVAL_SECONDS = 0.1

Operation = Callable[[str], Awaitable[tuple[int, dict[str, Any]]]]


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]
    replayed: bool = False


def fingerprint(method: str, path: str, body: Any) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not 1 <= len(key) <= MAX_KEY_LENGTH or not all(33 <= ord(ch) <= 126 for ch in key):
        raise InvalidRequest(
            f"The Idempotency-Key header must be 1 to {MAX_KEY_LENGTH} printable ASCII "
            "characters without spaces; a UUID works well.",
            param=HEADER,
        )
    return key


class Idempotency:
    def __init__(
        self, store: GatewayStore, *, ttl: timedelta, lock: timedelta, wait: timedelta
    ) -> None:
        self._store = store
        self._ttl = ttl
        self._lock = lock
        self._wait = wait

    async def run(
        self, caller: Caller, key: str | None, request_fingerprint: str, operation: Operation
    ) -> Outcome:
        if key is None:
            status, body = await operation(new_id(IdPrefix.COMMAND))
            return Outcome(status, body)

        record_id = f"{caller.account_id}:{caller.mode}:{key}"
        request_key = await self._claim(record_id, request_fingerprint)
        if isinstance(request_key, Outcome):
            return request_key

        try:
            status, body = await operation(request_key)
        except ApiError as exc:
            if exc.status >= 500:
                await self._store.delete_idempotency_key(record_id)
            else:
                await self._store.complete_idempotency_key(
                    record_id, status=exc.status, body=json.dumps(_error_body(exc))
                )
            raise
        except BaseException:
            await self._store.delete_idempotency_key(record_id)
            raise
        await self._store.complete_idempotency_key(record_id, status=status, body=json.dumps(body))
        return Outcome(status, body)

    async def _claim(self, record_id: str, request_fingerprint: str) -> str | Outcome:
        """Claim the key and return the request key to run with, or the stored outcome."""
        deadline = utc_now() + self._wait
        while True:
            now = utc_now()
            request_key = new_id(IdPrefix.COMMAND)
            claimed = await self._store.claim_idempotency_key(
                {
                    "_id": record_id,
                    "fingerprint": request_fingerprint,
                    "requestKey": request_key,
                    "state": "in_progress",
                    "createdAt": now,
                    "lockedUntil": now + self._lock,
                }
            )
            if claimed:
                return request_key

            record = await self._store.get_idempotency_record(record_id)
            if record is None:
                continue
            if record["createdAt"] < now - self._ttl:
                await self._store.delete_idempotency_key(record_id)
                continue
            if record["fingerprint"] != request_fingerprint:
                raise IdempotencyKeyReused(param=HEADER)
            if record["state"] == "completed":
                log.info("idempotency.replayed")
                return _replay(record)
            if record["lockedUntil"] <= now:
                taken = await self._store.take_over_idempotency_key(
                    record_id, expired_lock=record["lockedUntil"], locked_until=now + self._lock
                )
                if taken:
                    log.warning("idempotency.lock_taken_over")
                    return str(record["requestKey"])
            if now >= deadline:
                raise RequestInProgress()
            await asyncio.sleep(_POLL_INTERVAL_SECONDS)


def _error_body(exc: ApiError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message, "param": exc.param}}


def _replay(record: dict[str, Any]) -> Outcome:
    body = json.loads(record["responseBody"])
    status = int(record["responseStatus"])
    if status >= 400:
        error = body["error"]
        replayed = ApiError.from_wire({"status": status, **error})
        replayed.headers["Idempotent-Replayed"] = "true"
        raise replayed
    return Outcome(status, body, replayed=True)
