"""The server keeps the deadline: late answers are refused, and the sweep ends interviews."""

from datetime import timedelta

import pytest

from mga_core.timestamps import utc_now
from mga_messaging.topology import Consumer
from tests.simulation.conftest import Invitation, SimulationStack, running_simulation
from tests.simulation.flow import DETAILED_ANSWERS, open_landing, send_answer, start


async def _started(simulation: SimulationStack, **fields: object) -> Invitation:
    invitation = await simulation.invite(**fields)
    await open_landing(simulation, invitation)
    await start(simulation, invitation)
    return invitation


async def _move_deadline(
    simulation: SimulationStack, invitation: Invitation, *, started_minutes_ago: float
) -> None:
    """Pretend the interview started earlier, as if its time had run with no browser open."""
    session = await simulation.session(invitation.id)
    assert session is not None
    started_at = utc_now() - timedelta(minutes=started_minutes_ago)
    await simulation.db.interview_sessions.update_one(
        {"_id": invitation.id},
        {
            "$set": {
                "startedAt": started_at,
                "deadline": started_at + timedelta(minutes=session["durationMinutes"]),
            }
        },
    )


async def test_sweep_finishes_an_interview_with_no_browser(simulation: SimulationStack) -> None:
    invitation = await _started(simulation)
    await send_answer(simulation, invitation, DETAILED_ANSWERS[0])

    await _move_deadline(simulation, invitation, started_minutes_ago=40)
    finished = await simulation.events(Consumer.SCORING, expect=1)

    session = await simulation.session(invitation.id)
    assert [event["type"] for event in finished] == ["interview.finished"]
    assert finished[0]["data"]["reason"] == "time_up"
    assert finished[0]["data"]["minutesUsed"] == 30  # 40 minutes elapsed, capped at the duration
    assert len(finished[0]["data"]["transcript"]) == 3
    assert session is not None
    assert session["status"] == "finished"
    assert session["finishReason"] == "time_up"
    assert session["minutesUsed"] == 30


async def test_sweep_marks_unanswered_interview_abandoned(simulation: SimulationStack) -> None:
    invitation = await _started(simulation, duration_minutes=10)

    await _move_deadline(simulation, invitation, started_minutes_ago=10.5)
    finished = await simulation.events(Consumer.SCORING, expect=1)

    assert [event["data"]["reason"] for event in finished] == ["abandoned"]
    assert finished[0]["data"]["minutesUsed"] == 10


async def test_sweep_leaves_running_interviews_alone(simulation: SimulationStack) -> None:
    invitation = await _started(simulation)

    finished = await simulation.events(Consumer.SCORING, expect=1, wait=1.5)

    session = await simulation.session(invitation.id)
    assert finished == []
    assert session is not None
    assert session["status"] == "started"


@pytest.fixture
async def patient_simulation():  # type: ignore[no-untyped-def]
    """A service whose sweep waits long after the deadline, so requests meet it first."""
    async with running_simulation(deadline_grace=timedelta(minutes=10)) as running:
        yield running


@pytest.mark.parametrize(
    ("language", "message"),
    [
        ("en", "The time for this interview is up. Your last answer arrived after the end and "
               "was not saved."),
        ("de", "Die Zeit für dieses Interview ist abgelaufen. Ihre letzte Antwort ist nach dem "
               "Ende eingegangen und wurde nicht gespeichert."),
    ],
)  # fmt: skip
async def test_answer_after_deadline_is_refused(
    patient_simulation: SimulationStack, language: str, message: str
) -> None:
    simulation = patient_simulation
    invitation = await _started(simulation, language=language, duration_minutes=5)
    await _move_deadline(simulation, invitation, started_minutes_ago=6)

    response = await simulation.http.post(
        f"{invitation.path}/answers", json={"answer": "Just in time?", "turn": 1}
    )
    finished = await simulation.events(Consumer.SCORING, expect=1)

    session = await simulation.session(invitation.id)
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "time_up", "message": message}
    assert response.json()["state"]["status"] == "finished"
    assert session is not None
    assert session["status"] == "finished"
    assert session["finishReason"] == "time_up"
    assert [turn["speaker"] for turn in session["turns"]] == ["interviewer"]
    assert [event["data"]["reason"] for event in finished] == ["time_up"]
    assert finished[0]["data"]["minutesUsed"] == 5


async def test_late_form_answer_shows_time_up_page(patient_simulation: SimulationStack) -> None:
    simulation = patient_simulation
    invitation = await _started(simulation)
    await _move_deadline(simulation, invitation, started_minutes_ago=31)

    response = await send_answer(simulation, invitation, DETAILED_ANSWERS[0])

    assert response.status_code == 200
    assert "Interview complete" in response.text
    assert "Your last answer arrived after the end and was not saved." in response.text


async def test_state_poll_after_deadline_ends_interview(patient_simulation: SimulationStack) -> None:
    simulation = patient_simulation
    invitation = await _started(simulation)
    await _move_deadline(simulation, invitation, started_minutes_ago=30.1)

    state = (await simulation.http.get(f"{invitation.path}/state")).json()
    page = await simulation.http.get(f"{invitation.path}/interview")

    assert state["status"] == "finished"
    assert state["finishReason"] == "time_up"
    assert state["remainingSeconds"] is None
    assert "The interview ended because the time was up." in page.text


async def test_finish_counts_started_minutes(simulation: SimulationStack) -> None:
    invitation = await _started(simulation)
    await _move_deadline(simulation, invitation, started_minutes_ago=12.2)

    await simulation.http.post(f"{invitation.path}/finish")
    finished = await simulation.events(Consumer.SCORING, expect=1)

    assert finished[0]["data"]["reason"] == "candidate_finished"
    assert finished[0]["data"]["minutesUsed"] == 13
