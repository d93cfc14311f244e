"""Endpoints must point to public addresses, at registration and at every attempt.

These tests never send a packet off the machine: the dispatcher resolves names with a table
the test controls, and where a check could let a request through, the sender only records it.
"""

import ipaddress
import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from mga_events.types import EventType
from mga_webhook_dispatcher.ssrf import blocked_reason
from tests.support import wait_for
from tests.webhooks.conftest import (
    RecordingSender,
    StaticResolver,
    WebhookStack,
    make_event,
    webhook_stack,
)
from tests.webhooks.receiver import ReceivedRequest

# A public address used as a resolver answer only. No test connects to it.
PUBLIC_ADDRESS = "93.184.215.14"
RESOLVER_TABLE = {
    "hooks.example.com": [PUBLIC_ADDRESS],
    "loopback.test": ["127.0.0.1"],
    "internal.test": ["10.0.0.5"],
    "metadata.test": ["169.254.169.254"],
    "v6-loopback.test": ["::1"],
    "mixed.test": [PUBLIC_ADDRESS, "10.0.0.5"],
    "cgnat.test": ["100.64.0.1"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "rebind.test": [PUBLIC_ADDRESS],
}


@pytest.fixture
async def guarded() -> AsyncIterator[WebhookStack]:
    """A stack whose dispatcher enforces the public-address rule and sends nothing."""
    async with webhook_stack(
        dispatcher={"webhook_allow_private_targets": False},
        resolver=StaticResolver(RESOLVER_TABLE),
        sender=RecordingSender(),
    ) as stack:
        yield stack


@pytest.mark.parametrize(
    ("url", "live", "message_part"),
    [
        ("http://hooks.example.com/mga", True, "https"),
        ("https://loopback.test/mga", False, "loopback"),
        ("https://internal.test/mga", False, "private"),
        ("https://metadata.test/latest/meta-data", False, "link-local"),
        ("https://v6-loopback.test/mga", False, "loopback"),
        ("https://127.0.0.1/mga", False, "loopback"),
        ("https://10.0.0.5/mga", False, "private"),
        ("https://169.254.169.254/latest/meta-data", True, "link-local"),
        ("https://[::1]/mga", False, "loopback"),
        ("https://mixed.test/mga", False, "10.0.0.5"),
        ("https://cgnat.test/mga", False, "carrier-grade NAT"),
        ("https://mapped.test/mga", False, "loopback"),
        ("https://unknown.test/mga", False, "resolve"),
    ],
)
async def test_registration_rejects_non_public_url(
    guarded: WebhookStack, url: str, live: bool, message_part: str
) -> None:
    account = await guarded.account()
    key = await guarded.key(account, live=live)

    response = await guarded.request(
        "POST", "/v1/webhook_endpoints", key, {"url": url, "enabledEvents": ["*"]}
    )

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["code"] == "invalid_request"
    assert error["param"] == "url"
    assert message_part in error["message"]
    assert await guarded.db.webhook_endpoints.count_documents({}) == 0


async def test_registration_accepts_public_url(guarded: WebhookStack) -> None:
    account = await guarded.account()
    live_key = await guarded.key(account, live=True)
    test_key = await guarded.key(account)

    live = await guarded.request(
        "POST",
        "/v1/webhook_endpoints",
        live_key,
        {"url": "https://hooks.example.com/mga", "enabledEvents": ["*"]},
    )
    test_http = await guarded.request(
        "POST",
        "/v1/webhook_endpoints",
        test_key,
        {"url": "http://hooks.example.com/mga", "enabledEvents": ["*"]},
    )

    assert live.status_code == 201, live.text
    assert test_http.status_code == 201, test_http.text
    assert "hooks.example.com" in guarded.resolver.lookups


async def test_attempt_rejects_address_changed_to_private(guarded: WebhookStack) -> None:
    account = await guarded.account()
    key = await guarded.key(account, live=True)
    await guarded.create_endpoint(key, "https://rebind.test/hook")
    sender = guarded.sender
    assert isinstance(sender, RecordingSender)

    before = make_event(EventType.INVITATION_OPENED, account, livemode=True)
    await guarded.publish(before)
    await wait_for(lambda: _attempts(guarded, before.id, 1))
    guarded.resolver.table["rebind.test"] = ["127.0.0.1"]
    after = make_event(EventType.INVITATION_OPENED, account, livemode=True)
    await guarded.publish(after)
    rejected = (await wait_for(lambda: _attempts(guarded, after.id, 1)))[0]

    (sent,) = sender.requests
    assert sent.target.address == PUBLIC_ADDRESS
    assert sent.target.host_header == "rebind.test"
    assert json.loads(sent.body)["id"] == before.id
    assert rejected["statusCode"] is None
    assert rejected["error"].startswith("UnsafeTarget: ")
    assert "loopback" in rejected["error"]
    assert "127.0.0.1" in rejected["error"]
    assert rejected["outcome"] == "retry_scheduled"


async def test_delivery_connects_to_checked_address() -> None:
    """The request goes to the resolved address, with the name kept in the Host header."""
    resolver = StaticResolver({"receiver.test": ["127.0.0.1"]})
    async with webhook_stack(resolver=resolver) as stack:
        account = await stack.account()
        key = await stack.key(account)
        port = urlsplit(stack.receiver.base_url).port
        await stack.create_endpoint(key, f"http://receiver.test:{port}/pinned")

        await stack.publish(make_event(EventType.INVITATION_OPENED, account))
        (request,) = await wait_for(lambda: _received(stack, "pinned", 1))

        assert request.headers["host"] == f"receiver.test:{port}"
        assert resolver.lookups.count("receiver.test") >= 2


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.5", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("100.64.0.1", "shared address space (carrier-grade NAT)"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("192.0.2.1", "private"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fc00::1", "private"),
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::ffff:10.0.0.5", "private, embedded in an IPv6 address"),
        ("64:ff9b::a00:1", "private, embedded in an IPv6 address"),
        ("2002:a00:1::1", "private, embedded in an IPv6 address"),
        ("93.184.215.14", None),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_classification(address: str, reason: str | None) -> None:
    assert blocked_reason(ipaddress.ip_address(address)) == reason


async def _attempts(stack: WebhookStack, event_id: str, count: int) -> list[dict[str, Any]] | None:
    cursor = stack.db.webhook_attempts.find(
        {"eventId": event_id, "outcome": {"$ne": None}}
    ).sort("number", 1)
    attempts = [attempt async for attempt in cursor]
    return attempts if len(attempts) >= count else None


async def _received(stack: WebhookStack, name: str, count: int) -> list[ReceivedRequest] | None:
    requests = stack.receiver.received(name)
    return requests if len(requests) >= count else None
