"""Delivery policy against a real receiver: retries, timeouts, Retry-After, 410, isolation of
slow endpoints, and what each attempt record keeps."""

import asyncio
import json
import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY

from mga_events.types import EventType
from mga_webhook_dispatcher.policy import backoff_delay, next_retry_delay, parse_retry_after
from tests.support import wait_for
from tests.webhooks.conftest import WebhookStack, make_event, webhook_stack
from tests.webhooks.receiver import ReceivedRequest, Reply


async def _received(stack: WebhookStack, name: str, count: int) -> list[ReceivedRequest] | None:
    requests = stack.receiver.received(name)
    return requests if len(requests) >= count else None


async def _delivery_in(
    stack: WebhookStack, key: str, event_id: str, statuses: set[str]
) -> dict[str, Any] | None:
    deliveries = await stack.deliveries(key, event_id, missing_ok=True)
    if len(deliveries) == 1 and deliveries[0]["status"] in statuses:
        return deliveries[0]
    return None


def _closed_port() -> int:
    """Return a loopback port that nothing listens on, so connecting is refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _deliveries_metric(outcome: str) -> float:
    value = REGISTRY.get_sample_value("mga_webhook_deliveries_total", {"outcome": outcome})
    return value or 0.0


async def test_retries_until_success(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    url = stack.receiver.script("hook", Reply(500), Reply(500), Reply(500), then=Reply(200))
    await stack.create_endpoint(key, url)
    event = make_event(EventType.INVITATION_OPENED, account)
    succeeded_before = _deliveries_metric("succeeded")

    await stack.publish(event)
    delivery = await wait_for(lambda: _delivery_in(stack, key, event.id, {"succeeded"}))

    requests = stack.receiver.received("hook")
    attempts = delivery["attempts"]
    assert [attempt["statusCode"] for attempt in attempts] == [500, 500, 500, 200]
    assert [attempt["outcome"] for attempt in attempts] == [
        "retry_scheduled", "retry_scheduled", "retry_scheduled", "succeeded",
    ]
    assert [attempt["number"] for attempt in attempts] == [1, 2, 3, 4]
    assert all(attempt["latencyMs"] is not None for attempt in attempts)
    assert all(attempt["error"] is None for attempt in attempts)
    assert attempts[0]["nextRetryAt"] is not None
    assert attempts[3]["nextRetryAt"] is None
    assert attempts[3]["responseBody"] == "ok"
    assert len(requests) == 4
    assert {json.loads(request.body)["id"] for request in requests} == {event.id}
    assert delivery["nextRetryAt"] is None
    assert _deliveries_metric("succeeded") == succeeded_before + 1


async def test_hanging_receiver_times_out(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    url = stack.receiver.script("hook", Reply(hang=True), then=Reply(200))
    await stack.create_endpoint(key, url)
    event = make_event(EventType.INTERVIEW_STARTED, account)

    await stack.publish(event)
    delivery = await wait_for(lambda: _delivery_in(stack, key, event.id, {"succeeded"}))

    first, second = delivery["attempts"]
    assert first["statusCode"] is None
    assert first["error"] == "TimeoutError: no response within 1 seconds"
    assert first["latencyMs"] >= 1000
    assert first["outcome"] == "retry_scheduled"
    assert second["statusCode"] == 200


async def test_refused_connection_keeps_exception(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    await stack.create_endpoint(key, f"http://127.0.0.1:{_closed_port()}/hook")
    event = make_event(EventType.INVITATION_EXPIRED, account)

    await stack.publish(event)
    delivery = await wait_for(lambda: _delivery_in(stack, key, event.id, {"failed"}))

    attempts = delivery["attempts"]
    assert len(attempts) == stack.dispatcher_settings.webhook_max_attempts
    assert all(attempt["statusCode"] is None for attempt in attempts)
    assert all(attempt["error"].startswith("ConnectError: ") for attempt in attempts)
    assert "ConnectionRefusedError" in attempts[0]["error"]
    assert attempts[-1]["outcome"] == "failed"
    assert delivery["failureReason"] == attempts[-1]["error"]


async def test_exhausted_schedule_marks_endpoint_failing(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    url = stack.receiver.script("hook", *[Reply(502)] * 6, then=Reply(200))
    endpoint = await stack.create_endpoint(key, url)
    first = make_event(EventType.INVITATION_OPENED, account)

    await stack.publish(first)
    failed = await wait_for(lambda: _delivery_in(stack, key, first.id, {"failed"}))
    failing = await stack.request("GET", f"/v1/webhook_endpoints/{endpoint['id']}", key)
    failing_gauge = REGISTRY.get_sample_value("mga_webhook_endpoints_failing")
    second = make_event(EventType.INVITATION_OPENED, account)
    await stack.publish(second)
    await wait_for(lambda: _delivery_in(stack, key, second.id, {"succeeded"}))
    recovered = await stack.request("GET", f"/v1/webhook_endpoints/{endpoint['id']}", key)

    assert [attempt["statusCode"] for attempt in failed["attempts"]] == [502] * 6
    assert failed["nextRetryAt"] is None
    assert failing.json()["status"] == "failing"
    assert failing_gauge == 1
    assert recovered.json()["status"] == "enabled"


@pytest.mark.parametrize("status_code", [429, 503])
async def test_retry_after_is_respected(stack: WebhookStack, status_code: int) -> None:
    account = await stack.account()
    key = await stack.key(account)
    url = stack.receiver.script("hook", Reply(status_code, headers={"Retry-After": "2"}))
    await stack.create_endpoint(key, url)
    event = make_event(EventType.INVITATION_OPENED, account)

    await stack.publish(event)
    first, second = await wait_for(lambda: _received(stack, "hook", 2), timeout=15)
    delivery = await wait_for(lambda: _delivery_in(stack, key, event.id, {"succeeded"}))

    assert second.received_at - first.received_at >= 2.0
    assert [attempt["statusCode"] for attempt in delivery["attempts"]] == [status_code, 200]


async def test_gone_disables_endpoint() -> None:
    async with webhook_stack(dispatcher={"webhook_max_concurrency_per_endpoint": 1}) as stack:
        await _check_gone_disables_endpoint(stack)


async def _check_gone_disables_endpoint(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    # The slow 410 keeps the first attempt in flight while the second event is scheduled.
    url = stack.receiver.script("hook", then=Reply(410, delay=0.5))
    endpoint = await stack.create_endpoint(key, url)
    first = make_event(EventType.INVITATION_OPENED, account)
    second = make_event(EventType.INTERVIEW_STARTED, account)

    await stack.publish(first)
    await wait_for(lambda: _received(stack, "hook", 1))
    await stack.publish(second)
    disabled = await wait_for(lambda: _endpoint_status(stack, key, endpoint["id"], "disabled"))
    cancelled = await wait_for(lambda: _delivery_in(stack, key, second.id, {"cancelled"}))
    third = make_event(EventType.INVITATION_EXPIRED, account)
    await stack.publish(third)
    await wait_for(lambda: _event_stored(stack, key, third.id))

    first_delivery = (await stack.deliveries(key, first.id))[0]
    assert "410" in disabled["disabledReason"]
    assert first_delivery["status"] == "failed"
    assert [attempt["statusCode"] for attempt in first_delivery["attempts"]] == [410]
    assert first_delivery["attempts"][0]["outcome"] == "endpoint_disabled"
    assert cancelled["attempts"] == []
    assert await stack.deliveries(key, third.id) == []
    assert len(stack.receiver.received("hook")) == 1


async def test_redirect_is_not_followed(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    target = stack.receiver.url("moved")
    url = stack.receiver.script("hook", Reply(302, headers={"Location": target}), then=Reply(200))
    await stack.create_endpoint(key, url)
    event = make_event(EventType.INVITATION_OPENED, account)

    await stack.publish(event)
    delivery = await wait_for(lambda: _delivery_in(stack, key, event.id, {"succeeded"}))

    first = delivery["attempts"][0]
    assert first["statusCode"] == 302
    assert first["error"].startswith("Redirects are not followed")
    assert target in first["error"]
    assert stack.receiver.received("moved") == []


@pytest.mark.parametrize("dead", ["hanging", "refused"])
async def test_dead_endpoint_spares_healthy_one(dead: str) -> None:
    overrides = {
        "webhook_timeout": timedelta(seconds=3),
        "webhook_max_concurrency": 4,
        "webhook_max_concurrency_per_endpoint": 2,
        "webhook_retry_base": timedelta(seconds=1),
        "webhook_retry_cap": timedelta(seconds=1),
        "webhook_max_attempts": 20,
    }
    async with webhook_stack(dispatcher=overrides) as stack:
        account = await stack.account()
        key = await stack.key(account)
        if dead == "hanging":
            dead_url = stack.receiver.script("dead", then=Reply(hang=True))
        else:
            dead_url = f"http://127.0.0.1:{_closed_port()}/dead"
        dead_endpoint = await stack.create_endpoint(key, dead_url)
        await stack.create_endpoint(key, stack.receiver.url("healthy"))
        events = [make_event(EventType.INVITATION_OPENED, account) for _ in range(8)]

        started = _loop_time()
        for event in events:
            await stack.publish(event)
        await wait_for(lambda: _received(stack, "healthy", len(events)), timeout=10)
        elapsed = _loop_time() - started
        dead_pending = await stack.db.webhook_deliveries.count_documents(
            {"endpointId": dead_endpoint["id"], "status": "pending"}
        )

        received_ids = {json.loads(r.body)["id"] for r in stack.receiver.received("healthy")}
        assert received_ids == {event.id for event in events}
        assert elapsed < 2.0
        assert dead_pending == len(events)


async def _endpoint_status(
    stack: WebhookStack, key: str, endpoint_id: str, status: str
) -> dict[str, Any] | None:
    endpoint = (await stack.request("GET", f"/v1/webhook_endpoints/{endpoint_id}", key)).json()
    return endpoint if endpoint["status"] == status else None


async def _event_stored(stack: WebhookStack, key: str, event_id: str) -> bool:
    return (await stack.request("GET", f"/v1/events/{event_id}", key)).status_code == 200


def _loop_time() -> float:
    return asyncio.get_running_loop().time()


def test_backoff_stays_within_jitter_bounds() -> None:
    base, cap = timedelta(seconds=30), timedelta(hours=6)

    for attempt, ceiling in [(1, 30), (2, 60), (5, 480), (10, 15360), (11, 21600), (19, 21600)]:
        delays = [backoff_delay(attempt, base=base, cap=cap).total_seconds() for _ in range(200)]
        assert min(delays) >= ceiling / 2
        assert max(delays) <= ceiling
        assert max(delays) > ceiling * 0.75


def test_retry_after_forms() -> None:
    now = datetime(2026, 5, 15, 14, 30, 0, tzinfo=UTC)

    assert parse_retry_after("2", now=now) == timedelta(seconds=2)
    assert parse_retry_after(" 120 ", now=now) == timedelta(seconds=120)
    assert parse_retry_after("Fri, 15 May 2026 14:31:00 GMT", now=now) == timedelta(minutes=1)
    assert parse_retry_after("Fri, 15 May 2026 14:00:00 GMT", now=now) == timedelta(0)
    assert parse_retry_after("soon", now=now) is None
    assert parse_retry_after("-5", now=now) is None
    assert parse_retry_after(None, now=now) is None


def test_retry_after_is_capped_at_a_day() -> None:
    now = datetime(2026, 5, 15, 14, 30, 0, tzinfo=UTC)
    schedule = {
        "now": now,
        "base": timedelta(milliseconds=50),
        "cap": timedelta(milliseconds=200),
        "retry_after_cap": timedelta(days=1),
    }

    asked_two_days = next_retry_delay(1, status_code=429, retry_after="172800", **schedule)
    asked_on_500 = next_retry_delay(1, status_code=500, retry_after="60", **schedule)

    assert asked_two_days == timedelta(days=1)
    assert asked_on_500 <= timedelta(milliseconds=50)
