"""Test helpers drive a test invitation through its states; live keys may not use them."""

from tests.support import REFERENCE_BODY, Stack, wait_for


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
