"""Opened, started and completed events move the invitation and settle its minutes."""

import aio_pika

from mga_core.timestamps import utc_now
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import InterviewCompleted, InterviewStarted, InvitationOpened
from mga_events.types import EventType
from tests.support import REFERENCE_BODY, Stack, wait_for


async def _publish(stack: Stack, event: EventEnvelope) -> None:
    channel = await stack.amqp.channel()
    exchange = await channel.get_exchange(stack.names.events_exchange)
    await exchange.publish(aio_pika.Message(event.to_json()), routing_key=event.type.value)
    await channel.close()


def _event(event_type: EventType, data, account_id: str, *, livemode: bool) -> EventEnvelope:  # type: ignore[no-untyped-def]
    return build_event(event_type, data, account_id=account_id, livemode=livemode, correlation_id="c")


async def _live_invitation(stack: Stack) -> tuple[str, str, str]:
    account = await stack.account()
    key = await stack.key(account, live=True)
    await stack.top_up(account, 30)
    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    return account, key, created["id"]


async def _get(stack: Stack, key: str, invitation_id: str) -> dict:
    return (await stack.get(f"/v1/invitations/{invitation_id}", key)).json()


async def _run_interview(stack: Stack, account: str, invitation_id: str, minutes_used: int) -> EventEnvelope:
    now = utc_now()
    await _publish(stack, _event(EventType.INVITATION_OPENED,
                                 InvitationOpened(invitation_id=invitation_id, opened_at=now),
                                 account, livemode=True))
    await _publish(stack, _event(EventType.INTERVIEW_STARTED,
                                 InterviewStarted(invitation_id=invitation_id, started_at=now),
                                 account, livemode=True))
    completed = _event(
        EventType.INTERVIEW_COMPLETED,
        InterviewCompleted(invitation_id=invitation_id, completed_at=now, overall_score=78,
                           summary="Clear and structured.", minutes_used=minutes_used),
        account,
        livemode=True,
    )
    await _publish(stack, completed)
    return completed


async def test_completed_interview_charges_minutes_used(stack: Stack) -> None:
    account, key, invitation_id = await _live_invitation(stack)

    await _run_interview(stack, account, invitation_id, minutes_used=12)

    async def completed() -> dict | None:
        invitation = await _get(stack, key, invitation_id)
        return invitation if invitation["status"] == "completed" else None

    invitation = await wait_for(completed)
    balance = await wait_for(lambda: _balance_settled(stack, key))
    assert invitation["summary"] == "Clear and structured."
    assert invitation["openedAt"] is not None
    assert invitation["startedAt"] is not None
    assert invitation["completedAt"] is not None
    assert balance == {"availableMinutes": 18, "reservedMinutes": 0, "chargedMinutes": 12}


async def test_duplicate_completion_charges_once(stack: Stack) -> None:
    account, key, invitation_id = await _live_invitation(stack)
    completed = await _run_interview(stack, account, invitation_id, minutes_used=12)
    await wait_for(lambda: _balance_settled(stack, key))

    await _publish(stack, completed)
    again = _event(
        EventType.INTERVIEW_COMPLETED,
        InterviewCompleted(invitation_id=invitation_id, completed_at=utc_now(), overall_score=1,
                           summary="Second copy.", minutes_used=30),
        account,
        livemode=True,
    )
    await _publish(stack, again)
    await wait_for(lambda: _inbox_has(stack, again.id))

    balance = (await stack.get("/v1/balance", key)).json()
    charges = await stack.db.minute_ledger.count_documents({"kind": "charge"})
    assert balance == {"availableMinutes": 18, "reservedMinutes": 0, "chargedMinutes": 12}
    assert charges == 1
    assert (await _get(stack, key, invitation_id))["summary"] == "Clear and structured."


async def test_used_minutes_are_capped_at_duration(stack: Stack) -> None:
    account, key, invitation_id = await _live_invitation(stack)

    await _run_interview(stack, account, invitation_id, minutes_used=45)

    balance = await wait_for(lambda: _balance_settled(stack, key))
    assert balance == {"availableMinutes": 0, "reservedMinutes": 0, "chargedMinutes": 30}


async def test_started_invitation_does_not_expire(stack: Stack) -> None:
    account, key, invitation_id = await _live_invitation(stack)
    await _publish(stack, _event(EventType.INTERVIEW_STARTED,
                                 InterviewStarted(invitation_id=invitation_id, started_at=utc_now()),
                                 account, livemode=True))
    await wait_for(lambda: _status_is(stack, key, invitation_id, "started"))
    await stack.db.invitations.update_one({"_id": invitation_id}, {"$set": {"expiresAt": utc_now()}})

    service = stack.servers[1].server.config.app.state.runtime.service
    expired = await service.expire(invitation_id)

    assert expired is False
    assert (await _get(stack, key, invitation_id))["status"] == "started"


async def _balance_settled(stack: Stack, key: str) -> dict | None:
    balance = (await stack.get("/v1/balance", key)).json()
    return balance if balance["reservedMinutes"] == 0 else None


async def _inbox_has(stack: Stack, event_id: str) -> bool:
    return await stack.db.inbox.find_one({"_id": f"invitation:{event_id}"}) is not None


async def _status_is(stack: Stack, key: str, invitation_id: str, status: str) -> bool:
    return (await _get(stack, key, invitation_id))["status"] == status
