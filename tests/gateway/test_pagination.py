"""Cursor pagination of GET /v1/invitations, newest first by createdAt then id."""

import base64
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ulid import ULID

from tests.support import REFERENCE_BODY, Stack, invitation_document

SEEDED_AT = datetime(2024, 1, 15, 9, 30, 0, 123000, tzinfo=UTC)


def new_invitation_id() -> str:
    return "inv_" + str(ULID())


async def seed(
    stack: Stack,
    account: str,
    created_at: list[datetime],
    *,
    status: str = "pending",
) -> list[dict[str, Any]]:
    """Insert one test-mode invitation with ``status`` per createdAt value."""
    documents = [
        {
            **invitation_document(
                account, livemode=False, created_at=moment, invitation_id=new_invitation_id()
            ),
            "status": status,
        }
        for moment in created_at
    ]
    await stack.db.invitations.insert_many(documents)
    return documents


def newest_first(documents: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(documents, key=lambda d: (d["createdAt"], d["_id"]), reverse=True)
    return [document["_id"] for document in ordered]


async def list_page(stack: Stack, key: str, **params: Any) -> dict[str, Any]:
    response = await stack.get("/v1/invitations", key, **params)
    assert response.status_code == 200, response.text
    return response.json()


async def all_pages(stack: Stack, key: str, **params: Any) -> list[list[str]]:
    """Follow nextCursor from the first page to the last and return the ids of each page."""
    pages: list[list[str]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        page = await list_page(stack, key, **query)
        pages.append([item["id"] for item in page["data"]])
        cursor = page["nextCursor"]
        assert page["hasMore"] is (cursor is not None)
        if cursor is None:
            return pages
        assert len(pages) < 1000, "pagination does not end"


async def test_same_millisecond_pages_cover_all(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    documents = await seed(stack, account, [SEEDED_AT] * 5)

    pages = await all_pages(stack, key, limit=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    listed = [invitation_id for page in pages for invitation_id in page]
    assert listed == newest_first(documents)
    assert len(set(listed)) == 5


async def test_last_page_has_no_cursor(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    await seed(stack, account, [SEEDED_AT] * 4)

    first = await list_page(stack, key, limit=2)
    last = await list_page(stack, key, limit=2, cursor=first["nextCursor"])

    assert first["hasMore"] is True
    assert len(last["data"]) == 2
    assert last["hasMore"] is False
    assert last["nextCursor"] is None


async def test_many_in_one_second_page_in_order(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    second = SEEDED_AT.replace(microsecond=0)
    moments = [second + timedelta(milliseconds=index % 7) for index in range(250)]
    documents = await seed(stack, account, moments)

    pages = await all_pages(stack, key, limit=100)

    assert [len(page) for page in pages] == [100, 100, 50]
    listed = [invitation_id for page in pages for invitation_id in page]
    assert listed == newest_first(documents)
    assert len(set(listed)) == 250


async def test_created_invitation_does_not_shift_pages(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    seeded_at = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    documents = await seed(stack, account, [seeded_at] * 5)
    expected = newest_first(documents)

    first = await list_page(stack, key, limit=2)
    created = await stack.post("/v1/invitations", key, REFERENCE_BODY)
    second = await list_page(stack, key, limit=2, cursor=first["nextCursor"])
    third = await list_page(stack, key, limit=2, cursor=second["nextCursor"])

    assert created.status_code == 201, created.text
    assert [item["id"] for item in first["data"]] == expected[:2]
    assert [item["id"] for item in second["data"]] == expected[2:4]
    assert [item["id"] for item in third["data"]] == expected[4:]
    assert third["nextCursor"] is None


async def test_new_invitation_leads_fresh_list(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    await seed(stack, account, [datetime.now(UTC) - timedelta(days=30)] * 3)

    created = (await stack.post("/v1/invitations", key, REFERENCE_BODY)).json()
    page = await list_page(stack, key, limit=2)

    assert page["data"][0]["id"] == created["id"]


async def test_status_filter_returns_matching(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    pending = await seed(stack, account, [SEEDED_AT] * 3, status="pending")
    cancelled = await seed(stack, account, [SEEDED_AT] * 2, status="cancelled")
    completed = await seed(stack, account, [SEEDED_AT] * 1, status="completed")

    cancelled_page = await list_page(stack, key, status="cancelled")
    completed_page = await list_page(stack, key, status="completed")
    pending_pages = await all_pages(stack, key, status="pending", limit=2)
    started_page = await list_page(stack, key, status="started")

    assert [item["id"] for item in cancelled_page["data"]] == newest_first(cancelled)
    assert [item["id"] for item in completed_page["data"]] == newest_first(completed)
    assert [i for page in pending_pages for i in page] == newest_first(pending)
    assert started_page["data"] == []
    assert started_page["nextCursor"] is None


async def test_default_limit_is_twenty(stack: Stack) -> None:
    account = await stack.account()
    key = await stack.key(account)
    await seed(stack, account, [SEEDED_AT] * 21)

    page = await list_page(stack, key)

    assert len(page["data"]) == 20
    assert page["hasMore"] is True


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "2.5", ""])
async def test_invalid_limit_is_rejected(stack: Stack, limit: str) -> None:
    key = await stack.key(await stack.account())

    response = await stack.get("/v1/invitations", key, limit=limit)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "limit"


def encoded(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "cursor",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param("!!!!", id="punctuation"),
        pytest.param(encoded(b'{"after": "inv_1"}'), id="json-object"),
        pytest.param(encoded(b'["yesterday", "inv_1"]'), id="text-timestamp"),
        pytest.param(encoded(b"[1e400, \"inv_1\"]"), id="infinite-timestamp"),
        pytest.param(encoded(b'[99999999999999999999, "inv_1"]'), id="huge-timestamp"),
        pytest.param(encoded(b"\xff\xfe\x00"), id="binary"),
        pytest.param("x" * 600, id="600-chars"),
    ],
)
async def test_invalid_cursor_is_rejected(stack: Stack, cursor: str) -> None:
    key = await stack.key(await stack.account())

    response = await stack.get("/v1/invitations", key, cursor=cursor)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "cursor"


@pytest.mark.parametrize("status", ["open", "PENDING", "all", ""])
async def test_unknown_status_is_rejected(stack: Stack, status: str) -> None:
    key = await stack.key(await stack.account())

    response = await stack.get("/v1/invitations", key, status=status)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "status"
