"""Interview minutes: live keys reserve durationMinutes, test keys never touch the balance."""

import asyncio
from typing import Any

from tests.gateway.concurrency import long_window_stack, open_rate_limit_window
from tests.support import REFERENCE_BODY, Stack


def invitation_body(duration_minutes: int = 30) -> dict[str, Any]:
    return {**REFERENCE_BODY, "durationMinutes": duration_minutes}


async def balance(stack: Stack, key: str) -> dict[str, int]:
    response = await stack.get("/v1/balance", key)
    assert response.status_code == 200, response.text
    return response.json()


async def test_concurrent_creates_never_overspend() -> None:
    async with long_window_stack() as stack:
        account = await stack.account()
        await stack.top_up(account, 5 * 30)
        key = await stack.key(account, live=True)
        await open_rate_limit_window(stack, key)

        responses = await asyncio.gather(
            *(stack.post("/v1/invitations", key, invitation_body(30)) for _ in range(20))
        )

        statuses = [response.status_code for response in responses]
        assert statuses.count(201) == 5, [response.text for response in responses]
        assert statuses.count(422) == 15, [response.text for response in responses]
        rejected = [r.json()["error"]["code"] for r in responses if r.status_code == 422]
        assert set(rejected) == {"insufficient_balance"}
        assert await stack.db.invitations.count_documents({}) == 5
        final = await balance(stack, key)
        assert final["availableMinutes"] == 0
        assert final["reservedMinutes"] == 150
        assert final["chargedMinutes"] == 0


async def test_live_create_reserves_duration(stack: Stack) -> None:
    account = await stack.account()
    await stack.top_up(account, 100)
    key = await stack.key(account, live=True)

    response = await stack.post("/v1/invitations", key, invitation_body(45))

    assert response.status_code == 201, response.text
    assert await balance(stack, key) == {
        "availableMinutes": 55,
        "reservedMinutes": 45,
        "chargedMinutes": 0,
    }


async def test_live_create_without_minutes_is_rejected(stack: Stack) -> None:
    account = await stack.account()
    await stack.top_up(account, 20)
    key = await stack.key(account, live=True)

    response = await stack.post("/v1/invitations", key, invitation_body(30))

    assert response.status_code == 422
    assert response.json()["error"]["code"] == "insufficient_balance"
    assert response.json()["error"]["param"] is None
    assert await stack.db.invitations.count_documents({}) == 0
    assert (await balance(stack, key))["availableMinutes"] == 20


async def test_test_key_ignores_empty_balance(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    responses = [await stack.post("/v1/invitations", key, invitation_body(60)) for _ in range(3)]

    assert [response.status_code for response in responses] == [201, 201, 201]
    assert await balance(stack, key) == {
        "availableMinutes": 0,
        "reservedMinutes": 0,
        "chargedMinutes": 0,
    }


async def test_test_key_leaves_live_balance_alone(stack: Stack) -> None:
    account = await stack.account()
    await stack.top_up(account, 30)
    test_key = await stack.key(account)
    live_key = await stack.key(account, live=True)

    response = await stack.post("/v1/invitations", test_key, invitation_body(30))

    assert response.status_code == 201, response.text
    assert (await balance(stack, live_key))["availableMinutes"] == 30
    assert (await balance(stack, live_key))["reservedMinutes"] == 0


async def test_cancel_releases_minutes(stack: Stack) -> None:
    account = await stack.account()
    await stack.top_up(account, 60)
    key = await stack.key(account, live=True)
    created = (await stack.post("/v1/invitations", key, invitation_body(30))).json()

    response = await stack.post(f"/v1/invitations/{created['id']}/cancel", key)

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "cancelled"
    assert response.json()["cancelledAt"] is not None
    assert await balance(stack, key) == {
        "availableMinutes": 60,
        "reservedMinutes": 0,
        "chargedMinutes": 0,
    }


async def test_released_minutes_can_be_reserved_again(stack: Stack) -> None:
    account = await stack.account()
    await stack.top_up(account, 30)
    key = await stack.key(account, live=True)
    first = (await stack.post("/v1/invitations", key, invitation_body(30))).json()

    await stack.post(f"/v1/invitations/{first['id']}/cancel", key)
    second = await stack.post("/v1/invitations", key, invitation_body(30))

    assert second.status_code == 201, second.text
    assert (await balance(stack, key))["reservedMinutes"] == 30


async def test_second_cancel_is_not_pending(stack: Stack) -> None:
    account = await stack.account()
    await stack.top_up(account, 60)
    key = await stack.key(account, live=True)
    created = (await stack.post("/v1/invitations", key, invitation_body(30))).json()

    await stack.post(f"/v1/invitations/{created['id']}/cancel", key)
    second = await stack.post(f"/v1/invitations/{created['id']}/cancel", key)

    assert second.status_code == 409, second.text
    assert second.json()["error"]["code"] == "invitation_not_pending"
    assert (await balance(stack, key))["availableMinutes"] == 60
