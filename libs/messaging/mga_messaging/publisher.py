"""Publishing with publisher confirms: a publish returns only once the broker owns it."""

import asyncio

import aio_pika
import aiormq
import structlog
from aio_pika.abc import AbstractExchange

from mga_core.metrics import EVENTS_PUBLISH_FAILURES, EVENTS_PUBLISHED
from mga_events.envelope import EventEnvelope
from mga_messaging.broker import Broker
from mga_messaging.headers import CORRELATION_ID, EVENT_TYPE

log = structlog.get_logger()


class PublishFailed(Exception):
    """The broker did not confirm a message: unroutable, nacked, timed out or disconnected."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


class EventPublisher:
    """Publish events to the events exchange, persistent and mandatory, waiting for confirms."""

    def __init__(self, broker: Broker, *, service: str, confirm_timeout: float) -> None:
        self._broker = broker
        self._service = service
        self._confirm_timeout = confirm_timeout
        self._exchange: AbstractExchange | None = None

    async def start(self) -> None:
        channel = await self._broker.channel(on_return_raises=True)
        self._exchange = await channel.get_exchange(self._broker.names.events_exchange)

    async def publish(self, event: EventEnvelope) -> None:
        """Publish ``event``; raise ``PublishFailed`` unless the broker confirmed it routed."""
        if self._exchange is None:
            raise RuntimeError("EventPublisher.start() must run before publish()")
        message = aio_pika.Message(
            body=event.to_json(),
            content_type="application/json",
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            message_id=event.id,
            type=event.type.value,
            timestamp=event.occurred_at,
            headers={CORRELATION_ID: event.correlation_id, EVENT_TYPE: event.type.value},
        )
        try:
            await self._exchange.publish(
                message,
                routing_key=event.type.value,
                mandatory=True,
                timeout=self._confirm_timeout,
            )
        except aio_pika.exceptions.PublishError as exc:
            self._fail(event, "unroutable", exc)
        except aiormq.exceptions.DeliveryError as exc:
            self._fail(event, "nacked", exc)
        except asyncio.TimeoutError as exc:
            self._fail(event, "confirm_timeout", exc)
        except (
            aiormq.exceptions.AMQPError,
            aio_pika.exceptions.ChannelInvalidStateError,
            ConnectionError,
        ) as exc:
            self._fail(event, "disconnected", exc)
        EVENTS_PUBLISHED.labels(self._service, event.type.value).inc()
        log.info("event.published", event_id=event.id, event_type=event.type.value)

    def _fail(self, event: EventEnvelope, reason: str, exc: BaseException) -> None:
        EVENTS_PUBLISH_FAILURES.labels(self._service, event.type.value, reason).inc()
        raise PublishFailed(reason, repr(exc)) from exc
