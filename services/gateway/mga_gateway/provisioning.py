"""Accounts and API keys, as operators provision them."""

from dataclasses import dataclass

from mga_core.ids import IdPrefix, new_id
from mga_core.timestamps import utc_now
from mga_gateway.auth import generate_secret, hash_secret
from mga_gateway.store import GatewayStore


@dataclass(frozen=True)
class IssuedKey:
    id: str
    account_id: str
    livemode: bool
    # Shown once; only its hash is stored.
    secret: str


async def create_account(store: GatewayStore, *, name: str) -> str:
    account_id = new_id(IdPrefix.ACCOUNT)
    await store.insert_account(account_id, name)
    return account_id


async def issue_key(store: GatewayStore, *, account_id: str, livemode: bool) -> IssuedKey:
    if await store.get_account(account_id) is None:
        raise LookupError(f"no account with id '{account_id}'")
    secret = generate_secret(livemode=livemode)
    key_id = new_id(IdPrefix.API_KEY)
    await store.insert_api_key(
        {
            "_id": key_id,
            "accountId": account_id,
            "livemode": livemode,
            "secretHash": hash_secret(secret),
            "lastFour": secret[-4:],
            "createdAt": utc_now(),
            "revokedAt": None,
        }
    )
    return IssuedKey(id=key_id, account_id=account_id, livemode=livemode, secret=secret)
