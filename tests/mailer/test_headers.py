"""Headers stay 7-bit and injection-free for any name, role and address."""

import email.header
import re

import pytest

from tests.mailer.conftest import MailerEnvironment, invitation_event
from tests.support import wait_for

# An RFC 2047 encoded word, as it may appear in a raw header line.
ENCODED_WORD = re.compile(rb"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")


@pytest.fixture
async def mailer_without_smtputf8(environment: MailerEnvironment) -> MailerEnvironment:
    await environment.smtp.start(smtputf8=False)
    await environment.start_mailer(mail_from_name="Recruiting-Team Müller & Söhne")
    return environment


async def _deliver(mailer: MailerEnvironment, **event_fields):  # type: ignore[no-untyped-def]
    event = invitation_event(**event_fields)
    await mailer.publish(event)
    record = await wait_for(lambda: mailer.record_with_status(event.id, "sent"))
    return event, record


def _header_line(lines: list[bytes], name: bytes) -> bytes:
    """Return one header with its continuation lines joined, as received."""
    for index, line in enumerate(lines):
        if line.lower().startswith(name.lower() + b":"):
            folded = [line]
            for continuation in lines[index + 1 :]:
                if not continuation[:1] in (b" ", b"\t"):
                    break
                folded.append(continuation)
            return b"\r\n".join(folded)
    raise AssertionError(f"no {name!r} header")


async def test_german_names_without_smtputf8(mailer_without_smtputf8: MailerEnvironment) -> None:
    mailer = mailer_without_smtputf8
    await _deliver(
        mailer, name="Zoë Ørsted", address="zoe.orsted@example.com", language="de", role="Entwicklerin"
    )
    message = mailer.smtp.messages[0]
    lines = message.raw_headers
    to_line = _header_line(lines, b"To")
    parsed = message.parsed

    for line in lines:
        assert line.isascii(), line
    assert b"<zoe.orsted@example.com>" in ENCODED_WORD.sub(b"", to_line)
    assert not any(b"zoe.orsted" in word for word in ENCODED_WORD.findall(to_line))
    assert parsed["To"].addresses[0].display_name == "Zoë Ørsted"
    assert parsed["To"].addresses[0].addr_spec == "zoe.orsted@example.com"
    assert parsed["From"].addresses[0].display_name == "Recruiting-Team Müller & Söhne"
    assert parsed["From"].addresses[0].addr_spec == "interviews@meetandgreet.ai"
    assert parsed["Subject"] == "Ihre Einladung zum Interview: Entwicklerin"
    assert message.body("plain").startswith("Guten Tag Zoë Ørsted,")
    assert "SMTPUTF8" not in message.mail_options


@pytest.mark.parametrize(
    "name",
    [
        "Zoë Łukasiewicz-Müller 陈",
        "陈伟明",
        "ليلى عبد الله",
        'Dr. "Quote", Jr. (test)',
    ],
)
async def test_names_round_trip_without_smtputf8(
    mailer_without_smtputf8: MailerEnvironment, name: str
) -> None:
    mailer = mailer_without_smtputf8
    await _deliver(mailer, name=name)
    message = mailer.smtp.messages[0]
    to_line = _header_line(message.raw_headers, b"To")

    for line in message.raw_headers:
        assert line.isascii(), line
    assert ENCODED_WORD.sub(b"", to_line).rstrip().endswith(b"<alex@example.com>")
    assert message.parsed["To"].addresses[0].display_name == name
    assert message.body("plain").startswith(f"Hello {name},")


async def test_long_name_is_folded(mailer_without_smtputf8: MailerEnvironment) -> None:
    mailer = mailer_without_smtputf8
    name = "Maximiliane Überlänge-" + "Großmann " * 12
    await _deliver(mailer, name=name.strip())
    lines = mailer.smtp.messages[0].raw_headers
    to_line = _header_line(lines, b"To")
    display = to_line.removeprefix(b"To:").rsplit(b"<", 1)[0].decode("ascii").strip()
    # email.header implements RFC 2047 decoding, which joins adjacent encoded words. The
    # address parser of policy.default keeps the folding space between them instead.
    decoded = str(email.header.make_header(email.header.decode_header(display)))

    assert all(len(line) <= 78 for line in to_line.split(b"\r\n"))
    assert decoded == name.strip()


async def test_idn_domain_is_idna_encoded_without_smtputf8(
    mailer_without_smtputf8: MailerEnvironment,
) -> None:
    mailer = mailer_without_smtputf8
    await _deliver(mailer, address="zoe@bücher.example")
    message = mailer.smtp.messages[0]

    assert message.rcpt_tos == ["zoe@xn--bcher-kva.example"]
    assert message.parsed["To"].addresses[0].addr_spec == "zoe@xn--bcher-kva.example"
    assert "SMTPUTF8" not in message.mail_options


async def test_idn_domain_uses_smtputf8_when_offered(environment: MailerEnvironment) -> None:
    await environment.smtp.start(smtputf8=True)
    await environment.start_mailer()
    await _deliver(environment, address="zoë@bücher.example")
    message = environment.smtp.messages[0]

    assert message.rcpt_tos == ["zoë@bücher.example"]
    assert "SMTPUTF8" in message.mail_options
    assert message.parsed_utf8["To"].addresses[0].addr_spec == "zoë@bücher.example"


async def test_non_ascii_local_part_without_smtputf8_fails(
    mailer_without_smtputf8: MailerEnvironment,
) -> None:
    mailer = mailer_without_smtputf8
    event = invitation_event(address="zoë@example.com")
    await mailer.publish(event)
    record = await wait_for(lambda: mailer.record_with_status(event.id, "failed"))
    failed = await wait_for(lambda: mailer.events("email.failed", event.id))

    assert mailer.smtp.messages == []
    assert mailer.smtp.handler.rcpt_commands == 0
    assert record["lastError"]["smtpCode"] is None
    assert "SMTPUTF8" in record["lastError"]["text"]
    assert "SMTPUTF8" in failed[0]["data"]["reason"]
    assert record["attempts"] == 1


async def test_encoded_word_in_role_adds_no_recipient(
    mailer_without_smtputf8: MailerEnvironment,
) -> None:
    mailer = mailer_without_smtputf8
    role = "=?UTF-8?Q?=0A?=Bcc: x@attacker.example"
    await _deliver(mailer, role=role)
    message = mailer.smtp.messages[0]
    parsed = message.parsed

    assert len(mailer.smtp.messages) == 1
    assert message.rcpt_tos == ["alex@example.com"]
    assert parsed.get_all("Bcc") is None
    assert not any(line.lower().startswith(b"bcc:") for line in message.raw_headers)
    assert [address.addr_spec for address in parsed["To"].addresses] == ["alex@example.com"]
    assert parsed["Subject"] == f"Your interview invitation: {role}"
    for line in message.raw_headers:
        assert line.isascii(), line


@pytest.mark.parametrize(
    "name",
    [
        "Alex\r\nBcc: x@attacker.example",
        "=?UTF-8?Q?=0D=0A?=Bcc: x@attacker.example",
        "Alex\nCc: x@attacker.example",
    ],
)
async def test_name_with_line_break_adds_no_header(
    mailer_without_smtputf8: MailerEnvironment, name: str
) -> None:
    mailer = mailer_without_smtputf8
    await _deliver(mailer, name=name)
    message = mailer.smtp.messages[0]
    parsed = message.parsed

    assert message.rcpt_tos == ["alex@example.com"]
    assert parsed.get_all("Bcc") is None
    assert parsed.get_all("Cc") is None
    assert [address.addr_spec for address in parsed["To"].addresses] == ["alex@example.com"]
    assert "\n" not in parsed["To"].addresses[0].display_name
