"""SIGTERM to a busy worker: it finishes what it holds, and nothing is lost or sent twice."""

import asyncio
import uuid

from mga_demo.journey import JOB_POSTING
from tests.e2e.conftest import Journey
from tests.support import wait_for

INVITATIONS = 30


async def test_sigterm_to_busy_mailer_loses_and_repeats_nothing(journey: Journey) -> None:
    journey.smtp.recorder.delay_seconds = 1.5
    run = uuid.uuid4().hex[:6]
    addresses = [f"shutdown-{run}-{index:02d}@example.com" for index in range(INVITATIONS)]

    responses = await asyncio.gather(
        *(
            journey.api.post(
                "/v1/invitations",
                json={"candidateEmail": address, "candidateName": "Alex Chen",
                      "role": "Engineer", "jobPosting": JOB_POSTING, "durationMinutes": 10},
            )
            for address in addresses
        )
    )
    assert all(response.status_code == 201 for response in responses)
    await wait_for(lambda: _async(len(journey.smtp.recorder.messages) >= 1), timeout=30)

    exit_code = await journey.platform.terminate("mailer")
    sent_at_stop = len(journey.smtp.recorder.messages)
    log = journey.platform.log_tail("mailer", lines=400)
    await journey.platform.restart("mailer")
    await wait_for(
        lambda: _async(all(journey.smtp.recorder.to(address) for address in addresses)),
        timeout=120,
    )

    assert exit_code in (0, -15)
    assert '"consumer.stopped"' in log
    assert sent_at_stop < INVITATIONS
    for address in addresses:
        assert len(journey.smtp.recorder.to(address)) == 1, address


async def _async(value):  # type: ignore[no-untyped-def]
    return value
