"""Handing one email to the SMTP server.

A reply code decides between ``EmailRejected`` (permanent) and ``DeliveryDeferred``
(transient) only where the reply is about this message: MAIL FROM, RCPT TO and DATA. A 5xx
reply there is permanent and a 4xx reply transient. Rejections of the session itself
(greeting, EHLO, STARTTLS, AUTH) come from the server's state or from this service's
configuration, not from the message, so they are transient. The email then goes out once
the configuration or the server is fixed, instead of being marked failed for good.
"""

import asyncio
from typing import Protocol

import aiosmtplib
import structlog

from mga_mailer.errors import DeliveryDeferred, EmailRejected
from mga_mailer.message import OutgoingEmail, build_message, envelope_address
from mga_mailer.settings import SmtpSecurity

log = structlog.get_logger()


class SmtpSender(Protocol):
    async def send(self, outgoing: OutgoingEmail) -> None:
        """Send ``outgoing`` to its one recipient and return once the server accepted it.

        Raises ``EmailRejected`` for a permanent failure and ``DeliveryDeferred`` for a
        transient one.
        """
        ...


def _classify(code: int, text: str, recipient: str) -> DeliveryDeferred | EmailRejected:
    if 500 <= code < 600:
        return EmailRejected(text, smtp_code=code, recipient=recipient)
    return DeliveryDeferred(text, smtp_code=code, recipient=recipient)


class AiosmtplibSender:
    """An ``SmtpSender`` that opens one SMTP connection per email with aiosmtplib."""

    def __init__(
        self,
        *,
        host: str,
        port: int,
        security: SmtpSecurity,
        username: str | None,
        password: str | None,
        timeout_seconds: float,
    ) -> None:
        self._host = host
        self._port = port
        self._security = security
        self._username = username
        self._password = password
        self._timeout = timeout_seconds

    async def send(self, outgoing: OutgoingEmail) -> None:
        recipient = outgoing.recipient.address
        # NOTE: the tests run only plain connections without AUTH. The starttls and tls modes
        # and the login rely on aiosmtplib's connect() and have not run against a server here.
        client = aiosmtplib.SMTP(
            hostname=self._host,
            port=self._port,
            username=self._username,
            password=self._password,
            timeout=self._timeout,
            use_tls=self._security is SmtpSecurity.TLS,
            start_tls=self._security is SmtpSecurity.STARTTLS,
        )
        # Each error is raised "from None": the aiosmtplib exceptions quote the recipient
        # address, and a chained one would show it in every logged traceback.
        try:
            async with asyncio.timeout(self._timeout):
                await self._transmit(client, outgoing)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            # One recipient per message, so the first refusal is the only one.
            refused = exc.recipients[0]
            raise _classify(refused.code, refused.message, recipient) from None
        except (aiosmtplib.SMTPSenderRefused, aiosmtplib.SMTPDataError) as exc:
            raise _classify(exc.code, exc.message, recipient) from None
        except aiosmtplib.SMTPResponseException as exc:
            raise DeliveryDeferred(exc.message, smtp_code=exc.code, recipient=recipient) from None
        except (aiosmtplib.SMTPException, OSError) as exc:
            # OSError covers refused and dropped connections and TimeoutError, whose text is
            # empty when the attempt as a whole ran out of time.
            detail = str(exc) or f"the attempt took longer than {self._timeout:g} s"
            text = f"{type(exc).__name__}: {detail}"
            raise DeliveryDeferred(text, recipient=recipient) from None
        except ValueError as exc:
            # aiosmtplib's own check of an address for characters SMTP cannot carry.
            raise EmailRejected(str(exc), recipient=recipient) from None
        else:
            await self._quit(client)
        finally:
            client.close()

    async def _transmit(self, client: aiosmtplib.SMTP, outgoing: OutgoingEmail) -> None:
        await client.connect()
        if client.is_ehlo_or_helo_needed:
            await client.ehlo()

        offered = client.supports_extension("smtputf8")
        recipient = envelope_address(outgoing.recipient.address, smtputf8_offered=offered)
        sender = envelope_address(outgoing.sender.address, smtputf8_offered=offered, role="sender")
        reply_to = (
            envelope_address(outgoing.reply_to, smtputf8_offered=offered, role="Reply-To")
            if outgoing.reply_to is not None
            else None
        )
        smtputf8 = recipient.needs_smtputf8 or sender.needs_smtputf8 or bool(
            reply_to and reply_to.needs_smtputf8
        )
        message = build_message(
            outgoing,
            sender_address=sender.address,
            recipient_address=recipient.address,
            reply_to_address=reply_to.address if reply_to else None,
            smtputf8=smtputf8,
        )

        options: list[str] = []
        if smtputf8:
            # UTF-8 headers are 8-bit data, which RFC 6531 sends as BODY=8BITMIME.
            options.append("SMTPUTF8")
            if client.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")
        await client.sendmail(sender.address, [recipient.address], message, mail_options=options)

    async def _quit(self, client: aiosmtplib.SMTP) -> None:
        """Send QUIT. The server has the message already, so no failure here matters."""
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:
            log.debug("smtp.quit_failed", error=repr(exc))
