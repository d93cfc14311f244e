"""Events survive an unroutable publish: they stay in the outbox until routed."""

import aio_pika

from tests.support import REFERENCE_BODY, Stack, wait_for

CONSUMERS_OF_CREATED = ("mailer", "simulation")


async def _bindings(stack: Stack, *, bind: bool) -> None:
    channel = await stack.amqp.channel()
    exchange = await channel.get_exchange(stack.names.events_exchange)
    for consumer in CONSUMERS_OF_CREATED:
        queue = await channel.get_queue(stack.names.event_queue(consumer))
        if bind:
            await queue.bind(exchange, routing_key="invitation.created")
        else:
            await queue.unbind(exchange, routing_key="invitation.created")
    await channel.close()


async def test_unroutable_event_stays_in_outbox_until_routed(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    await _bindings(stack, bind=False)

    response = await stack.post("/v1/invitations", key, REFERENCE_BODY)
    invitation_id = response.json()["id"]
    stored = await stack.db.invitations.find_one({"_id": invitation_id})

    assert response.status_code == 201
    assert stored["outboxPending"] is True
    assert len(stored["outbox"]) == 1

    await _bindings(stack, bind=True)

    async def relayed() -> bool:
        document = await stack.db.invitations.find_one({"_id": invitation_id})
        return document["outboxPending"] is False and document["outbox"] == {}

    await wait_for(relayed)
    messages = await stack.queue_messages(stack.names.event_queue("mailer"))
    assert [message["data"]["invitationId"] for message in messages] == [invitation_id]
    assert messages[0]["id"] == next(iter(stored["outbox"]))


async def test_publish_without_any_binding_is_reported_unroutable(stack: Stack) -> None:
    from mga_events.envelope import build_event
    from mga_events.schemas import InvitationResendRequested
    from mga_events.types import EventType
    from mga_messaging.broker import Broker
    from mga_messaging.publisher import EventPublisher, PublishFailed
    from mga_core.timestamps import utc_now
    from tests.support import AMQP_URL

    await _bindings(stack, bind=False)
    broker = Broker(url=AMQP_URL, names=stack.names, retry_delays_seconds=[1])
    await broker.connect()
    publisher = EventPublisher(broker, service="tests", confirm_timeout=5)
    await publisher.start()
    channel = await stack.amqp.channel()
    mailer = await channel.get_queue(stack.names.event_queue("mailer"))
    await mailer.unbind(await channel.get_exchange(stack.names.events_exchange), "invitation.resend_requested")
    event = build_event(
        EventType.INVITATION_RESEND_REQUESTED,
        InvitationResendRequested(invitation_id="inv_x", requested_at=utc_now(), candidate_email="a@example.com", candidate_name="A", role="R", job_posting="J", toughness=3, duration_minutes=30, language="en", expires_at=utc_now(), invitation_url="http://x", metadata={}),
        account_id="acct_x",
        livemode=False,
        correlation_id="c",
    )

    try:
        await publisher.publish(event)
    except PublishFailed as exc:
        reason = exc.reason
    else:
        reason = "published"
    finally:
        await channel.close()
        await broker.close()

    assert reason == "unroutable"
