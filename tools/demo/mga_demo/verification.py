"""The signature check that docs/webhooks.md shows integrators; a test keeps the two equal."""

import hashlib
import hmac
import time


def verify_signature(payload: bytes, header: str, secret: str, tolerance: int = 300) -> bool:
    """Return True if the X-MGA-Signature header signs the raw body with the secret.

    payload is the request body exactly as received, before any JSON parsing. Any v1
    entry may match, because during a secret rotation there is one per active secret.
    Timestamps more than tolerance seconds away from now, in either direction, fail.
    """
    timestamp = None
    signatures = []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t":
            timestamp = value
        elif key == "v1":
            signatures.append(value.encode())
    if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()):
        return False
    if abs(time.time() - int(timestamp)) > tolerance:
        return False
    signed = timestamp.encode() + b"." + payload
    expected = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest().encode()
    return any(hmac.compare_digest(expected, signature) for signature in signatures)
