"""Delivery outcomes that are not a success.

Each error keeps the SMTP reply code and text verbatim for the email record, while its
``str()`` has the recipient address masked, because consumers log exceptions with ``repr``
and SMTP servers often quote the address in their replies.
"""

from mga_messaging.consumer import PermanentError


def mask_address(text: str, address: str | None) -> str:
    """Replace every occurrence of ``address`` in ``text``, ignoring case, with a marker."""
    if not address:
        return text
    lowered, needle = text.lower(), address.lower()
    parts: list[str] = []
    start = 0
    while (found := lowered.find(needle, start)) != -1:
        parts.append(text[start:found])
        parts.append("[recipient]")
        start = found + len(needle)
    parts.append(text[start:])
    return "".join(parts)


class DeliveryError(Exception):
    """A delivery attempt that did not end with the SMTP server accepting the message.

    ``smtp_code`` is the server's reply code, or None when no reply explains the failure
    (a refused connection, a timeout, a check before connecting). ``text`` is the server's
    reply text or the underlying exception's message, unchanged.
    """

    def __init__(
        self, text: str, *, smtp_code: int | None = None, recipient: str | None = None
    ) -> None:
        self.text = text
        self.smtp_code = smtp_code
        self.reason = f"{smtp_code} {text}" if smtp_code is not None else text
        super().__init__(mask_address(self.reason, recipient))


class DeliveryDeferred(DeliveryError):
    """A transient failure (a 4xx reply, a connection error or a timeout) worth retrying."""


class EmailRejected(DeliveryError, PermanentError):
    """A permanent failure: a 5xx reply to the message, or a message no server could take.

    It is a ``PermanentError``, so if it ever reaches the consumer the event is dead-lettered
    instead of retried.
    """


class UnsafeHeaderValue(EmailRejected):
    """A header value with CR or LF, which would end the header and could start another."""


class EmailInFlight(Exception):
    """Another attempt to send this email holds its lease, so the event is retried later."""


class InvalidInvitation(PermanentError):
    """Event data no email can be made from. The event is dead-lettered for an operator."""
