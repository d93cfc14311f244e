"""The scheduler: starts due delivery attempts with bounded concurrency.

It polls ``webhook_deliveries`` for pending deliveries whose ``nextAttemptAt`` has passed,
so retries survive a restart. New deliveries and finished attempts wake it early, so a fresh
event goes out at once instead of at the next poll.

Two semaphores bound the attempts in flight: one over all endpoints and one per endpoint.
Both are acquired before an attempt's task starts, and endpoints whose semaphore is taken
are left out of the next query. A slow or dead endpoint therefore takes at most its own
share of slots, and deliveries to healthy endpoints do not queue behind it.
"""

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta

import structlog

from mga_core.timestamps import utc_now
from mga_webhook_dispatcher.store import WebhookStore

log = structlog.get_logger()

AttemptFunction = Callable[[str], Awaitable[None]]


class DeliveryScheduler:
    def __init__(
        self,
        store: WebhookStore,
        attempt: AttemptFunction,
        *,
        max_concurrency: int,
        max_concurrency_per_endpoint: int,
        poll_interval: timedelta,
    ) -> None:
        self._store = store
        self._attempt = attempt
        self._max_concurrency = max_concurrency
        self._max_per_endpoint = max_concurrency_per_endpoint
        self._poll_interval = poll_interval.total_seconds()
        self._slots = asyncio.Semaphore(max_concurrency)
        self._endpoint_slots: dict[str, asyncio.Semaphore] = {}
        # Delivery id to endpoint id of every attempt in flight, and their tasks.
        self._in_flight: dict[str, str] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for due deliveries now instead of at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Start due attempts until cancelled. Database errors are logged and retried."""
        while True:
            self._wake.clear()
            try:
                while await self._start_due():
                    pass
            except Exception as exc:  # keep scheduling through database outages
                log.warning("webhook.scheduler_failed", error=repr(exc))
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_interval)
            except TimeoutError:
                pass

    async def stop(self) -> None:
        """Cancel the attempts in flight and wait until each has recorded its interruption."""
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _start_due(self) -> bool:
        """Start attempts for due deliveries and return True when another query may find more.

        More may be found when a delivery was skipped because its endpoint's slots filled
        up during this round while overall slots are still free.
        """
        free = self._max_concurrency - len(self._in_flight)
        if free <= 0:
            return False
        busy_endpoints = [
            endpoint_id
            for endpoint_id, slots in self._endpoint_slots.items()
            if slots.locked()
        ]
        due = await self._store.due_deliveries(
            utc_now(),
            skip_deliveries=list(self._in_flight),
            skip_endpoints=busy_endpoints,
            limit=free,
        )
        skipped = False
        for delivery in due:
            delivery_id, endpoint_id = str(delivery["_id"]), str(delivery["endpointId"])
            endpoint_slots = self._endpoint_slots.setdefault(
                endpoint_id, asyncio.Semaphore(self._max_per_endpoint)
            )
            if endpoint_slots.locked() or self._slots.locked():
                skipped = True
                continue
            # Neither semaphore is locked, so both acquire without waiting.
            await self._slots.acquire()
            await endpoint_slots.acquire()
            self._in_flight[delivery_id] = endpoint_id
            task = asyncio.create_task(
                self._run_attempt(delivery_id, endpoint_id, endpoint_slots),
                name=f"webhook-attempt-{delivery_id}",
            )
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return skipped and not self._slots.locked()

    async def _run_attempt(
        self, delivery_id: str, endpoint_id: str, endpoint_slots: asyncio.Semaphore
    ) -> None:
        finished = False
        try:
            await self._attempt(delivery_id)
            finished = True
        except Exception as exc:  # one broken delivery must not stop the others
            # The delivery stays due, and the next poll tries it again.
            log.exception("webhook.attempt_crashed", delivery_id=delivery_id, error=repr(exc))
        finally:
            self._in_flight.pop(delivery_id, None)
            endpoint_slots.release()
            self._slots.release()
            if endpoint_id not in self._in_flight.values():
                self._endpoint_slots.pop(endpoint_id, None)
        if finished:
            # A slot is free. Waking only after a clean finish keeps a delivery that crashes
            # every time from being retried in a tight loop.
            self.wake()
