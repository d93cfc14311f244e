"""Webhook endpoints through the public API: create, read, list, delete, validation."""

from typing import Any

import pytest

from mga_events.types import EventType
from tests.support import wait_for
from tests.webhooks.conftest import WebhookStack, make_event

ENDPOINT_FIELDS = {
    "id", "url", "enabledEvents", "description", "status", "disabledReason", "createdAt",
    "livemode",
}


async def test_create_returns_secret_once(stack: WebhookStack) -> None:
    key = await stack.key(await stack.account())
    body = {
        "url": stack.receiver.url("hook"),
        "enabledEvents": ["interview.completed", "invitation.expired"],
        "description": "ATS production",
    }

    created = await stack.request("POST", "/v1/webhook_endpoints", key, body)
    endpoint = created.json()
    fetched = await stack.request("GET", f"/v1/webhook_endpoints/{endpoint['id']}", key)
    listed = await stack.request("GET", "/v1/webhook_endpoints", key)

    assert created.status_code == 201, created.text
    assert set(endpoint) == ENDPOINT_FIELDS | {"secret"}
    assert endpoint["id"].startswith("we_")
    assert endpoint["secret"].startswith("whsec_")
    assert len(endpoint["secret"]) == len("whsec_") + 44
    assert endpoint["url"] == body["url"]
    assert endpoint["enabledEvents"] == body["enabledEvents"]
    assert endpoint["description"] == "ATS production"
    assert endpoint["status"] == "enabled"
    assert endpoint["livemode"] is False
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    assert fetched.json() == {k: v for k, v in endpoint.items() if k != "secret"}
    assert listed.json()["data"] == [fetched.json()]
    assert listed.json()["hasMore"] is False
    assert listed.json()["nextCursor"] is None
    assert "whsec_" not in listed.text


async def test_create_replays_with_idempotency_key(stack: WebhookStack) -> None:
    key = await stack.key(await stack.account())
    body = {"url": stack.receiver.url("hook"), "enabledEvents": ["*"]}
    headers = {"Idempotency-Key": "create-endpoint-1"}

    first = await stack.request("POST", "/v1/webhook_endpoints", key, body, headers=headers)
    second = await stack.request("POST", "/v1/webhook_endpoints", key, body, headers=headers)
    listed = (await stack.request("GET", "/v1/webhook_endpoints", key)).json()

    assert first.status_code == 201
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
    assert len(listed["data"]) == 1


async def test_list_pages_newest_first(stack: WebhookStack) -> None:
    key = await stack.key(await stack.account())
    created = [
        (await stack.create_endpoint(key, stack.receiver.url(f"hook{n}")))["id"] for n in range(5)
    ]

    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await stack.request("GET", "/v1/webhook_endpoints", key, params=params)).json()
        seen += [endpoint["id"] for endpoint in page["data"]]
        pages += 1
        cursor = page["nextCursor"]
        if not page["hasMore"]:
            break

    assert seen == list(reversed(created))
    assert pages == 3
    assert cursor is None


async def test_foreign_endpoint_is_not_found(stack: WebhookStack) -> None:
    owner = await stack.account()
    owner_key = await stack.key(owner)
    endpoint = await stack.create_endpoint(owner_key, stack.receiver.url("hook"))
    path = f"/v1/webhook_endpoints/{endpoint['id']}"
    other_key = await stack.key(await stack.account())
    live_key = await stack.key(owner, live=True)

    for key in (other_key, live_key):
        fetched = await stack.request("GET", path, key)
        deleted = await stack.request("DELETE", path, key)
        rotated = await stack.request("POST", f"{path}/rotate_secret", key)
        listed = await stack.request("GET", "/v1/webhook_endpoints", key)
        assert fetched.status_code == 404
        assert fetched.json()["error"]["code"] == "not_found"
        assert fetched.json()["error"]["param"] == "id"
        assert deleted.status_code == 404
        assert rotated.status_code == 404
        assert listed.json()["data"] == []
    still_there = await stack.request("GET", path, owner_key)
    assert still_there.status_code == 200


async def test_unknown_endpoint_id_is_not_found(stack: WebhookStack) -> None:
    key = await stack.key(await stack.account())

    malformed = await stack.request("GET", "/v1/webhook_endpoints/not-an-id", key)
    unknown = await stack.request("GET", "/v1/webhook_endpoints/we_01J9Z6Q4Y7V7N1M0W8J3D2K5TB", key)

    assert malformed.status_code == 404
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "not_found"


async def test_deleted_endpoint_receives_nothing(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    endpoint = await stack.create_endpoint(key, stack.receiver.url("hook"))
    path = f"/v1/webhook_endpoints/{endpoint['id']}"

    deleted = await stack.request("DELETE", path, key)
    again = await stack.request("DELETE", path, key)
    fetched = await stack.request("GET", path, key)
    event = make_event(EventType.INVITATION_OPENED, account)
    await stack.publish(event)
    await wait_for(lambda: _event_visible(stack, key, event.id))

    assert deleted.status_code == 200
    assert deleted.json() == {"id": endpoint["id"], "deleted": True}
    assert again.status_code == 404
    assert fetched.status_code == 404
    assert (await stack.request("GET", "/v1/webhook_endpoints", key)).json()["data"] == []
    assert await stack.deliveries(key, event.id) == []
    assert stack.receiver.received("hook") == []


@pytest.mark.parametrize(
    ("enabled_events", "message_part"),
    [
        ([], "at least one"),
        (["invitation.created"], "not a webhook event type"),
        (["interview.completed", "email.sent"], "not a webhook event type"),
        (["*", "interview.started"], "alone"),
        (["interview.started", "interview.started"], "repeat"),
        ("interview.started", "list"),
        ([1], "string"),
        (None, "list"),
    ],
)
async def test_invalid_enabled_events_rejected(
    stack: WebhookStack, enabled_events: Any, message_part: str
) -> None:
    key = await stack.key(await stack.account())
    body = {"url": stack.receiver.url("hook"), "enabledEvents": enabled_events}

    response = await stack.request("POST", "/v1/webhook_endpoints", key, body)

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid_request"
    assert error["param"] == "enabledEvents"
    assert message_part in error["message"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"enabledEvents": ["*"]}, "url"),
        ({"url": "ftp://hooks.example.com/x", "enabledEvents": ["*"]}, "url"),
        ({"url": "https://", "enabledEvents": ["*"]}, "url"),
        ({"url": "https://user:pw@hooks.example.com/x", "enabledEvents": ["*"]}, "url"),
        ({"url": "https://hooks.example.com/a b", "enabledEvents": ["*"]}, "url"),
        ({"url": "https://hooks.example.com/" + "a" * 2048, "enabledEvents": ["*"]}, "url"),
        ({"url": 42, "enabledEvents": ["*"]}, "url"),
        ({"url": "https://hooks.example.com/x"}, "enabledEvents"),
        ({"url": "https://hooks.example.com/x", "enabledEvents": ["*"], "description": ""}, "description"),
        ({"url": "https://hooks.example.com/x", "enabledEvents": ["*"], "secret": "x"}, "secret"),
    ],
)
async def test_invalid_create_body_rejected(
    stack: WebhookStack, body: dict[str, Any], param: str
) -> None:
    key = await stack.key(await stack.account())

    response = await stack.request("POST", "/v1/webhook_endpoints", key, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == param


@pytest.mark.parametrize("overlap", [-1, 7 * 24 * 3600 + 1, "3600", 1.5])
async def test_invalid_overlap_rejected(stack: WebhookStack, overlap: Any) -> None:
    key = await stack.key(await stack.account())
    endpoint = await stack.create_endpoint(key, stack.receiver.url("hook"))
    path = f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret"

    response = await stack.request("POST", path, key, {"overlapSeconds": overlap})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "overlapSeconds"


async def test_rotate_without_body_uses_default_overlap(stack: WebhookStack) -> None:
    key = await stack.key(await stack.account())
    endpoint = await stack.create_endpoint(key, stack.receiver.url("hook"))

    response = await stack.request("POST", f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", key)
    rotated = response.json()
    fetched = await stack.request("GET", f"/v1/webhook_endpoints/{endpoint['id']}", key)

    assert response.status_code == 200, response.text
    assert rotated["secret"] != endpoint["secret"]
    assert rotated["previousSecretExpiresAt"] is not None
    assert "secret" not in fetched.json()


async def _event_visible(stack: WebhookStack, key: str, event_id: str) -> bool:
    return (await stack.request("GET", f"/v1/events/{event_id}", key)).status_code == 200
