"""Helpers for tests that send concurrent requests with one API key.

NOTE: concurrent first requests of a key in a new rate-limit window race to insert the
window's counter, and the loser gets a 500 (test_rate_limit.py shows it). Tests about other
behaviour run with a 60-second window and open it with one request first, so the race
cannot decide their outcome.
"""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from tests.support import Stack, running_stack

WINDOW_SECONDS = 60
# Concurrent requests must finish inside the window that the first request opened.
MIN_SECONDS_LEFT = 10


@asynccontextmanager
async def long_window_stack() -> AsyncIterator[Stack]:
    """Start a stack that allows 10,000 requests per key in windows of a minute."""
    settings = {
        "rate_limit_requests": 10_000,
        "rate_limit_window": timedelta(seconds=WINDOW_SECONDS),
    }
    async with running_stack(gateway=settings) as stack:
        yield stack


async def open_rate_limit_window(stack: Stack, key: str) -> None:
    """Send one request with ``key`` at least MIN_SECONDS_LEFT before its window ends."""
    seconds_left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if seconds_left < MIN_SECONDS_LEFT:
        await asyncio.sleep(seconds_left + 0.1)
    response = await stack.get("/v1/balance", key)
    assert response.status_code == 200, response.text
