"""The interview-minute ledger: an append-only list of balance changes per account.

Each entry stores the balance after it (``available``, ``reserved``, ``charged``) and carries
two unique keys. ``_id`` is the account id and a sequence number: two writers that read the
same latest entry both try to insert the next number, and the unique index lets exactly one
win; the other reads again and retries. ``operationKey`` names the operation
(``reserve:inv_...``, ``settle:inv_...``, ``top_up:...``), so running one operation twice adds
nothing. A reservation is settled once, either released or charged.

The ledger relies only on unique indexes, never on a conditional update being atomic, so it
cannot overspend with any number of writers on MongoDB or on FerretDB.
"""

import asyncio
import random
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TypedDict

from pymongo import ASCENDING, DESCENDING, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mga_core.errors import InsufficientBalance
from mga_core.timestamps import utc_now
from mga_invitation.errors import LedgerContention
from mga_storage import Document, IndexSpec

COLLECTION = "minute_ledger"
# Tries of one operation against concurrent writers before it gives up with a 503.
_MAX_TRIES = 60

INDEXES = IndexSpec(
    COLLECTION,
    (
        IndexModel([("accountId", ASCENDING), ("seq", DESCENDING)], name="account_seq"),
        IndexModel([("operationKey", ASCENDING)], name="operation_key", unique=True),
    ),
)


class EntryKind(StrEnum):
    TOP_UP = "top_up"
    RESERVE = "reserve"
    RELEASE = "release"
    CHARGE = "charge"


@dataclass(frozen=True)
class Balance:
    available: int = 0
    reserved: int = 0
    charged: int = 0


class LedgerEntry(TypedDict):
    _id: str
    accountId: str
    seq: int
    kind: str
    operationKey: str
    invitationId: str | None
    minutes: int
    available: int
    reserved: int
    charged: int


def _balance_of(entry: Document | None) -> Balance:
    if entry is None:
        return Balance()
    return Balance(entry["available"], entry["reserved"], entry["charged"])


class MinuteLedger:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._entries = db[COLLECTION]

    async def balance(self, account_id: str) -> Balance:
        return _balance_of(await self._latest(account_id))

    async def top_up(self, account_id: str, minutes: int, *, operation_id: str) -> Balance:
        if minutes <= 0:
            raise ValueError("a top-up adds a positive number of minutes")
        return await self._append(
            account_id,
            kind=EntryKind.TOP_UP,
            operation_key=f"top_up:{operation_id}",
            invitation_id=None,
            minutes=minutes,
            apply=lambda b: Balance(b.available + minutes, b.reserved, b.charged),
        )

    async def reserve(self, account_id: str, invitation_id: str, minutes: int) -> Balance:
        """Move ``minutes`` from available to reserved; raise ``InsufficientBalance``."""

        def apply(balance: Balance) -> Balance:
            if balance.available < minutes:
                raise InsufficientBalance(
                    f"The account has {balance.available} interview minutes available; "
                    f"this invitation needs {minutes}."
                )
            return Balance(balance.available - minutes, balance.reserved + minutes, balance.charged)

        return await self._append(
            account_id,
            kind=EntryKind.RESERVE,
            operation_key=f"reserve:{invitation_id}",
            invitation_id=invitation_id,
            minutes=minutes,
            apply=apply,
        )

    async def release(self, account_id: str, invitation_id: str, minutes: int) -> Balance:
        """Give a reservation back in full; a second settlement of it changes nothing."""
        return await self._append(
            account_id,
            kind=EntryKind.RELEASE,
            operation_key=f"settle:{invitation_id}",
            requires=f"reserve:{invitation_id}",
            invitation_id=invitation_id,
            minutes=minutes,
            apply=lambda b: Balance(b.available + minutes, b.reserved - minutes, b.charged),
        )

    async def charge(
        self, account_id: str, invitation_id: str, *, reserved: int, used: int
    ) -> Balance:
        """Charge ``used`` minutes of a reservation and release the rest, once."""
        used = max(0, min(used, reserved))
        return await self._append(
            account_id,
            kind=EntryKind.CHARGE,
            operation_key=f"settle:{invitation_id}",
            requires=f"reserve:{invitation_id}",
            invitation_id=invitation_id,
            minutes=used,
            apply=lambda b: Balance(
                b.available + reserved - used, b.reserved - reserved, b.charged + used
            ),
        )

    async def is_reserved(self, invitation_id: str) -> bool:
        """Tell whether a reservation for the invitation exists and is not yet settled."""
        reserved = await self._entries.find_one({"operationKey": f"reserve:{invitation_id}"})
        settled = await self._entries.find_one({"operationKey": f"settle:{invitation_id}"})
        return reserved is not None and settled is None

    async def _latest(self, account_id: str) -> Document | None:
        return await self._entries.find_one(
            {"accountId": account_id}, sort=[("seq", DESCENDING)]
        )

    async def _append(
        self,
        account_id: str,
        *,
        kind: EntryKind,
        operation_key: str,
        invitation_id: str | None,
        minutes: int,
        apply: Callable[[Balance], Balance],
        requires: str | None = None,
    ) -> Balance:
        """Insert the next entry; ``requires`` names an operation that must have run first."""
        if requires is not None and await self._entries.find_one({"operationKey": requires}) is None:
            return await self.balance(account_id)
        for _ in range(_MAX_TRIES):
            done = await self._entries.find_one({"operationKey": operation_key})
            if done is not None:
                return await self.balance(account_id)

            latest = await self._latest(account_id)
            after = apply(_balance_of(latest))
            seq = (latest["seq"] if latest else 0) + 1
            entry: LedgerEntry = {
                "_id": f"{account_id}:{seq:012d}",
                "accountId": account_id,
                "seq": seq,
                "kind": kind.value,
                "operationKey": operation_key,
                "invitationId": invitation_id,
                "minutes": minutes,
                "available": after.available,
                "reserved": after.reserved,
                "charged": after.charged,
            }
            try:
                await self._entries.insert_one({**entry, "createdAt": utc_now()})
            except DuplicateKeyError:
                # Another writer took this sequence number, or ran this very operation.
                await asyncio.sleep(random.uniform(0.001, 0.02))
                continue
            return after
        raise LedgerContention()
