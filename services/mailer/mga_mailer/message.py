"""The MIME message of an email: headers, a text part and an HTML part.

Headers that carry outside text (the names, the subject, the addresses) are encoded here
with ``email.header.Header``: printable ASCII stays readable, anything else becomes RFC 2047
encoded words, and an address always stays outside them. They bypass the standard header
parser on purpose. On CPython 3.11.7 (checked) ``EmailMessage`` decodes encoded words that
appear literally in a value being set, so a role such as ``=?UTF-8?Q?=0A?=Bcc: x@y`` turns
into a real line feed and the generator writes a ``Bcc`` header. Every header value is also
checked for CR and LF before the message is built.

With ``smtputf8`` false every header line is 7-bit ASCII. With it true, which needs a server
that offers SMTPUTF8, the addresses are written in UTF-8 and the rest is still encoded.
"""

import email.policy
import io
import re
from dataclasses import dataclass
from datetime import datetime
from email.generator import BytesGenerator
from email.header import Header
from email.message import EmailMessage
from email.policy import Policy
from email.utils import format_datetime, make_msgid

import idna

from mga_mailer.errors import EmailRejected, UnsafeHeaderValue

# RFC 5322 atext plus space: a display name made of these needs neither quoting nor encoding.
_PLAIN_PHRASE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~ -]*")
# Characters a dot-atom local part (RFC 5322) may not contain. Quoted local parts are
# rejected as well, because no candidate address needs one.
_LOCAL_PART_FORBIDDEN = re.compile(r'[\s<>()\[\]\\,;:@"\x00-\x1f\x7f]')
_FOLD_WIDTH = 78
_LONGEST_PLAIN_WORD = 60


@dataclass(frozen=True)
class Mailbox:
    display_name: str
    address: str


@dataclass(frozen=True)
class OutgoingEmail:
    """One email as it was rendered and recorded, ready to be sent."""

    message_id: str
    date: datetime
    sender: Mailbox
    recipient: Mailbox
    reply_to: str | None
    subject: str
    text: str
    html: str
    language: str


@dataclass(frozen=True)
class EnvelopeAddress:
    """An address in the form one server gets it, and whether that needs SMTPUTF8."""

    address: str
    needs_smtputf8: bool


def ensure_single_line(header: str, value: str) -> str:
    """Return ``value``, or raise ``UnsafeHeaderValue`` if it contains CR or LF."""
    if "\r" in value or "\n" in value:
        raise UnsafeHeaderValue(f"the {header} header value contains CR or LF")
    return value


def new_message_id(from_address: str) -> str:
    """Return a new globally unique ``Message-ID`` value in the sender's domain."""
    domain = from_address.rpartition("@")[2]
    if not domain.isascii():
        domain = idna.encode(domain, uts46=True).decode("ascii")
    return make_msgid(domain=domain)


def envelope_address(
    address: str, *, smtputf8_offered: bool, role: str = "recipient"
) -> EnvelopeAddress:
    """Return ``address`` as it can be sent to a server with or without SMTPUTF8.

    A non-ASCII domain is sent as it is under SMTPUTF8 and IDNA-encoded (``xn--``) otherwise.
    Raises ``EmailRejected`` for an invalid address, and for a non-ASCII local part when the
    server does not offer SMTPUTF8, because no other encoding of it exists.
    """
    local, at, domain = address.rpartition("@")
    if not at or not local or not domain or _LOCAL_PART_FORBIDDEN.search(local):
        raise EmailRejected(f"the {role} address is not a valid email address")
    if local.startswith(".") or local.endswith(".") or ".." in local:
        raise EmailRejected(f"the {role} address is not a valid email address")

    if local.isascii() and domain.isascii():
        return EnvelopeAddress(address, needs_smtputf8=False)
    if smtputf8_offered:
        return EnvelopeAddress(address, needs_smtputf8=True)
    if not local.isascii():
        raise EmailRejected(
            f"the {role} address has a non-ASCII local part and the SMTP server does not "
            "offer SMTPUTF8"
        )
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise EmailRejected(f"the {role} address domain is not a valid domain name: {exc}") from None
    return EnvelopeAddress(f"{local}@{ascii_domain}", needs_smtputf8=False)


class _PreparedHeader(str):
    """A header this module encoded and folded itself, whose ``str`` is the decoded value.

    ``EmailPolicy`` stores a value whose ``name`` matches the header name unchanged and folds
    it by calling its ``fold`` method, so the standard parser never re-reads it.
    """

    name: str
    _encoded: str

    def __new__(cls, name: str, decoded: str, encoded: str) -> "_PreparedHeader":
        header = super().__new__(cls, decoded)
        header.name = name
        header._encoded = encoded
        return header

    def fold(self, *, policy: Policy) -> str:
        return f"{self.name}: {self._encoded}".replace("\n", policy.linesep) + policy.linesep


def _encode_words(name: str, value: str) -> str:
    """Encode ``value`` as RFC 2047 UTF-8 encoded words, folded with ``\\n`` and a space."""
    return Header(value, "utf-8", maxlinelen=_FOLD_WIDTH, header_name=name).encode(linesep="\n")


def _is_printable_ascii(value: str) -> bool:
    return all(" " <= ch <= "~" for ch in value)


def _unstructured(name: str, value: str) -> _PreparedHeader:
    ensure_single_line(name, value)
    # Folding happens only between words, so a very long word is encoded, which can be split.
    short_words = all(len(word) <= _LONGEST_PLAIN_WORD for word in value.split())
    if _is_printable_ascii(value) and "=?" not in value and short_words:
        encoded = Header(
            value, "us-ascii", maxlinelen=_FOLD_WIDTH, header_name=name
        ).encode(linesep="\n")
    else:
        encoded = _encode_words(name, value)
    return _PreparedHeader(name, value, encoded)


def _display_name(name: str, display_name: str) -> str:
    """Encode a display name as a phrase: atoms, a quoted string or encoded words."""
    if not display_name:
        return ""
    # Short enough that the header line stays within 78 characters without folding.
    fits = len(display_name) <= 40
    if fits and _PLAIN_PHRASE.fullmatch(display_name) and "=?" not in display_name:
        return display_name
    if fits and _is_printable_ascii(display_name) and "=?" not in display_name:
        escaped = display_name.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    return _encode_words(name, display_name)


def _address(name: str, display_name: str, address: str) -> _PreparedHeader:
    ensure_single_line(name, display_name)
    ensure_single_line(name, address)
    phrase = _display_name(name, display_name)
    encoded = f"{phrase} <{address}>" if phrase else address
    decoded = f"{display_name} <{address}>" if display_name else address
    return _PreparedHeader(name, decoded, encoded)


def build_message(
    outgoing: OutgoingEmail,
    *,
    sender_address: str,
    recipient_address: str,
    reply_to_address: str | None,
    smtputf8: bool,
) -> bytes:
    """Build the message as the bytes to send after DATA.

    The addresses are passed in their envelope form (see ``envelope_address``), so the
    headers show the same address the server was given.
    """
    policy = email.policy.SMTPUTF8 if smtputf8 else email.policy.SMTP
    message = EmailMessage(policy=policy)
    message["From"] = _address("From", outgoing.sender.display_name, sender_address)
    message["To"] = _address("To", outgoing.recipient.display_name, recipient_address)
    if reply_to_address is not None:
        message["Reply-To"] = _address("Reply-To", "", reply_to_address)
    message["Subject"] = _unstructured("Subject", outgoing.subject)
    message["Date"] = format_datetime(outgoing.date)
    message["Message-ID"] = ensure_single_line("Message-ID", outgoing.message_id)

    # Quoted-printable keeps both bodies 7-bit, so no server needs 8BITMIME.
    message.set_content(outgoing.text, subtype="plain", charset="utf-8", cte="quoted-printable")
    message.add_alternative(
        outgoing.html, subtype="html", charset="utf-8", cte="quoted-printable"
    )
    # Set after the parts exist: set_content removes Content-* headers, and add_alternative
    # moves them into the text part.
    message["Content-Language"] = ensure_single_line("Content-Language", outgoing.language)

    buffer = io.BytesIO()
    BytesGenerator(buffer, policy=policy).flatten(message)
    return buffer.getvalue()
