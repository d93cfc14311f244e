"""The whole journey across six processes: invite, email, browser interview, webhook, result."""

import asyncio
import re
import uuid
from pathlib import Path

import pytest
from playwright import async_api as playwright_api

from mga_demo.journey import ANSWERS, JOB_POSTINGS, Candidate, invitation_link
from mga_demo.verification import verify_signature
from mga_simulation.i18n import Translator
from tests.e2e.conftest import Journey
from tests.support import wait_for

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "e2e"
SUBJECTS = {"en": "Your interview invitation", "de": "Ihre Einladung zum Interview"}
STEP_TIMEOUT_MS = 15_000


def text(key: str, language: str) -> str:
    return Translator(language)(key)  # type: ignore[arg-type]


async def _invite(journey: Journey, *, language: str, address: str, name: str) -> dict:
    response = await journey.api.post(
        "/v1/invitations",
        headers={"Idempotency-Key": str(uuid.uuid4())},
        json={
            "candidateEmail": address,
            "candidateName": name,
            "role": "Senior Product Manager",
            "jobPosting": JOB_POSTINGS[language],
            "durationMinutes": 15,
            "language": language,
            "metadata": {"atsRequisitionId": "REQ-42"},
        },
    )
    assert response.status_code == 201, response.text
    return response.json()


async def _take_interview_in_browser(link: str, language: str) -> None:
    async with playwright_api.async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page(locale="en-US")
        page.set_default_timeout(STEP_TIMEOUT_MS)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

        await page.goto(link)
        await page.screenshot(path=str(SCREENSHOTS / f"journey-{language}-1-landing.png"))
        await page.get_by_label(text("consent_label", language)).check()
        await page.get_by_role("button", name=text("start_button", language)).click()
        await page.wait_for_url(re.compile(r"/interview$"))

        completed = page.get_by_role("heading", name=text("completed_title", language))
        for answer in ANSWERS[language]:
            if await completed.count():
                break
            turns = await page.locator("#transcript li").count()
            await page.get_by_label(text("answer_label", language)).fill(answer)
            await page.get_by_role("button", name=text("send_button", language)).click()
            # The panel either replies or, after its last question, ends the interview.
            await page.locator("#transcript li").nth(turns + 1).or_(completed).wait_for()
        await page.screenshot(path=str(SCREENSHOTS / f"journey-{language}-2-answered.png"))

        if not await page.get_by_role("heading", name=text("completed_title", language)).count():
            page.once("dialog", lambda dialog: dialog.accept())
            await page.get_by_role("button", name=text("finish_button", language)).click()
        await page.get_by_role("heading", name=text("completed_title", language)).wait_for()
        await page.screenshot(path=str(SCREENSHOTS / f"journey-{language}-3-finished.png"))
        await browser.close()


@pytest.mark.parametrize(("language", "name"), [("en", "Alex Chen"), ("de", "Zoë Müller")])
async def test_candidate_journey_end_to_end(journey: Journey, language: str, name: str) -> None:
    address = f"candidate-{language}@example.com"
    invitation = await _invite(journey, language=language, address=address, name=name)

    mail = await wait_for(lambda: _async(journey.smtp.recorder.to(address)), timeout=30)
    link = invitation_link(mail[0].message)
    await _take_interview_in_browser(link, language)
    delivery = await journey.inbox.wait_for("interview.completed", invitation["id"], timeout=60)
    result = await journey.api.get(f"/v1/invitations/{invitation['id']}/result")
    status = (await journey.api.get(f"/v1/invitations/{invitation['id']}")).json()

    assert len(mail) == 1
    assert mail[0].message["Subject"].startswith(SUBJECTS[language])
    assert name in mail[0].message.get_body(preferencelist=("plain",)).get_content()
    assert link == invitation["invitationUrl"]
    assert verify_signature(
        delivery.body, delivery.headers["x-mga-signature"], journey.endpoint_secret
    )
    assert result.status_code == 200
    assert {**result.json(), "invitationId": invitation["id"]} == delivery.json()["data"]
    assert result.json()["metadata"] == {"atsRequisitionId": "REQ-42"}
    assert status["status"] == "completed"
    assert status["email"]["status"] == "sent"
    assert status["openedAt"] is not None
    types = [d.json()["type"] for d in journey.inbox.deliveries
             if d.json()["data"].get("invitationId") == invitation["id"]]
    assert types == ["invitation.opened", "interview.started", "interview.completed"]


async def test_twenty_journeys_at_once(journey: Journey) -> None:
    count = 20
    addresses = [f"candidate-{index:02d}@example.com" for index in range(count)]
    invitations = await asyncio.gather(
        *(_invite(journey, language="en", address=address, name=f"Candidate {index}")
          for index, address in enumerate(addresses))
    )

    async def take_interview(address: str) -> None:
        mail = await wait_for(lambda: _async(journey.smtp.recorder.to(address)), timeout=60)
        import httpx

        async with httpx.AsyncClient(timeout=60) as browser:
            candidate = Candidate(browser, invitation_link(mail[0].message))
            await candidate.open()
            await candidate.start()
            await candidate.answer_until_finished(ANSWERS["en"])

    await asyncio.gather(*(take_interview(address) for address in addresses))
    completed = await asyncio.gather(
        *(journey.inbox.wait_for("interview.completed", invitation["id"], timeout=120)
          for invitation in invitations)
    )

    for invitation, address, delivery in zip(invitations, addresses, completed, strict=True):
        deliveries = (await journey.api.get(f"/v1/events/{delivery.json()['id']}/deliveries")).json()
        outcomes = [attempt["outcome"] for attempt in deliveries["data"][0]["attempts"]]
        assert len(journey.smtp.recorder.to(address)) == 1, address
        assert len(deliveries["data"]) == 1
        assert outcomes.count("succeeded") == 1
        assert len(journey.inbox.matching("interview.completed", invitation["id"])) == 1
    balance = (await journey.api.get("/v1/balance")).json()
    assert balance["reservedMinutes"] == 0
    assert balance["chargedMinutes"] == count


async def _async(value):  # type: ignore[no-untyped-def]
    return value
