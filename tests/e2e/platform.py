"""All six services as separate processes, on free loopback ports, for end-to-end tests.

Each platform gets its own database and exchange prefix. Service output goes to
``tests/artifacts/e2e/<prefix>/<service>.log`` so a failing test can be read afterwards.
"""

import asyncio
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support import AMQP_URL, MONGODB_URL

SERVICES = ("gateway", "invitation", "mailer", "simulation", "scoring", "webhook-dispatcher")
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "e2e"
# How long all services together may take until /readyz returns 200.
_READY_TIMEOUT_SECONDS = 90
# How long a service may take to exit after SIGTERM before it is killed.
_STOP_TIMEOUT_SECONDS = 30


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Platform:
    database: str
    prefix: str
    smtp_port: int
    extra_environment: dict[str, str] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def log_folder(self) -> Path:
        return ARTIFACTS / self.prefix

    def _environment(self, service: str) -> dict[str, str]:
        environment = {
            **os.environ,
            "LITELLM_LOCAL_MODEL_COST_MAP": "True",
            "MGA_ENVIRONMENT": "test",
            "MGA_LOG_FORMAT": "json",
            "MGA_HTTP_HOST": "127.0.0.1",
            "MGA_HTTP_PORT": str(self.ports[service]),
            "MGA_MONGODB_URL": MONGODB_URL,
            "MGA_MONGODB_DATABASE": self.database,
            "MGA_AMQP_URL": AMQP_URL,
            "MGA_AMQP_PREFIX": self.prefix,
            "MGA_AMQP_RETRY_DELAYS_SECONDS": "[1,2]",
            "MGA_AMQP_MAX_ATTEMPTS": "5",
            "MGA_PUBLIC_BASE_URL": self.url("simulation"),
            "MGA_SMTP_HOST": "127.0.0.1",
            "MGA_SMTP_PORT": str(self.smtp_port),
            "MGA_WEBHOOK_ALLOW_PRIVATE_TARGETS": "true",
            "MGA_WEBHOOK_RETRY_BASE": "1",
            "MGA_WEBHOOK_RETRY_CAP": "2",
            "MGA_OUTBOX_SWEEP_INTERVAL": "0.5",
            "MGA_LLM_MODEL": "sandbox",
        }
        environment.update(self.extra_environment)
        return environment

    async def start(self) -> None:
        self.ports = {service: free_port() for service in SERVICES}
        self.log_folder.mkdir(parents=True, exist_ok=True)
        for service in SERVICES:
            self._launch(service)
        await self._wait_until_ready(SERVICES)

    def _launch(self, service: str) -> None:
        executables = Path(sys.executable).parent
        log = (self.log_folder / f"{service}.log").open("ab")
        self.processes[service] = subprocess.Popen(
            [str(executables / f"mga-{service}")],
            env=self._environment(service),
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    async def terminate(self, service: str) -> int:
        """Send SIGTERM to one service and wait for it to exit; return its exit code."""
        process = self.processes[service]
        process.send_signal(signal.SIGTERM)
        return await asyncio.to_thread(process.wait, _STOP_TIMEOUT_SECONDS)

    async def restart(self, service: str) -> None:
        """Start a stopped service again on its port and wait until it is ready."""
        self._launch(service)
        await self._wait_until_ready((service,))

    async def _wait_until_ready(self, services: tuple[str, ...]) -> None:
        deadline = asyncio.get_running_loop().time() + _READY_TIMEOUT_SECONDS
        waiting = set(services)
        async with httpx.AsyncClient(timeout=2) as http:
            while waiting:
                for service in sorted(waiting):
                    if self.processes[service].poll() is not None:
                        raise RuntimeError(f"{service} exited at start:\n{self.log_tail(service)}")
                    try:
                        response = await http.get(f"{self.url(service)}/readyz")
                    except httpx.TransportError:
                        continue
                    if response.status_code == 200:
                        waiting.discard(service)
                if asyncio.get_running_loop().time() > deadline:
                    tails = "\n".join(f"--- {name}\n{self.log_tail(name)}" for name in waiting)
                    raise TimeoutError(f"not ready within {_READY_TIMEOUT_SECONDS} s:\n{tails}")
                await asyncio.sleep(0.2)

    def log_tail(self, service: str, lines: int = 30) -> str:
        path = self.log_folder / f"{service}.log"
        if not path.exists():
            return "(no log)"
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])

    async def stop(self) -> dict[str, int]:
        """Send SIGTERM to every service and wait; return each exit code."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes: dict[str, int] = {}
        for service, process in self.processes.items():
            try:
                codes[service] = await asyncio.to_thread(process.wait, _STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[service] = await asyncio.to_thread(process.wait)
        return codes
