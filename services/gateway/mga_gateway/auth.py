"""Bearer authentication with API keys stored as SHA-256 hashes.

Keys carry 190 random bits, so a fast hash is enough: there is nothing to brute-force that a
slow password hash would protect. The comparison happens inside the database index lookup.
"""

import hashlib
import re
import secrets
import string
from dataclasses import dataclass

from mga_core.errors import Unauthenticated
from mga_gateway.store import GatewayStore

_KEY_PATTERN = re.compile(r"mga_(live|test)_[A-Za-z0-9]{32}")
_ALPHABET = string.ascii_letters + string.digits
_SECRET_LENGTH = 32


@dataclass(frozen=True)
class Caller:
    """The authenticated API key behind a request."""

    key_id: str
    account_id: str
    livemode: bool

    @property
    def mode(self) -> str:
        return "live" if self.livemode else "test"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def generate_secret(*, livemode: bool) -> str:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_SECRET_LENGTH))
    return f"mga_{'live' if livemode else 'test'}_{body}"


def bearer_token(authorization: str | None) -> str:
    """Extract the key from an Authorization header; the scheme is case-insensitive."""
    if not authorization:
        raise Unauthenticated("Missing Authorization header. Send 'Authorization: Bearer <API key>'.")
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise Unauthenticated("The Authorization header must use the Bearer scheme.")
    token = token.strip()
    if not _KEY_PATTERN.fullmatch(token):
        raise Unauthenticated(
            "The API key is malformed. Keys look like mga_live_... or mga_test_..."
        )
    return token


async def authenticate(store: GatewayStore, authorization: str | None) -> Caller:
    token = bearer_token(authorization)
    key = await store.find_api_key(hash_secret(token))
    if key is None:
        raise Unauthenticated("The API key is not valid.")
    if key.get("revokedAt") is not None:
        raise Unauthenticated("The API key has been revoked.")
    return Caller(key_id=key["_id"], account_id=key["accountId"], livemode=key["livemode"])
