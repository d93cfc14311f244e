"""SMTP failures: 5xx replies fail the email at once, 4xx replies and outages are retried."""

from tests.mailer.conftest import MailerEnvironment, invitation_event
from tests.support import wait_for


async def test_550_rejection_fails_without_retry(mailer: MailerEnvironment) -> None:
    mailer.smtp.handler.rcpt_reply = "550 5.1.1 mailbox unavailable"
    event = invitation_event()
    await mailer.publish(event)

    record = await wait_for(lambda: mailer.record_with_status(event.id, "failed"))
    failed = await wait_for(lambda: mailer.events("email.failed", event.id))

    assert record["lastError"]["smtpCode"] == 550
    assert record["lastError"]["text"] == "5.1.1 mailbox unavailable"
    assert record["failedAt"] is not None
    assert record["attempts"] == 1
    assert mailer.smtp.handler.rcpt_commands == 1
    assert mailer.smtp.messages == []
    assert len(failed) == 1
    assert failed[0]["data"]["reason"] == "550 5.1.1 mailbox unavailable"
    assert failed[0]["data"]["invitationId"] == event.data["invitationId"]
    assert await mailer.events("email.sent", event.id) == []
    assert await mailer.dead_letter_count() == 0


async def test_451_reply_is_retried_until_accepted(mailer: MailerEnvironment) -> None:
    mailer.smtp.handler.rcpt_reply = "451 4.3.0 try again later"
    event = invitation_event()
    await mailer.publish(event)

    deferred = await wait_for(lambda: mailer.record_with_status(event.id, "retrying"))
    mailer.smtp.handler.rcpt_reply = None
    record = await wait_for(lambda: mailer.record_with_status(event.id, "sent"), timeout=15)
    sent = await wait_for(lambda: mailer.events("email.sent", event.id))

    assert deferred["lastError"]["smtpCode"] == 451
    assert deferred["lastError"]["text"] == "4.3.0 try again later"
    assert deferred["attempts"] == 2
    assert record["attempts"] >= 3
    assert mailer.smtp.handler.rcpt_commands >= 3
    assert len(mailer.smtp.messages) == 1
    assert len(sent) == 1
    assert await mailer.events("email.failed", event.id) == []


async def test_smtp_outage_delivers_after_recovery(environment: MailerEnvironment) -> None:
    # Nothing listens on the SMTP port until the server starts below.
    await environment.start_mailer(amqp_max_attempts=30)
    event = invitation_event()
    await environment.publish(event)

    deferred = await wait_for(lambda: environment.record_with_status(event.id, "retrying"))
    await environment.smtp.start()
    record = await wait_for(lambda: environment.record_with_status(event.id, "sent"), timeout=20)
    sent = await wait_for(lambda: environment.events("email.sent", event.id))
    error_text = deferred["lastError"]["text"]

    assert deferred["lastError"]["smtpCode"] is None
    assert error_text.startswith("SMTPConnectError: ")
    assert str(environment.smtp.port) in error_text
    assert "RetryError" not in error_text
    assert record["status"] == "sent"
    assert len(environment.smtp.messages) == 1
    assert len(sent) == 1
    assert await environment.dead_letter_count() == 0


async def test_non_http_link_is_dead_lettered(mailer: MailerEnvironment) -> None:
    event = invitation_event()
    data = {**event.data, "invitationUrl": "javascript:alert(1)"}
    await mailer.publish(event.model_copy(update={"data": data}))

    async def dead_lettered() -> bool:
        return await mailer.dead_letter_count() == 1

    await wait_for(dead_lettered)

    assert await mailer.record(event.id) is None
    assert mailer.smtp.handler.sessions == 0


async def test_test_mode_bounce_tag_fails_without_smtp(mailer: MailerEnvironment) -> None:
    event = invitation_event(livemode=False, address="alex+bounce@example.com")
    await mailer.publish(event)

    record = await wait_for(lambda: mailer.record_with_status(event.id, "failed"))
    failed = await wait_for(lambda: mailer.events("email.failed", event.id))

    assert record["lastError"]["smtpCode"] == 550
    assert failed[0]["data"]["reason"].startswith("550 5.1.1")
    assert mailer.smtp.handler.rcpt_commands == 0
    assert mailer.smtp.messages == []
