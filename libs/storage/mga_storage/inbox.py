"""The inbox: which events a consumer has handled, so a redelivery has no second effect."""

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from mga_core.timestamps import utc_now
from mga_storage.mongo import Document


class MongoInbox:
    """Processed event ids of one consumer, in a collection of the consuming service."""

    def __init__(self, db: AsyncDatabase[Document], *, consumer: str, collection: str = "inbox") -> None:
        self._collection = db[collection]
        self._consumer = consumer

    def _key(self, event_id: str) -> str:
        return f"{self._consumer}:{event_id}"

    async def seen(self, event_id: str) -> bool:
        return await self._collection.find_one({"_id": self._key(event_id)}, projection={"_id": 1}) is not None

    async def remember(self, event_id: str) -> None:
        try:
            await self._collection.insert_one({"_id": self._key(event_id), "processedAt": utc_now()})
        except DuplicateKeyError:
            pass
