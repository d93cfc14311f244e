import pytest

from tests.support import Stack, running_stack


@pytest.fixture
async def stack() -> Stack:  # type: ignore[misc]
    async with running_stack() as running:
        yield running
