"""Test helpers drive a test invitation through its states; live keys may not use them."""

import pytest

from tests.support import REFERENCE_BODY, Stack, running_stack, wait_for


async def test_expire_helper_expires_and_publishes(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

    response = await stack.post(f"/v1/test_helpers/invitations/{created['id']}/expire", key)
    messages = await stack.queue_messages(stack.names.event_queue("webhook-dispatcher"))

    assert response.status_code == 200
    assert response.json()["status"] == "expired"
    assert [message["type"] for message in messages] == ["invitation.expired"]


async def test_expire_helper_rejects_live_keys(stack: Stack) -> None:
    account = await stack.account()
    live_key = await stack.key(account, live=True)
    await stack.top_up(account, 30)
    created = (await stack.post("/v1/invitations", live_key, REFERENCE_BODY)).json()

    response = await stack.post(f"/v1/test_helpers/invitations/{created['id']}/expire", live_key)
    invitation = (await stack.get(f"/v1/invitations/{created['id']}", live_key)).json()

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    assert invitation["status"] == "pending"


async def test_expire_helper_on_cancelled_invitation_conflicts(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    await stack.post(f"/v1/invitations/{created['id']}/cancel", key)

    response = await stack.post(f"/v1/test_helpers/invitations/{created['id']}/expire", key)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invitation_not_pending"


async def test_expire_helper_is_idempotent(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    path = f"/v1/test_helpers/invitations/{created['id']}/expire"

    first = await stack.post(path, key, Idempotency_Key="expire-1")
    second = await stack.post(path, key, Idempotency_Key="expire-1")
    await wait_for(lambda: _queue_has(stack, 1))

    assert first.status_code == 200
    assert second.status_code == 200
    assert second.headers["idempotent-replayed"] == "true"


async def _queue_has(stack: Stack, count: int) -> bool:
    return await stack.queue_depth(stack.names.event_queue("webhook-dispatcher")) == count


class TestInterviewHelpers:
    """Open, start and complete run the hosted interview's real steps."""

    @pytest.fixture
    async def stack(self):  # type: ignore[no-untyped-def]
        async with running_stack(services=("simulation", "scoring")) as running:
            yield running

    async def test_open_start_complete_reach_each_state(self, stack: Stack) -> None:
        key = await stack.key(await stack.account())
        created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
        base = f"/v1/test_helpers/invitations/{created['id']}"

        opened = await stack.post(f"{base}/open", key)
        started = await stack.post(f"{base}/start", key)
        completed = await stack.post(f"{base}/complete", key)
        result = await stack.get(f"/v1/invitations/{created['id']}/result", key)

        assert opened.status_code == 200
        assert opened.json()["openedAt"] is not None
        assert opened.json()["status"] == "pending"
        assert started.json()["status"] == "started"
        assert completed.json()["status"] == "completed"
        assert result.status_code == 200
        assert result.json()["overallScore"] == completed_score(result.json())

    async def test_complete_from_pending_publishes_the_real_events(self, stack: Stack) -> None:
        key = await stack.key(await stack.account())
        created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

        completed = await stack.post(f"/v1/test_helpers/invitations/{created['id']}/complete", key)
        messages = await stack.queue_messages(
            stack.names.event_queue("webhook-dispatcher"), expect=3, wait=10
        )

        assert completed.json()["status"] == "completed"
        assert [message["type"] for message in messages] == [
            "invitation.opened",
            "interview.started",
            "interview.completed",
        ]

    async def test_same_input_gives_same_result(self, stack: Stack) -> None:
        key = await stack.key(await stack.account())
        results = []
        for _ in range(2):
            created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
            await stack.post(f"/v1/test_helpers/invitations/{created['id']}/complete", key)
            results.append((await stack.get(f"/v1/invitations/{created['id']}/result", key)).json())

        first, second = ({k: v for k, v in r.items() if k not in ("id", "completedAt")} for r in results)
        assert first == second

    async def test_score_tag_selects_high_result(self, stack: Stack) -> None:
        key = await stack.key(await stack.account())
        body = {**REFERENCE_BODY, "candidateEmail": "alex+high@example.com"}
        created = (await stack.post("/v1/invitations", key, body)).json()

        await stack.post(f"/v1/test_helpers/invitations/{created['id']}/complete", key)
        result = (await stack.get(f"/v1/invitations/{created['id']}/result", key)).json()

        assert result["overallScore"] == 87

    async def test_helpers_reject_live_keys(self, stack: Stack) -> None:
        account = await stack.account()
        live_key = await stack.key(account, live=True)
        await stack.top_up(account, 30)
        created = (await stack.post("/v1/invitations", live_key, REFERENCE_BODY)).json()

        for step in ("open", "start", "complete"):
            response = await stack.post(f"/v1/test_helpers/invitations/{created['id']}/{step}", live_key)
            assert response.status_code == 403, step
            assert response.json()["error"]["code"] == "forbidden"

    async def test_complete_after_expiry_conflicts(self, stack: Stack) -> None:
        key = await stack.key(await stack.account())
        created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
        await stack.post(f"/v1/test_helpers/invitations/{created['id']}/expire", key)

        async def closed() -> bool:
            session = await stack.db.interview_sessions.find_one({"_id": created["id"]})
            return session is not None and session["status"] == "expired"

        await wait_for(closed)

        for step in ("open", "start", "complete"):
            response = await stack.post(f"/v1/test_helpers/invitations/{created['id']}/{step}", key)
            assert response.status_code == 409, step
            assert response.json()["error"]["code"] == "invitation_not_pending"


def completed_score(result: dict) -> int:
    from mga_scoring.rubric import overall_score

    keys = {"communication": "communication", "structuredThinking": "structured_thinking",
            "problemSolving": "problem_solving", "leadership": "leadership",
            "domainDepth": "domain_depth", "compositeAndPressure": "composite_and_pressure"}
    return overall_score({keys[name]: skill["score"] for name, skill in result["skills"].items()})
