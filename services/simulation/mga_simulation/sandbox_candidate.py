"""Playing the candidate's part of a test-mode interview, for the API's test helpers.

The helpers run the real interview steps (open, start, answer, finish) on the session, so
integrators receive exactly the events a candidate on the hosted page would cause. The
answers are scripted, in the invitation's language, so the result is deterministic.
"""

import asyncio
from typing import Literal

import structlog

from mga_core.errors import ApiError, Forbidden, NotFound
from mga_events.commands import AdvanceInterview
from mga_simulation.errors import InterviewNotRunning
from mga_simulation.service import InterviewService
from mga_simulation.store import SessionStatus, SessionStore

log = structlog.get_logger()

# How long to wait for the session when the invitation was created a moment ago.
_SESSION_WAIT_SECONDS = 5.0
_POLL_SECONDS = 0.1
# Answers given at most; a scripted interview ends long before.
_MAX_ANSWERS = 40

SCRIPTED_ANSWERS: dict[str, list[str]] = {
    "en": [
        "First, I would clarify the goal and the metric that matters, because that decides "
        "the trade-offs. In my last role I led a team of five and we measured a 12% gain.",
        "I would split the problem into parts, test the riskiest assumption first and decide "
        "with data. For example, we ran an experiment before changing the checkout.",
        "When stakeholders disagreed, I aligned them on the customer problem and owned the "
        "decision. Then we reviewed the outcome together after two weeks.",
    ],
    "de": [
        "Erstens würde ich das Ziel und die entscheidende Kennzahl klären, weil das die "
        "Abwägungen bestimmt. In meiner letzten Rolle leitete ich ein Team von fünf Personen.",
        "Ich würde das Problem zerlegen, die riskanteste Annahme zuerst testen und mit Daten "
        "entscheiden. Zum Beispiel haben wir ein Experiment durchgeführt.",
        "Wenn Stakeholder uneinig waren, habe ich sie auf das Kundenproblem ausgerichtet und "
        "die Entscheidung verantwortet. Danach haben wir das Ergebnis gemeinsam geprüft.",
    ],
}


class InvitationNotAdvanceable(ApiError):
    status = 409
    code = "invitation_not_pending"
    default_message = "The interview can no longer be advanced: it has ended or was closed."


async def _session(store: SessionStore, command: AdvanceInterview) -> dict[str, object]:
    deadline = asyncio.get_running_loop().time() + _SESSION_WAIT_SECONDS
    while True:
        session = await store.get_by_id(command.invitation_id)
        if session is not None or asyncio.get_running_loop().time() > deadline:
            break
        await asyncio.sleep(_POLL_SECONDS)
    context = command.context
    if session is None or session["accountId"] != context.account_id or session["livemode"]:
        raise NotFound(f"No invitation with id '{command.invitation_id}'.", param="id")
    return session


async def advance(
    service: InterviewService, store: SessionStore, command: AdvanceInterview
) -> dict[str, object]:
    """Take the session of a test-mode invitation up to ``command.step``."""
    if command.context.livemode:
        raise Forbidden("Test helpers are only available with test keys (mga_test_...).")
    session = await _session(store, command)
    if session["status"] not in (SessionStatus.PENDING.value, SessionStatus.STARTED.value):
        raise InvitationNotAdvanceable(
            f"The interview is {session['status']} and can no longer be advanced."
        )
    token = str(session["token"])
    step: Literal["open", "start", "complete"] = command.step
    try:
        await service.open(token)
        if step in ("start", "complete"):
            await service.start(token, consent=True)
        if step == "complete":
            await _answer_until_finished(service, token, str(session["language"]))
    except InterviewNotRunning as exc:
        raise InvitationNotAdvanceable() from exc
    log.info("interview.advanced", invitation_id=command.invitation_id, step=step)
    return {"id": command.invitation_id}


async def _answer_until_finished(service: InterviewService, token: str, language: str) -> None:
    answers = SCRIPTED_ANSWERS.get(language, SCRIPTED_ANSWERS["en"])
    for index in range(_MAX_ANSWERS):
        view = await service.view(token)
        if view.status is not SessionStatus.STARTED:
            return
        await service.answer(token, answers[index % len(answers)])
    await service.finish(token)
