"""GET /v1/invitations/{id}/result: 409 before completion, the full result after."""

import aio_pika
import pytest

from mga_core.timestamps import utc_now
from mga_events.envelope import build_event
from mga_events.schemas import InterviewStarted, InvitationOpened
from mga_events.types import EventType
from tests.scoring.conftest import finished
from tests.support import REFERENCE_BODY, Stack, running_stack, wait_for

REFERENCE_RESULT_KEYS = [
    "id", "candidateName", "role", "completedAt", "overallScore", "summary", "skills",
    "strengths", "improvements", "panel", "transcript",
]
REFERENCE_SKILLS = [
    "communication", "structuredThinking", "problemSolving",
    "leadership", "domainDepth", "compositeAndPressure",
]


@pytest.fixture
async def stack():  # type: ignore[no-untyped-def]
    async with running_stack(services=("scoring",)) as running:
        yield running


async def _publish(stack: Stack, event_type: EventType, data, account: str, livemode: bool) -> None:  # type: ignore[no-untyped-def]
    event = build_event(event_type, data, account_id=account, livemode=livemode, correlation_id="c")
    channel = await stack.amqp.channel()
    exchange = await channel.get_exchange(stack.names.events_exchange)
    await exchange.publish(aio_pika.Message(event.to_json()), routing_key=event_type.value)
    await channel.close()


async def _complete(stack: Stack, account: str, invitation_id: str, *, livemode: bool = False) -> None:
    now = utc_now()
    await _publish(stack, EventType.INVITATION_OPENED,
                   InvitationOpened(invitation_id=invitation_id, opened_at=now), account, livemode)
    await _publish(stack, EventType.INTERVIEW_STARTED,
                   InterviewStarted(invitation_id=invitation_id, started_at=now), account, livemode)
    data = finished(invitation_id).model_copy(update={"metadata": {}})
    await _publish(stack, EventType.INTERVIEW_FINISHED, data, account, livemode)


async def test_result_before_completion_conflicts(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

    response = await stack.get(f"/v1/invitations/{created['id']}/result", key)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "result_not_ready"


async def test_completed_interview_returns_reference_shape(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    metadata = {"atsRequisition": "REQ-42", "stage": "onsite"}
    created = (await stack.post("/v1/invitations", key, {**REFERENCE_BODY, "metadata": metadata})).json()

    await _complete(stack, account, created["id"])

    async def result():  # type: ignore[no-untyped-def]
        response = await stack.get(f"/v1/invitations/{created['id']}/result", key)
        return response if response.status_code == 200 else None

    body = (await wait_for(result, timeout=15)).json()
    invitation = (await stack.get(f"/v1/invitations/{created['id']}", key)).json()

    assert list(body)[: len(REFERENCE_RESULT_KEYS)] == REFERENCE_RESULT_KEYS
    assert list(body["skills"]) == REFERENCE_SKILLS
    assert all(set(skill) == {"score", "evidence"} for skill in body["skills"].values())
    assert all(set(member) == {"name", "role", "remark"} for member in body["panel"])
    assert set(body["transcript"][0]) == {"speaker", "name", "text"}
    assert set(body["transcript"][1]) == {"speaker", "text"}
    assert body["metadata"] == metadata
    assert body["id"] == created["id"]
    assert invitation["status"] == "completed"
    assert invitation["summary"] == body["summary"]
    assert invitation["completedAt"] == body["completedAt"]
    assert body["completedAt"].endswith("Z")
    assert len(body["completedAt"]) == len("2026-05-15T14:30:00Z")


async def test_result_of_other_account_or_mode_is_not_found(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    live_key = await stack.key(account, live=True)
    other_key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    await _complete(stack, account, created["id"])
    await wait_for(lambda: _status_is(stack, key, created["id"], "completed"), timeout=15)

    for caller in (live_key, other_key):
        response = await stack.get(f"/v1/invitations/{created['id']}/result", caller)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def _status_is(stack: Stack, key: str, invitation_id: str, status: str) -> bool:
    return (await stack.get(f"/v1/invitations/{invitation_id}", key)).json()["status"] == status
