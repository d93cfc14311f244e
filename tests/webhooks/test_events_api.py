"""Events through the public API: catch-up listing, redelivery, and who receives what."""

import json
from datetime import timedelta
from typing import Any

from mga_core.timestamps import utc_now
from mga_events.envelope import EventEnvelope
from mga_events.types import EventType
from tests.support import wait_for
from tests.webhooks.conftest import WebhookStack, make_event
from tests.webhooks.receiver import ReceivedRequest


async def _received(stack: WebhookStack, name: str, count: int) -> list[ReceivedRequest] | None:
    requests = stack.receiver.received(name)
    return requests if len(requests) >= count else None


async def _stored(stack: WebhookStack, *event_ids: str) -> bool:
    count = await stack.db.webhook_events.count_documents({"_id": {"$in": list(event_ids)}})
    return count == len(event_ids)


def _at(event: EventEnvelope, minutes_ago: int) -> EventEnvelope:
    return event.model_copy(update={"occurred_at": utc_now() - timedelta(minutes=minutes_ago)})


async def _pages(stack: WebhookStack, key: str, **params: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await stack.request("GET", "/v1/events", key, params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append([event["id"] for event in page["data"]])
        cursor = page["nextCursor"]
        if not page["hasMore"]:
            return pages


async def test_events_list_in_stable_pages(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    events = [_at(make_event(EventType.INVITATION_OPENED, account), minutes) for minutes in (5, 4, 3, 2, 1)]
    for event in events:
        await stack.publish(event)
    await wait_for(lambda: _stored(stack, *(event.id for event in events)))

    first = (await stack.request("GET", "/v1/events", key, params={"limit": 2})).json()
    newer = make_event(EventType.INTERVIEW_STARTED, account)
    await stack.publish(newer)
    await wait_for(lambda: _stored(stack, newer.id))
    rest = await _pages(stack, key, limit=2, cursor=first["nextCursor"])

    newest_first = [event.id for event in reversed(events)]
    assert [event["id"] for event in first["data"]] == newest_first[:2]
    assert first["hasMore"] is True
    assert rest == [newest_first[2:4], newest_first[4:]]
    assert (await _pages(stack, key, limit=100)) == [[newer.id, *newest_first]]


async def test_events_filter_by_type(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    opened = make_event(EventType.INVITATION_OPENED, account)
    completed = make_event(EventType.INTERVIEW_COMPLETED, account)
    await stack.publish(opened)
    await stack.publish(completed)
    await wait_for(lambda: _stored(stack, opened.id, completed.id))

    filtered = await stack.request("GET", "/v1/events", key, params={"type": "interview.completed"})
    internal = await stack.request("GET", "/v1/events", key, params={"type": "email.sent"})
    bad_limit = await stack.request("GET", "/v1/events", key, params={"limit": 101})
    bad_cursor = await stack.request("GET", "/v1/events", key, params={"cursor": "nope"})

    assert [event["id"] for event in filtered.json()["data"]] == [completed.id]
    assert filtered.json()["data"][0]["data"]["overallScore"] == 78
    assert internal.status_code == 400
    assert internal.json()["error"]["param"] == "type"
    assert bad_limit.status_code == 400
    assert bad_limit.json()["error"]["param"] == "limit"
    assert bad_cursor.status_code == 400
    assert bad_cursor.json()["error"]["param"] == "cursor"


async def test_event_matches_delivered_payload(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    await stack.create_endpoint(key, stack.receiver.url("hook"))
    event = make_event(EventType.INVITATION_EXPIRED, account)

    await stack.publish(event)
    (request,) = await wait_for(lambda: _received(stack, "hook", 1))
    fetched = await stack.request("GET", f"/v1/events/{event.id}", key)

    delivered = json.loads(request.body)
    assert fetched.status_code == 200
    assert fetched.json() == {**delivered, "livemode": False}


async def test_redeliver_sends_same_event_again(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    first = await stack.create_endpoint(key, stack.receiver.url("first"))
    await stack.create_endpoint(key, stack.receiver.url("second"))
    event = make_event(EventType.INTERVIEW_STARTED, account)
    await stack.publish(event)
    await wait_for(lambda: _received(stack, "first", 1))
    await wait_for(lambda: _received(stack, "second", 1))

    to_all = await stack.request("POST", f"/v1/events/{event.id}/redeliver", key)
    await wait_for(lambda: _received(stack, "first", 2))
    await wait_for(lambda: _received(stack, "second", 2))
    to_one = await stack.request(
        "POST", f"/v1/events/{event.id}/redeliver", key, {"endpointId": first["id"]}
    )
    await wait_for(lambda: _received(stack, "first", 3))
    deliveries = await wait_for(lambda: _all_succeeded(stack, key, event.id, 5))

    bodies = [request.body for request in stack.receiver.received("first")]
    assert to_all.status_code == 202, to_all.text
    assert to_all.json()["eventId"] == event.id
    assert len(to_all.json()["deliveries"]) == 2
    assert to_one.status_code == 202, to_one.text
    assert [d["endpointId"] for d in to_one.json()["deliveries"]] == [first["id"]]
    assert len(set(bodies)) == 1
    assert json.loads(bodies[0])["id"] == event.id
    assert {r.headers["x-mga-event-id"] for r in stack.receiver.received("first")} == {event.id}
    assert [d["redelivery"] for d in deliveries] == [False, False, True, True, True]
    assert len(stack.receiver.received("second")) == 2


async def test_redeliver_rejects_unknown_targets(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    other_key = await stack.key(await stack.account())
    other_endpoint = await stack.create_endpoint(other_key, stack.receiver.url("other"))
    event = make_event(EventType.INVITATION_OPENED, account)
    await stack.publish(event)
    await wait_for(lambda: _stored(stack, event.id))
    path = f"/v1/events/{event.id}/redeliver"

    no_endpoint = await stack.request("POST", path, key)
    foreign_endpoint = await stack.request("POST", path, key, {"endpointId": other_endpoint["id"]})
    foreign_event = await stack.request("POST", path, other_key)
    unknown_event = await stack.request("POST", "/v1/events/evt_01J9Z7C2N5Q8R4T6V8X0Z2B4D6/redeliver", key)

    assert no_endpoint.status_code == 400
    assert no_endpoint.json()["error"]["code"] == "invalid_request"
    assert foreign_endpoint.status_code == 404
    assert foreign_endpoint.json()["error"]["param"] == "endpointId"
    assert foreign_event.status_code == 404
    assert unknown_event.status_code == 404
    assert stack.receiver.received("other") == []


async def test_account_receives_only_its_events(stack: WebhookStack) -> None:
    first_account, second_account = await stack.account(), await stack.account()
    first_key, second_key = await stack.key(first_account), await stack.key(second_account)
    first_endpoint = await stack.create_endpoint(first_key, stack.receiver.url("first"))
    await stack.create_endpoint(second_key, stack.receiver.url("second"))
    event = make_event(EventType.INVITATION_OPENED, second_account)

    await stack.publish(event)
    await wait_for(lambda: _received(stack, "second", 1))

    first_deliveries = await stack.db.webhook_deliveries.count_documents(
        {"endpointId": first_endpoint["id"]}
    )
    foreign = await stack.request("GET", f"/v1/events/{event.id}", first_key)
    listed = (await stack.request("GET", "/v1/events", first_key)).json()
    assert first_deliveries == 0
    assert stack.receiver.received("first") == []
    assert foreign.status_code == 404
    assert listed["data"] == []


async def test_test_events_never_reach_live_endpoints(stack: WebhookStack) -> None:
    account = await stack.account()
    test_endpoint = await stack.create_endpoint(await stack.key(account), stack.receiver.url("test"))
    live_key = await stack.key(account, live=True)
    live_endpoint = await stack.create_endpoint(live_key, stack.receiver.url("live"))
    test_event = make_event(EventType.INVITATION_OPENED, account, livemode=False)
    live_event = make_event(EventType.INVITATION_OPENED, account, livemode=True)

    await stack.publish(test_event)
    await stack.publish(live_event)
    (test_request,) = await wait_for(lambda: _received(stack, "test", 1))
    (live_request,) = await wait_for(lambda: _received(stack, "live", 1))

    test_targets = await stack.db.webhook_deliveries.distinct("endpointId", {"eventId": test_event.id})
    live_targets = await stack.db.webhook_deliveries.distinct("endpointId", {"eventId": live_event.id})
    assert live_endpoint["livemode"] is True
    assert json.loads(test_request.body)["id"] == test_event.id
    assert json.loads(live_request.body)["id"] == live_event.id
    assert test_targets == [test_endpoint["id"]]
    assert live_targets == [live_endpoint["id"]]


async def _all_succeeded(
    stack: WebhookStack, key: str, event_id: str, count: int
) -> list[dict[str, Any]] | None:
    deliveries = await stack.deliveries(key, event_id, missing_ok=True)
    if len(deliveries) == count and all(d["status"] == "succeeded" for d in deliveries):
        return deliveries
    return None
