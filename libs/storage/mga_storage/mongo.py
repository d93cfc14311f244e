"""MongoDB access through PyMongo's asyncio API.

Clients are timezone-aware, so every datetime read back is in UTC and renders with the
same offset it was written with.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import structlog
from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

log = structlog.get_logger()

Document = dict[str, Any]


@dataclass(frozen=True)
class IndexSpec:
    """The indexes one collection needs; created at start-up, idempotently."""

    collection: str
    indexes: Sequence[IndexModel] = field(default_factory=tuple)


def create_client(url: str, *, app_name: str) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        url,
        tz_aware=True,
        tzinfo=UTC,
        appname=app_name,
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
    )


async def ensure_indexes(db: AsyncDatabase[Document], specs: Sequence[IndexSpec]) -> None:
    """Create every index in ``specs``; an index that already exists is left alone."""
    for spec in specs:
        # One index per command: FerretDB 1.24 drops the connection when a single
        # createIndexes command names several indexes that all exist already.
        for index in spec.indexes:
            await db[spec.collection].create_indexes([index])
        log.debug("indexes.ensured", collection=spec.collection, count=len(spec.indexes))


async def ping(client: AsyncMongoClient[Document]) -> bool:
    await client.admin.command("ping")
    return True
