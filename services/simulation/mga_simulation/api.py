"""Routes of the candidate pages.

Every POST accepts a plain HTML form (the pages work without JavaScript) or a JSON body (the
page's script). The response to a form post is a redirect (303) or the page with a localized
message. The response to a JSON post is the interview state, or
``{"error": {"code", "message"}, "state"}``. No log line contains the token, so the routes log
the invitation id, which they know only once the session is loaded.
"""

import json
from urllib.parse import parse_qs

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from mga_simulation import pages
from mga_simulation.errors import (
    AnswerEmpty,
    AnswerTooLong,
    InterviewError,
    PanelTurnPending,
    PayloadTooLarge,
    SessionNotFound,
    StaleAnswer,
    TimeUp,
)
from mga_simulation.i18n import Translator, language_of
from mga_simulation.pages import InvitePaths
from mga_simulation.service import InterviewService, InterviewView
from mga_simulation.store import SessionStatus

router = APIRouter()
log = structlog.get_logger()

# Maximum request body: an answer of the maximum length in 4-byte characters, percent-encoded.
MAX_BODY_BYTES = 64 * 1024
# Errors after which the candidate's text is put back into the answer field.
_KEEP_DRAFT = (AnswerEmpty, AnswerTooLong, PanelTurnPending, PayloadTooLarge)


def _service(request: Request) -> InterviewService:
    service: InterviewService = request.app.state.runtime.service
    return service


def _wants_json(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith("application/json")


async def _read_payload(request: Request) -> dict[str, str]:
    """Read a JSON object or a URL-encoded form into strings; raise ``PayloadTooLarge``."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise PayloadTooLarge()
    if _wants_json(request):
        try:
            data = json.loads(body or b"{}")
        except ValueError:
            log.info("request.body_invalid", content_type="application/json")
            return {}
        if not isinstance(data, dict):
            log.info("request.body_invalid", content_type="application/json")
            return {}
        return {key: str(value) for key, value in data.items() if isinstance(value, (str, int))}
    try:
        fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True,
                          max_num_fields=20)
    except ValueError:
        log.info("request.body_invalid", content_type="application/x-www-form-urlencoded")
        return {}
    return {key: values[0] for key, values in fields.items()}


def _turn_number(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _json_not_found() -> JSONResponse:
    return JSONResponse(
        {"error": {"code": SessionNotFound.code, "message": Translator("en")("not_found_text")}},
        status_code=404,
    )


def _json_error(error: InterviewError, view: InterviewView) -> JSONResponse:
    message = Translator(language_of(view.language))(error.message_key)
    return JSONResponse(
        {"error": {"code": error.code, "message": message}, "state": pages.state_json(view)},
        status_code=error.status,
    )


def _page(view: InterviewView, paths: InvitePaths) -> Response:
    """Return the page for the session's status: landing, interview or the closed page."""
    if view.status is SessionStatus.PENDING:
        return _redirect(paths.landing)
    if view.status is SessionStatus.STARTED:
        return pages.interview(view, paths)
    return pages.closed(view)


@router.get("/favicon.ico", include_in_schema=False)
async def favicon() -> Response:
    """Respond to browsers' automatic icon request with 204, so their console shows no 404."""
    return Response(status_code=204)


@router.get("/invite/{token}")
async def landing(request: Request, token: str) -> Response:
    paths = InvitePaths(token)
    try:
        view = await _service(request).open(token)
    except SessionNotFound:
        return pages.not_found()
    if view.status is SessionStatus.STARTED:
        return _redirect(paths.interview)
    if view.status is SessionStatus.PENDING:
        return pages.landing(view, paths)
    return pages.closed(view)


@router.post("/invite/{token}/start")
async def start(request: Request, token: str) -> Response:
    paths = InvitePaths(token)
    service = _service(request)
    try:
        payload = await _read_payload(request)
        await service.start(token, consent=payload.get("consent") == "accepted")
    except SessionNotFound:
        return pages.not_found()
    except InterviewError as error:
        view = await service.view(token)
        log.info("interview.start_rejected", invitation_id=view.invitation_id, code=error.code)
        if view.status is not SessionStatus.PENDING:
            return _redirect(paths.landing)
        return pages.landing(view, paths, error_key=error.message_key, status_code=error.status)
    return _redirect(paths.interview)


@router.get("/invite/{token}/interview")
async def interview(request: Request, token: str) -> Response:
    paths = InvitePaths(token)
    try:
        view = await _service(request).view(token)
    except SessionNotFound:
        return pages.not_found()
    return _page(view, paths)


@router.post("/invite/{token}/answers")
async def answer(request: Request, token: str) -> Response:
    paths = InvitePaths(token)
    service = _service(request)
    text = ""
    try:
        payload = await _read_payload(request)
        text = payload.get("answer", "")
        await service.answer(token, text, expected_turns=_turn_number(payload.get("turn")))
    except SessionNotFound:
        return _json_not_found() if _wants_json(request) else pages.not_found()
    except InterviewError as error:
        return await _answer_error(request, token, error, text)
    if _wants_json(request):
        return JSONResponse(pages.state_json(await service.view(token)))
    return _redirect(paths.interview)


@router.post("/invite/{token}/retry")
async def retry(request: Request, token: str) -> Response:
    paths = InvitePaths(token)
    try:
        await _service(request).retry(token)
    except SessionNotFound:
        return _json_not_found() if _wants_json(request) else pages.not_found()
    except InterviewError as error:
        return await _answer_error(request, token, error, "")
    if _wants_json(request):
        return JSONResponse(pages.state_json(await _service(request).view(token)))
    return _redirect(paths.interview)


async def _answer_error(
    request: Request, token: str, error: InterviewError, text: str
) -> Response:
    paths = InvitePaths(token)
    view = await _service(request).view(token)
    log.info("interview.request_rejected", invitation_id=view.invitation_id, code=error.code)
    if _wants_json(request):
        return _json_error(error, view)
    if isinstance(error, StaleAnswer):
        return _redirect(paths.interview)
    if view.status is not SessionStatus.STARTED:
        if view.status is SessionStatus.PENDING:
            return _redirect(paths.landing)
        return pages.closed(view, note_key=error.message_key if isinstance(error, TimeUp) else None)
    draft = text if isinstance(error, _KEEP_DRAFT) else ""
    return pages.interview(
        view, paths, error_key=error.message_key, draft=draft, status_code=error.status
    )


@router.post("/invite/{token}/finish")
async def finish(request: Request, token: str) -> Response:
    paths = InvitePaths(token)
    service = _service(request)
    try:
        await service.finish(token)
    except SessionNotFound:
        return pages.not_found()
    except InterviewError as error:
        # The interview is not running, and the landing page shows why.
        view = await service.view(token)
        log.info("interview.finish_rejected", invitation_id=view.invitation_id, code=error.code)
    return _redirect(paths.landing)


@router.get("/invite/{token}/state")
async def state(request: Request, token: str) -> JSONResponse:
    try:
        view = await _service(request).view(token)
    except SessionNotFound:
        return _json_not_found()
    return JSONResponse(pages.state_json(view))

