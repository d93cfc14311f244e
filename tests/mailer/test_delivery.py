"""Invitation events become one email each, in the invitation's language, on a real SMTP server."""

import httpx

from mga_events.types import EventType
from tests.mailer.conftest import MailerEnvironment, fields_of, invitation_event
from tests.support import wait_for


async def _deliver(mailer: MailerEnvironment, **event_fields):  # type: ignore[no-untyped-def]
    """Publish an invitation event and wait until its record is ``sent``."""
    event = invitation_event(**event_fields)
    await mailer.publish(event)
    record = await wait_for(lambda: mailer.record_with_status(event.id, "sent"))
    return event, record


async def test_live_invitation_sends_one_message(mailer: MailerEnvironment) -> None:
    event, record = await _deliver(mailer)
    invitation = fields_of(event)
    published = await wait_for(lambda: mailer.events("email.sent", event.id))
    messages = mailer.smtp.messages
    message = messages[0].parsed
    text, html = messages[0].body("plain"), messages[0].body("html")

    assert len(messages) == 1
    assert messages[0].rcpt_tos == ["alex@example.com"]
    assert messages[0].mail_from == "interviews@meetandgreet.ai"
    assert message.get_content_type() == "multipart/alternative"
    assert message["Subject"] == "Your interview invitation: Senior Product Manager"
    assert message["To"].addresses[0].display_name == "Alex Chen"
    assert message["From"].addresses[0].display_name == "MeetAndGreet"
    assert message["Message-ID"] == record["messageId"]
    assert message["Date"] is not None
    assert message["Content-Language"] == "en"
    assert "Alex Chen" in text
    assert "Senior Product Manager" in text
    assert invitation.invitation_url in text
    assert "Alex Chen" in html
    assert "Senior Product Manager" in html
    assert f'href="{invitation.invitation_url}"' in html
    assert len(published) == 1
    assert published[0]["data"]["invitationId"] == invitation.invitation_id
    assert published[0]["data"]["delivered"] is True
    assert published[0]["correlationId"] == event.correlation_id
    assert record["delivered"] is True
    assert record["attempts"] == 1


async def test_english_invitation_is_english(mailer: MailerEnvironment) -> None:
    await _deliver(mailer, language="en")
    message = mailer.smtp.messages[0]
    text, html = message.body("plain"), message.body("html")

    assert message.parsed["Subject"].startswith("Your interview invitation: ")
    assert text.startswith("Hello Alex Chen,")
    assert "about 30 minutes" in text
    assert "1 June 2030, 00:00 UTC" in text
    assert "simulated interview with a panel of AI interviewers" in text
    assert "in writing" in text
    assert "personal" in text
    assert "Start your interview" in html
    assert '<html lang="en">' in html
    for german in ("Guten Tag", "Uhr", "Minuten", "Interview starten"):
        assert german not in text, german
        assert german not in html, german


async def test_german_invitation_is_german(mailer: MailerEnvironment) -> None:
    await _deliver(mailer, language="de", role="Entwicklerin Zahlungsverkehr")
    message = mailer.smtp.messages[0]
    text, html = message.body("plain"), message.body("html")

    assert message.parsed["Subject"] == "Ihre Einladung zum Interview: Entwicklerin Zahlungsverkehr"
    assert message.parsed["Content-Language"] == "de"
    assert text.startswith("Guten Tag Alex Chen,")
    assert "Sie wurden zu einem Interview" in text
    assert "etwa 30 Minuten" in text
    assert "1. Juni 2030, 00:00 Uhr UTC" in text
    assert "simuliertes Vorstellungsgespräch mit einem Panel aus KI-Interviewern" in text
    assert "schriftlich" in text
    assert "persönlich" in text
    assert "Guten Tag Alex Chen," in html
    assert "Interview starten" in html
    assert "1. Juni 2030, 00:00 Uhr UTC" in html
    assert '<html lang="de">' in html
    for english in ("Hello", "minutes", "June", "Start your interview", "personal"):
        assert english not in text, english
        assert english not in html, english


async def test_resend_request_sends_another_email(mailer: MailerEnvironment) -> None:
    event, record = await _deliver(mailer, event_type=EventType.INVITATION_RESEND_REQUESTED)

    assert len(mailer.smtp.messages) == 1
    assert record["eventType"] == "invitation.resend_requested"
    assert record["invitationId"] == fields_of(event).invitation_id


async def test_test_mode_invitation_reaches_no_smtp_server(mailer: MailerEnvironment) -> None:
    event, record = await _deliver(mailer, livemode=False)
    published = await wait_for(lambda: mailer.events("email.sent", event.id))

    assert mailer.smtp.messages == []
    assert mailer.smtp.handler.sessions == 0
    assert record["delivered"] is False
    assert record["attempts"] == 0
    assert record["livemode"] is False
    assert record["subject"] == "Your interview invitation: Senior Product Manager"
    assert "Hello Alex Chen," in record["text"]
    assert "Hello Alex Chen," in record["html"]
    assert published[0]["data"]["delivered"] is False
    assert published[0]["livemode"] is False


async def test_template_syntax_in_name_stays_literal(mailer: MailerEnvironment) -> None:
    await _deliver(mailer, name="{{ 7*7 }}")
    message = mailer.smtp.messages[0]
    text, html = message.body("plain"), message.body("html")

    assert text.startswith("Hello {{ 7*7 }},")
    assert "Hello {{ 7*7 }}," in html
    assert "Hello 49" not in text
    assert "Hello 49" not in html
    assert message.parsed["To"].addresses[0].display_name == "{{ 7*7 }}"


async def test_script_in_name_is_escaped_in_html(mailer: MailerEnvironment) -> None:
    await _deliver(mailer, name="<script>alert(1)</script>", role="R&D <b>Lead</b>")
    message = mailer.smtp.messages[0]
    text, html = message.body("plain"), message.body("html")

    assert "Hello &lt;script&gt;alert(1)&lt;/script&gt;," in html
    assert "<script>" not in html
    assert "R&amp;D &lt;b&gt;Lead&lt;/b&gt;" in html
    assert "<b>Lead</b>" not in html
    assert text.startswith("Hello <script>alert(1)</script>,")
    assert message.parsed["Subject"] == "Your interview invitation: R&D <b>Lead</b>"
    assert message.parsed["To"].addresses[0].display_name == "<script>alert(1)</script>"


async def test_readiness_ignores_smtp_outage(environment: MailerEnvironment) -> None:
    # Nothing listens on the SMTP port: the mailer is still ready, and retries deliveries.
    await environment.start_mailer()
    async with httpx.AsyncClient(base_url=environment.url) as http:
        response = await http.get("/readyz")

    assert response.status_code == 200
    assert response.json()["checks"] == {"database": True, "broker": True}
