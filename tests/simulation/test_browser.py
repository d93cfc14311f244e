"""The candidate's pages in a real headless Chromium, with screenshots of every step.

Screenshots go to tests/artifacts/simulation/. Chromium is the system's /usr/bin/chromium:
Playwright's own browser download is not used.
"""

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from mga_messaging.topology import Consumer
from mga_simulation.i18n import Translator
from tests.simulation.conftest import SimulationStack
from tests.simulation.flow import DETAILED_ANSWERS
from tests.support import wait_for

from playwright import async_api as playwright_api

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "simulation"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 375, "height": 740}
# Maximum wait for one page effect, in milliseconds.
STEP_TIMEOUT_MS = 10_000


def text(key: str, language: str, **values: str) -> str:
    return Translator(language)(key, **values)  # type: ignore[arg-type]


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    assert Path(CHROMIUM).exists(), (
        f"{CHROMIUM} is missing; make test installs it, or run apt-get install -y chromium"
    )
    async with playwright_api.async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        await chromium.close()


class PageProblems:
    """Console errors (CSP violations among them) and failed requests of one page."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.messages: list[str] = []
        page.on("console", self._on_console)
        page.on("pageerror", lambda error: self.messages.append(f"page error: {error}"))
        page.on("requestfailed", lambda request: self.messages.append(f"failed: {request.url}"))

    def _on_console(self, message) -> None:  # type: ignore[no-untyped-def]
        if message.type == "error":
            self.messages.append(message.text)


async def _screenshot(page, name: str) -> None:  # type: ignore[no-untyped-def]
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("language", ["en", "de"])
async def test_candidate_completes_interview_in_browser(
    simulation: SimulationStack, browser, language: str  # type: ignore[no-untyped-def]
) -> None:
    invitation = await simulation.invite(language=language, candidate_name="Alex Chen")
    page = await browser.new_page(viewport=DESKTOP, locale="en-US")
    page.set_default_timeout(STEP_TIMEOUT_MS)
    problems = PageProblems(page)

    await page.goto(simulation.base_url + invitation.path)
    await _screenshot(page, f"{language}-1-landing")
    assert await page.locator("html").get_attribute("lang") == language
    assert await page.get_by_role("heading", level=1).inner_text() == text(
        "welcome", language, name="Alex Chen"
    )

    await page.get_by_role("button", name=text("start_button", language)).click()
    await page.get_by_text(text("consent_required", language)).wait_for()
    await _screenshot(page, f"{language}-2-consent-missing")
    # The page without consent has status 400 by design, which Chromium logs as an error.
    assert len(problems.messages) == 1
    assert "400" in problems.messages[0]
    problems.messages.clear()

    await page.get_by_label(text("consent_label", language)).check()
    await page.get_by_role("button", name=text("start_button", language)).click()
    await page.wait_for_url(re.compile(r"/interview$"))
    await page.locator("#transcript li").first.wait_for()
    await _screenshot(page, f"{language}-3-first-question")
    clock = await page.locator("#remaining").inner_text()
    assert re.fullmatch(r"(29|30):\d\d", clock)

    await page.get_by_label(text("answer_label", language)).fill(DETAILED_ANSWERS[0])
    await page.get_by_role("button", name=text("send_button", language)).click()
    await page.locator("#transcript li").nth(2).wait_for()
    await _screenshot(page, f"{language}-4-answered")
    session = await simulation.session(invitation.id)
    assert session is not None
    assert [turn["speaker"] for turn in session["turns"]] == ["interviewer", "candidate", "interviewer"]
    assert await page.locator("#speaker-name").inner_text() == session["turns"][2]["name"]
    assert await page.get_by_label(text("answer_label", language)).input_value() == ""

    page.once("dialog", lambda dialog: dialog.accept())
    await page.get_by_role("button", name=text("finish_button", language)).click()
    await page.get_by_role("heading", name=text("completed_title", language)).wait_for()
    await _screenshot(page, f"{language}-5-finished")

    finished = await simulation.session(invitation.id)
    events = await simulation.events(Consumer.SCORING, expect=1)
    assert finished is not None
    assert finished["status"] == "finished"
    assert finished["finishReason"] == "candidate_finished"
    assert [event["data"]["reason"] for event in events] == ["candidate_finished"]
    assert problems.messages == []
    await page.close()


async def test_pages_fit_a_phone_screen(simulation: SimulationStack, browser) -> None:  # type: ignore[no-untyped-def]
    invitation = await simulation.invite(
        role="Senior Product Manager, Payments and Checkout Platform (Europe)"
    )
    page = await browser.new_page(viewport=PHONE)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    problems = PageProblems(page)

    await page.goto(simulation.base_url + invitation.path)
    await _screenshot(page, "phone-1-landing")
    landing_width = await page.evaluate("document.documentElement.scrollWidth")

    await page.get_by_label(text("consent_label", "en")).check()
    await page.get_by_role("button", name=text("start_button", "en")).click()
    await page.wait_for_url(re.compile(r"/interview$"))
    await page.get_by_label(text("answer_label", "en")).fill(DETAILED_ANSWERS[1])
    await page.get_by_role("button", name=text("send_button", "en")).click()
    await page.locator("#transcript li").nth(2).wait_for()
    await _screenshot(page, "phone-2-interview")
    interview_width = await page.evaluate("document.documentElement.scrollWidth")

    assert landing_width <= PHONE["width"]
    assert interview_width <= PHONE["width"]
    assert problems.messages == []
    await page.close()


async def test_keyboard_alone_starts_and_answers(simulation: SimulationStack, browser) -> None:  # type: ignore[no-untyped-def]
    invitation = await simulation.invite()
    page = await browser.new_page(viewport=DESKTOP)
    page.set_default_timeout(STEP_TIMEOUT_MS)
    await page.goto(simulation.base_url + invitation.path)

    await page.locator("#consent").focus()
    await page.keyboard.press("Space")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.wait_for_url(re.compile(r"/interview$"))
    await page.locator("#answer").focus()
    await page.keyboard.type("I would start with 10 customer calls and the checkout funnel data.")
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    await page.locator("#transcript li").nth(2).wait_for()

    session = await simulation.session(invitation.id)
    assert session is not None
    assert session["status"] == "started"
    assert session["turns"][1]["text"].startswith("I would start with 10 customer calls")
    await page.close()


async def test_interview_works_without_javascript(simulation: SimulationStack, browser) -> None:  # type: ignore[no-untyped-def]
    invitation = await simulation.invite(language="de")
    context = await browser.new_context(java_script_enabled=False, viewport=DESKTOP)
    page = await context.new_page()
    page.set_default_timeout(STEP_TIMEOUT_MS)
    await page.goto(simulation.base_url + invitation.path)

    await page.get_by_label(text("consent_label", "de")).check()
    await page.get_by_role("button", name=text("start_button", "de")).click()
    await page.wait_for_url(re.compile(r"/interview$"))
    await page.get_by_label(text("answer_label", "de")).fill(DETAILED_ANSWERS[2])
    await page.get_by_role("button", name=text("send_button", "de")).click()
    await page.locator("#transcript li").nth(2).wait_for()
    await _screenshot(page, "de-no-javascript-answered")
    await page.get_by_role("button", name=text("finish_button", "de")).click()
    await page.get_by_role("heading", name=text("completed_title", "de")).wait_for()

    async def finished() -> bool:
        session = await simulation.session(invitation.id)
        return session is not None and session["status"] == "finished"

    assert await wait_for(finished)
    await context.close()
