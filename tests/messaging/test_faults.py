"""Consumers through lost connections and a broker restart."""

import asyncio

import httpx
import pytest

from mga_events.envelope import EventEnvelope
from mga_events.types import EventType
from tests import rabbitmq
from tests.messaging.conftest import Bus, expired_event
from tests.support import Stack, wait_for

pytestmark = pytest.mark.fault


async def test_ack_after_lost_connection_does_not_crash_worker(bus: Bus) -> None:
    release = asyncio.Event()
    started = asyncio.Event()
    effects: list[str] = []

    async def slow(event: EventEnvelope) -> None:
        started.set()
        await release.wait()
        if event.id not in effects:
            effects.append(event.id)

    broker, _ = await bus.consumer({EventType.INVITATION_EXPIRED: slow}, name="stale-ack")
    publisher = await bus.publisher()
    first = expired_event("inv_first")
    await publisher.publish(first)
    await asyncio.wait_for(started.wait(), 10)

    reconnected = asyncio.Event()
    assert broker.connection is not None
    broker.connection.reconnect_callbacks.add(lambda *_args: reconnected.set())
    assert await asyncio.to_thread(rabbitmq.close_connections, f"stale-ack:{bus.names.prefix}") == 1
    await asyncio.wait_for(reconnected.wait(), 30)
    release.set()
    await wait_for(lambda: _async(broker.is_ready()), timeout=30)

    second = expired_event("inv_second")
    await publisher.publish(second)
    await wait_for(lambda: _async(second.id in effects), timeout=30)
    await wait_for(lambda: _queue_empty(bus), timeout=30)

    assert effects == [first.id, second.id]


async def test_consumer_returns_after_broker_restart(stack: Stack) -> None:
    invitation_service = httpx.AsyncClient(base_url=stack.invitation_url, timeout=5)
    queue = stack.names.event_queue("invitation")
    first = expired_event("inv_before")
    await _publish(stack, first)
    await wait_for(lambda: _processed(stack, first))

    readiness_during_outage: list[int] = []
    try:
        await asyncio.to_thread(rabbitmq.stop_app)
        readiness_during_outage.append((await invitation_service.get("/readyz")).status_code)
    finally:
        await asyncio.to_thread(rabbitmq.start_app)
    started = asyncio.get_running_loop().time()

    await wait_for(lambda: _ready(invitation_service), timeout=30)
    second = expired_event("inv_after")
    await _publish(stack, second)
    await wait_for(lambda: _processed(stack, second), timeout=30)
    elapsed = asyncio.get_running_loop().time() - started
    consumers = await _consumer_count(stack, queue)
    await invitation_service.aclose()

    assert readiness_during_outage == [503]
    assert elapsed < 30
    assert consumers == 1


async def _publish(stack: Stack, event: EventEnvelope) -> None:
    import aio_pika

    connection = await aio_pika.connect_robust(stack.amqp.url)  # type: ignore[attr-defined]
    channel = await connection.channel()
    exchange = await channel.get_exchange(stack.names.events_exchange)
    await exchange.publish(
        aio_pika.Message(event.to_json(), delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
        routing_key=event.type.value,
    )
    await connection.close()


async def _processed(stack: Stack, event: EventEnvelope) -> bool:
    return await stack.db.inbox.find_one({"_id": f"invitation:{event.id}"}) is not None


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


async def _consumer_count(stack: Stack, queue: str) -> int:
    import aio_pika

    connection = await aio_pika.connect(stack.amqp.url)  # type: ignore[attr-defined]
    channel = await connection.channel()
    declared = await channel.declare_queue(queue, passive=True)
    await connection.close()
    return int(declared.declaration_result.consumer_count)


async def _queue_empty(bus: Bus) -> bool:
    return await bus.depth(bus.queue) == 0


async def _async(value: bool) -> bool:
    return value
