"""The candidate pages: consent, closed and unknown invitations, headers, escaping, texts."""

import re
import secrets
import string
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from markupsafe import escape

from mga_core.timestamps import utc_now
from mga_events.envelope import build_event
from mga_events.schemas import InvitationCancelled, InvitationExpired
from mga_events.types import EventType
from mga_messaging.topology import Consumer
from mga_simulation.headers import CONTENT_SECURITY_POLICY
from mga_simulation.i18n import LANGUAGES, MESSAGES
from tests.simulation.conftest import ACCOUNT_ID, Invitation, SimulationStack
from tests.simulation.flow import DETAILED_ANSWERS, open_landing, send_answer, start
from tests.support import wait_for

CLOSED_TEXTS = {
    ("cancelled", "en"): "This interview was cancelled",
    ("cancelled", "de"): "Dieses Interview wurde abgesagt",
    ("expired", "en"): "This invitation has expired",
    ("expired", "de"): "Diese Einladung ist abgelaufen",
    ("finished", "en"): "Interview complete",
    ("finished", "de"): "Interview abgeschlossen",
}


async def _wait_for_status(simulation: SimulationStack, invitation: Invitation, status: str) -> None:
    async def reached() -> bool:
        session = await simulation.session(invitation.id)
        return session is not None and session["status"] == status

    await wait_for(reached)


async def _close(simulation: SimulationStack, invitation: Invitation, closed_status: str) -> None:
    """Bring the session into ``closed_status`` as the platform would."""
    now = utc_now()
    if closed_status == "cancelled":
        data = InvitationCancelled(invitation_id=invitation.id, cancelled_at=now)
        event_type = EventType.INVITATION_CANCELLED
    elif closed_status == "expired":
        data = InvitationExpired(invitation_id=invitation.id, expired_at=now)
        event_type = EventType.INVITATION_EXPIRED
    else:
        await start(simulation, invitation)
        await simulation.http.post(f"{invitation.path}/finish")
        await _wait_for_status(simulation, invitation, "finished")
        return
    event = build_event(event_type, data, account_id=ACCOUNT_ID, livemode=False, correlation_id="c")
    await simulation.publish(event)
    await _wait_for_status(simulation, invitation, closed_status)


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "Please confirm your consent to start the interview."),
        ("de", "Bitte bestätigen Sie Ihre Einwilligung, um das Interview zu starten."),
    ],
)
async def test_start_without_consent_is_refused(
    simulation: SimulationStack, language: str, message: str
) -> None:
    invitation = await simulation.invite(language=language)
    await open_landing(simulation, invitation)

    response = await simulation.http.post(f"{invitation.path}/start", data={})
    unchecked = await simulation.http.post(f"{invitation.path}/start", data={"consent": "no"})

    session = await simulation.session(invitation.id)
    events = await simulation.events(Consumer.INVITATION, expect=2, wait=1)
    assert response.status_code == 400
    assert message in response.text
    assert f'<html lang="{language}">' in response.text
    assert 'aria-invalid="true"' in response.text
    assert unchecked.status_code == 400
    assert session is not None
    assert session["status"] == "pending"
    assert session["startedAt"] is None
    assert session["turns"] == []
    assert [event["type"] for event in events] == ["invitation.opened"]


@pytest.mark.parametrize(
    "path",
    [
        "/invite/{token}",
        "/invite/{token}/interview",
        "/invite/short",
        "/invite/{token}/nothing-here",
        "/no-such-page",
    ],
)
async def test_unknown_link_shows_bilingual_not_found(simulation: SimulationStack, path: str) -> None:
    response = await simulation.http.get(path.format(token=secrets.token_urlsafe(32)))

    assert response.status_code == 404
    assert "Invitation not found" in response.text
    assert "Einladung nicht gefunden" in response.text
    assert '<section class="card closed" lang="de">' in response.text


async def test_unknown_link_state_is_json_not_found(simulation: SimulationStack) -> None:
    response = await simulation.http.get(f"/invite/{secrets.token_urlsafe(32)}/state")

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("language", ["en", "de"])
@pytest.mark.parametrize("closed_status", ["cancelled", "expired", "finished"])
async def test_closed_interview_shows_its_page(
    simulation: SimulationStack, closed_status: str, language: str
) -> None:
    invitation = await simulation.invite(language=language)
    await open_landing(simulation, invitation)
    await _close(simulation, invitation, closed_status)

    landing = await open_landing(simulation, invitation)
    interview = await simulation.http.get(f"{invitation.path}/interview")
    start_again = await simulation.http.post(
        f"{invitation.path}/start", data={"consent": "accepted"}
    )
    session = await simulation.session(invitation.id)

    expected_status = 200 if closed_status == "finished" else 410
    assert landing.status_code == expected_status
    assert CLOSED_TEXTS[(closed_status, language)] in landing.text
    assert f'<html lang="{language}">' in landing.text
    assert 'name="consent"' not in landing.text
    assert interview.status_code == expected_status
    assert CLOSED_TEXTS[(closed_status, language)] in interview.text
    assert start_again.status_code == 303
    assert start_again.headers["location"] == invitation.path
    assert session is not None
    assert session["status"] == closed_status


@pytest.mark.parametrize("language", ["en", "de"])
async def test_invitation_past_expiry_shows_expired_page(
    simulation: SimulationStack, language: str
) -> None:
    invitation = await simulation.invite(
        language=language, expires_at=datetime.now(UTC) - timedelta(minutes=1)
    )

    landing = await open_landing(simulation, invitation)
    start_attempt = await start(simulation, invitation)
    session = await simulation.session(invitation.id)

    assert landing.status_code == 410
    assert CLOSED_TEXTS[("expired", language)] in landing.text
    assert start_attempt.status_code == 303
    assert session is not None
    assert session["status"] == "pending"
    assert session["openedAt"] is None
    assert session["startedAt"] is None


async def _every_page(simulation: SimulationStack) -> dict[str, httpx.Response]:
    pending = await simulation.invite()
    running = await simulation.invite()
    finished = await simulation.invite()
    for invitation in (pending, running, finished):
        await open_landing(simulation, invitation)
    await start(simulation, running)
    await start(simulation, finished)
    await simulation.http.post(f"{finished.path}/finish")
    http = simulation.http
    return {
        "landing": await http.get(pending.path),
        "consent error": await http.post(f"{pending.path}/start", data={}),
        "start redirect": await start(simulation, pending),
        "interview": await http.get(f"{running.path}/interview"),
        "answer error": await http.post(f"{running.path}/answers", data={"answer": ""}),
        "state": await http.get(f"{running.path}/state"),
        "json answer error": await http.post(f"{running.path}/answers", json={"answer": ""}),
        "completed": await http.get(finished.path),
        "not found": await http.get(f"/invite/{secrets.token_urlsafe(32)}"),
        "unknown path": await http.get("/nothing"),
    }


async def test_security_headers_on_every_page(simulation: SimulationStack) -> None:
    responses = await _every_page(simulation)

    for name, response in responses.items():
        headers = response.headers
        assert headers.get("content-security-policy") == CONTENT_SECURITY_POLICY, name
        assert headers.get("referrer-policy") == "no-referrer", name
        assert headers.get("x-content-type-options") == "nosniff", name
        assert headers.get("cache-control") == "no-store", name
        assert headers.get("x-frame-options") == "DENY", name


async def test_static_files_are_served_with_headers(simulation: SimulationStack) -> None:
    stylesheet = await simulation.http.get("/static/simulation.css")
    script = await simulation.http.get("/static/interview.js")

    for response in (stylesheet, script):
        assert response.status_code == 200
        assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-cache"
    assert stylesheet.headers["content-type"].startswith("text/css")
    assert "javascript" in script.headers["content-type"]
    assert "innerHTML" not in script.text


async def test_pages_load_nothing_inline_or_external(simulation: SimulationStack) -> None:
    responses = await _every_page(simulation)
    html_pages = {
        name: response.text
        for name, response in responses.items()
        if response.headers.get("content-type", "").startswith("text/html")
    }

    assert set(html_pages) >= {"landing", "interview", "completed", "not found"}
    for name, page in html_pages.items():
        assert re.search(r"<script(?![^>]*\bsrc=)", page) is None, name
        assert "<style" not in page, name
        assert " style=" not in page, name
        assert re.search(r"\son[a-z]+=", page) is None, name
        assert re.search(r"(src|href)=\"(https?:)?//", page) is None, name
        assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page, name
        assert re.search(r'<html lang="(en|de)">', page) is not None, name


async def test_form_fields_have_labels(simulation: SimulationStack) -> None:
    responses = await _every_page(simulation)

    assert '<label for="consent">' in responses["landing"].text
    assert 'id="consent"' in responses["landing"].text
    assert '<label for="answer">' in responses["interview"].text
    assert 'id="answer"' in responses["interview"].text
    assert 'maxlength="4000"' in responses["interview"].text


MARKUP = "<script>alert(1)</script> {{ 7*7 }}"
ESCAPED_MARKUP = "&lt;script&gt;alert(1)&lt;/script&gt; {{ 7*7 }}"


async def test_markup_is_shown_as_text(simulation: SimulationStack) -> None:
    invitation = await simulation.invite(
        candidate_name=MARKUP,
        role=f"Lead {MARKUP}",
        job_posting=f"We need someone to own {MARKUP} end to end. Budget: 7*7 teams.",
    )

    landing = await open_landing(simulation, invitation)
    await start(simulation, invitation)
    await send_answer(simulation, invitation, f"My answer: {MARKUP} and 12 more things")
    interview = await simulation.http.get(f"{invitation.path}/interview")
    state = (await simulation.http.get(f"{invitation.path}/state")).json()

    for page in (landing.text, interview.text):
        assert ESCAPED_MARKUP in page
        assert "<script>alert" not in page
        assert re.search(r"(?<![\w-])49(?![\w-])", page) is None  # {{ 7*7 }} not evaluated
    assert str(escape(f"My answer: {MARKUP} and 12 more things")) in interview.text
    assert state["turns"][1]["text"] == f"My answer: {MARKUP} and 12 more things"


async def test_readiness_checks_database_and_broker(simulation: SimulationStack) -> None:
    response = await simulation.http.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": True, "broker": True}}


def _placeholders(pattern: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(pattern) if name}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_message_exists_in_every_language(key: str) -> None:
    texts = MESSAGES[key]

    assert set(texts) == set(LANGUAGES)
    assert all(texts[language].strip() for language in LANGUAGES)
    assert _placeholders(texts["en"]) == _placeholders(texts["de"])


async def test_answer_after_finish_shows_completed_page(simulation: SimulationStack) -> None:
    invitation = await simulation.invite(language="de")
    await open_landing(simulation, invitation)
    await start(simulation, invitation)
    await simulation.http.post(f"{invitation.path}/finish")

    response = await send_answer(simulation, invitation, DETAILED_ANSWERS[0])

    assert response.status_code == 200
    assert "Interview abgeschlossen" in response.text
