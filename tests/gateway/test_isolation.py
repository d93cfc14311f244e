"""Invitations are visible only to keys of the same account and the same mode."""

from typing import Any

from tests.support import REFERENCE_BODY, Stack


async def create_invitation(stack: Stack, key: str, name: str = "Alex Chen") -> dict[str, Any]:
    response = await stack.post("/v1/invitations", key, {**REFERENCE_BODY, "candidateName": name})
    assert response.status_code == 201, response.text
    return response.json()


async def live_key_with_minutes(stack: Stack, account: str) -> str:
    await stack.top_up(account, 300)
    return await stack.key(account, live=True)


async def listed_ids(stack: Stack, key: str) -> list[str]:
    response = await stack.get("/v1/invitations", key)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["data"]]


def assert_not_found(response: Any) -> None:
    assert response.status_code == 404, response.text
    assert response.json()["error"]["code"] == "not_found"


async def test_test_key_cannot_see_live_invitation(stack: Stack) -> None:
    account = await stack.account()
    live_key = await live_key_with_minutes(stack, account)
    test_key = await stack.key(account)
    live = await create_invitation(stack, live_key)

    fetched = await stack.get(f"/v1/invitations/{live['id']}", test_key)

    assert_not_found(fetched)
    assert live["id"] not in await listed_ids(stack, test_key)


async def test_live_key_cannot_see_test_invitation(stack: Stack) -> None:
    account = await stack.account()
    live_key = await live_key_with_minutes(stack, account)
    test_key = await stack.key(account)
    sandbox = await create_invitation(stack, test_key)

    fetched = await stack.get(f"/v1/invitations/{sandbox['id']}", live_key)

    assert_not_found(fetched)
    assert sandbox["id"] not in await listed_ids(stack, live_key)


async def test_test_key_cannot_cancel_live_invitation(stack: Stack) -> None:
    account = await stack.account()
    live_key = await live_key_with_minutes(stack, account)
    test_key = await stack.key(account)
    live = await create_invitation(stack, live_key)

    response = await stack.post(f"/v1/invitations/{live['id']}/cancel", test_key)
    fetched = await stack.get(f"/v1/invitations/{live['id']}", live_key)

    assert_not_found(response)
    assert fetched.json()["status"] == "pending"


async def test_other_account_invitation_is_not_found(stack: Stack) -> None:
    owner_key = await stack.key(await stack.account(name="Owner"))
    other_key = await stack.key(await stack.account(name="Other"))
    invitation = await create_invitation(stack, owner_key)

    response = await stack.get(f"/v1/invitations/{invitation['id']}", other_key)

    assert_not_found(response)
    assert invitation["candidateEmail"] not in response.text


async def test_other_account_cannot_cancel(stack: Stack) -> None:
    owner_key = await stack.key(await stack.account(name="Owner"))
    other_key = await stack.key(await stack.account(name="Other"))
    invitation = await create_invitation(stack, owner_key)

    response = await stack.post(f"/v1/invitations/{invitation['id']}/cancel", other_key)
    fetched = await stack.get(f"/v1/invitations/{invitation['id']}", owner_key)

    assert_not_found(response)
    assert fetched.json()["status"] == "pending"


async def test_other_account_cannot_update(stack: Stack) -> None:
    owner_key = await stack.key(await stack.account(name="Owner"))
    other_key = await stack.key(await stack.account(name="Other"))
    invitation = await create_invitation(stack, owner_key)

    response = await stack.post(
        f"/v1/invitations/{invitation['id']}", other_key, {"metadata": {"owner": "other"}}
    )
    fetched = await stack.get(f"/v1/invitations/{invitation['id']}", owner_key)

    assert_not_found(response)
    assert fetched.json()["metadata"] == {}


async def test_list_returns_own_account_and_mode(stack: Stack) -> None:
    first_account = await stack.account(name="First")
    second_account = await stack.account(name="Second")
    first_test_key = await stack.key(first_account)
    first_live_key = await live_key_with_minutes(stack, first_account)
    second_test_key = await stack.key(second_account)

    first_test = await create_invitation(stack, first_test_key, "First Test")
    first_live = await create_invitation(stack, first_live_key, "First Live")
    second_test = await create_invitation(stack, second_test_key, "Second Test")

    assert await listed_ids(stack, first_test_key) == [first_test["id"]]
    assert await listed_ids(stack, first_live_key) == [first_live["id"]]
    assert await listed_ids(stack, second_test_key) == [second_test["id"]]


async def test_same_account_keys_share_invitations(stack: Stack) -> None:
    account = await stack.account()
    first_key = await stack.key(account)
    second_key = await stack.key(account)
    invitation = await create_invitation(stack, first_key)

    response = await stack.get(f"/v1/invitations/{invitation['id']}", second_key)

    assert response.status_code == 200
    assert response.json()["id"] == invitation["id"]
