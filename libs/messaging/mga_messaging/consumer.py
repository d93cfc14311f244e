"""Consuming events: manual acks, idempotency by event id, delayed retries, dead letters.

The policy, for every message of a consumer's queue:

- a body that is not a valid event is dead-lettered at once, with the reason;
- an event already in the consumer's inbox is acknowledged without running the handler;
- a handler that returns normally has its event recorded in the inbox, then acknowledged;
- a handler that raises ``PermanentError`` has its message dead-lettered at once;
- a handler that raises anything else is retried after a delay, up to
  ``max_attempts`` attempts counted in our own header, then dead-lettered.

Acknowledgement always comes after the handler's side effect is stored.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import aio_pika
import structlog
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from mga_core.locks import KeyedLocks
from mga_core.metrics import EVENT_PROCESSING_DURATION, EVENTS_CONSUMED
from mga_events.envelope import EventEnvelope, MalformedEvent, decode_event
from mga_events.types import EventType
from mga_messaging import acks
from mga_messaging.broker import Broker
from mga_messaging.headers import ATTEMPT, CORRELATION_ID, DEAD_LETTER_REASON, EVENT_TYPE
from mga_messaging.topology import Consumer, Names

log = structlog.get_logger()

EventHandler = Callable[[EventEnvelope], Awaitable[None]]


class PermanentError(Exception):
    """A failure that no retry can fix; the message is dead-lettered at once."""


class Inbox(Protocol):
    """The record of events a consumer has already handled."""

    async def seen(self, event_id: str) -> bool: ...

    async def remember(self, event_id: str) -> None: ...


def _attempt_of(message: AbstractIncomingMessage) -> int:
    raw = (message.headers or {}).get(ATTEMPT, 1)
    try:
        return max(1, int(raw))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 1


class EventConsumer:
    """Consume one service's event queue with the policy of this module."""

    def __init__(
        self,
        broker: Broker,
        *,
        service: str,
        consumer: Consumer,
        handlers: Mapping[EventType, EventHandler],
        inbox: Inbox,
        prefetch: int,
        retry_delays_seconds: list[int],
        max_attempts: int,
    ) -> None:
        self._broker = broker
        self._service = service
        self._consumer = consumer
        self._handlers = handlers
        self._inbox = inbox
        self._prefetch = prefetch
        self._retry_delays = retry_delays_seconds
        self._max_attempts = max_attempts
        self._queue_name = broker.names.event_queue(consumer)
        self._channel: AbstractChannel | None = None
        self._queue: aio_pika.abc.AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._in_flight = 0
        self._idle = asyncio.Event()
        self._idle.set()
        # Two copies of one event held at once run one after the other, so the second finds
        # the first in the inbox. Replicas rely on each handler's own idempotent effect.
        self._event_locks = KeyedLocks()

    @property
    def queue_name(self) -> str:
        return self._queue_name

    async def start(self) -> None:
        self._channel = await self._broker.channel(prefetch=self._prefetch)
        self._queue = await self._channel.get_queue(self._queue_name, ensure=True)
        self._consumer_tag = await self._queue.consume(self.handle_message)
        log.info("consumer.started", queue=self._queue_name, prefetch=self._prefetch)

    async def stop(self, *, timeout: float = 20.0) -> None:
        """Stop taking messages and give those in progress ``timeout`` seconds to finish.

        Messages still unacknowledged when the channel closes go back to the queue.
        """
        if self._queue is not None and self._consumer_tag is not None:
            try:
                await self._queue.cancel(self._consumer_tag)
            except (aio_pika.exceptions.AMQPError, ConnectionError) as exc:
                log.warning("consumer.cancel_failed", queue=self._queue_name, error=repr(exc))
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            log.warning("consumer.stop_timed_out", queue=self._queue_name, in_flight=self._in_flight)
        log.info("consumer.stopped", queue=self._queue_name)

    async def handle_message(self, message: AbstractIncomingMessage) -> None:
        self._in_flight += 1
        self._idle.clear()
        try:
            await self._handle_with_context(message)
        finally:
            self._in_flight -= 1
            if self._in_flight == 0:
                self._idle.set()

    async def _handle_with_context(self, message: AbstractIncomingMessage) -> None:
        structlog.contextvars.clear_contextvars()
        headers = message.headers or {}
        structlog.contextvars.bind_contextvars(
            service=self._service,
            consumer=self._consumer.value,
            message_id=message.message_id,
            correlation_id=str(headers.get(CORRELATION_ID, "")) or None,
        )
        try:
            await self._handle(message)
        finally:
            structlog.contextvars.clear_contextvars()

    async def _handle(self, message: AbstractIncomingMessage) -> None:
        attempt = _attempt_of(message)
        try:
            event = decode_event(message.body)
        except MalformedEvent as exc:
            await self._dead_letter(message, "unknown", f"malformed event: {exc}")
            return

        structlog.contextvars.bind_contextvars(
            event_id=event.id,
            event_type=event.type.value,
            account_id=event.account_id,
            invitation_id=event.data.get("invitationId"),
        )
        handler = self._handlers.get(event.type)
        if handler is None:
            log.warning("event.no_handler")
            EVENTS_CONSUMED.labels(self._service, self._consumer, event.type, "ignored").inc()
            await acks.ack(message)
            return
        async with self._event_locks.hold(event.id):
            await self._run_handler(message, event, handler, attempt)

    async def _run_handler(
        self,
        message: AbstractIncomingMessage,
        event: EventEnvelope,
        handler: EventHandler,
        attempt: int,
    ) -> None:
        if await self._inbox.seen(event.id):
            log.info("event.duplicate_skipped")
            EVENTS_CONSUMED.labels(self._service, self._consumer, event.type, "duplicate").inc()
            await acks.ack(message)
            return

        started = time.perf_counter()
        try:
            await handler(event)
        except PermanentError as exc:
            await self._dead_letter(message, event.type, f"permanent failure: {exc}")
            return
        except Exception as exc:  # the retry policy: every other failure is retried, bounded
            await self._retry_or_dead_letter(message, event, attempt, exc)
            return
        finally:
            EVENT_PROCESSING_DURATION.labels(
                self._service, self._consumer, event.type
            ).observe(time.perf_counter() - started)

        await self._inbox.remember(event.id)
        await acks.ack(message)
        EVENTS_CONSUMED.labels(self._service, self._consumer, event.type, "processed").inc()
        log.info("event.processed", attempt=attempt)

    async def _retry_or_dead_letter(
        self,
        message: AbstractIncomingMessage,
        event: EventEnvelope,
        attempt: int,
        exc: Exception,
    ) -> None:
        if attempt >= self._max_attempts:
            log.error("event.attempts_exhausted", attempt=attempt, error=repr(exc), exc_info=exc)
            await self._dead_letter(
                message, event.type, f"failed {attempt} attempts, last error: {exc!r}"
            )
            return

        delay = self._retry_delays[min(attempt - 1, len(self._retry_delays) - 1)]
        log.warning(
            "event.retry_scheduled",
            attempt=attempt,
            delay_seconds=delay,
            error=repr(exc),
            exc_info=exc,
        )
        retry_queue = Names.retry_queue(self._queue_name, delay)
        try:
            await self._republish(message, routing_key=retry_queue, attempt=attempt + 1)
        except (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError) as publish_exc:
            log.error("event.retry_publish_failed", error=repr(publish_exc))
            await acks.requeue(message)
            return
        await acks.ack(message)
        EVENTS_CONSUMED.labels(self._service, self._consumer, event.type, "retried").inc()

    async def _dead_letter(
        self, message: AbstractIncomingMessage, event_type: str, reason: str
    ) -> None:
        """Move a message to the queue's dead-letter queue, with the reason in a header."""
        log.error("event.dead_lettered", reason=reason, queue=self._queue_name)
        EVENTS_CONSUMED.labels(self._service, self._consumer, event_type, "dead_lettered").inc()
        try:
            await self._republish(
                message,
                routing_key=self._queue_name,
                exchange=self._broker.names.dead_letter_exchange,
                extra_headers={DEAD_LETTER_REASON: reason[:1000]},
            )
        except (aio_pika.exceptions.AMQPError, ConnectionError, TimeoutError) as exc:
            # The queue's own dead-letter arguments still keep the message, without the reason.
            log.warning("event.dead_letter_publish_failed", error=repr(exc))
            await acks.reject(message)
            return
        await acks.ack(message)

    async def _republish(
        self,
        message: AbstractIncomingMessage,
        *,
        routing_key: str,
        attempt: int | None = None,
        exchange: str = "",
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        if self._channel is None:
            raise RuntimeError("EventConsumer.start() must run first")
        headers = dict(message.headers or {})
        if attempt is not None:
            headers[ATTEMPT] = attempt
        headers.update(extra_headers or {})
        headers.setdefault(EVENT_TYPE, message.type or "")
        copy = aio_pika.Message(
            body=message.body,
            content_type=message.content_type,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=message.message_id,
            type=message.type,
            timestamp=message.timestamp,
            headers=headers,
        )
        target = (
            self._channel.default_exchange
            if not exchange
            else await self._channel.get_exchange(exchange, ensure=False)
        )
        await target.publish(copy, routing_key=routing_key, mandatory=True, timeout=10)
