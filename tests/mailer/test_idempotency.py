"""One event, one email: redeliveries, restarts and a worker that dies mid-send."""

import asyncio
from datetime import timedelta

from prometheus_client import REGISTRY

from mga_mailer.errors import EmailInFlight
from mga_mailer.main import create_sender
from mga_mailer.message import OutgoingEmail
from mga_mailer.sender import SmtpSender
from tests.mailer.conftest import MailerEnvironment, fields_of, invitation_event
from tests.support import wait_for


class DiesAfterAcceptance:
    """Sends for real, then ends the handler the way a killed worker would.

    The SMTP server has the message, but neither the record nor the event's ack follows.
    """

    def __init__(self, sender: SmtpSender) -> None:
        self._sender = sender

    async def send(self, outgoing: OutgoingEmail) -> None:
        await self._sender.send(outgoing)
        raise asyncio.CancelledError()


def _in_flight_count() -> float:
    labels = {"outcome": "in_flight", "language": "en", "mode": "live"}
    return REGISTRY.get_sample_value("mga_emails_total", labels) or 0.0


async def test_same_event_twice_sends_one_email(mailer: MailerEnvironment) -> None:
    event = invitation_event(address="twice@example.com")
    later = invitation_event(address="later@example.com")
    await mailer.publish(event)
    await mailer.publish(event)
    await mailer.publish(later)

    await wait_for(lambda: mailer.record_with_status(later.id, "sent"))
    await wait_for(lambda: mailer.record_with_status(event.id, "sent"))
    sent = await wait_for(lambda: mailer.events("email.sent", event.id))

    assert len(mailer.smtp.messages_to("twice@example.com")) == 1
    assert len(mailer.smtp.messages_to("later@example.com")) == 1
    assert len(sent) == 1


async def test_event_again_after_restart_sends_nothing(environment: MailerEnvironment) -> None:
    await environment.smtp.start()
    await environment.start_mailer()
    event = invitation_event(address="restart@example.com")
    await environment.publish(event)
    await wait_for(lambda: environment.record_with_status(event.id, "sent"))
    await environment.stop_mailers()

    # One message at a time, so the event is handled before the one published after it.
    await environment.start_mailer(amqp_prefetch=1)
    later = invitation_event(address="later@example.com")
    await environment.publish(event)
    await environment.publish(later)
    await wait_for(lambda: environment.record_with_status(later.id, "sent"))

    assert len(environment.smtp.messages_to("restart@example.com")) == 1
    assert len(environment.smtp.messages_to("later@example.com")) == 1


async def test_service_skips_recorded_email_without_inbox(mailer: MailerEnvironment) -> None:
    # Calls the service directly, past the consumer's inbox, as a replica with its own
    # view of the queue would.
    runtime = mailer.servers[0].server.config.app.state.runtime
    event = invitation_event()
    await mailer.publish(event)
    await wait_for(lambda: mailer.record_with_status(event.id, "sent"))

    await runtime.service.deliver_invitation(event, fields_of(event))
    record = await mailer.record(event.id)

    assert len(mailer.smtp.messages) == 1
    assert record["status"] == "sent"
    assert record["attempts"] == 1


async def test_two_workers_at_once_send_one_email(environment: MailerEnvironment) -> None:
    await environment.smtp.start()
    first = await environment.start_mailer()
    second = await environment.start_mailer()
    event = invitation_event()

    results = await asyncio.gather(
        first.service.deliver_invitation(event, fields_of(event)),
        second.service.deliver_invitation(event, fields_of(event)),
        return_exceptions=True,
    )
    record = await environment.record(event.id)

    assert len(environment.smtp.messages) == 1
    assert all(result is None or isinstance(result, EmailInFlight) for result in results), results
    assert record["status"] == "sent"
    assert record["attempts"] == 1


async def test_worker_killed_after_acceptance_resends_after_lease(
    environment: MailerEnvironment,
) -> None:
    await environment.smtp.start()
    settings = environment.settings()
    await environment.start_mailer(sender=DiesAfterAcceptance(create_sender(settings)))
    event = invitation_event()
    await environment.publish(event)

    async def accepted() -> bool:
        return len(environment.smtp.messages) == 1

    await wait_for(accepted)
    stuck = await environment.record(event.id)
    await environment.stop_mailers()

    # The restarted worker gets the unacknowledged event back. Within the lease it sends
    # nothing. After the lease, a copy with the same Message-ID goes out.
    in_flight_before = _in_flight_count()

    async def deferred_within_lease() -> bool:
        return _in_flight_count() > in_flight_before

    await environment.start_mailer(
        send_lease=timedelta(seconds=4),
        smtp_timeout=timedelta(seconds=2),
        amqp_max_attempts=20,
    )
    await wait_for(deferred_within_lease, timeout=10)
    messages_within_lease = len(environment.smtp.messages)
    record = await wait_for(lambda: environment.record_with_status(event.id, "sent"), timeout=20)
    first, second = environment.smtp.messages

    assert stuck["status"] == "sending"
    assert stuck["attempts"] == 1
    assert messages_within_lease == 1
    assert first.parsed["Message-ID"] == second.parsed["Message-ID"]
    assert first.parsed["Message-ID"] == record["messageId"]
    assert record["attempts"] == 2
