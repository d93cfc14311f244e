import os

# litellm downloads its price table at import unless told to use its bundled copy.
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

import pytest

from tests.support import Stack, running_stack


@pytest.fixture
async def stack() -> Stack:  # type: ignore[misc]
    async with running_stack() as running:
        yield running
