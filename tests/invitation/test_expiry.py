"""Pending invitations expire at expiresAt, publish invitation.expired, release minutes."""

from datetime import timedelta

from mga_core.timestamps import format_timestamp, utc_now
from tests.support import REFERENCE_BODY, Stack, wait_for


async def _expires_soon(stack: Stack, key: str) -> dict:
    expires_at = format_timestamp(utc_now() + timedelta(seconds=2))
    response = await stack.post("/v1/invitations", key, {**REFERENCE_BODY, "expiresAt": expires_at})
    assert response.status_code == 201, response.text
    return response.json()


async def test_pending_invitation_expires_and_publishes(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await _expires_soon(stack, key)

    async def expired() -> dict | None:
        body = (await stack.get(f"/v1/invitations/{created['id']}", key)).json()
        return body if body["status"] == "expired" else None

    invitation = await wait_for(expired, timeout=15)
    messages = await stack.queue_messages(stack.names.event_queue("webhook-dispatcher"))

    assert invitation["expiredAt"] is not None
    assert [message["type"] for message in messages] == ["invitation.expired"]
    assert messages[0]["data"]["invitationId"] == created["id"]


async def test_expiry_releases_live_minutes(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account, live=True)
    await stack.top_up(account, 30)
    created = await _expires_soon(stack, key)

    reserved = (await stack.get("/v1/balance", key)).json()

    async def released() -> dict | None:
        balance = (await stack.get("/v1/balance", key)).json()
        return balance if balance["availableMinutes"] == 30 else None

    balance = await wait_for(released, timeout=15)
    status = (await stack.get(f"/v1/invitations/{created['id']}", key)).json()["status"]

    assert reserved == {"availableMinutes": 0, "reservedMinutes": 30, "chargedMinutes": 0}
    assert balance == {"availableMinutes": 30, "reservedMinutes": 0, "chargedMinutes": 0}
    assert status == "expired"


async def test_expired_invitation_is_not_expired_twice(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account, live=True)
    await stack.top_up(account, 30)
    created = await _expires_soon(stack, key)
    await wait_for(
        lambda: _status_is(stack, key, created["id"], "expired"), timeout=15
    )

    service = stack.servers[1].server.config.app.state.runtime.service
    again = await service.expire(created["id"])
    releases = await stack.db.minute_ledger.count_documents({"kind": "release"})

    assert again is False
    assert releases == 1


async def _status_is(stack: Stack, key: str, invitation_id: str, status: str) -> bool:
    body = (await stack.get(f"/v1/invitations/{invitation_id}", key)).json()
    return body["status"] == status
