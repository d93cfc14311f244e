"""Bearer authentication of the public API with API keys."""

import httpx
import pytest

from mga_gateway import provisioning
from mga_gateway.store import GatewayStore
from tests.support import REFERENCE_BODY, Stack

UNKNOWN_TEST_KEY = "mga_test_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"


async def post_with_authorization(stack: Stack, authorization: str | None) -> httpx.Response:
    headers = {"Authorization": authorization} if authorization is not None else {}
    return await stack.http.post("/v1/invitations", json=REFERENCE_BODY, headers=headers)


async def assert_unauthenticated(stack: Stack, authorization: str | None) -> None:
    response = await post_with_authorization(stack, authorization)

    assert response.status_code == 401, response.text
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.json()["error"]["param"] is None
    assert response.json()["error"]["requestId"] == response.headers["x-request-id"]
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert await stack.db.invitations.count_documents({}) == 0
    assert await stack.queue_depth(stack.names.event_queue("mailer")) == 0


async def test_missing_header_is_unauthenticated(stack: Stack) -> None:
    await assert_unauthenticated(stack, None)


async def test_basic_scheme_is_unauthenticated(stack: Stack) -> None:
    await assert_unauthenticated(stack, "Basic dXNlcjpwdw==")


@pytest.mark.parametrize("authorization", ["Bearer", ""])
async def test_empty_bearer_is_unauthenticated(stack: Stack, authorization: str) -> None:
    await assert_unauthenticated(stack, authorization)


async def test_unknown_key_is_unauthenticated(stack: Stack) -> None:
    await stack.key(await stack.account())

    await assert_unauthenticated(stack, f"Bearer {UNKNOWN_TEST_KEY}")


async def test_truncated_key_is_unauthenticated(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    await assert_unauthenticated(stack, f"Bearer {key[:-1]}")


async def test_revoked_key_is_unauthenticated(stack: Stack) -> None:
    store = GatewayStore(stack.db)
    issued = await provisioning.issue_key(store, account_id=await stack.account(), livemode=False)

    assert await store.revoke_api_key(issued.id) is True
    await assert_unauthenticated(stack, f"Bearer {issued.secret}")


async def test_revoked_key_cannot_read(stack: Stack) -> None:
    store = GatewayStore(stack.db)
    issued = await provisioning.issue_key(store, account_id=await stack.account(), livemode=False)
    created = await stack.post("/v1/invitations", issued.secret, REFERENCE_BODY)

    await store.revoke_api_key(issued.id)
    response = await stack.get(f"/v1/invitations/{created.json()['id']}", issued.secret)

    assert created.status_code == 201
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_other_keys_survive_revocation(stack: Stack) -> None:
    store = GatewayStore(stack.db)
    account = await stack.account()
    revoked = await provisioning.issue_key(store, account_id=account, livemode=False)
    active_key = await stack.key(account)

    await store.revoke_api_key(revoked.id)
    response = await stack.post("/v1/invitations", active_key, REFERENCE_BODY)

    assert response.status_code == 201, response.text


async def test_lower_case_bearer_is_accepted(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.http.post(
        "/v1/invitations", json=REFERENCE_BODY, headers={"authorization": f"bearer {key}"}
    )

    assert response.status_code == 201, response.text


@pytest.mark.parametrize("path", ["/v1/invitations", "/v1/balance"])
async def test_reads_need_a_key(stack: Stack, path: str) -> None:
    response = await stack.get(path, None)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_unauthenticated_cancel_changes_nothing(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

    response = await stack.post(f"/v1/invitations/{created['id']}/cancel", None)
    fetched = await stack.get(f"/v1/invitations/{created['id']}", key)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert fetched.json()["status"] == "pending"
