"""The whole platform as six processes, a real SMTP server and a webhook receiver."""

import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from mga_demo.journey import WebhookInbox
from mga_gateway import provisioning
from mga_gateway.store import GatewayStore
from mga_invitation.ledger import MinuteLedger
from mga_messaging.topology import Names
from mga_storage import create_client
from tests.e2e.platform import Platform, free_port
from tests.e2e.smtp import SmtpServer
from tests.support import MONGODB_URL, delete_topology

pytestmark = pytest.mark.e2e


@dataclass
class Journey:
    platform: Platform
    smtp: SmtpServer
    inbox: WebhookInbox
    api: httpx.AsyncClient
    db: Any
    key: str
    endpoint_secret: str


@pytest.fixture
async def journey() -> AsyncIterator[Journey]:
    token = uuid.uuid4().hex[:10]
    database, prefix = f"test_{token}", f"t{token}"
    smtp = SmtpServer(free_port())
    smtp.start()
    platform = Platform(database=database, prefix=prefix, smtp_port=smtp._controller.port)
    client = create_client(MONGODB_URL, app_name="tests")
    inbox = WebhookInbox()
    await inbox.start()
    try:
        await platform.start()
        store = GatewayStore(client[database])
        account = await provisioning.create_account(store, name="E2E recruiting")
        key = (await provisioning.issue_key(store, account_id=account, livemode=True)).secret
        await MinuteLedger(client[database]).top_up(account, 1000, operation_id=token)
        async with httpx.AsyncClient(
            base_url=platform.url("gateway"),
            headers={"Authorization": f"Bearer {key}"},
            timeout=60,
        ) as api:
            endpoint = await api.post(
                "/v1/webhook_endpoints", json={"url": inbox.url, "enabledEvents": ["*"]}
            )
            assert endpoint.status_code == 201, endpoint.text
            yield Journey(
                platform=platform,
                smtp=smtp,
                inbox=inbox,
                api=api,
                db=client[database],
                key=key,
                endpoint_secret=endpoint.json()["secret"],
            )
    finally:
        codes = await platform.stop()
        await inbox.stop()
        smtp.stop()
        await delete_topology(Names(prefix))
        await client.drop_database(database)
        await client.close()
    # uvicorn re-raises SIGTERM after its graceful shutdown, so a clean exit reads as -15.
    assert all(code in (0, -signal.SIGTERM) for code in codes.values()), codes
    for service in codes:
        assert '"service.stopped"' in platform.log_tail(service, lines=200), service
