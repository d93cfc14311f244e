"""A real Prometheus scrapes every service with the project's configuration during a journey."""

import asyncio
import subprocess
import tempfile
import uuid
from pathlib import Path

import httpx
import yaml

from mga_demo.journey import ANSWERS, JOB_POSTING, Candidate, invitation_link
from tests.e2e.conftest import Journey
from tests.e2e.platform import SERVICES, free_port
from tests.support import wait_for

REPO = Path(__file__).resolve().parents[2]
INSTALL_SCRIPT = REPO / "deploy" / "prometheus" / "install-promtool.sh"
SCRAPE_CONFIG = REPO / "deploy" / "prometheus" / "prometheus.yml"

# Counters the journey must move, one or more per service.
JOURNEY_COUNTERS = {
    "gateway": 'sum(mga_http_requests_total{service="gateway"})',
    "invitation": "sum(mga_invitations_created_total)",
    "mailer": 'sum(mga_emails_total{outcome="sent"})',
    "simulation": "sum(mga_interviews_started_total)",
    "scoring": 'sum(mga_results_scored_total{outcome="completed"})',
    "webhook-dispatcher": "sum(mga_webhook_deliveries_total)",
    "events": 'sum(mga_events_consumed_total{outcome="processed"})',
}


def _prometheus_binary() -> Path:
    subprocess.run(["bash", str(INSTALL_SCRIPT)], check=True, capture_output=True, timeout=600)
    return REPO / ".stack" / "bin" / "prometheus"


def _config_for(journey: Journey, folder: Path) -> Path:
    """The project's scrape configuration, pointed at this platform's ports, scraping often."""
    config = yaml.safe_load(SCRAPE_CONFIG.read_text())
    config["global"]["scrape_interval"] = "1s"
    config["global"]["evaluation_interval"] = "1s"
    config["rule_files"] = [str(SCRAPE_CONFIG.parent / name) for name in config.get("rule_files", [])]
    for job in config["scrape_configs"]:
        if job["job_name"] in SERVICES:
            port = journey.platform.ports[job["job_name"]]
            for target_group in job["static_configs"]:
                target_group["targets"] = [f"127.0.0.1:{port}"]
    path = folder / "prometheus.yml"
    path.write_text(yaml.safe_dump(config))
    return path


async def _query(http: httpx.AsyncClient, expression: str) -> list[dict]:
    response = await http.get("/api/v1/query", params={"query": expression})
    response.raise_for_status()
    return response.json()["data"]["result"]  # type: ignore[no-any-return]


async def _run_journey(journey: Journey) -> None:
    address = f"monitoring-{uuid.uuid4().hex[:6]}@example.com"
    created = await journey.api.post(
        "/v1/invitations",
        json={"candidateEmail": address, "candidateName": "Alex Chen",
              "role": "Senior Product Manager", "jobPosting": JOB_POSTING, "durationMinutes": 10},
    )
    assert created.status_code == 201, created.text
    mail = await wait_for(lambda: _async(journey.smtp.recorder.to(address)), timeout=30)
    async with httpx.AsyncClient(timeout=60) as browser:
        candidate = Candidate(browser, invitation_link(mail[0].message))
        await candidate.open()
        await candidate.start()
        await candidate.answer_until_finished(ANSWERS["en"])
    await journey.inbox.wait_for("interview.completed", created.json()["id"], timeout=60)


async def test_prometheus_sees_every_service_and_the_journey(journey: Journey) -> None:
    binary = await asyncio.to_thread(_prometheus_binary)
    port = free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = _config_for(journey, Path(folder))
        server = subprocess.Popen(
            [str(binary), f"--config.file={config}", f"--storage.tsdb.path={folder}/data",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
                await _run_journey(journey)

                async def all_up() -> list[dict] | None:
                    try:
                        up = await _query(http, "up")
                    except httpx.HTTPError:
                        return None
                    healthy = {s["metric"]["job"] for s in up if s["value"][1] == "1"}
                    return up if set(SERVICES) <= healthy else None

                up = await wait_for(all_up, timeout=60, interval=0.5)

                async def moved(expression: str) -> float | None:
                    result = await _query(http, expression)
                    value = float(result[0]["value"][1]) if result else 0.0
                    return value if value > 0 else None

                values = {
                    name: await wait_for(lambda e=expression: moved(e), timeout=30, interval=0.5)
                    for name, expression in JOURNEY_COUNTERS.items()
                }
                rules = (await http.get("/api/v1/rules")).json()["data"]["groups"]
        finally:
            server.terminate()
            await asyncio.to_thread(server.wait, 30)

    assert {s["metric"]["job"] for s in up if s["value"][1] == "1"} >= set(SERVICES)
    assert all(value > 0 for value in values.values()), values
    assert sum(len(group["rules"]) for group in rules) >= 8


async def _async(value):  # type: ignore[no-untyped-def]
    return value
