"""Request-body validation of POST /v1/invitations: limits, defaults and malformed bodies."""

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.support import REFERENCE_BODY, Stack

MISSING = object()


def body_with(field: str, value: Any) -> dict[str, Any]:
    """Return the reference body with ``field`` set to ``value``, or removed for MISSING."""
    body = dict(REFERENCE_BODY)
    if value is MISSING:
        body.pop(field, None)
    else:
        body[field] = value
    return body


def metadata_keys(count: int) -> dict[str, str]:
    return {f"key{index}": "value" for index in range(count)}


async def stored_count(stack: Stack) -> int:
    return await stack.db.invitations.count_documents({})


REJECTED_FIELDS = [
    pytest.param("candidateEmail", MISSING, "candidateEmail", id="email-missing"),
    pytest.param("candidateEmail", "", "candidateEmail", id="email-empty"),
    pytest.param("candidateEmail", "alex.example.com", "candidateEmail", id="email-without-at"),
    pytest.param("candidateEmail", "alex@@example.com", "candidateEmail", id="email-double-at"),
    pytest.param("candidateEmail", "alex chen@example.com", "candidateEmail", id="email-space"),
    pytest.param("candidateEmail", "alex@example.com\n", "candidateEmail", id="email-newline"),
    pytest.param("candidateEmail", 42, "candidateEmail", id="email-number"),
    pytest.param("candidateName", MISSING, "candidateName", id="name-missing"),
    pytest.param("candidateName", "", "candidateName", id="name-empty"),
    pytest.param("candidateName", "x" * 201, "candidateName", id="name-201-chars"),
    pytest.param("candidateName", "Alex\nChen", "candidateName", id="name-newline"),
    pytest.param("candidateName", "Alex\tChen", "candidateName", id="name-tab"),
    pytest.param("candidateName", None, "candidateName", id="name-null"),
    pytest.param("candidateName", ["Alex"], "candidateName", id="name-list"),
    pytest.param("role", MISSING, "role", id="role-missing"),
    pytest.param("role", "x" * 201, "role", id="role-201-chars"),
    pytest.param("role", "Product\u2028Manager", "role", id="role-line-separator"),
    pytest.param("jobPosting", MISSING, "jobPosting", id="posting-missing"),
    pytest.param("jobPosting", "x" * 2001, "jobPosting", id="posting-2001-chars"),
    pytest.param("jobPosting", "   \n  ", "jobPosting", id="posting-blank"),
    pytest.param("jobPosting", "Hiring\x00now", "jobPosting", id="posting-nul"),
    pytest.param("toughness", 0, "toughness", id="toughness-0"),
    pytest.param("toughness", 6, "toughness", id="toughness-6"),
    pytest.param("toughness", -1, "toughness", id="toughness-negative"),
    pytest.param("toughness", "3", "toughness", id="toughness-string"),
    pytest.param("toughness", 3.0, "toughness", id="toughness-float"),
    pytest.param("toughness", 3.5, "toughness", id="toughness-fraction"),
    pytest.param("toughness", True, "toughness", id="toughness-boolean"),
    pytest.param("toughness", None, "toughness", id="toughness-null"),
    pytest.param("durationMinutes", 25, "durationMinutes", id="duration-25"),
    pytest.param("durationMinutes", 0, "durationMinutes", id="duration-0"),
    pytest.param("durationMinutes", 90, "durationMinutes", id="duration-90"),
    pytest.param("durationMinutes", "30", "durationMinutes", id="duration-string"),
    pytest.param("durationMinutes", 30.0, "durationMinutes", id="duration-float"),
    pytest.param("durationMinutes", True, "durationMinutes", id="duration-boolean"),
    pytest.param("language", "fr", "language", id="language-fr"),
    pytest.param("language", "EN", "language", id="language-upper-case"),
    pytest.param("language", "en-US", "language", id="language-region"),
    pytest.param("language", "", "language", id="language-empty"),
    pytest.param("expiresAt", "2030-06-01T00:00:00", "expiresAt", id="expiry-no-offset"),
    pytest.param("expiresAt", "tomorrow", "expiresAt", id="expiry-tomorrow"),
    pytest.param("expiresAt", "2020-01-01T00:00:00Z", "expiresAt", id="expiry-past"),
    pytest.param("expiresAt", "2030-06-01", "expiresAt", id="expiry-date-only"),
    pytest.param("expiresAt", "2030-02-30T00:00:00Z", "expiresAt", id="expiry-february-30"),
    pytest.param("expiresAt", 1906934400, "expiresAt", id="expiry-epoch-number"),
    pytest.param("expiresAt", "2200-01-01T00:00:00Z", "expiresAt", id="expiry-year-2200"),
    pytest.param("metadata", metadata_keys(51), "metadata", id="metadata-51-keys"),
    pytest.param("metadata", ["a", "b"], "metadata", id="metadata-list"),
    pytest.param("metadata", "ats=42", "metadata", id="metadata-string"),
    pytest.param(
        "metadata", {"ats": {"requisition": "REQ-42"}}, "metadata.ats", id="metadata-nested-object"
    ),
    pytest.param("metadata", {"tags": ["a", "b"]}, "metadata.tags", id="metadata-nested-list"),
]


@pytest.mark.parametrize(("field", "value", "param"), REJECTED_FIELDS)
async def test_invalid_field_is_rejected(stack: Stack, field: str, value: Any, param: str) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, body_with(field, value))

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == param
    assert await stored_count(stack) == 0


LONG_METADATA_KEY = "k" * 41
METADATA_ENTRY_LIMITS = [
    pytest.param({LONG_METADATA_KEY: "value"}, LONG_METADATA_KEY, id="key-41-chars"),
    pytest.param({"note": "v" * 501}, "note", id="value-501-chars"),
]


@pytest.mark.parametrize(("metadata", "entry"), METADATA_ENTRY_LIMITS)
async def test_metadata_entry_over_limit_names_key(
    stack: Stack, metadata: dict[str, Any], entry: str
) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, body_with("metadata", metadata))

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == f"metadata.{entry}"
    assert await stored_count(stack) == 0


@pytest.mark.parametrize(("metadata", "entry"), METADATA_ENTRY_LIMITS)
async def test_metadata_entry_over_limit_is_rejected(
    stack: Stack, metadata: dict[str, Any], entry: str
) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, body_with("metadata", metadata))

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"].startswith("metadata")
    assert await stored_count(stack) == 0


@pytest.mark.parametrize(
    "expires_at", ["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"]
)
async def test_expiry_at_calendar_edge_is_rejected(stack: Stack, expires_at: str) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, body_with("expiresAt", expires_at))

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "expiresAt"
    assert await stored_count(stack) == 0


ACCEPTED_FIELDS = [
    pytest.param("candidateEmail", "alex@bücher.example", id="email-internationalised-domain"),
    pytest.param("candidateEmail", "alex+ats@sub.example.co.uk", id="email-plus-subdomain"),
    pytest.param("candidateName", "x" * 200, id="name-200-chars"),
    pytest.param("role", "r" * 200, id="role-200-chars"),
    pytest.param("jobPosting", "p" * 2000, id="posting-2000-chars"),
    pytest.param("jobPosting", "Line one\nLine two\r\n\tIndented", id="posting-newlines"),
    pytest.param("toughness", 1, id="toughness-1"),
    pytest.param("toughness", 5, id="toughness-5"),
    *[pytest.param("durationMinutes", minutes, id=f"duration-{minutes}") for minutes in (10, 15, 20, 30, 45, 60)],
    pytest.param("language", "de", id="language-de"),
    pytest.param("expiresAt", "2030-06-01T00:00:00+05:30", id="expiry-with-offset"),
    pytest.param("metadata", metadata_keys(50), id="metadata-50-keys"),
    pytest.param("metadata", {"k" * 40: "v" * 500}, id="metadata-longest-key-and-value"),
]


@pytest.mark.parametrize(("field", "value"), ACCEPTED_FIELDS)
async def test_field_at_limit_is_accepted(stack: Stack, field: str, value: Any) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, body_with(field, value))

    assert response.status_code == 201, response.text
    assert await stored_count(stack) == 1


@pytest.mark.parametrize(
    ("field", "default"),
    [("toughness", 3), ("durationMinutes", 30), ("language", "en"), ("metadata", {})],
)
async def test_omitted_field_takes_default(stack: Stack, field: str, default: Any) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, body_with(field, MISSING))

    assert response.status_code == 201, response.text
    assert response.json()[field] == default


async def test_unknown_field_is_named(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, {**REFERENCE_BODY, "candidatePhone": "+1"})

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "candidatePhone"
    assert await stored_count(stack) == 0


async def test_snake_case_field_is_unknown(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    body = body_with("candidateEmail", MISSING)
    body["candidate_email"] = "alex@example.com"

    response = await stack.post("/v1/invitations", key, body)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "candidate_email"
    assert await stored_count(stack) == 0


MALFORMED_BODIES = [
    pytest.param(b'{"candidateName": "Alex"', id="truncated-json"),
    pytest.param(b"candidateName=Alex", id="form-encoded"),
    pytest.param(b'[{"candidateName": "Alex"}]', id="json-array"),
    pytest.param(b'"Alex"', id="json-string"),
    pytest.param(b"null", id="json-null"),
    pytest.param(b"", id="empty"),
    pytest.param(b"   ", id="whitespace-only"),
]


@pytest.mark.parametrize("raw", MALFORMED_BODIES)
async def test_malformed_body_is_rejected(stack: Stack, raw: bytes) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, raw)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] is None
    assert response.headers["x-request-id"] == response.json()["error"]["requestId"]
    assert await stored_count(stack) == 0


async def test_binary_body_is_rejected_without_echo(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, b"\x89PNG\r\n\x1a\n\x80\xff")

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert error["param"] is None
    assert "PNG" not in error["message"]
    assert "\ufffd" not in error["message"]
    assert "\\x" not in error["message"]
    assert await stored_count(stack) == 0


async def test_nan_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, '{"candidateName": NaN}')

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] in (None, "candidateName")
    assert await stored_count(stack) == 0


async def test_nan_message_does_not_echo_value(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, '{"candidateName": NaN}')

    assert response.status_code == 400
    assert "NaN" not in response.json()["error"]["message"]


async def test_duplicate_keys_are_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    raw = json.dumps(REFERENCE_BODY)[:-1] + ', "candidateName": "Mallory"}'

    response = await stack.post("/v1/invitations", key, raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] in (None, "candidateName")
    assert await stored_count(stack) == 0


async def test_name_of_spaces_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, body_with("candidateName", "   "))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "candidateName"
    assert await stored_count(stack) == 0


async def test_lone_surrogate_in_name_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    raw = json.dumps(body_with("candidateName", "PLACEHOLDER")).replace("PLACEHOLDER", "\\ud800")

    response = await stack.post("/v1/invitations", key, raw)

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "candidateName"
    assert await stored_count(stack) == 0


async def test_header_injection_in_name_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    name = "Eve\r\nBcc: leak@attacker.example"

    response = await stack.post("/v1/invitations", key, body_with("candidateName", name))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "candidateName"
    assert await stored_count(stack) == 0


async def test_role_ending_in_newline_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.post("/v1/invitations", key, body_with("role", "Engineer\n"))

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "role"
    assert await stored_count(stack) == 0


async def test_encoded_word_role_is_literal(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    role = "=?UTF-8?Q?=0A?=Bcc: x@attacker.example"

    response = await stack.post("/v1/invitations", key, body_with("role", role))

    assert response.status_code == 201, response.text
    assert response.json()["role"] == role


@pytest.mark.parametrize(
    "name", ["张伟", "محمد بن سلمان", "Jürgen Müßig-Öztürk", "Zoë Ångström"]
)
async def test_international_name_round_trips(stack: Stack, name: str) -> None:
    key = await stack.key(await stack.account())

    created = await stack.post("/v1/invitations", key, body_with("candidateName", name))
    fetched = await stack.get(f"/v1/invitations/{created.json()['id']}", key)

    assert created.status_code == 201, created.text
    assert created.json()["candidateName"] == name
    assert fetched.json()["candidateName"] == name


async def test_ten_megabyte_body_is_too_large(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    marker = "SECRET-MARKER-"
    raw = json.dumps(body_with("jobPosting", marker * (10 * 1024 * 1024 // len(marker))))

    response = await stack.post("/v1/invitations", key, raw)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["param"] is None
    assert marker not in response.text
    assert await stored_count(stack) == 0


async def test_streamed_body_over_limit_is_too_large(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    chunk = b"x" * 64 * 1024

    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"jobPosting": "'
        for _ in range(8):
            yield chunk
        yield b'"}'

    response = await stack.http.post(
        "/v1/invitations",
        content=chunks(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert await stored_count(stack) == 0


async def test_non_json_content_type_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await stack.http.post(
        "/v1/invitations",
        content=json.dumps(REFERENCE_BODY),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "text/plain"},
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"
    assert await stored_count(stack) == 0
