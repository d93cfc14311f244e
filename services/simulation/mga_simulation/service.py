"""Interview logic: sessions from invitation events, the candidate's steps and the deadline.

A session moves ``pending → started → finished``; a pending one can instead become
``cancelled`` or ``expired``. Each change and the events it publishes are one single-document
update (the outbox), and every turn of the conversation is stored by its own update as soon
as it exists, so a restart loses nothing the candidate answered. The panel's reply to an
answer is generated between two updates: ``panelTurnDue`` is true from the stored answer
until the stored reply, so a failed or interrupted generation can be retried alone.
"""

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import urlsplit

import structlog

from mga_core.errors import GenerationFailed
from mga_core.locks import KeyedLocks
from mga_core.timestamps import seconds_until, to_storage, utc_now
from mga_events.envelope import EventEnvelope, build_event
from mga_events.schemas import (
    FinishReason,
    InterviewFinished,
    InterviewStarted,
    InvitationCancelled,
    InvitationCreated,
    InvitationExpired,
    InvitationOpened,
    InvitationUpdated,
    Panelist,
    TranscriptTurn,
)
from mga_events.types import EventType
from mga_messaging.consumer import PermanentError
from mga_simulation.errors import (
    AnswerEmpty,
    AnswerTooLong,
    ConsentRequired,
    InterviewNotRunning,
    PanelTurnFailed,
    PanelTurnPending,
    PanelUnavailable,
    SessionNotFound,
    SessionNotYetCreated,
    StaleAnswer,
    TimeUp,
    TokenTaken,
)
from mga_simulation.i18n import MAX_ANSWER_CHARACTERS, Translator, language_of
from mga_simulation.metrics import (
    GENERATION_FAILURES,
    INTERVIEWS_FINISHED,
    INTERVIEWS_RUNNING,
    INTERVIEWS_STARTED,
)
from mga_simulation.panel import PanelWriter
from mga_simulation.prompts import SpokenTurn
from mga_simulation.questions import PlannedQuestion, QuestionWriter, TurnContext
from mga_simulation.seed import InvitationFacts
from mga_simulation.store import SessionDocument, SessionStatus, SessionStore, TurnDocument

log = structlog.get_logger()

# Link tokens are URL-safe base64, and the invitation service makes them 43 characters long.
# Any other path segment gets a 404 without a database query.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{16,128}")


class OutboxFlusher(Protocol):
    async def flush(self, document_id: str) -> bool: ...


@dataclass(frozen=True)
class Engines:
    panel: PanelWriter
    questions: QuestionWriter


@dataclass(frozen=True)
class Turn:
    speaker: str  # "interviewer" or "candidate"
    name: str | None
    role: str | None
    text: str
    kind: str


@dataclass(frozen=True)
class InterviewView:
    """The data of one session that the candidate pages show."""

    invitation_id: str
    # The status the candidate sees: a pending session past its expiry shows as expired even
    # before invitation.expired arrives.
    status: SessionStatus
    livemode: bool
    language: str
    candidate_name: str
    role: str
    duration_minutes: int
    panel: list[Panelist] | None
    turns: list[Turn]
    remaining_seconds: int | None
    awaiting_panel: bool
    panel_busy: bool
    finish_reason: FinishReason | None

    @property
    def speaker(self) -> Turn | None:
        """Return the panel's latest turn, whose panelist is the one speaking."""
        return next((turn for turn in reversed(self.turns) if turn.speaker == "interviewer"), None)


def is_token_shaped(token: str) -> bool:
    return _TOKEN_SHAPE.fullmatch(token) is not None


def token_of_url(invitation_url: str) -> str:
    """Return the last path segment of a candidate link; raise ``PermanentError`` if unusable."""
    token = urlsplit(invitation_url).path.rstrip("/").rsplit("/", 1)[-1]
    if not is_token_shaped(token):
        raise PermanentError("invitationUrl does not end in a link token")
    return token


def facts_of(document: dict[str, Any]) -> InvitationFacts:
    return InvitationFacts(
        candidate_name=document["candidateName"],
        role=document["role"],
        job_posting=document["jobPosting"],
        toughness=int(document["toughness"]),
        language=language_of(document["language"]),
        duration_minutes=int(document["durationMinutes"]),
    )


def panel_of(document: dict[str, Any]) -> list[Panelist]:
    return [Panelist.model_validate(member) for member in document.get("panel") or []]


def plan_of(document: dict[str, Any]) -> list[PlannedQuestion]:
    return [
        PlannedQuestion(text=item["text"], panelist=int(item["panelist"]))
        for item in document.get("questionPlan") or []
    ]


def minutes_used(started_at: datetime, finished_at: datetime, duration_minutes: int) -> int:
    """Return the elapsed minutes rounded up, at most the duration."""
    elapsed = max(0.0, seconds_until(finished_at, started_at))
    return min(duration_minutes, math.ceil(elapsed / 60))


def _mode(livemode: bool) -> str:
    return "live" if livemode else "test"


def _interviewer_turn(member: Panelist, text: str, kind: str, at: datetime) -> TurnDocument:
    return {
        "speaker": "interviewer",
        "name": member.name,
        "role": member.role,
        "text": text,
        "kind": kind,
        "at": at,
    }


class InterviewService:
    def __init__(
        self,
        *,
        store: SessionStore,
        outbox: OutboxFlusher,
        sandbox: Engines,
        live: Engines | None,
        deadline_grace: timedelta,
        public_base_url: str,
    ) -> None:
        self._store = store
        self._outbox = outbox
        self._sandbox = sandbox
        # None when MGA_LLM_MODEL is "sandbox": live invitations then use the sandbox too.
        self._live = live
        self._grace = deadline_grace
        self._link_prefix = public_base_url.rstrip("/") + "/invite/"
        # Generation runs outside the write lock, so that a slow model never blocks the
        # outbox relay. These locks keep two requests from generating the same thing at once.
        self._generation_locks = KeyedLocks()
        self._generating: set[str] = set()

    # -----------------------------------------------------------------------------------------
    # Invitation events

    async def record_created(self, event: EventEnvelope) -> None:
        """Store a pending session for a new invitation; a second delivery changes nothing."""
        created = event.data_as(InvitationCreated)
        token = token_of_url(created.invitation_url)
        if not created.invitation_url.startswith(self._link_prefix):
            log.warning(
                "session.link_outside_public_base_url",
                invitation_id=created.invitation_id,
                public_base_url=self._link_prefix,
            )
        now = utc_now()
        document: SessionDocument = {
            "_id": created.invitation_id,
            "token": token,
            "accountId": event.account_id,
            "livemode": event.livemode,
            "correlationId": event.correlation_id,
            "status": SessionStatus.PENDING.value,
            "candidateName": created.candidate_name,
            # Kept for test mode only, where a tag in the address selects the sandbox result.
            "candidateEmail": None if event.livemode else created.candidate_email,
            "role": created.role,
            "jobPosting": created.job_posting,
            "toughness": created.toughness,
            "durationMinutes": created.duration_minutes,
            "language": created.language,
            "expiresAt": to_storage(created.expires_at),
            "metadataJson": json.dumps(created.metadata, ensure_ascii=False),
            "invitationUpdatedAt": None,
            "createdAt": now,
            "updatedAt": now,
            "openedAt": None,
            "engine": None,
            "panel": None,
            "questionPlan": None,
            "questionIndex": 0,
            "followUpsAsked": 0,
            "panelTurnDue": False,
            "turns": [],
            "consentedAt": None,
            "startedAt": None,
            "deadline": None,
            "finishedAt": None,
            "finishReason": None,
            "minutesUsed": None,
            "cancelledAt": None,
            "expiredAt": None,
            "outbox": {},
            "outboxPending": False,
        }
        try:
            inserted = await self._store.insert(document)
        except TokenTaken as exc:
            raise PermanentError(str(exc)) from None
        if inserted:
            log.info("session.created", invitation_id=created.invitation_id)
        else:
            log.info("session.create_replayed", invitation_id=created.invitation_id)

    async def record_cancelled(self, event: EventEnvelope) -> None:
        cancelled = event.data_as(InvitationCancelled)
        await self._close(
            cancelled.invitation_id,
            SessionStatus.CANCELLED,
            {"cancelledAt": to_storage(cancelled.cancelled_at)},
        )

    async def record_expired(self, event: EventEnvelope) -> None:
        expired = event.data_as(InvitationExpired)
        await self._close(
            expired.invitation_id,
            SessionStatus.EXPIRED,
            {"expiredAt": to_storage(expired.expired_at)},
        )

    async def _close(
        self, invitation_id: str, target: SessionStatus, fields: dict[str, Any]
    ) -> None:
        """Close a session that has not started; a started one keeps running."""
        async with self._store.lock(invitation_id):
            document = await self._store.get_by_id(invitation_id)
            if document is None:
                raise SessionNotYetCreated(f"no session for {invitation_id} yet")
            status = SessionStatus(document["status"])
            if status is target:
                return
            if status is not SessionStatus.PENDING:
                log.warning(
                    "session.close_skipped",
                    invitation_id=invitation_id,
                    status=status.value,
                    requested_status=target.value,
                )
                return
            await self._store.update(
                invitation_id,
                expected_status=SessionStatus.PENDING.value,
                fields={"status": target.value, "updatedAt": utc_now(), **fields},
            )
        log.info("session.closed", invitation_id=invitation_id, status=target.value)

    async def record_updated(self, event: EventEnvelope) -> None:
        """Apply a new expiry and metadata; an update older than the last one applied is skipped."""
        updated = event.data_as(InvitationUpdated)
        occurred_at = to_storage(event.occurred_at)
        async with self._store.lock(updated.invitation_id):
            document = await self._store.get_by_id(updated.invitation_id)
            if document is None:
                raise SessionNotYetCreated(f"no session for {updated.invitation_id} yet")
            last_applied = document.get("invitationUpdatedAt")
            status = document["status"]
            if (last_applied is not None and last_applied >= occurred_at) or (
                status == SessionStatus.FINISHED.value
            ):
                log.info(
                    "session.update_skipped", invitation_id=updated.invitation_id, status=status
                )
                return
            await self._store.update(
                updated.invitation_id,
                expected_status=status,
                fields={
                    "expiresAt": to_storage(updated.expires_at),
                    "metadataJson": json.dumps(updated.metadata, ensure_ascii=False),
                    "invitationUpdatedAt": occurred_at,
                    "updatedAt": utc_now(),
                },
            )
        log.info("session.updated", invitation_id=updated.invitation_id)

    # -----------------------------------------------------------------------------------------
    # The candidate's steps

    async def open(self, token: str) -> InterviewView:
        """Load the landing page's session: record the first open and prepare the panel.

        A panel that cannot be generated leaves ``panel`` empty; the page then asks the
        candidate to try again shortly.
        """
        document = await self._load(token)
        if self._effective_status(document) is SessionStatus.PENDING:
            if document.get("openedAt") is None:
                await self._mark_opened(str(document["_id"]))
            try:
                document = await self._ensure_panel(str(document["_id"]))
            except PanelUnavailable:
                document = await self._reload(document)
        else:
            document = await self._enforce_deadline(document)
        return self._view(document)

    async def view(self, token: str) -> InterviewView:
        """Load the session for the interview page, finishing it if its time is up."""
        document = await self._enforce_deadline(await self._load(token))
        return self._view(document)

    async def start(self, token: str, *, consent: bool) -> None:
        """Start the interview: the deadline runs from now and the first question is asked.

        Raises ``ConsentRequired`` without consent, ``PanelUnavailable`` when the panel or
        its questions cannot be generated (the session stays pending), and
        ``InterviewNotRunning`` for a session that can no longer start. Starting a started
        interview again changes nothing.
        """
        document = await self._load(token)
        status = self._effective_status(document)
        if status is SessionStatus.STARTED:
            return
        if status is not SessionStatus.PENDING:
            raise InterviewNotRunning()
        if not consent:
            raise ConsentRequired()

        invitation_id = str(document["_id"])
        if document.get("openedAt") is None:
            await self._mark_opened(invitation_id)
        await self._ensure_panel(invitation_id)
        await self._ensure_plan(invitation_id)

        now = utc_now()
        async with self._store.lock(invitation_id):
            current = await self._reload(document)
            status = self._effective_status(current, now)
            if status is SessionStatus.STARTED:
                return
            if status is not SessionStatus.PENDING:
                raise InterviewNotRunning()
            facts = facts_of(current)
            panel = panel_of(current)
            first = plan_of(current)[0]
            asker = panel[first.panelist]
            greeting = Translator(facts.language)(
                "opening_line", candidate=facts.candidate_name, name=asker.name, role=asker.role
            )
            started = self._event(
                current, EventType.INTERVIEW_STARTED,
                InterviewStarted(invitation_id=invitation_id, started_at=now), now,
            )  # fmt: skip
            await self._store.update(
                invitation_id,
                expected_status=SessionStatus.PENDING.value,
                fields={
                    "status": SessionStatus.STARTED.value,
                    "consentedAt": now,
                    "startedAt": now,
                    "deadline": now + timedelta(minutes=facts.duration_minutes),
                    "questionIndex": 0,
                    "followUpsAsked": 0,
                    "panelTurnDue": False,
                    "updatedAt": now,
                },
                events=(started,),
                turn=_interviewer_turn(asker, f"{greeting} {first.text}", "question", now),
            )
        INTERVIEWS_STARTED.labels(_mode(current["livemode"])).inc()
        log.info("interview.started", invitation_id=invitation_id)
        await self._outbox.flush(invitation_id)

    async def answer(self, token: str, text: str, *, expected_turns: int | None = None) -> None:
        """Store the candidate's answer, then the panel's reply to it.

        ``expected_turns`` is the number of turns the candidate's page showed; a different
        number means the form was sent twice or for an older state, and raises
        ``StaleAnswer``. An answer after the deadline is not stored: the interview finishes
        and ``TimeUp`` is raised. ``PanelTurnFailed`` means the answer is stored but the
        panel's reply could not be generated; ``retry`` generates it again.
        """
        # Browsers send line breaks as CRLF but count them as one character in maxlength.
        text = text.replace("\r\n", "\n").strip()
        if not text:
            raise AnswerEmpty()
        if len(text) > MAX_ANSWER_CHARACTERS:
            raise AnswerTooLong()

        document = await self._load(token)
        invitation_id = str(document["_id"])
        now = utc_now()
        async with self._store.lock(invitation_id):
            current = await self._reload(document)
            if current["status"] != SessionStatus.STARTED.value:
                raise InterviewNotRunning()
            time_up = current["deadline"] <= now
            if time_up:
                finished = await self._finish_locked(current, FinishReason.TIME_UP, now)
            elif current.get("panelTurnDue"):
                raise PanelTurnPending()
            elif expected_turns is not None and expected_turns != len(current["turns"]):
                raise StaleAnswer()
            else:
                candidate_turn: TurnDocument = {
                    "speaker": "candidate", "name": None, "role": None,
                    "text": text, "kind": "answer", "at": now,
                }  # fmt: skip
                await self._store.update(
                    invitation_id,
                    expected_status=SessionStatus.STARTED.value,
                    fields={"panelTurnDue": True, "updatedAt": now},
                    turn=candidate_turn,
                    expected_turns=len(current["turns"]),
                )
        if time_up:
            if finished:
                await self._after_finish(current, FinishReason.TIME_UP)
            raise TimeUp()
        log.info("interview.answer_stored", invitation_id=invitation_id)
        await self._reply(invitation_id)

    async def retry(self, token: str) -> None:
        """Generate the panel's reply to the stored answer again; raise ``PanelTurnFailed``."""
        document = await self._enforce_deadline(await self._load(token))
        if document["status"] != SessionStatus.STARTED.value:
            raise InterviewNotRunning()
        await self._reply(str(document["_id"]))

    async def finish(self, token: str) -> None:
        """End the interview at the candidate's request; a finished one stays as it is."""
        document = await self._load(token)
        invitation_id = str(document["_id"])
        now = utc_now()
        async with self._store.lock(invitation_id):
            current = await self._reload(document)
            if current["status"] == SessionStatus.FINISHED.value:
                return
            if current["status"] != SessionStatus.STARTED.value:
                raise InterviewNotRunning()
            reason = (
                FinishReason.TIME_UP if current["deadline"] <= now
                else FinishReason.CANDIDATE_FINISHED
            )  # fmt: skip
            finished = await self._finish_locked(current, reason, now)
        if finished:
            await self._after_finish(current, reason)

    async def finish_overdue(self) -> int:
        """Finish every started session whose deadline plus grace has passed; return the count.

        The reason is ``abandoned`` when the candidate never answered, else ``time_up``.
        """
        finished_count = 0
        now = utc_now()
        cutoff = now - self._grace
        for invitation_id in await self._store.due_for_finish(cutoff):
            async with self._store.lock(invitation_id):
                current = await self._store.get_by_id(invitation_id)
                if (
                    current is None
                    or current["status"] != SessionStatus.STARTED.value
                    or current["deadline"] > cutoff
                ):
                    continue
                answered = any(turn["speaker"] == "candidate" for turn in current["turns"])
                reason = FinishReason.TIME_UP if answered else FinishReason.ABANDONED
                finished = await self._finish_locked(current, reason, now)
            if finished:
                finished_count += 1
                await self._after_finish(current, reason)
        INTERVIEWS_RUNNING.set(await self._store.count_running())
        return finished_count

    # -----------------------------------------------------------------------------------------
    # Steps shared by the above

    async def _load(self, token: str) -> dict[str, Any]:
        if not is_token_shaped(token):
            raise SessionNotFound()
        document = await self._store.get_by_token(token)
        if document is None:
            raise SessionNotFound()
        return document

    async def _reload(self, document: dict[str, Any]) -> dict[str, Any]:
        current = await self._store.get_by_id(str(document["_id"]))
        if current is None:
            raise SessionNotFound()
        return current

    def _effective_status(
        self, document: dict[str, Any], now: datetime | None = None
    ) -> SessionStatus:
        status = SessionStatus(document["status"])
        if status is SessionStatus.PENDING and document["expiresAt"] <= (now or utc_now()):
            return SessionStatus.EXPIRED
        return status

    def _engines(self, document: dict[str, Any]) -> tuple[str, Engines]:
        """Return the engine that generates for this session: fixed once its panel exists."""
        engine = document.get("engine")
        if engine is None:
            engine = "llm" if document["livemode"] and self._live is not None else "sandbox"
        if engine == "llm" and self._live is not None:
            return engine, self._live
        return "sandbox", self._sandbox

    def _event(
        self,
        document: dict[str, Any],
        event_type: EventType,
        data: Any,
        now: datetime,
    ) -> EventEnvelope:
        return build_event(
            event_type,
            data,
            account_id=document["accountId"],
            livemode=document["livemode"],
            correlation_id=document["correlationId"],
            occurred_at=now,
        )

    async def _mark_opened(self, invitation_id: str) -> None:
        """Record the first open of the link and publish ``invitation.opened``, once."""
        now = utc_now()
        async with self._store.lock(invitation_id):
            current = await self._store.get_by_id(invitation_id)
            if (
                current is None
                or current.get("openedAt") is not None
                or current["status"] != SessionStatus.PENDING.value
            ):
                return
            opened = self._event(
                current, EventType.INVITATION_OPENED,
                InvitationOpened(invitation_id=invitation_id, opened_at=now), now,
            )  # fmt: skip
            await self._store.update(
                invitation_id,
                expected_status=SessionStatus.PENDING.value,
                fields={"openedAt": now, "updatedAt": now},
                events=(opened,),
            )
        log.info("session.opened", invitation_id=invitation_id)
        await self._outbox.flush(invitation_id)

    async def _ensure_panel(self, invitation_id: str) -> dict[str, Any]:
        """Generate and store the panel unless it exists; raise ``PanelUnavailable``."""
        async with self._generation_locks.hold(invitation_id):
            document = await self._store.get_by_id(invitation_id)
            if document is None:
                raise SessionNotFound()
            if document.get("panel"):
                return document
            engine_name, engines = self._engines(document)
            try:
                panel = await engines.panel.write_panel(facts_of(document))
            except GenerationFailed:
                GENERATION_FAILURES.labels("panel").inc()
                log.warning("panel.generation_failed", invitation_id=invitation_id)
                raise PanelUnavailable() from None
            async with self._store.lock(invitation_id):
                current = await self._reload(document)
                await self._store.update(
                    invitation_id,
                    expected_status=current["status"],
                    fields={
                        "panel": [member.model_dump() for member in panel],
                        "engine": engine_name,
                        "updatedAt": utc_now(),
                    },
                )
        log.info("panel.generated", invitation_id=invitation_id, engine=engine_name)
        return await self._reload(document)

    async def _ensure_plan(self, invitation_id: str) -> None:
        """Generate and store the question plan unless it exists; raise ``PanelUnavailable``."""
        async with self._generation_locks.hold(invitation_id):
            document = await self._store.get_by_id(invitation_id)
            if document is None:
                raise SessionNotFound()
            if document.get("questionPlan"):
                return
            engine_name, engines = self._engines(document)
            try:
                plan = await engines.questions.write_plan(facts_of(document), panel_of(document))
            except GenerationFailed:
                GENERATION_FAILURES.labels("question_plan").inc()
                log.warning("question_plan.generation_failed", invitation_id=invitation_id)
                raise PanelUnavailable() from None
            async with self._store.lock(invitation_id):
                current = await self._reload(document)
                await self._store.update(
                    invitation_id,
                    expected_status=current["status"],
                    fields={
                        "questionPlan": [
                            {"text": item.text, "panelist": item.panelist} for item in plan
                        ],
                        "updatedAt": utc_now(),
                    },
                )
        log.info("question_plan.generated", invitation_id=invitation_id, engine=engine_name)

    async def _reply(self, invitation_id: str) -> None:
        """Generate and store the panel's turn after the stored answer, if it is still due."""
        async with self._generation_locks.hold(invitation_id):
            document = await self._store.get_by_id(invitation_id)
            if (
                document is None
                or document["status"] != SessionStatus.STARTED.value
                or not document.get("panelTurnDue")
            ):
                return
            context = self._turn_context(document)
            _engine_name, engines = self._engines(document)
            self._generating.add(invitation_id)
            try:
                next_turn = await engines.questions.write_next_turn(context)
            except GenerationFailed:
                GENERATION_FAILURES.labels("next_turn").inc()
                log.warning("interview.turn_generation_failed", invitation_id=invitation_id)
                raise PanelTurnFailed() from None
            finally:
                self._generating.discard(invitation_id)

            now = utc_now()
            closing = False
            async with self._store.lock(invitation_id):
                current = await self._reload(document)
                if (
                    current["status"] != SessionStatus.STARTED.value
                    or not current.get("panelTurnDue")
                    or len(current["turns"]) != len(document["turns"])
                ):
                    return  # finished or answered meanwhile; this reply is no longer wanted
                following = context.next_question
                if next_turn.follow_up:
                    turn = _interviewer_turn(
                        context.current_asker, next_turn.text, "follow_up", now
                    )
                    fields = {"followUpsAsked": context.follow_ups_asked + 1}
                elif next_turn.text and following is not None:
                    turn = _interviewer_turn(
                        context.panel[following.panelist], next_turn.text, "question", now
                    )
                    fields = {"questionIndex": context.question_index + 1, "followUpsAsked": 0}
                else:
                    closing = True
                    closing_text = Translator(context.facts.language)(
                        "closing_line", candidate=context.facts.candidate_name
                    )
                    turn = _interviewer_turn(context.panel[0], closing_text, "closing", now)
                    finished = await self._finish_locked(
                        current, FinishReason.QUESTIONS_EXHAUSTED, now, closing_turn=turn
                    )
                if not closing:
                    await self._store.update(
                        invitation_id,
                        expected_status=SessionStatus.STARTED.value,
                        fields={**fields, "panelTurnDue": False, "updatedAt": now},
                        turn=turn,
                        expected_turns=len(document["turns"]),
                    )
        if not closing:
            log.info("interview.panel_turn_stored", invitation_id=invitation_id)
        elif finished:
            await self._after_finish(current, FinishReason.QUESTIONS_EXHAUSTED)

    def _turn_context(self, document: dict[str, Any]) -> TurnContext:
        return TurnContext(
            facts=facts_of(document),
            panel=panel_of(document),
            plan=plan_of(document),
            question_index=int(document.get("questionIndex") or 0),
            follow_ups_asked=int(document.get("followUpsAsked") or 0),
            turns=[
                SpokenTurn(speaker_name=turn["name"] if turn["speaker"] == "interviewer" else None,
                           text=turn["text"])
                for turn in document["turns"]
            ],
        )  # fmt: skip

    async def _enforce_deadline(self, document: dict[str, Any]) -> dict[str, Any]:
        """Finish a started session whose deadline has passed; return the current document."""
        if document["status"] != SessionStatus.STARTED.value:
            return document
        now = utc_now()
        if document["deadline"] > now:
            return document
        invitation_id = str(document["_id"])
        async with self._store.lock(invitation_id):
            current = await self._reload(document)
            finished = (
                current["status"] == SessionStatus.STARTED.value
                and await self._finish_locked(current, FinishReason.TIME_UP, now)
            )
        if finished:
            await self._after_finish(current, FinishReason.TIME_UP)
        return await self._reload(document)

    async def _finish_locked(
        self,
        document: dict[str, Any],
        reason: FinishReason,
        now: datetime,
        *,
        closing_turn: TurnDocument | None = None,
    ) -> bool:
        """Finish a started session and queue ``interview.finished``; the caller holds the lock."""
        invitation_id = str(document["_id"])
        facts = facts_of(document)
        turns: list[dict[str, Any]] = list(document["turns"])
        if closing_turn is not None:
            turns.append(dict(closing_turn))
        used = minutes_used(document["startedAt"], now, facts.duration_minutes)
        finished = InterviewFinished(
            invitation_id=invitation_id,
            finished_at=now,
            started_at=document["startedAt"],
            minutes_used=used,
            reason=reason,
            candidate_name=facts.candidate_name,
            role=facts.role,
            job_posting=facts.job_posting,
            toughness=facts.toughness,
            language=facts.language,
            panel=panel_of(document),
            transcript=[
                TranscriptTurn(speaker=turn["speaker"], name=turn["name"], text=turn["text"])
                for turn in turns
            ],
            metadata=json.loads(document["metadataJson"]),
            candidate_email=document.get("candidateEmail"),
        )
        return await self._store.update(
            invitation_id,
            expected_status=SessionStatus.STARTED.value,
            fields={
                "status": SessionStatus.FINISHED.value,
                "finishedAt": now,
                "finishReason": reason.value,
                "minutesUsed": used,
                "panelTurnDue": False,
                "updatedAt": now,
            },
            events=(self._event(document, EventType.INTERVIEW_FINISHED, finished, now),),
            turn=closing_turn,
            expected_turns=len(document["turns"]),
        )

    async def _after_finish(self, document: dict[str, Any], reason: FinishReason) -> None:
        invitation_id = str(document["_id"])
        INTERVIEWS_FINISHED.labels(reason.value, _mode(document["livemode"])).inc()
        log.info("interview.finished", invitation_id=invitation_id, reason=reason.value)
        await self._outbox.flush(invitation_id)

    def _view(self, document: dict[str, Any]) -> InterviewView:
        status = self._effective_status(document)
        remaining = None
        if status is SessionStatus.STARTED:
            remaining = max(0, math.ceil(seconds_until(document["deadline"], utc_now())))
        reason = document.get("finishReason")
        return InterviewView(
            invitation_id=str(document["_id"]),
            status=status,
            livemode=bool(document["livemode"]),
            language=language_of(document["language"]),
            candidate_name=document["candidateName"],
            role=document["role"],
            duration_minutes=int(document["durationMinutes"]),
            panel=panel_of(document) or None,
            turns=[
                Turn(turn["speaker"], turn["name"], turn.get("role"), turn["text"], turn["kind"])
                for turn in document.get("turns") or []
            ],
            remaining_seconds=remaining,
            awaiting_panel=bool(document.get("panelTurnDue")),
            panel_busy=str(document["_id"]) in self._generating,
            finish_reason=FinishReason(reason) if reason else None,
        )

