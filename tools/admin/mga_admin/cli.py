"""mga-admin: provision accounts, issue and revoke API keys, top up interview minutes.

Reads MGA_MONGODB_URL and MGA_MONGODB_DATABASE like the services. Every command prints a
human-readable line, or one JSON object with --json.
"""

import argparse
import asyncio
import json
import logging
import sys
from typing import Any

import structlog
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from mga_core.ids import IdPrefix, new_id
from mga_core.timestamps import format_timestamp
from mga_gateway import provisioning
from mga_gateway.store import INDEXES as GATEWAY_INDEXES
from mga_gateway.store import GatewayStore
from mga_invitation.ledger import INDEXES as LEDGER_INDEXES
from mga_invitation.ledger import MinuteLedger
from mga_storage import create_client, ensure_indexes


class AdminSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MGA_", extra="ignore")

    mongodb_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    mongodb_database: str = "mga"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mga-admin", description="Operate MeetAndGreet accounts, API keys and minutes."
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object per command")
    groups = parser.add_subparsers(dest="group", required=True)

    accounts = groups.add_parser("accounts", help="customer accounts").add_subparsers(
        dest="action", required=True
    )
    create = accounts.add_parser("create", help="create an account")
    create.add_argument("--name", required=True, help="the customer's name")

    keys = groups.add_parser("keys", help="API keys").add_subparsers(dest="action", required=True)
    key_create = keys.add_parser("create", help="issue a key; its secret is printed once")
    key_create.add_argument("account_id", help="account id, acct_...")
    key_create.add_argument("--mode", choices=["test", "live"], required=True)
    key_list = keys.add_parser("list", help="list an account's keys, without secrets")
    key_list.add_argument("account_id")
    key_revoke = keys.add_parser("revoke", help="revoke a key at once")
    key_revoke.add_argument("key_id", help="key id, key_...")

    minutes = groups.add_parser("minutes", help="interview minutes").add_subparsers(
        dest="action", required=True
    )
    top_up = minutes.add_parser("top-up", help="add minutes to an account's balance")
    top_up.add_argument("account_id")
    top_up.add_argument("minutes", type=int, help="whole minutes to add, at least 1")
    top_up.add_argument(
        "--reference",
        help="an id for this top-up, such as an invoice number; a repeated reference adds nothing",
    )
    balance = minutes.add_parser("balance", help="show an account's balance")
    balance.add_argument("account_id")
    return parser


async def _run(args: argparse.Namespace) -> dict[str, Any]:
    settings = AdminSettings()
    client = create_client(settings.mongodb_url.get_secret_value(), app_name="mga-admin")
    try:
        db = client[settings.mongodb_database]
        await ensure_indexes(db, [*GATEWAY_INDEXES, LEDGER_INDEXES])
        store = GatewayStore(db)
        ledger = MinuteLedger(db)
        match (args.group, args.action):
            case ("accounts", "create"):
                return {"id": await provisioning.create_account(store, name=args.name)}
            case ("keys", "create"):
                key = await provisioning.issue_key(
                    store, account_id=args.account_id, livemode=args.mode == "live"
                )
                return {"id": key.id, "accountId": key.account_id, "mode": args.mode, "secret": key.secret}
            case ("keys", "list"):
                keys = await store.list_api_keys(args.account_id)
                return {
                    "data": [
                        {
                            "id": key["_id"],
                            "mode": "live" if key["livemode"] else "test",
                            "lastFour": key["lastFour"],
                            "createdAt": format_timestamp(key["createdAt"]),
                            "revokedAt": format_timestamp(key.get("revokedAt")),
                        }
                        for key in keys
                    ]
                }
            case ("keys", "revoke"):
                if not await store.revoke_api_key(args.key_id):
                    raise LookupError(f"no active key with id '{args.key_id}'")
                return {"id": args.key_id, "revoked": True}
            case ("minutes", "top-up"):
                if args.minutes < 1:
                    raise ValueError("minutes must be at least 1")
                if await store.get_account(args.account_id) is None:
                    raise LookupError(f"no account with id '{args.account_id}'")
                result = await ledger.top_up(
                    args.account_id,
                    args.minutes,
                    operation_id=args.reference or new_id(IdPrefix.COMMAND),
                )
                return _balance(args.account_id, result)
            case ("minutes", "balance"):
                return _balance(args.account_id, await ledger.balance(args.account_id))
        raise ValueError(f"unknown command {args.group} {args.action}")
    finally:
        await client.close()


def _balance(account_id: str, balance: Any) -> dict[str, Any]:
    return {
        "accountId": account_id,
        "availableMinutes": balance.available,
        "reservedMinutes": balance.reserved,
        "chargedMinutes": balance.charged,
    }


def _print_human(result: dict[str, Any]) -> None:
    if "data" in result:
        for row in result["data"]:
            print("  ".join(f"{key}={value}" for key, value in row.items()))
        return
    for key, value in result.items():
        print(f"{key}: {value}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
    try:
        result = asyncio.run(_run(args))
    except (LookupError, ValueError) as exc:
        print(f"mga-admin: {exc}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(result))
    else:
        _print_human(result)
        if "secret" in result:
            print("Store the secret now: it is not shown again.", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
