"""The invitation shows its latest email's outcome; resend queues a new email."""

import aio_pika

from mga_core.ids import IdPrefix, new_id
from mga_core.timestamps import utc_now
from mga_events.envelope import build_event
from mga_events.schemas import EmailFailed, EmailSent
from mga_events.types import EventType
from tests.support import REFERENCE_BODY, Stack, wait_for


async def _publish(stack: Stack, event_type: EventType, data, account_id: str) -> None:  # type: ignore[no-untyped-def]
    event = build_event(event_type, data, account_id=account_id, livemode=False, correlation_id="c")
    channel = await stack.amqp.channel()
    exchange = await channel.get_exchange(stack.names.events_exchange)
    await exchange.publish(aio_pika.Message(event.to_json()), routing_key=event_type.value)
    await channel.close()


async def _email_status(stack: Stack, key: str, invitation_id: str) -> dict:
    return (await stack.get(f"/v1/invitations/{invitation_id}", key)).json()["email"]


async def test_new_invitation_email_is_queued(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

    assert created["email"] == {"status": "queued", "error": None}


async def test_failed_email_is_visible_on_invitation(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    reason = "550 5.1.1 <alex@example.com>: mailbox unavailable"

    await _publish(
        stack,
        EventType.EMAIL_FAILED,
        EmailFailed(invitation_id=created["id"], email_id=new_id(IdPrefix.EVENT),
                    failed_at=utc_now(), reason=reason),
        account,
    )

    async def failed() -> dict | None:
        email = await _email_status(stack, key, created["id"])
        return email if email["status"] == "failed" else None

    assert await wait_for(failed) == {"status": "failed", "error": reason}


async def test_older_email_outcome_does_not_overwrite_newer(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    older, newer = new_id(IdPrefix.EVENT), new_id(IdPrefix.EVENT)

    await _publish(
        stack,
        EventType.EMAIL_SENT,
        EmailSent(invitation_id=created["id"], email_id=newer, sent_at=utc_now(), delivered=True),
        account,
    )
    await wait_for(lambda: _status_is(stack, key, created["id"], "sent"))
    await _publish(
        stack,
        EventType.EMAIL_FAILED,
        EmailFailed(invitation_id=created["id"], email_id=older, failed_at=utc_now(), reason="x"),
        account,
    )
    await wait_for(lambda: _handled(stack, 2))

    assert (await _email_status(stack, key, created["id"]))["status"] == "sent"


async def test_resend_queues_new_email_event(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()

    response = await stack.post(f"/v1/invitations/{created['id']}/resend", key)
    messages = await stack.queue_messages(stack.names.event_queue("mailer"), expect=2)

    assert response.status_code == 200
    assert [message["type"] for message in messages] == [
        "invitation.created",
        "invitation.resend_requested",
    ]
    assert messages[1]["data"]["invitationUrl"] == created["invitationUrl"]
    assert messages[1]["data"]["candidateName"] == "Alex Chen"


async def test_resend_of_completed_invitation_conflicts(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    await stack.db.invitations.update_one({"_id": created["id"]}, {"$set": {"status": "completed"}})

    response = await stack.post(f"/v1/invitations/{created['id']}/resend", key)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "already_completed"


async def test_resend_of_cancelled_invitation_conflicts(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    await stack.post(f"/v1/invitations/{created['id']}/cancel", key)

    response = await stack.post(f"/v1/invitations/{created['id']}/resend", key)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "invitation_not_pending"


async def test_test_email_helper_rejects_live_keys(stack: Stack) -> None:
    account = await stack.account()
    live_key = await stack.key(account, live=True)
    await stack.top_up(account, 30)
    created = (await stack.post("/v1/invitations", live_key, REFERENCE_BODY)).json()

    response = await stack.get(f"/v1/test_helpers/invitations/{created['id']}/emails", live_key)

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


async def _status_is(stack: Stack, key: str, invitation_id: str, status: str) -> bool:
    return (await _email_status(stack, key, invitation_id))["status"] == status


async def _handled(stack: Stack, count: int) -> bool:
    return await stack.db.inbox.count_documents({}) >= count


async def test_resend_refusal_names_the_change(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    await stack.post(f"/v1/invitations/{created['id']}/cancel", key)

    response = await stack.post(f"/v1/invitations/{created['id']}/resend", key)

    assert response.json()["error"]["message"] == (
        "The invitation is cancelled; only a pending invitation can be resent."
    )
