"""The consumer's policy: ack after the effect, idempotency, retries, dead letters."""

import asyncio
import json

from prometheus_client import REGISTRY

from mga_events.envelope import EventEnvelope
from mga_events.types import EventType
from mga_messaging.headers import ATTEMPT, DEAD_LETTER_REASON
from tests.messaging.conftest import Bus, expired_event
from tests.support import wait_for


def _consumed(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "mga_events_consumed_total",
        {"service": "tests", "consumer": "webhook-dispatcher", "type": "invitation.expired",
         "outcome": outcome},
    )
    return value or 0.0


async def test_duplicate_delivery_has_one_effect(bus: Bus) -> None:
    effects: list[str] = []

    async def handle(event: EventEnvelope) -> None:
        effects.append(event.id)

    await bus.consumer({EventType.INVITATION_EXPIRED: handle})
    publisher = await bus.publisher()
    event = expired_event()
    duplicates_before = _consumed("duplicate")

    await publisher.publish(event)
    await publisher.publish(event)
    await wait_for(lambda: _async_value([1] if _consumed("duplicate") > duplicates_before else []))

    assert effects == [event.id]


async def test_unacked_message_is_redelivered_after_consumer_dies(bus: Bus) -> None:
    started = asyncio.Event()

    async def hang(_event: EventEnvelope) -> None:
        started.set()
        await asyncio.sleep(3600)

    dying_broker, _ = await bus.consumer({EventType.INVITATION_EXPIRED: hang})
    publisher = await bus.publisher()
    event = expired_event()
    await publisher.publish(event)
    await asyncio.wait_for(started.wait(), 10)

    await dying_broker.close()
    handled: list[str] = []

    async def handle(received: EventEnvelope) -> None:
        handled.append(received.id)

    await bus.consumer({EventType.INVITATION_EXPIRED: handle})
    await wait_for(lambda: _async_value(handled))

    assert handled == [event.id]


async def test_failing_handler_is_retried_then_dead_lettered(bus: Bus) -> None:
    attempts: list[int] = []

    async def fail(_event: EventEnvelope) -> None:
        attempts.append(1)
        raise ConnectionError("downstream unavailable")

    await bus.consumer({EventType.INVITATION_EXPIRED: fail}, max_attempts=3)
    publisher = await bus.publisher()
    event = expired_event()
    await publisher.publish(event)

    dead_letter_queue = bus.names.dead_letter_queue(bus.queue)
    await wait_for(lambda: _depth_is(bus, dead_letter_queue, 1), timeout=20)
    dead = await bus.get(dead_letter_queue)

    assert len(attempts) == 3
    assert dead is not None
    assert json.loads(dead.body)["id"] == event.id
    assert dead.headers[ATTEMPT] == 3
    assert "ConnectionError" in str(dead.headers[DEAD_LETTER_REASON])


async def test_poison_messages_are_dead_lettered_at_once(bus: Bus) -> None:
    handled: list[str] = []

    async def handle(event: EventEnvelope) -> None:
        handled.append(event.id)

    await bus.consumer({EventType.INVITATION_EXPIRED: handle})
    truncated = b'{"invitationId": 42'
    wrong_schema = json.dumps({"id": "evt_nope", "type": "invitation.expired"}).encode()
    good = expired_event()
    wrong_data = json.loads(expired_event().to_json())
    wrong_data["data"] = {"invitationId": 42}

    await bus.publish_raw(truncated)
    await bus.publish_raw(wrong_schema)
    await bus.publish_raw(json.dumps(wrong_data).encode())
    await bus.publish_raw(good.to_json())

    await wait_for(lambda: _async_value(handled))
    dead_letter_queue = bus.names.dead_letter_queue(bus.queue)
    await wait_for(lambda: _depth_is(bus, dead_letter_queue, 3))
    reasons = [str((await bus.get(dead_letter_queue)).headers[DEAD_LETTER_REASON]) for _ in range(3)]

    assert handled == [good.id]
    assert all(reason.startswith("malformed event") for reason in reasons)
    assert all(ATTEMPT not in reason for reason in reasons)


async def test_event_without_handler_is_acknowledged(bus: Bus) -> None:
    await bus.consumer({})
    publisher = await bus.publisher()
    ignored_before = _consumed("ignored")

    await publisher.publish(expired_event())

    await wait_for(lambda: _async_value([1] if _consumed("ignored") > ignored_before else []))
    assert await bus.depth(bus.queue) == 0
    assert await bus.depth(bus.names.dead_letter_queue(bus.queue)) == 0


async def _depth_is(bus: Bus, queue: str, expected: int) -> bool:
    return await bus.depth(queue) == expected


async def _async_value(value: list[str]) -> bool:
    return bool(value)
