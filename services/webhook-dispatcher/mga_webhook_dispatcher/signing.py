"""Endpoint secrets and the signature headers of a delivery attempt.

Every attempt carries two signature schemes, both HMAC-SHA256 over the exact body bytes:

- ``X-MGA-Signature: t=<unix seconds>,v1=<hex>``, keyed with the whole secret string
  (``whsec_...``) as UTF-8 and computed over ``"<t>.<body>"``;
- the Standard Webhooks headers ``webhook-id``, ``webhook-timestamp`` and
  ``webhook-signature: v1,<base64>``, keyed with the base64-decoded bytes after ``whsec_`` and
  computed over ``"<webhook-id>.<webhook-timestamp>.<body>"``.

While a rotated secret is still in its overlap, each header has one signature per secret, so
a receiver that has either secret accepts the request.
"""

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
_SECRET_BYTES = 32

SIGNATURE_HEADER = "X-MGA-Signature"
EVENT_ID_HEADER = "X-MGA-Event-Id"
USER_AGENT = "MeetAndGreet-Webhooks/1.0"


def generate_secret() -> str:
    """Return a new secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode("ascii")


def _standard_key(secret: str) -> bytes:
    """Return the HMAC key of the Standard Webhooks scheme: the bytes the secret encodes."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secrets start with whsec_")
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)


def mga_signature(body: bytes, signing_secrets: Sequence[str], timestamp: int) -> str:
    """Return the ``X-MGA-Signature`` value: ``t=<timestamp>`` and one ``v1=`` per secret."""
    signed = f"{timestamp}.".encode("ascii") + body
    entries = [f"t={timestamp}"]
    for secret in signing_secrets:
        digest = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
        entries.append(f"v1={digest}")
    return ",".join(entries)


def standard_signature(
    message_id: str, body: bytes, signing_secrets: Sequence[str], timestamp: int
) -> str:
    """Return the ``webhook-signature`` value: space-separated ``v1,<base64>`` entries."""
    signed = f"{message_id}.{timestamp}.".encode("ascii") + body
    entries = []
    for secret in signing_secrets:
        digest = hmac.new(_standard_key(secret), signed, hashlib.sha256).digest()
        entries.append("v1," + base64.b64encode(digest).decode("ascii"))
    return " ".join(entries)


def delivery_headers(
    event_id: str, body: bytes, signing_secrets: Sequence[str], timestamp: int
) -> dict[str, str]:
    """Return every header of one attempt; ``timestamp`` is the attempt's Unix time in seconds."""
    if not signing_secrets:
        raise ValueError("a delivery needs at least one active secret to sign with")
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        EVENT_ID_HEADER: event_id,
        SIGNATURE_HEADER: mga_signature(body, signing_secrets, timestamp),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(event_id, body, signing_secrets, timestamp),
    }
