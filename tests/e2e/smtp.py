"""A real SMTP server in the test process that keeps every message it accepts."""

import asyncio
import email
import email.policy
from dataclasses import dataclass, field
from email.message import EmailMessage

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


@dataclass
class ReceivedMail:
    recipients: list[str]
    message: EmailMessage


@dataclass
class MailRecorder:
    messages: list[ReceivedMail] = field(default_factory=list)
    # Seconds to wait before accepting each message, to keep the mailer busy.
    delay_seconds: float = 0.0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        content = envelope.original_content or b""
        message = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(ReceivedMail(list(envelope.rcpt_tos), message))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def to(self, address: str) -> list[ReceivedMail]:
        return [mail for mail in self.messages if address in mail.recipients]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.recorder = MailRecorder()
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=port)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()
