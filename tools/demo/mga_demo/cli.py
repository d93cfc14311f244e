"""mga-demo: the whole candidate journey against the running local stack, step by step.

An applicant tracking system's part (provision, register a webhook endpoint, invite, read
the result) and the candidate's part (read the email, take the interview) run against the
services that ``make up`` started. The demo uses a live key with minutes, so the email
really goes through SMTP to the local catcher. The interview and scoring use whatever model
the stack runs: the deterministic sandbox unless MGA_LLM_MODEL is set.
"""

import argparse
import asyncio
import email
import email.policy
import json
import logging
import sys
import textwrap
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import structlog
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mga_demo.journey import (
    ANSWERS,
    JOB_POSTINGS,
    Candidate,
    JourneyError,
    WebhookInbox,
    invitation_link,
)
from mga_demo.verification import verify_signature
from mga_gateway import provisioning
from mga_gateway.store import INDEXES as GATEWAY_INDEXES
from mga_gateway.store import GatewayStore
from mga_invitation.ledger import INDEXES as LEDGER_INDEXES
from mga_invitation.ledger import MinuteLedger
from mga_storage import create_client, ensure_indexes

# Minutes the demo account gets for its live invitation.
_DEMO_MINUTES = 60


class DemoSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MGA_", extra="ignore")

    mongodb_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    mongodb_database: str = "mga"


def step(number: int, title: str) -> None:
    print(f"\n{number}. {title}")


def detail(text: str) -> None:
    print(textwrap.indent(textwrap.fill(text, width=92), "   "))


async def _provision() -> str:
    """Create a demo account with interview minutes and return a fresh live key."""
    settings = DemoSettings()
    client = create_client(settings.mongodb_url.get_secret_value(), app_name="mga-demo")
    try:
        db = client[settings.mongodb_database]
        await ensure_indexes(db, [*GATEWAY_INDEXES, LEDGER_INDEXES])
        store = GatewayStore(db)
        account_id = await provisioning.create_account(store, name="Demo recruiting team")
        key = await provisioning.issue_key(store, account_id=account_id, livemode=True)
        await MinuteLedger(db).top_up(account_id, _DEMO_MINUTES, operation_id=uuid.uuid4().hex)
    finally:
        await client.close()
    detail(f"account {account_id}, live key ...{key.secret[-4:]}, {_DEMO_MINUTES} minutes")
    return key.secret


def _find_email(maildir: Path, address: str) -> EmailMessage | None:
    for path in sorted(maildir.glob("*.eml"), reverse=True):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if address in str(message.get("To", "")):
            return message  # type: ignore[return-value]
    return None


async def _wait_for_email(maildir: Path, address: str, *, timeout: float) -> EmailMessage:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        message = _find_email(maildir, address)
        if message is not None:
            return message
        await asyncio.sleep(0.25)
    raise JourneyError(f"no email to {address} arrived in {maildir} within {timeout:.0f} seconds")


def _check(response: httpx.Response, expected: int) -> dict[str, Any]:
    if response.status_code != expected:
        raise JourneyError(
            f"{response.request.method} {response.request.url.path} returned status "
            f"{response.status_code}: {response.text[:300]}"
        )
    return response.json()  # type: ignore[no-any-return]


async def run(args: argparse.Namespace) -> None:
    inbox = WebhookInbox()
    try:
        await _journey(args, inbox)
    finally:
        await inbox.stop()


async def _journey(args: argparse.Namespace, inbox: WebhookInbox) -> None:
    language = args.language
    async with httpx.AsyncClient(base_url=args.gateway, timeout=30) as api:
        step(1, "Provision an account, a live API key and interview minutes")
        key = await _provision()
        api.headers["Authorization"] = f"Bearer {key}"

        step(2, "Register a local webhook endpoint")
        await inbox.start()
        endpoint = _check(
            await api.post("/v1/webhook_endpoints", json={"url": inbox.url, "enabledEvents": ["*"]}),
            201,
        )
        detail(f"{endpoint['id']} at {inbox.url}, secret {endpoint['secret'][:10]}...")

        step(3, "Send an invitation")
        address = f"demo.candidate+{uuid.uuid4().hex[:8]}@example.com"
        invitation = _check(
            await api.post(
                "/v1/invitations",
                headers={"Idempotency-Key": str(uuid.uuid4())},
                json={
                    "candidateEmail": address,
                    "candidateName": "Alex Chen" if language == "en" else "Jana Müller",
                    "role": "Senior Product Manager",
                    "jobPosting": JOB_POSTINGS[language],
                    "toughness": 3,
                    "durationMinutes": 15,
                    "language": language,
                    "metadata": {"atsRequisitionId": "REQ-2026-042"},
                },
            ),
            201,
        )
        detail(f"{invitation['id']} is {invitation['status']}, for {address}")

        step(4, "Read the email in the SMTP catcher")
        message = await _wait_for_email(Path(args.maildir), address, timeout=args.timeout)
        link = invitation_link(message)
        detail(f"Subject: {message['Subject']}")
        detail(f"Link: {link}")

        step(5, "Take the interview on the hosted page")
        async with httpx.AsyncClient(timeout=60) as browser:
            candidate = Candidate(browser, link)
            await candidate.open()
            await candidate.start()
            first = await candidate.state()
            _print_turn(first["turns"][-1])

            async def show(state: dict[str, Any]) -> None:
                for turn in state["turns"][-2:]:
                    _print_turn(turn)

            answered = await candidate.answer_until_finished(ANSWERS[language], on_answer=show)
        detail(f"The interview ended after {answered} answers.")

        step(6, "Wait for the signed interview.completed webhook")
        delivery = await inbox.wait_for("interview.completed", invitation["id"], timeout=args.timeout)
        verified = verify_signature(delivery.body, delivery.headers.get("x-mga-signature", ""),
                                    endpoint["secret"])
        if not verified:
            raise JourneyError("the webhook's X-MGA-Signature does not verify with the secret")
        detail(f"event {delivery.json()['id']}, signature verified")

        step(7, "Read the result")
        result = _check(await api.get(f"/v1/invitations/{invitation['id']}/result"), 200)
        _print_result(result)
        balance = _check(await api.get("/v1/balance"), 200)
        detail(f"Minutes: {balance['chargedMinutes']} charged, {balance['availableMinutes']} "
               "available")


def _print_turn(turn: dict[str, Any]) -> None:
    who = f"{turn['name']} ({turn['role']})" if turn["speaker"] == "interviewer" else "Candidate"
    print(textwrap.indent(textwrap.fill(f"{who}: {turn['text']}", width=92,
                                        subsequent_indent="    "), "   "))


def _print_result(result: dict[str, Any]) -> None:
    detail(f"Overall score: {result['overallScore']} / 100")
    detail(result["summary"])
    for name, skill in result["skills"].items():
        print(f"   {name:<22} {skill['score']:>2}/10  {skill['evidence'][:66]}")
    for label in ("strengths", "improvements"):
        detail(f"{label.capitalize()}: " + "; ".join(result[label]))
    for remark in result["panel"]:
        detail(f"{remark['name']} ({remark['role']}): {remark['remark']}")
    detail(f"Metadata returned verbatim: {json.dumps(result['metadata'])}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mga-demo", description="Run the whole candidate journey against the local stack."
    )
    parser.add_argument("--gateway", default="http://127.0.0.1:8080", help="gateway base URL")
    parser.add_argument("--maildir", default=".stack/mail",
                        help="folder where the local SMTP catcher writes .eml files")
    parser.add_argument("--language", choices=["en", "de"], default="en",
                        help="language of the invitation, email and interview")
    parser.add_argument("--timeout", type=float, default=60,
                        help="seconds to wait for the email and for the webhook")
    args = parser.parse_args(argv)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    try:
        asyncio.run(run(args))
    except (JourneyError, httpx.HTTPError) as exc:
        print(f"\nmga-demo: the journey failed: {exc}", file=sys.stderr)
        return 1
    print("\nThe journey completed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
