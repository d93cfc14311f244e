"""Sessions follow the invitation events: created, cancelled, expired, updated."""

import json
from datetime import UTC, datetime, timedelta

from mga_core.timestamps import utc_now
from mga_events.envelope import build_event
from mga_events.schemas import InvitationCancelled, InvitationUpdated
from mga_events.types import EventType
from mga_messaging.topology import Consumer
from tests.simulation.conftest import ACCOUNT_ID, SimulationStack
from tests.simulation.flow import open_landing, start
from tests.support import wait_for


def _cancelled(invitation_id: str):  # type: ignore[no-untyped-def]
    return build_event(
        EventType.INVITATION_CANCELLED,
        InvitationCancelled(invitation_id=invitation_id, cancelled_at=utc_now()),
        account_id=ACCOUNT_ID,
        livemode=False,
        correlation_id="c",
    )


def _updated(invitation_id: str, expires_at: datetime, metadata: dict, occurred_at: datetime):  # type: ignore[no-untyped-def,type-arg]
    return build_event(
        EventType.INVITATION_UPDATED,
        InvitationUpdated(invitation_id=invitation_id, expires_at=expires_at, metadata=metadata),
        account_id=ACCOUNT_ID,
        livemode=False,
        correlation_id="c",
        occurred_at=occurred_at,
    )


async def _dead_letters(simulation: SimulationStack) -> int:
    channel = await simulation.amqp.channel()
    try:
        queue = simulation.names.dead_letter_queue(simulation.names.event_queue(Consumer.SIMULATION))
        declared = await channel.declare_queue(queue, passive=True)
        return int(declared.declaration_result.message_count or 0)
    finally:
        await channel.close()


async def test_created_event_stores_the_invitation_snapshot(simulation: SimulationStack) -> None:
    event, invitation = simulation.created_event(livemode=True, toughness=4, language="de")

    await simulation.publish(event)
    session = await wait_for(lambda: simulation.session(invitation.id))

    assert session["token"] == invitation.token
    assert session["status"] == "pending"
    assert session["accountId"] == ACCOUNT_ID
    assert session["livemode"] is True
    assert session["candidateName"] == "Alex Chen"
    assert session["role"] == "Senior Product Manager"
    assert session["toughness"] == 4
    assert session["durationMinutes"] == 30
    assert session["language"] == "de"
    assert session["expiresAt"] == datetime(2030, 6, 1, tzinfo=UTC)
    assert json.loads(session["metadataJson"]) == {
        "atsCandidateId": "cand-42",
        "stage.name": "screening",
    }


async def test_created_event_twice_keeps_one_session(simulation: SimulationStack) -> None:
    event, invitation = simulation.created_event()
    copy, _ = simulation.created_event(invitation_id=invitation.id, candidate_name="Someone Else")

    await simulation.publish(event)
    await wait_for(lambda: simulation.session(invitation.id))
    await simulation.publish(event)
    await simulation.publish(copy)
    await wait_for(lambda: _inbox_has(simulation, copy.id))

    sessions = await simulation.db.interview_sessions.count_documents({})
    session = await simulation.session(invitation.id)
    assert sessions == 1
    assert session is not None
    assert session["token"] == invitation.token
    assert session["candidateName"] == "Alex Chen"


async def _inbox_has(simulation: SimulationStack, event_id: str) -> bool:
    return await simulation.db.inbox.find_one({"_id": f"simulation:{event_id}"}) is not None


async def test_token_used_twice_is_dead_lettered(simulation: SimulationStack) -> None:
    event, invitation = simulation.created_event()
    clash, _ = simulation.created_event()
    clash_data = {**clash.data, "invitationUrl": event.data["invitationUrl"]}
    clash = clash.model_copy(update={"data": clash_data})

    await simulation.publish(event)
    await wait_for(lambda: simulation.session(invitation.id))
    await simulation.publish(clash)
    await wait_for(lambda: _dead_letters(simulation))

    assert await simulation.db.interview_sessions.count_documents({}) == 1
    assert await simulation.session(clash.data["invitationId"]) is None


async def test_link_without_token_is_dead_lettered(simulation: SimulationStack) -> None:
    event, invitation = simulation.created_event()
    broken = event.model_copy(
        update={"data": {**event.data, "invitationUrl": "http://127.0.0.1:8083/invite/"}}
    )

    await simulation.publish(broken)
    await wait_for(lambda: _dead_letters(simulation))

    assert await simulation.session(invitation.id) is None


async def test_cancelled_event_closes_a_pending_session(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()

    await simulation.publish(_cancelled(invitation.id))

    async def cancelled() -> dict | None:  # type: ignore[type-arg]
        session = await simulation.session(invitation.id)
        return session if session and session["status"] == "cancelled" else None

    session = await wait_for(cancelled)
    assert session["cancelledAt"] is not None


async def test_cancelled_before_created_is_retried(simulation: SimulationStack) -> None:
    event, invitation = simulation.created_event()

    await simulation.publish(_cancelled(invitation.id))
    await simulation.publish(event)

    async def cancelled() -> bool:
        session = await simulation.session(invitation.id)
        return session is not None and session["status"] == "cancelled"

    assert await wait_for(cancelled, timeout=15)


async def test_cancelled_event_leaves_a_started_interview_running(
    simulation: SimulationStack,
) -> None:
    invitation = await simulation.invite()
    await open_landing(simulation, invitation)
    await start(simulation, invitation)
    cancel = _cancelled(invitation.id)

    await simulation.publish(cancel)
    await wait_for(lambda: _inbox_has(simulation, cancel.id))

    session = await simulation.session(invitation.id)
    assert session is not None
    assert session["status"] == "started"
    assert session["cancelledAt"] is None


async def test_updated_event_changes_expiry_and_metadata(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()
    later = datetime(2031, 1, 1, tzinfo=UTC)
    now = utc_now()
    newer = _updated(invitation.id, later, {"stage": "final", "a.b": 1}, now)
    older = _updated(invitation.id, later - timedelta(days=1), {"stage": "old"}, now - timedelta(seconds=5))

    await simulation.publish(newer)
    await wait_for(lambda: _inbox_has(simulation, newer.id))
    await simulation.publish(older)
    await wait_for(lambda: _inbox_has(simulation, older.id))

    session = await simulation.session(invitation.id)
    assert session is not None
    assert session["expiresAt"] == later
    assert json.loads(session["metadataJson"]) == {"stage": "final", "a.b": 1}


async def test_updated_metadata_reaches_the_finished_event(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()
    await open_landing(simulation, invitation)
    await start(simulation, invitation)
    update = _updated(invitation.id, datetime(2031, 1, 1, tzinfo=UTC), {"stage": "final"}, utc_now())
    await simulation.publish(update)
    await wait_for(lambda: _inbox_has(simulation, update.id))

    await simulation.http.post(f"{invitation.path}/finish")
    finished = await simulation.events(Consumer.SCORING, expect=1)

    assert [event["data"]["metadata"] for event in finished] == [{"stage": "final"}]

