"""Several gateway workers in one process group report their metrics as one sum."""

import asyncio
import os
import re
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from mga_messaging.topology import Names
from mga_storage import create_client
from tests.e2e.platform import free_port
from tests.support import AMQP_URL, MONGODB_URL, delete_topology

REQUESTS = 40


def _requests_counted(metrics: str) -> float:
    pattern = re.compile(r'^mga_http_requests_total\{[^}]*route="/v1/invitations"[^}]*\} (\S+)$')
    return sum(float(match.group(1)) for line in metrics.splitlines() if (match := pattern.match(line)))


async def test_two_workers_sum_their_metrics() -> None:
    port = free_port()
    token = uuid.uuid4().hex[:10]
    environment = {
        **os.environ,
        "MGA_ENVIRONMENT": "test",
        "MGA_HTTP_HOST": "127.0.0.1",
        "MGA_HTTP_PORT": str(port),
        "MGA_HTTP_WORKERS": "2",
        "MGA_MONGODB_URL": MONGODB_URL,
        "MGA_MONGODB_DATABASE": f"test_{token}",
        "MGA_AMQP_URL": AMQP_URL,
        "MGA_AMQP_PREFIX": f"t{token}",
    }
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    gateway = subprocess.Popen(
        [str(Path(sys.executable).parent / "mga-gateway")],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            for _ in range(300):
                try:
                    if (await http.get("/readyz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.1)
            # Unauthenticated requests still pass through the metrics middleware.
            responses = [await http.get("/v1/invitations") for _ in range(REQUESTS)]
            scrapes = [_requests_counted((await http.get("/metrics")).text) for _ in range(6)]
    finally:
        os.killpg(gateway.pid, signal.SIGTERM)
        await asyncio.to_thread(gateway.wait, 30)
        await delete_topology(Names(f"t{token}"))
        client = create_client(MONGODB_URL, app_name="tests")
        await client.drop_database(f"test_{token}")
        await client.close()

    assert all(response.status_code == 401 for response in responses)
    assert scrapes == [REQUESTS] * len(scrapes)
