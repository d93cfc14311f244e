"""Per-key rate limiting over fixed windows."""

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import pytest

from tests.support import REFERENCE_BODY, Stack, running_stack

LIMIT = 3
WINDOW_SECONDS = 60


@asynccontextmanager
async def limited_stack() -> AsyncIterator[Stack]:
    """Start a stack that allows LIMIT requests per key and minute."""
    settings = {
        "rate_limit_requests": LIMIT,
        "rate_limit_window": timedelta(seconds=WINDOW_SECONDS),
    }
    async with running_stack(gateway=settings) as stack:
        yield stack


async def wait_for_fresh_window() -> None:
    """Sleep past the window boundary when fewer than 10 seconds of the window remain."""
    seconds_left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if seconds_left < 10:
        await asyncio.sleep(seconds_left + 0.1)


async def use_up_limit(stack: Stack, key: str) -> None:
    await wait_for_fresh_window()
    for _ in range(LIMIT):
        response = await stack.get("/v1/invitations", key)
        assert response.status_code == 200, response.text


async def test_request_over_limit_is_rate_limited() -> None:
    async with limited_stack() as stack:
        key = await stack.key(await stack.account())
        await use_up_limit(stack, key)

        response = await stack.get("/v1/invitations", key)

        assert response.status_code == 429, response.text
        assert response.json()["error"]["code"] == "rate_limited"
        assert response.json()["error"]["param"] is None
        assert response.json()["error"]["requestId"] == response.headers["x-request-id"]
        retry_after = response.headers["retry-after"]
        assert retry_after.isdigit()
        assert 1 <= int(retry_after) <= WINDOW_SECONDS


async def test_rate_limited_create_stores_nothing() -> None:
    async with limited_stack() as stack:
        key = await stack.key(await stack.account())
        await use_up_limit(stack, key)

        response = await stack.post("/v1/invitations", key, REFERENCE_BODY)

        assert response.status_code == 429, response.text
        assert response.json()["error"]["code"] == "rate_limited"
        assert await stack.db.invitations.count_documents({}) == 0


async def test_other_key_of_account_is_not_limited() -> None:
    async with limited_stack() as stack:
        account = await stack.account()
        limited_key = await stack.key(account)
        other_key = await stack.key(account)
        await use_up_limit(stack, limited_key)

        limited = await stack.get("/v1/invitations", limited_key)
        other = await stack.get("/v1/invitations", other_key)

        assert limited.status_code == 429
        assert other.status_code == 200, other.text


async def test_other_account_is_not_limited() -> None:
    async with limited_stack() as stack:
        limited_key = await stack.key(await stack.account(name="Busy"))
        other_key = await stack.key(await stack.account(name="Quiet"))
        await use_up_limit(stack, limited_key)

        response = await stack.get("/v1/invitations", other_key)

        assert response.status_code == 200, response.text


async def test_concurrent_first_requests_never_fail(stack: Stack) -> None:
    statuses: list[int] = []
    for _ in range(30):
        key = await stack.key(await stack.account())
        responses = await asyncio.gather(*(stack.get("/v1/balance", key) for _ in range(10)))
        statuses.extend(response.status_code for response in responses)

    assert 500 not in statuses
