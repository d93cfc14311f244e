"""A dispatcher stopped with deliveries scheduled or in flight delivers them after a restart."""

import json
from datetime import timedelta
from typing import Any

from mga_core.timestamps import utc_now
from mga_events.types import EventType
from tests.support import wait_for
from tests.webhooks.conftest import WebhookStack, make_event
from tests.webhooks.receiver import ReceivedRequest, Reply


async def _received(stack: WebhookStack, name: str, count: int) -> list[ReceivedRequest] | None:
    requests = stack.receiver.received(name)
    return requests if len(requests) >= count else None


async def _stored_delivery(stack: WebhookStack, event_id: str, **conditions: Any) -> dict | None:
    return await stack.db.webhook_deliveries.find_one({"eventId": event_id, **conditions})


async def _succeeded(stack: WebhookStack, key: str, event_id: str) -> dict[str, Any] | None:
    deliveries = await stack.deliveries(key, event_id, missing_ok=True)
    return deliveries[0] if deliveries and deliveries[0]["status"] == "succeeded" else None


async def test_scheduled_retry_survives_restart(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    url = stack.receiver.script("hook", Reply(503, headers={"Retry-After": "2"}))
    await stack.create_endpoint(key, url)
    event = make_event(EventType.INTERVIEW_COMPLETED, account)

    await stack.publish(event)
    await wait_for(lambda: _stored_delivery(stack, event.id, attemptCount=1, status="pending"))
    await stack.stop_dispatcher()
    await stack.start_dispatcher()
    delivery = await wait_for(lambda: _succeeded(stack, key, event.id), timeout=15)

    requests = stack.receiver.received("hook")
    assert [attempt["statusCode"] for attempt in delivery["attempts"]] == [503, 200]
    assert len(requests) == 2
    assert requests[0].body == requests[1].body


async def test_attempt_in_flight_resumes_after_restart(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    url = stack.receiver.script("hook", Reply(hang=True), then=Reply(200))
    await stack.create_endpoint(key, url)
    event = make_event(EventType.INVITATION_OPENED, account)

    await stack.publish(event)
    await wait_for(lambda: _received(stack, "hook", 1))
    await stack.stop_dispatcher()
    interrupted = await stack.db.webhook_attempts.find_one({"eventId": event.id, "number": 1})
    await stack.start_dispatcher()
    delivery = await wait_for(lambda: _succeeded(stack, key, event.id))

    first, second = delivery["attempts"]
    assert interrupted["outcome"] == "interrupted"
    assert first["outcome"] == "interrupted"
    assert first["statusCode"] is None
    assert "stopped before the attempt finished" in first["error"]
    assert second["statusCode"] == 200
    assert {json.loads(r.body)["id"] for r in stack.receiver.received("hook")} == {event.id}


async def test_abandoned_attempt_is_recovered(stack: WebhookStack) -> None:
    """A dispatcher killed mid-attempt leaves the attempt without an outcome."""
    account = await stack.account()
    key = await stack.key(account)
    url = stack.receiver.script("hook", Reply(hang=True), then=Reply(200))
    await stack.create_endpoint(key, url)
    event = make_event(EventType.INVITATION_OPENED, account)
    await stack.publish(event)
    await wait_for(lambda: _received(stack, "hook", 1))
    await stack.stop_dispatcher()

    # Rewind the records to the state a killed process leaves: attempt 1 claimed long ago
    # and never finished, the delivery still due for attempt 1.
    long_ago = utc_now() - timedelta(minutes=5)
    await stack.db.webhook_attempts.update_one(
        {"eventId": event.id, "number": 1},
        {"$set": {"outcome": None, "finishedAt": None, "error": None, "startedAt": long_ago}},
    )
    await stack.db.webhook_deliveries.update_one(
        {"eventId": event.id},
        {"$set": {"attemptCount": 0, "status": "pending", "nextAttemptAt": utc_now()}},
    )
    await stack.start_dispatcher()
    delivery = await wait_for(lambda: _succeeded(stack, key, event.id))

    first, second = delivery["attempts"]
    assert first["outcome"] == "interrupted"
    assert second["statusCode"] == 200
    assert len(stack.receiver.received("hook")) == 2
