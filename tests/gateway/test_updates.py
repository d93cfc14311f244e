"""Changing an invitation's expiry or metadata with POST /v1/invitations/{id}."""

from datetime import timedelta
from typing import Any

import httpx
import pytest

from mga_core.timestamps import format_timestamp, utc_now
from tests.support import REFERENCE_BODY, Stack


def days_from_now(days: int) -> str:
    return format_timestamp(utc_now() + timedelta(days=days))  # type: ignore[return-value]


async def create_invitation(stack: Stack, key: str, **fields: Any) -> dict[str, Any]:
    response = await stack.post("/v1/invitations", key, {**REFERENCE_BODY, **fields})
    assert response.status_code == 201, response.text
    return response.json()


async def update(
    stack: Stack, key: str, invitation_id: str, body: Any, **headers: str
) -> httpx.Response:
    return await stack.post(f"/v1/invitations/{invitation_id}", key, body, **headers)


async def fetch(stack: Stack, key: str, invitation_id: str) -> dict[str, Any]:
    response = await stack.get(f"/v1/invitations/{invitation_id}", key)
    assert response.status_code == 200, response.text
    return response.json()


async def test_update_moves_expiry(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key, expiresAt=days_from_now(7))
    new_expiry = days_from_now(21)

    response = await update(stack, key, created["id"], {"expiresAt": new_expiry})

    assert response.status_code == 200, response.text
    assert response.json()["expiresAt"] == new_expiry
    assert (await fetch(stack, key, created["id"]))["expiresAt"] == new_expiry


async def test_update_can_shorten_expiry(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key, expiresAt=days_from_now(21))
    new_expiry = days_from_now(2)

    response = await update(stack, key, created["id"], {"expiresAt": new_expiry})

    assert response.status_code == 200, response.text
    assert (await fetch(stack, key, created["id"]))["expiresAt"] == new_expiry


async def test_expiry_update_keeps_metadata(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key, metadata={"ats": "REQ-42"})

    await update(stack, key, created["id"], {"expiresAt": days_from_now(10)})

    assert (await fetch(stack, key, created["id"]))["metadata"] == {"ats": "REQ-42"}


async def test_update_replaces_metadata(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key, metadata={"ats": "REQ-42", "stage": "screen"})
    replacement = {"stage": "final", "score": 7, "remote": True}

    response = await update(stack, key, created["id"], {"metadata": replacement})

    assert response.status_code == 200, response.text
    assert response.json()["metadata"] == replacement
    assert (await fetch(stack, key, created["id"]))["metadata"] == replacement


async def test_metadata_update_keeps_expiry(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key)

    await update(stack, key, created["id"], {"metadata": {"stage": "final"}})

    assert (await fetch(stack, key, created["id"]))["expiresAt"] == created["expiresAt"]


async def test_empty_metadata_clears_it(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key, metadata={"ats": "REQ-42"})

    response = await update(stack, key, created["id"], {"metadata": {}})

    assert response.status_code == 200, response.text
    assert (await fetch(stack, key, created["id"]))["metadata"] == {}


REJECTED_UPDATES = [
    pytest.param({"expiresAt": "2020-01-01T00:00:00Z"}, "expiresAt", id="past-expiry"),
    pytest.param({"expiresAt": "2030-06-01T00:00:00"}, "expiresAt", id="expiry-without-offset"),
    pytest.param({"expiresAt": "next week"}, "expiresAt", id="expiry-text"),
    pytest.param({"candidateName": "Sam Lee"}, "candidateName", id="immutable-field"),
    pytest.param({"expiry": "2030-06-01T00:00:00Z"}, "expiry", id="unknown-field"),
    pytest.param({"metadata": {"ats": {"id": 1}}}, "metadata.ats", id="nested-metadata"),
    pytest.param({"metadata": "REQ-42"}, "metadata", id="metadata-string"),
]


@pytest.mark.parametrize(("body", "param"), REJECTED_UPDATES)
async def test_invalid_update_is_rejected(stack: Stack, body: dict[str, Any], param: str) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key)

    response = await update(stack, key, created["id"], body)

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == param
    assert await fetch(stack, key, created["id"]) == created


async def test_cancelled_expiry_update_conflicts(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key)
    cancelled = await stack.post(f"/v1/invitations/{created['id']}/cancel", key)

    response = await update(stack, key, created["id"], {"expiresAt": days_from_now(20)})

    assert cancelled.status_code == 200, cancelled.text
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "invitation_not_pending"
    assert (await fetch(stack, key, created["id"]))["expiresAt"] == created["expiresAt"]


async def test_update_of_unknown_invitation_is_not_found(stack: Stack) -> None:
    key = await stack.key(await stack.account())

    response = await update(
        stack, key, "inv_01HX2BT8A3JXG5Z3F4WV7QY3K9", {"expiresAt": days_from_now(20)}
    )

    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


async def test_update_replay_returns_first_response(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key)
    body = {"metadata": {"stage": "final"}}

    first = await update(stack, key, created["id"], body, Idempotency_Key="update-1")
    second = await update(stack, key, created["id"], body, Idempotency_Key="update-1")

    assert first.status_code == 200, first.text
    assert second.status_code == 200, second.text
    assert second.json() == first.json()
    assert second.headers["idempotent-replayed"] == "true"


async def test_update_expiry_after_9999_is_rejected(stack: Stack) -> None:
    key = await stack.key(await stack.account())
    created = await create_invitation(stack, key)

    response = await update(stack, key, created["id"], {"expiresAt": "9999-12-31T23:59:59-05:00"})

    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "invalid_request"
    assert response.json()["error"]["param"] == "expiresAt"
