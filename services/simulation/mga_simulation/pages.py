"""Rendering of the candidate pages (Jinja2, autoescaped) and of the JSON state the page polls.

Names, roles, job postings and answers reach the templates only as variables, never as
template source, so text like ``{{ 7*7 }}`` stays literal, and autoescaping turns ``<`` into
``&lt;``. The JSON state is inserted by the page's script with ``textContent`` only.
"""

from dataclasses import dataclass
from typing import Any

from fastapi.responses import HTMLResponse
from jinja2 import Environment, PackageLoader, StrictUndefined

from mga_simulation.i18n import MAX_ANSWER_CHARACTERS, Translator, language_of
from mga_simulation.service import InterviewView
from mga_simulation.store import SessionStatus

_TEMPLATES = Environment(
    loader=PackageLoader("mga_simulation", "templates"),
    autoescape=True,
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


@dataclass(frozen=True)
class InvitePaths:
    """The URLs of one invitation's pages; the token is URL-safe, so it needs no quoting."""

    token: str

    @property
    def landing(self) -> str:
        return f"/invite/{self.token}"

    @property
    def start(self) -> str:
        return f"{self.landing}/start"

    @property
    def interview(self) -> str:
        return f"{self.landing}/interview"

    @property
    def answers(self) -> str:
        return f"{self.landing}/answers"

    @property
    def retry(self) -> str:
        return f"{self.landing}/retry"

    @property
    def finish(self) -> str:
        return f"{self.landing}/finish"

    @property
    def state(self) -> str:
        return f"{self.landing}/state"


def format_clock(seconds: int | None) -> str:
    """Format remaining seconds as ``m:ss``, or ``h:mm:ss`` from one hour on."""
    seconds = max(0, seconds or 0)
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours}:{minutes:02d}:{seconds:02d}"
    return f"{minutes}:{seconds:02d}"


def initials(name: str) -> str:
    parts = [part for part in name.split() if part[:1].isalpha()]
    return "".join(part[0] for part in (parts[:1] + parts[-1:] if len(parts) > 1 else parts)).upper()


def _render(template: str, *, language: str, status_code: int, **context: Any) -> HTMLResponse:
    translator = Translator(language_of(language))
    html = _TEMPLATES.get_template(template).render(
        t=translator,
        lang=translator.language,
        max_answer=MAX_ANSWER_CHARACTERS,
        format_clock=format_clock,
        initials=initials,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def landing(
    view: InterviewView, paths: InvitePaths, *, error_key: str | None = None, status_code: int = 200
) -> HTMLResponse:
    translator = Translator(language_of(view.language))
    return _render(
        "landing.html",
        language=view.language,
        status_code=status_code,
        view=view,
        paths=paths,
        error=translator(error_key) if error_key else None,
    )


def interview(
    view: InterviewView,
    paths: InvitePaths,
    *,
    error_key: str | None = None,
    draft: str = "",
    status_code: int = 200,
) -> HTMLResponse:
    translator = Translator(language_of(view.language))
    if error_key is None and view.awaiting_panel and not view.panel_busy:
        error_key = "panel_turn_failed"
    return _render(
        "interview.html",
        language=view.language,
        status_code=status_code,
        view=view,
        paths=paths,
        speaker=view.speaker,
        error=translator(error_key) if error_key else None,
        draft=draft,
    )


# The page and HTTP status for each status in which the interview can no longer be taken.
_CLOSED_PAGES: dict[SessionStatus, tuple[str, str, int]] = {
    SessionStatus.FINISHED: ("completed_title", "completed_text", 200),
    SessionStatus.EXPIRED: ("expired_title", "expired_text", 410),
    SessionStatus.CANCELLED: ("cancelled_title", "cancelled_text", 410),
}


def closed(view: InterviewView, *, note_key: str | None = None) -> HTMLResponse:
    """Render the page of a finished, expired or cancelled interview."""
    title_key, text_key, status_code = _CLOSED_PAGES[view.status]
    if note_key is None and view.finish_reason is not None and view.finish_reason.value == "time_up":
        note_key = "completed_time_up"
    return _render(
        "closed.html",
        language=view.language,
        status_code=status_code,
        view=view,
        title_key=title_key,
        text_key=text_key,
        note_key=note_key,
        finished=view.status is SessionStatus.FINISHED,
    )


def not_found() -> HTMLResponse:
    """Render the 404 page in English and German: the invitation's language is unknown."""
    return _render(
        "not_found.html",
        language="en",
        status_code=404,
        german=Translator("de"),
    )


def state_json(view: InterviewView) -> dict[str, Any]:
    speaker = view.speaker
    return {
        "status": view.status.value,
        "remainingSeconds": view.remaining_seconds,
        "awaitingPanel": view.awaiting_panel,
        "panelBusy": view.panel_busy,
        "finishReason": view.finish_reason.value if view.finish_reason else None,
        "turnCount": len(view.turns),
        "speaker": {"name": speaker.name, "role": speaker.role} if speaker else None,
        "turns": [
            {
                "speaker": turn.speaker,
                "name": turn.name,
                "role": turn.role,
                "text": turn.text,
                "kind": turn.kind,
            }
            for turn in view.turns
        ],
    }
