"""Steps of an interview as a candidate's browser takes them, over plain HTML forms."""

from typing import Any

import httpx

from tests.simulation.conftest import Invitation, SimulationStack

# Answers long enough, and with numbers, that the sandbox at toughness 3 never follows up.
DETAILED_ANSWERS = [
    "In my last role I led the checkout team of 8 people. We cut payment failures by 23 "
    "percent in two quarters by rebuilding the retry logic and testing 4 new providers.",
    "I start every quarter with 12 customer interviews and a funnel review, then rank the "
    "roadmap by expected revenue impact. Last year that moved 3 large bets out of the plan.",
    "When engineering and design disagreed about a redesign, I ran a 2 week experiment with "
    "5 percent of traffic. The data settled it and both teams agreed on the next step.",
    "I once shipped a pricing change that lowered conversion by 6 percent. I rolled it back "
    "within 48 hours, wrote a post-mortem, and added a staged rollout for every price test.",
    "My colleagues would say I write clear documents and listen first. In 2023 I mentored 2 "
    "junior product managers who were both promoted within 18 months.",
    "I would spend the first 30 days with customers and the team, the next 30 on 3 quick "
    "wins, and present a 12 month roadmap with measurable goals after 90 days.",
]


def form(**fields: Any) -> dict[str, str]:
    return {key: str(value) for key, value in fields.items()}


async def open_landing(simulation: SimulationStack, invitation: Invitation) -> httpx.Response:
    return await simulation.http.get(invitation.path)


async def start(simulation: SimulationStack, invitation: Invitation) -> httpx.Response:
    return await simulation.http.post(
        f"{invitation.path}/start", data=form(consent="accepted")
    )


async def turn_count(simulation: SimulationStack, invitation: Invitation) -> int:
    session = await simulation.session(invitation.id)
    assert session is not None
    return len(session["turns"])


async def send_answer(
    simulation: SimulationStack, invitation: Invitation, text: str
) -> httpx.Response:
    """Post an answer the way the page's form does, with the turn count it showed."""
    turns = await turn_count(simulation, invitation)
    return await simulation.http.post(
        f"{invitation.path}/answers", data=form(answer=text, turn=turns)
    )


async def answer_until_finished(
    simulation: SimulationStack,
    invitation: Invitation,
    answers: list[str] = DETAILED_ANSWERS,
    *,
    max_rounds: int = 30,
) -> int:
    """Answer in turn with ``answers`` until the interview finishes; return the rounds."""
    for round_number in range(max_rounds):
        session = await simulation.session(invitation.id)
        assert session is not None
        if session["status"] == "finished":
            return round_number
        response = await send_answer(
            simulation, invitation, answers[round_number % len(answers)]
        )
        assert response.status_code == 303, response.text
    raise AssertionError(f"the interview did not finish within {max_rounds} answers")


def interviewer_texts(session: dict[str, Any]) -> list[str]:
    return [turn["text"] for turn in session["turns"] if turn["speaker"] == "interviewer"]


def candidate_texts(session: dict[str, Any]) -> list[str]:
    return [turn["text"] for turn in session["turns"] if turn["speaker"] == "candidate"]
