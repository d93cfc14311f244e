"""Scoring: a finished interview becomes a stored result and an interview.completed event.

Each invitation is scored once: the result's ``_id`` is the invitation id, so a redelivered
``interview.finished`` finds the result and stops, and two concurrent copies cannot both
store one. The result and its ``interview.completed`` event are written in one insert (the
outbox), so the event cannot be lost between the write and the publish.
"""

from typing import Protocol

import structlog

from mga_core.errors import GenerationFailed
from mga_core.timestamps import utc_now
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import InterviewCompleted, InterviewFinished
from mga_events.types import EventType
from mga_llm import JsonModel
from mga_scoring.live import score_live
from mga_core.metrics import RESULTS_SCORED
from mga_scoring.result import build_result
from mga_scoring.sandbox import score_in_sandbox
from mga_scoring.store import ResultStore

log = structlog.get_logger()


class OutboxFlusher(Protocol):
    async def flush(self, document_id: str) -> bool: ...


class ScoringService:
    def __init__(self, *, store: ResultStore, outbox: OutboxFlusher, model: JsonModel | None) -> None:
        self._store = store
        self._outbox = outbox
        # None: every interview is scored in the sandbox.
        self._model = model

    async def score(self, event: EventEnvelope) -> None:
        finished = event.data_as(InterviewFinished)
        invitation_id = finished.invitation_id
        if await self._store.exists(invitation_id):
            log.info("scoring.already_scored", invitation_id=invitation_id)
            return

        live = event.livemode and self._model is not None
        engine = "live" if live else "sandbox"
        try:
            scored = (
                await score_live(finished, self._model)  # type: ignore[arg-type]
                if live
                else score_in_sandbox(finished)
            )
        except GenerationFailed as exc:
            await self._store.record_failure(invitation_id, error=exc.message)
            RESULTS_SCORED.labels(engine, "failed").inc()
            log.error("scoring.failed", invitation_id=invitation_id, engine=engine)
            raise

        completed_at = utc_now()
        result = build_result(finished, scored, completed_at=completed_at)
        completed = build_event(
            EventType.INTERVIEW_COMPLETED,
            InterviewCompleted(
                invitation_id=invitation_id,
                completed_at=completed_at,
                overall_score=result.overall_score,
                summary=result.summary,
                minutes_used=finished.minutes_used,
                result=result,
            ),
            account_id=event.account_id,
            livemode=event.livemode,
            correlation_id=event.correlation_id,
            occurred_at=completed_at,
        )
        stored = await self._store.insert(
            result,
            account_id=event.account_id,
            livemode=event.livemode,
            engine=engine,
            event=completed,
        )
        if not stored:
            log.info("scoring.already_scored", invitation_id=invitation_id)
            return
        RESULTS_SCORED.labels(engine, "completed").inc()
        log.info(
            "scoring.completed",
            invitation_id=invitation_id,
            engine=engine,
            overall_score=result.overall_score,
        )
        await self._outbox.flush(invitation_id)
