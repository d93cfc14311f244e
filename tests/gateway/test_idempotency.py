"""Idempotency-Key on POST: a retried request returns the first response and changes nothing."""

import asyncio
from typing import Any

import pytest

from tests.gateway.concurrency import long_window_stack, open_rate_limit_window
from tests.support import REFERENCE_BODY, Stack


def invitation_body(email: str = "alex@example.com") -> dict[str, Any]:
    return {**REFERENCE_BODY, "candidateEmail": email}


async def stored_count(stack: Stack) -> int:
    return await stack.db.invitations.count_documents({})


async def created_events(stack: Stack) -> list[dict[str, Any]]:
    """Drain the mailer queue, waiting long enough for a second message to show up."""
    messages = await stack.queue_messages(stack.names.event_queue("mailer"), expect=2, wait=2)
    return [message for message in messages if message["type"] == "invitation.created"]


async def test_replay_returns_first_response(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    first = await stack.post("/v1/invitations", key, invitation_body(), Idempotency_Key="retry-1")
    second = await stack.post("/v1/invitations", key, invitation_body(), Idempotency_Key="retry-1")

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert second.json() == first.json()
    assert "idempotent-replayed" not in first.headers
    assert second.headers["idempotent-replayed"] == "true"
    assert await stored_count(stack) == 1
    assert len(await created_events(stack)) == 1


async def test_replay_ignores_key_order(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    reordered = dict(reversed(list(invitation_body().items())))

    first = await stack.post("/v1/invitations", key, invitation_body(), Idempotency_Key="order")
    second = await stack.post("/v1/invitations", key, reordered, Idempotency_Key="order")

    assert second.status_code == 201, second.text
    assert second.json()["id"] == first.json()["id"]
    assert await stored_count(stack) == 1


async def test_key_reused_with_other_body_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    await stack.post("/v1/invitations", key, invitation_body(), Idempotency_Key="reuse")

    response = await stack.post(
        "/v1/invitations", key, invitation_body("sam@example.com"), Idempotency_Key="reuse"
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert response.json()["error"]["param"] == "Idempotency-Key"
    assert await stored_count(stack) == 1


async def test_key_reused_on_other_path_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await stack.post("/v1/invitations", key, invitation_body(), Idempotency_Key="path")

    response = await stack.post(
        f"/v1/invitations/{created.json()['id']}/cancel", key, Idempotency_Key="path"
    )
    fetched = await stack.get(f"/v1/invitations/{created.json()['id']}", key)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert fetched.json()["status"] == "pending"


async def test_concurrent_duplicates_create_one_invitation() -> None:
    async with long_window_stack() as stack:
        key = await stack.key(await stack.account())
        await open_rate_limit_window(stack, key)

        responses = await asyncio.gather(
            *(
                stack.post("/v1/invitations", key, invitation_body(), Idempotency_Key="same-moment")
                for _ in range(2)
            )
        )

        statuses = sorted(response.status_code for response in responses)
        assert statuses in ([201, 201], [201, 409]), [response.text for response in responses]
        created_ids = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(created_ids) == 1
        conflicts = [r.json()["error"]["code"] for r in responses if r.status_code == 409]
        assert conflicts in ([], ["request_in_progress"])
        assert await stored_count(stack) == 1
        assert len(await created_events(stack)) == 1


async def test_many_concurrent_duplicates_create_one_invitation() -> None:
    async with long_window_stack() as stack:
        key = await stack.key(await stack.account())
        await open_rate_limit_window(stack, key)

        responses = await asyncio.gather(
            *(
                stack.post("/v1/invitations", key, invitation_body(), Idempotency_Key="burst")
                for _ in range(8)
            )
        )

        statuses = {response.status_code for response in responses}
        assert statuses <= {201, 409}, [response.text for response in responses]
        created_ids = {r.json()["id"] for r in responses if r.status_code == 201}
        assert len(created_ids) == 1
        assert await stored_count(stack) == 1


async def test_same_key_in_two_accounts_creates_two(stack: Stack) -> None:
    first_key = await stack.key(await stack.account(name="First"))
    second_key = await stack.key(await stack.account(name="Second"))

    first = await stack.post("/v1/invitations", first_key, invitation_body(), Idempotency_Key="shared")
    second = await stack.post(
        "/v1/invitations", second_key, invitation_body(), Idempotency_Key="shared"
    )

    assert first.status_code == 201, first.text
    assert second.status_code == 201, second.text
    assert first.json()["id"] != second.json()["id"]
    assert "idempotent-replayed" not in second.headers
    assert await stored_count(stack) == 2


async def test_same_key_in_two_modes_creates_two(stack: Stack) -> None:
    account = await stack.account()
    await stack.top_up(account, 30)
    test_key = await stack.key(account)
    live_key = await stack.key(account, live=True)

    sandbox = await stack.post("/v1/invitations", test_key, invitation_body(), Idempotency_Key="mode")
    live = await stack.post("/v1/invitations", live_key, invitation_body(), Idempotency_Key="mode")

    assert sandbox.status_code == 201, sandbox.text
    assert live.status_code == 201, live.text
    assert live.json()["livemode"] is True
    assert await stored_count(stack) == 2


@pytest.mark.parametrize(
    "idempotency_key",
    [
        pytest.param("k" * 300, id="300-chars"),
        pytest.param("two words", id="space"),
        pytest.param("", id="empty"),
    ],
)
async def test_invalid_key_is_rejected(stack: Stack, idempotency_key: str) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post(
        "/v1/invitations", key, invitation_body(), Idempotency_Key=idempotency_key
    )

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "Idempotency-Key"
    assert await stored_count(stack) == 0


async def test_longest_valid_key_is_accepted(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post(
        "/v1/invitations", key, invitation_body(), Idempotency_Key="k" * 255
    )

    assert response.status_code == 201, response.text


async def test_error_response_is_replayed(stack: Stack) -> None:
    account = await stack.account()
    live_key = await stack.key(account, live=True)

    first = await stack.post("/v1/invitations", live_key, invitation_body(), Idempotency_Key="broke")
    await stack.top_up(account, 60)
    second = await stack.post("/v1/invitations", live_key, invitation_body(), Idempotency_Key="broke")

    assert first.status_code == 422, first.text
    assert first.json()["error"]["code"] == "insufficient_balance"
    assert second.status_code == 422, second.text
    assert second.json()["error"]["code"] == "insufficient_balance"
    assert second.json()["error"]["message"] == first.json()["error"]["message"]
    assert second.headers["idempotent-replayed"] == "true"
    assert await stored_count(stack) == 0


async def test_new_key_runs_again_after_error(stack: Stack) -> None:
    account = await stack.account()
    live_key = await stack.key(account, live=True)

    await stack.post("/v1/invitations", live_key, invitation_body(), Idempotency_Key="first-try")
    await stack.top_up(account, 60)
    retried = await stack.post(
        "/v1/invitations", live_key, invitation_body(), Idempotency_Key="second-try"
    )

    assert retried.status_code == 201, retried.text
    assert await stored_count(stack) == 1


async def test_cancel_replay_returns_first_response(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, invitation_body())).json()
    path = f"/v1/invitations/{created['id']}/cancel"

    first = await stack.post(path, key, Idempotency_Key="cancel-1")
    second = await stack.post(path, key, Idempotency_Key="cancel-1")

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"
