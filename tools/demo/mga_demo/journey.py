"""The steps of the candidate journey, as an integrator's system and a candidate take them.

``make demo`` runs them against the local stack and the end-to-end tests run them against
processes they start, so both walk the same path. The path is: register a webhook endpoint,
invite, read the email, take the interview over the hosted page, receive the signed webhook
and read the result.
"""

import asyncio
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI, Request, Response

INVITE_LINK = re.compile(r"https?://[^\s<>\"']+/invite/[A-Za-z0-9_-]+")

JOB_POSTINGS: dict[str, str] = {
    "en": (
        "We are hiring a Senior Product Manager to lead our checkout team. You will own the "
        "payment funnel, work with engineering and design on experiments, and report "
        "conversion and revenue impact to leadership. Experience with A/B testing, "
        "stakeholder management and mentoring product managers is required."
    ),
    "de": (
        "Wir suchen eine Senior Product Managerin oder einen Senior Product Manager für unser "
        "Checkout-Team. Sie verantworten den Bezahlprozess, planen Experimente gemeinsam mit "
        "Entwicklung und Design und berichten der Geschäftsführung über Conversion und Umsatz. "
        "Erfahrung mit A/B-Tests, Stakeholder-Management und dem Coaching von "
        "Produktmanagern setzen wir voraus."
    ),
}
JOB_POSTING = JOB_POSTINGS["en"]

ANSWERS: dict[str, list[str]] = {
    "en": [
        "In my last role I led the checkout team of eight people. We cut payment failures by "
        "23 percent in two quarters, first by measuring where customers dropped off and then "
        "by testing four new payment providers.",
        "I start with the customer problem and the metric that matters, because that decides "
        "the trade-offs. For example, we chose a one-page checkout after an experiment on 5 "
        "percent of traffic showed 9 percent more completed orders.",
        "When engineering and design disagreed, I aligned both teams on the data, owned the "
        "decision and reviewed the outcome with them two weeks later.",
        "I mentored two junior product managers; both were promoted within 18 months. I "
        "coach by asking questions first and writing clear decision documents.",
    ],
    "de": [
        "In meiner letzten Rolle leitete ich das Checkout-Team mit acht Personen. Wir haben "
        "Zahlungsabbrüche in zwei Quartalen um 23 Prozent gesenkt, zuerst durch Messung der "
        "Absprungstellen und dann durch Tests mit vier neuen Zahlungsanbietern.",
        "Ich beginne mit dem Kundenproblem und der entscheidenden Kennzahl, weil das die "
        "Abwägungen bestimmt. Zum Beispiel haben wir nach einem Experiment mit 5 Prozent des "
        "Traffics einen einseitigen Checkout gewählt.",
        "Wenn Entwicklung und Design uneinig waren, habe ich beide Teams auf die Daten "
        "ausgerichtet, die Entscheidung verantwortet und das Ergebnis gemeinsam geprüft.",
        "Ich habe zwei Junior-Produktmanager begleitet; beide wurden innerhalb von 18 Monaten "
        "befördert. Ich coache, indem ich zuerst Fragen stelle.",
    ],
}


class JourneyError(Exception):
    """A step of the journey that did not go as the platform promises."""


def invitation_link(message: EmailMessage) -> str:
    """Return the invitation link from the email's plain-text part."""
    part = message.get_body(preferencelist=("plain",))
    text = part.get_content() if part is not None else ""
    match = INVITE_LINK.search(text)
    if match is None:
        raise JourneyError("the invitation email has no invitation link in its text part")
    return match.group(0)


@dataclass(frozen=True)
class Delivery:
    """One webhook request as it arrived: the raw body and the headers."""

    body: bytes
    headers: dict[str, str]

    def json(self) -> dict[str, Any]:
        import json

        return json.loads(self.body)  # type: ignore[no-any-return]


@dataclass
class WebhookInbox:
    """A local HTTP endpoint that records every webhook request and responds 200."""

    deliveries: list[Delivery] = field(default_factory=list)
    url: str = ""
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def _app(self) -> FastAPI:
        app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)

        @app.post("/webhooks")
        async def receive(request: Request) -> Response:
            self.deliveries.append(Delivery(await request.body(), dict(request.headers)))
            self._arrived.set()
            return Response(status_code=200)

        return app

    async def start(self) -> str:
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=0, log_config=None)
        self._server = uvicorn.Server(config)
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
            await asyncio.sleep(0.02)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/webhooks"
        return self.url

    async def stop(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task

    def matching(self, event_type: str, invitation_id: str) -> list[Delivery]:
        return [
            delivery
            for delivery in self.deliveries
            if delivery.json().get("type") == event_type
            and delivery.json().get("data", {}).get("invitationId") == invitation_id
        ]

    async def wait_for(self, event_type: str, invitation_id: str, *, timeout: float) -> Delivery:
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            found = self.matching(event_type, invitation_id)
            if found:
                return found[0]
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise JourneyError(
                    f"no {event_type} webhook for {invitation_id} within {timeout:.0f} seconds"
                )
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
            except TimeoutError:
                pass


TurnCallback = Callable[[dict[str, Any]], Awaitable[None] | None]


class Candidate:
    """Takes the hosted interview over plain HTTP, as a browser without JavaScript would."""

    def __init__(self, http: httpx.AsyncClient, link: str) -> None:
        self._http = http
        self._link = link.rstrip("/")

    async def open(self) -> str:
        response = await self._http.get(self._link)
        if response.status_code != 200:
            raise JourneyError(f"the invitation page returned status {response.status_code}")
        return response.text

    async def start(self) -> None:
        response = await self._http.post(f"{self._link}/start", data={"consent": "accepted"})
        if response.status_code != 303:
            raise JourneyError(f"starting the interview returned status {response.status_code}")

    async def state(self) -> dict[str, Any]:
        response = await self._http.get(f"{self._link}/state")
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    async def answer(self, text: str) -> dict[str, Any]:
        # A JSON body gets the interview's state back, as the page's script does.
        response = await self._http.post(f"{self._link}/answers", json={"answer": text})
        if response.status_code != 200:
            raise JourneyError(f"sending an answer returned status {response.status_code}")
        return response.json()  # type: ignore[no-any-return]

    async def answer_until_finished(
        self, answers: list[str], *, max_answers: int = 40, on_answer: TurnCallback | None = None
    ) -> int:
        """Answer each question in turn until the panel ends the interview; return the count."""
        for count in range(max_answers):
            state = await self.state()
            if state["status"] != "started":
                return count
            state = await self.answer(answers[count % len(answers)])
            if on_answer is not None:
                outcome = on_answer(state)
                if asyncio.iscoroutine(outcome):
                    await outcome
        response = await self._http.post(f"{self._link}/finish")
        if response.status_code not in (200, 303):
            raise JourneyError(f"finishing the interview returned status {response.status_code}")
        return max_answers
