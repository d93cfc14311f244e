"""mga-admin provisions accounts, keys and minutes that the API then honours."""

import asyncio
import json
import os
import subprocess
import sys

from tests.support import MONGODB_URL, REFERENCE_BODY, Stack


def _admin(stack: Stack, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MGA_MONGODB_URL": MONGODB_URL, "MGA_MONGODB_DATABASE": stack.database}
    return subprocess.run(
        [sys.executable, "-m", "mga_admin.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


async def _admin_json(stack: Stack, *args: str) -> dict:
    result = await asyncio.to_thread(_admin, stack, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


async def test_issued_test_key_creates_invitations(stack: Stack) -> None:
    account = await _admin_json(stack, "accounts", "create", "--name", "Acme")
    key = await _admin_json(stack, "keys", "create", account["id"], "--mode", "test")

    response = await stack.post("/v1/invitations", key["secret"], REFERENCE_BODY)

    assert account["id"].startswith("acct_")
    assert key["secret"].startswith("mga_test_")
    assert response.status_code == 201


async def test_revoked_key_is_rejected(stack: Stack) -> None:
    account = await _admin_json(stack, "accounts", "create", "--name", "Acme")
    key = await _admin_json(stack, "keys", "create", account["id"], "--mode", "live")

    await _admin_json(stack, "keys", "revoke", key["id"])
    response = await stack.get("/v1/invitations", key["secret"])

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


async def test_top_up_is_idempotent_by_reference(stack: Stack) -> None:
    account = await _admin_json(stack, "accounts", "create", "--name", "Acme")
    key = await _admin_json(stack, "keys", "create", account["id"], "--mode", "live")

    await _admin_json(stack, "minutes", "top-up", account["id"], "60", "--reference", "INV-1")
    await _admin_json(stack, "minutes", "top-up", account["id"], "60", "--reference", "INV-1")
    shown = await _admin_json(stack, "minutes", "balance", account["id"])
    api_balance = (await stack.get("/v1/balance", key["secret"])).json()

    assert shown["availableMinutes"] == 60
    assert api_balance == {"availableMinutes": 60, "reservedMinutes": 0, "chargedMinutes": 0}


async def test_key_list_hides_secrets(stack: Stack) -> None:
    account = await _admin_json(stack, "accounts", "create", "--name", "Acme")
    key = await _admin_json(stack, "keys", "create", account["id"], "--mode", "test")

    listed = await _admin_json(stack, "keys", "list", account["id"])

    assert [row["id"] for row in listed["data"]] == [key["id"]]
    assert key["secret"] not in json.dumps(listed)
    assert listed["data"][0]["lastFour"] == key["secret"][-4:]


async def test_bad_input_fails_with_message(stack: Stack) -> None:
    unknown_account = await asyncio.to_thread(
        _admin, stack, "keys", "create", "acct_unknown", "--mode", "test"
    )
    zero_minutes = await asyncio.to_thread(
        _admin, stack, "minutes", "top-up", "acct_unknown", "0"
    )
    unknown_key = await asyncio.to_thread(_admin, stack, "keys", "revoke", "key_unknown")

    assert unknown_account.returncode == 1
    assert "no account with id 'acct_unknown'" in unknown_account.stderr
    assert zero_minutes.returncode == 1
    assert "at least 1" in zero_minutes.stderr
    assert unknown_key.returncode == 1
    assert "Traceback" not in unknown_key.stderr
