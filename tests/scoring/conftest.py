"""The scoring service in-process on a fresh database and prefix, fed with finished interviews."""

import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aio_pika
import pytest

from mga_core.timestamps import utc_now
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import FinishReason, InterviewFinished, Panelist, TranscriptTurn
from mga_events.types import EventType
from mga_messaging.topology import Names
from mga_scoring.main import create_app
from mga_scoring.settings import ScoringSettings
from mga_storage import create_client
from tests.support import AMQP_URL, MONGODB_URL, RunningServer, base_settings, delete_topology

PANEL = [
    Panelist(name="Sarah Patel", role="VP Product", focus="product judgment", persona="direct"),
    Panelist(name="Marcus Hall", role="Eng Lead", focus="technical trade-offs", persona="calm"),
    Panelist(name="Lena Krause", role="Design Lead", focus="user empathy", persona="curious"),
]

ANSWERS = [
    "First, I would look at the checkout funnel data because drop-off tells us where to start. "
    "We measured a 12% abandonment at the payment step.",
    "I led a team of six engineers and two designers. We aligned stakeholders on one metric "
    "and decided to test a one-page checkout.",
    "The trade-off was speed versus fraud risk, so we ran an experiment with a hypothesis and "
    "solved the root cause in the address form.",
]


def transcript(answers: list[str]) -> list[TranscriptTurn]:
    turns: list[TranscriptTurn] = []
    for index, answer in enumerate(answers):
        panelist = PANEL[index % len(PANEL)]
        turns.append(TranscriptTurn(speaker="interviewer", name=panelist.name, text=f"Question {index + 1}?"))
        turns.append(TranscriptTurn(speaker="candidate", text=answer))
    return turns


def finished(
    invitation_id: str,
    *,
    answers: list[str] = ANSWERS,
    email: str = "alex@example.com",
    language: str = "en",
    minutes_used: int = 12,
) -> InterviewFinished:
    now = utc_now()
    return InterviewFinished(
        invitation_id=invitation_id,
        finished_at=now,
        started_at=now - timedelta(minutes=minutes_used),
        minutes_used=minutes_used,
        reason=FinishReason.CANDIDATE_FINISHED,
        candidate_name="Alex Chen",
        role="Senior Product Manager",
        job_posting="We are hiring a Senior PM to lead our checkout team and improve conversion.",
        toughness=3,
        language=language,  # type: ignore[arg-type]
        panel=PANEL,
        transcript=transcript(answers),
        metadata={"atsId": "REQ-7", "dotted.key": "kept"},
        candidate_email=email,
    )


@dataclass
class Scoring:
    names: Names
    db: Any
    runtime: Any
    connection: aio_pika.abc.AbstractRobustConnection

    async def publish(self, data: InterviewFinished, *, livemode: bool = False) -> EventEnvelope:
        event = build_event(
            EventType.INTERVIEW_FINISHED, data, account_id="acct_test", livemode=livemode, correlation_id="c"
        )
        channel = await self.connection.channel()
        exchange = await channel.get_exchange(self.names.events_exchange)
        await exchange.publish(aio_pika.Message(event.to_json()), routing_key=event.type.value)
        await channel.close()
        return event

    async def result(self, invitation_id: str) -> dict[str, Any] | None:
        import json

        document = await self.db.results.find_one({"_id": invitation_id})
        return json.loads(document["resultJson"]) if document else None

    async def completed_events(self, *, expect: int = 1, wait: float = 5.0) -> list[dict[str, Any]]:
        import asyncio
        import json

        channel = await self.connection.channel()
        queue = await channel.get_queue(self.names.event_queue("webhook-dispatcher"), ensure=False)
        events: list[dict[str, Any]] = []
        deadline = asyncio.get_running_loop().time() + wait
        while len(events) < expect and asyncio.get_running_loop().time() < deadline:
            message = await queue.get(fail=False, no_ack=True)
            if message is None:
                await asyncio.sleep(0.05)
                continue
            events.append(json.loads(message.body))
        await channel.close()
        return events


StartScoring = Callable[..., Any]


@pytest.fixture
async def start_scoring() -> AsyncIterator[StartScoring]:
    started: list[tuple[RunningServer, Names, str]] = []
    client = create_client(MONGODB_URL, app_name="tests")
    connection = await aio_pika.connect_robust(AMQP_URL)

    async def start(**overrides: Any) -> Scoring:
        token = uuid.uuid4().hex[:10]
        settings = ScoringSettings(**{**base_settings(f"test_{token}", f"t{token}"), **overrides})
        app = create_app(settings)
        server = RunningServer(app)
        await server.start()
        names = Names(f"t{token}")
        started.append((server, names, f"test_{token}"))
        return Scoring(names=names, db=client[f"test_{token}"], runtime=app.state.runtime, connection=connection)

    yield start

    for server, names, database in started:
        await server.stop()
        await delete_topology(names)
        await client.drop_database(database)
    await connection.close()
    await client.close()
