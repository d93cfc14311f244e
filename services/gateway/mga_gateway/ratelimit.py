"""Per-key rate limiting over fixed windows counted in MongoDB, shared by all replicas.

NOTE: on FerretDB 1.24 ``findAndModify`` with ``$inc`` is not atomic, so concurrent requests
can be under-counted there and a key may briefly exceed its limit; MongoDB counts exactly.
"""

import math
from datetime import timedelta

from mga_core.errors import RateLimited
from mga_core.metrics import RATE_LIMITED_REQUESTS
from mga_core.timestamps import utc_now
from mga_gateway.auth import Caller
from mga_gateway.store import GatewayStore, window_start


class RateLimiter:
    def __init__(self, store: GatewayStore, *, limit: int, window: timedelta) -> None:
        self._store = store
        self._limit = limit
        self._window = window

    async def check(self, caller: Caller) -> None:
        """Count a request of ``caller``; raise ``RateLimited`` past the limit."""
        now = utc_now()
        start = window_start(now, self._window)
        end = start + self._window
        count = await self._store.count_request(
            f"{caller.key_id}:{int(start.timestamp())}", window_end=end
        )
        if count > self._limit:
            RATE_LIMITED_REQUESTS.labels(caller.mode).inc()
            raise RateLimited(math.ceil((end - now).total_seconds()))
