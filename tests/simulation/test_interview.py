"""A sandbox interview over HTTP, from the first open of the link to interview.finished."""

import logging
from datetime import timedelta

import pytest
from markupsafe import escape
from structlog.testing import capture_logs

from mga_core.timestamps import parse_timestamp
from mga_messaging.topology import Consumer
from mga_simulation.i18n import MAX_ANSWER_CHARACTERS
from tests.simulation.conftest import INVITATION_FIELDS, SimulationStack
from tests.simulation.flow import (
    DETAILED_ANSWERS,
    answer_until_finished,
    candidate_texts,
    interviewer_texts,
    open_landing,
    send_answer,
    start,
    turn_count,
)
from tests.support import wait_for


async def test_sandbox_interview_runs_to_the_end(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()

    landing = await open_landing(simulation, invitation)
    opened = await simulation.session(invitation.id)
    assert landing.status_code == 200
    assert opened is not None
    assert opened["status"] == "pending"
    assert opened["openedAt"] is not None
    assert "Alex Chen" in landing.text
    assert "Senior Product Manager" in landing.text
    assert len(opened["panel"]) == 3
    for member in opened["panel"]:
        assert str(escape(member["name"])) in landing.text
        assert str(escape(member["role"])) in landing.text
        assert str(escape(member["focus"])) in landing.text

    started_response = await start(simulation, invitation)
    started = await simulation.session(invitation.id)
    assert started_response.status_code == 303
    assert started_response.headers["location"] == f"{invitation.path}/interview"
    assert started is not None
    assert started["status"] == "started"
    assert started["startedAt"] is not None
    assert started["deadline"] == started["startedAt"] + timedelta(minutes=30)
    assert len(started["turns"]) == 1
    assert started["turns"][0]["name"] == started["panel"][0]["name"]

    page = await simulation.http.get(f"{invitation.path}/interview")
    assert page.status_code == 200
    assert str(escape(started["turns"][0]["text"])) in page.text

    rounds = await answer_until_finished(simulation, invitation)
    finished = await simulation.session(invitation.id)
    assert finished is not None
    assert finished["status"] == "finished"
    assert finished["finishReason"] == "questions_exhausted"
    assert rounds == 5  # 30 minutes give five main questions, and no answer needed a follow-up
    assert candidate_texts(finished) == DETAILED_ANSWERS[:rounds]
    assert [turn["speaker"] for turn in finished["turns"]] == ["interviewer", "candidate"] * 5 + [
        "interviewer"
    ]
    assert finished["turns"][-1]["kind"] == "closing"
    assert finished["minutesUsed"] == 1

    to_invitation = await simulation.events(Consumer.INVITATION, expect=2)
    to_webhooks = await simulation.events(Consumer.WEBHOOK_DISPATCHER, expect=2)
    to_scoring = await simulation.events(Consumer.SCORING, expect=1)
    assert [event["type"] for event in to_invitation] == ["invitation.opened", "interview.started"]
    assert [event["type"] for event in to_webhooks] == ["invitation.opened", "interview.started"]
    assert [event["type"] for event in to_scoring] == ["interview.finished"]
    moments = [parse_timestamp(event["occurredAt"]) for event in [*to_invitation, *to_scoring]]
    assert moments == sorted(moments)
    assert all(event["accountId"] == "acct_01J0SIMULATIONTESTACCOUNT0" for event in to_invitation)
    assert all(event["livemode"] is False for event in to_invitation)

    data = to_scoring[0]["data"]
    assert data["invitationId"] == invitation.id
    assert data["reason"] == "questions_exhausted"
    assert data["minutesUsed"] == 1
    assert data["candidateName"] == "Alex Chen"
    assert data["role"] == INVITATION_FIELDS["role"]
    assert data["jobPosting"] == INVITATION_FIELDS["job_posting"]
    assert data["toughness"] == 3
    assert data["language"] == "en"
    assert data["metadata"] == INVITATION_FIELDS["metadata"]
    assert parse_timestamp(data["startedAt"]) == finished["startedAt"]
    assert parse_timestamp(data["finishedAt"]) == finished["finishedAt"]
    assert data["panel"] == finished["panel"]
    assert data["transcript"] == [
        {"speaker": "interviewer", "name": turn["name"], "text": turn["text"]}
        if turn["speaker"] == "interviewer"
        else {"speaker": "candidate", "text": turn["text"]}
        for turn in finished["turns"]
    ]

    closed_page = await open_landing(simulation, invitation)
    assert closed_page.status_code == 200
    assert "Interview complete" in closed_page.text


async def test_first_open_publishes_opened_once(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()

    for _ in range(3):
        assert (await open_landing(simulation, invitation)).status_code == 200

    events = await simulation.events(Consumer.INVITATION, expect=2, wait=2)
    assert [event["type"] for event in events] == ["invitation.opened"]


async def test_same_input_gives_same_panel_and_questions(simulation: SimulationStack) -> None:
    first = await simulation.invite()
    second = await simulation.invite()
    other = await simulation.invite(candidate_name="Mara Jovanović")

    for invitation in (first, second, other):
        await open_landing(simulation, invitation)
        await start(simulation, invitation)
        await answer_until_finished(simulation, invitation)

    first_session = await simulation.session(first.id)
    second_session = await simulation.session(second.id)
    other_session = await simulation.session(other.id)
    assert first_session is not None
    assert second_session is not None
    assert other_session is not None
    assert first_session["panel"] == second_session["panel"]
    assert first_session["questionPlan"] == second_session["questionPlan"]
    assert interviewer_texts(first_session) == interviewer_texts(second_session)
    assert other_session["panel"] != first_session["panel"]


async def test_questions_quote_the_job_posting(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()
    await open_landing(simulation, invitation)
    await start(simulation, invitation)

    session = await simulation.session(invitation.id)
    assert session is not None
    quoting = [item["text"] for item in session["questionPlan"] if "“" in item["text"]]
    assert len(quoting) >= 2
    for question in quoting:
        quoted = question.split("“", 1)[1].split("”", 1)[0]
        assert quoted in INVITATION_FIELDS["job_posting"]


async def test_german_sandbox_interview_is_german(simulation: SimulationStack) -> None:
    invitation = await simulation.invite(language="de")
    landing = await open_landing(simulation, invitation)
    await start(simulation, invitation)

    session = await simulation.session(invitation.id)
    page = await simulation.http.get(f"{invitation.path}/interview")
    assert session is not None
    assert 'lang="de"' in landing.text
    assert "Ihr Interview-Panel" in landing.text
    assert "Ich bin damit einverstanden" in landing.text
    assert session["turns"][0]["text"].startswith("Guten Tag Alex Chen")
    assert "Verbleibende Zeit" in page.text
    assert "Antwort senden" in page.text


async def test_reload_resumes_the_interview(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()
    await open_landing(simulation, invitation)
    await start(simulation, invitation)
    await send_answer(simulation, invitation, DETAILED_ANSWERS[0])
    await send_answer(simulation, invitation, DETAILED_ANSWERS[1])

    landing = await open_landing(simulation, invitation)
    page = await simulation.http.get(f"{invitation.path}/interview")
    state = (await simulation.http.get(f"{invitation.path}/state")).json()
    session = await simulation.session(invitation.id)

    assert session is not None
    assert landing.status_code == 303
    assert landing.headers["location"] == f"{invitation.path}/interview"
    assert page.status_code == 200
    for turn in session["turns"]:
        assert str(escape(turn["text"])) in page.text
    assert state["status"] == "started"
    assert state["turnCount"] == 5
    assert [turn["text"] for turn in state["turns"]] == [turn["text"] for turn in session["turns"]]
    assert state["speaker"]["name"] == session["turns"][-1]["name"]
    assert 0 < state["remainingSeconds"] <= 30 * 60


async def test_candidate_can_finish_early(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()
    await open_landing(simulation, invitation)
    await start(simulation, invitation)
    await send_answer(simulation, invitation, DETAILED_ANSWERS[0])

    finish = await simulation.http.post(f"{invitation.path}/finish")
    late_answer = await simulation.http.post(
        f"{invitation.path}/answers", json={"answer": "One more thing.", "turn": 3}
    )
    session = await simulation.session(invitation.id)
    events = await simulation.events(Consumer.SCORING, expect=1)

    assert finish.status_code == 303
    assert session is not None
    assert session["status"] == "finished"
    assert session["finishReason"] == "candidate_finished"
    assert len(session["turns"]) == 3
    assert late_answer.status_code == 409
    assert late_answer.json()["error"]["code"] == "interview_not_running"
    assert [event["data"]["reason"] for event in events] == ["candidate_finished"]
    assert len(events[0]["data"]["transcript"]) == 3


async def test_json_answers_return_the_state(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()
    await open_landing(simulation, invitation)
    await start(simulation, invitation)

    response = await simulation.http.post(
        f"{invitation.path}/answers", json={"answer": DETAILED_ANSWERS[0], "turn": 1}
    )

    state = response.json()
    assert response.status_code == 200
    assert state["status"] == "started"
    assert state["turnCount"] == 3
    assert state["turns"][1] == {
        "speaker": "candidate",
        "name": None,
        "role": None,
        "text": DETAILED_ANSWERS[0],
        "kind": "answer",
    }
    assert state["turns"][2]["speaker"] == "interviewer"
    assert state["awaitingPanel"] is False


@pytest.mark.parametrize(
    ("language", "text", "code", "message"),
    [
        ("en", "   \n ", "answer_empty", "Please write an answer before sending it."),
        ("de", "", "answer_empty", "Bitte schreiben Sie eine Antwort, bevor Sie sie senden."),
        ("en", "x" * (MAX_ANSWER_CHARACTERS + 1), "answer_too_long",
         "Your answer is too long. Please shorten it to at most 4000 characters."),
        ("de", "ü" * (MAX_ANSWER_CHARACTERS + 1), "answer_too_long",
         "Ihre Antwort ist zu lang. Bitte kürzen Sie sie auf höchstens 4000 Zeichen."),
    ],
    ids=["empty-en", "empty-de", "too-long-en", "too-long-de"],
)  # fmt: skip
async def test_invalid_answer_is_rejected_localized(
    simulation: SimulationStack, language: str, text: str, code: str, message: str
) -> None:
    invitation = await simulation.invite(language=language)
    await open_landing(simulation, invitation)
    await start(simulation, invitation)

    as_json = await simulation.http.post(
        f"{invitation.path}/answers", json={"answer": text, "turn": 1}
    )
    as_form = await simulation.http.post(
        f"{invitation.path}/answers", data={"answer": text, "turn": "1"}
    )

    assert as_json.status_code == 400
    assert as_json.json()["error"] == {"code": code, "message": message}
    assert as_form.status_code == 400
    assert str(escape(message)) in as_form.text
    assert await turn_count(simulation, invitation) == 1


async def test_answer_of_maximum_length_is_accepted(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()
    await open_landing(simulation, invitation)
    await start(simulation, invitation)
    text = ("Wir haben 12 Größen geprüft. " * 200)[:MAX_ANSWER_CHARACTERS]

    response = await send_answer(simulation, invitation, text)

    session = await simulation.session(invitation.id)
    assert response.status_code == 303
    assert session is not None
    assert session["turns"][1]["text"] == text.strip()


async def test_double_submitted_form_stores_one_answer(simulation: SimulationStack) -> None:
    invitation = await simulation.invite()
    await open_landing(simulation, invitation)
    await start(simulation, invitation)
    form = {"answer": DETAILED_ANSWERS[0], "turn": "1"}

    first = await simulation.http.post(f"{invitation.path}/answers", data=form)
    second = await simulation.http.post(f"{invitation.path}/answers", data=form)

    session = await simulation.session(invitation.id)
    assert first.status_code == 303
    assert second.status_code == 303
    assert session is not None
    assert candidate_texts(session) == [DETAILED_ANSWERS[0]]


async def test_toughness_changes_questions_and_follow_ups(simulation: SimulationStack) -> None:
    gentle = await simulation.invite(toughness=1)
    tough = await simulation.invite(toughness=5)
    short_answer = "I led a team and we shipped it on time."  # ten words, no numbers

    for invitation in (gentle, tough):
        await open_landing(simulation, invitation)
        await start(simulation, invitation)
        await send_answer(simulation, invitation, short_answer)

    gentle_session = await simulation.session(gentle.id)
    tough_session = await simulation.session(tough.id)
    assert gentle_session is not None and tough_session is not None
    assert gentle_session["questionPlan"][0]["text"] != tough_session["questionPlan"][0]["text"]
    assert gentle_session["turns"][2]["kind"] == "question"
    assert gentle_session["turns"][2]["name"] == gentle_session["panel"][1]["name"]
    assert tough_session["turns"][2]["kind"] == "follow_up"
    assert tough_session["turns"][2]["name"] == tough_session["panel"][0]["name"]
    assert "I led a team and we shipped it" in tough_session["turns"][2]["text"]

    await send_answer(simulation, tough, "We were 3 weeks late, honestly, and I own that.")
    again = await simulation.session(tough.id)
    assert again is not None
    assert again["turns"][4]["kind"] == "follow_up"  # toughness 5 allows two per question

    await send_answer(simulation, tough, "Still short, but fine.")
    moved_on = await simulation.session(tough.id)
    assert moved_on is not None
    assert moved_on["turns"][6]["kind"] == "question"
    assert moved_on["turns"][6]["name"] == moved_on["panel"][1]["name"]


async def test_link_token_never_reaches_the_logs(
    simulation: SimulationStack, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with capture_logs() as structured:
        invitation = await simulation.invite()
        await open_landing(simulation, invitation)
        await start(simulation, invitation)
        await send_answer(simulation, invitation, "")
        await answer_until_finished(simulation, invitation)
        await simulation.http.get(f"{invitation.path}/state")
        await wait_for(lambda: simulation.events(Consumer.SCORING, expect=1))

    # uvicorn's access log contains paths, but production turns it off
    # (mga_core.logging.configure_logging and mga_core.server.serve).
    standard_lines = [
        record.getMessage() for record in caplog.records if record.name != "uvicorn.access"
    ]
    assert structured
    assert any(entry["event"] == "http.request_handled" for entry in structured)
    assert all(invitation.token not in repr(entry) for entry in structured)
    assert all(invitation.token not in line for line in standard_lines)
