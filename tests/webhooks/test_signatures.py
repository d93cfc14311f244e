"""Delivered events carry signatures that the documented checks accept, and only those."""

import base64
import hashlib
import hmac
import json
import re
import time
from pathlib import Path

import pytest

import mga_demo.verification
from mga_core.timestamps import parse_timestamp
from mga_demo.verification import verify_signature
from mga_events.types import EventType
from tests.support import wait_for
from tests.webhooks.conftest import WebhookStack, make_event
from tests.webhooks.receiver import ReceivedRequest, Reply

DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"
VERIFICATION_MODULE = Path(mga_demo.verification.__file__)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Build an X-MGA-Signature value the way a sender with ``secret`` would."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def verify_standard_webhooks(
    body: bytes, headers: dict[str, str], secret: str, tolerance: int = 300
) -> bool:
    """Check the Standard Webhooks headers, written from the specification for this test."""
    message_id = headers["webhook-id"]
    timestamp = headers["webhook-timestamp"]
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{message_id}.{timestamp}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest())
    for entry in headers["webhook-signature"].split(" "):
        version, _, signature = entry.partition(",")
        if version == "v1" and hmac.compare_digest(expected, signature.encode()):
            return True
    return False


async def _first_request(stack: WebhookStack, name: str) -> ReceivedRequest:
    requests = await wait_for(lambda: _received(stack, name, 1))
    return requests[0]  # type: ignore[no-any-return]


async def _received(stack: WebhookStack, name: str, count: int) -> list[ReceivedRequest] | None:
    requests = stack.receiver.received(name)
    return requests if len(requests) >= count else None


@pytest.mark.parametrize(
    "event_type",
    [
        EventType.INVITATION_OPENED,
        EventType.INTERVIEW_STARTED,
        EventType.INTERVIEW_COMPLETED,
        EventType.INVITATION_EXPIRED,
    ],
)
async def test_event_arrives_signed(stack: WebhookStack, event_type: EventType) -> None:
    account = await stack.account()
    key = await stack.key(account)
    endpoint = await stack.create_endpoint(key, stack.receiver.url("hook"))
    secret = endpoint["secret"]
    event = make_event(event_type, account)

    await stack.publish(event)
    request = await _first_request(stack, "hook")

    payload = json.loads(request.body)
    header = request.headers["x-mga-signature"]
    assert payload["id"] == event.id
    assert payload["type"] == event_type.value
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", payload["createdAt"])
    assert payload["data"]["invitationId"] == event.data["invitationId"]
    assert set(payload) == {"id", "type", "createdAt", "data"}
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == "MeetAndGreet-Webhooks/1.0"
    assert request.headers["x-mga-event-id"] == event.id
    assert request.headers["webhook-id"] == event.id
    assert verify_signature(request.body, header, secret)
    assert not verify_signature(request.body.replace(b'"data":', b'"data" :'), header, secret)
    assert not verify_signature(request.body, header, "whsec_" + "A" * 44)
    assert verify_standard_webhooks(request.body, request.headers, secret)
    assert not verify_standard_webhooks(request.body + b" ", request.headers, secret)


async def test_completed_event_carries_full_result(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    await stack.create_endpoint(key, stack.receiver.url("hook"), ["interview.completed"])
    event = make_event(EventType.INTERVIEW_COMPLETED, account)

    await stack.publish(event)
    data = json.loads((await _first_request(stack, "hook")).body)["data"]

    result = event.data["result"]

    assert data["invitationId"] == event.data["invitationId"]
    assert data["overallScore"] == 78
    assert data["summary"] == "Clear and structured."
    assert data["skills"]["structuredThinking"]["score"] == 7
    assert data["strengths"] == ["Frames trade-offs"]
    assert data["panel"][0]["remark"] == "Would hire."
    assert data["transcript"][0]["name"] == "Dana"
    assert data["transcript"][1] == {
        "speaker": "candidate",
        "text": "We shipped checkout v2 in six weeks.",
    }
    assert data["metadata"] == {"candidateRef": "ats-42"}
    assert parse_timestamp(data["completedAt"]) == parse_timestamp(result["completedAt"])
    assert "minutesUsed" not in data


async def test_stale_or_future_timestamp_fails(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    secret = (await stack.create_endpoint(key, stack.receiver.url("hook")))["secret"]
    await stack.publish(make_event(EventType.INVITATION_OPENED, account))
    request = await _first_request(stack, "hook")
    sent_at = int(request.headers["x-mga-signature"].split(",")[0].removeprefix("t="))
    now = int(time.time())

    assert abs(sent_at - now) <= 5
    assert not verify_signature(request.body, sign(secret, now - 360, request.body), secret)
    assert not verify_signature(request.body, sign(secret, now + 360, request.body), secret)
    assert verify_signature(request.body, sign(secret, now - 240, request.body), secret)
    assert not verify_signature(request.body, "v1=" + "0" * 64, secret)
    assert not verify_signature(request.body, "t=abc,v1=" + "0" * 64, secret)


async def test_every_attempt_signed_afresh(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    url = stack.receiver.script("hook", Reply(503, headers={"Retry-After": "1"}))
    secret = (await stack.create_endpoint(key, url))["secret"]

    await stack.publish(make_event(EventType.INTERVIEW_STARTED, account))
    first, second = await wait_for(lambda: _received(stack, "hook", 2), timeout=15)

    first_time = int(first.headers["webhook-timestamp"])
    second_time = int(second.headers["webhook-timestamp"])
    assert first.body == second.body
    assert second_time > first_time
    assert first.headers["x-mga-signature"] != second.headers["x-mga-signature"]
    assert verify_signature(second.body, second.headers["x-mga-signature"], secret)
    assert verify_standard_webhooks(second.body, second.headers, secret)


async def test_rotation_signs_with_both_secrets(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    endpoint = await stack.create_endpoint(key, stack.receiver.url("hook"))
    old_secret = endpoint["secret"]

    response = await stack.request(
        "POST", f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret", key, {"overlapSeconds": 3600}
    )
    rotated = response.json()
    await stack.publish(make_event(EventType.INVITATION_OPENED, account))
    request = await _first_request(stack, "hook")

    header = request.headers["x-mga-signature"]
    new_secret = rotated["secret"]
    expires_in = parse_timestamp(rotated["previousSecretExpiresAt"]).timestamp() - time.time()
    assert response.status_code == 200, response.text
    assert new_secret.startswith("whsec_")
    assert new_secret != old_secret
    assert 3590 <= expires_in <= 3601
    assert header.count("v1=") == 2
    assert verify_signature(request.body, header, old_secret)
    assert verify_signature(request.body, header, new_secret)
    assert len(request.headers["webhook-signature"].split(" ")) == 2
    assert verify_standard_webhooks(request.body, request.headers, old_secret)
    assert verify_standard_webhooks(request.body, request.headers, new_secret)


async def test_rotation_without_overlap_retires_old_secret(stack: WebhookStack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    endpoint = await stack.create_endpoint(key, stack.receiver.url("hook"))
    path = f"/v1/webhook_endpoints/{endpoint['id']}/rotate_secret"

    rotated = (await stack.request("POST", path, key, {"overlapSeconds": 0})).json()
    await stack.publish(make_event(EventType.INVITATION_OPENED, account))
    request = await _first_request(stack, "hook")

    header = request.headers["x-mga-signature"]
    assert header.count("v1=") == 1
    assert verify_signature(request.body, header, rotated["secret"])
    assert not verify_signature(request.body, header, endpoint["secret"])
    assert not verify_standard_webhooks(request.body, request.headers, endpoint["secret"])


def test_docs_contain_verification_code() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOCS.read_text(), flags=re.DOTALL)
    documented = [block for block in blocks if "def verify_signature(" in block]
    module_text = VERIFICATION_MODULE.read_text()

    assert len(documented) == 1
    assert documented[0].strip() in module_text
    assert "hmac.compare_digest" in documented[0]

