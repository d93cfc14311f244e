"""Latency of the API's main calls against baselines measured in the same run.

Run against the local stack (``make up``), with the test key it printed:

    .venv/bin/python bench/api_latency.py --key mga_test_... [--requests 200] [--concurrency 8]

Three workloads run in turn, each ``--requests`` times with ``--concurrency`` requests in
flight: ``GET /healthz`` (the HTTP stack alone, the baseline), ``GET /v1/balance`` (plus
authentication, rate limiting and one read) and ``POST /v1/invitations`` (plus validation,
the idempotency record, the command round trip to the invitation service, the outbox write
and the publish). It prints the median and 95th percentile of each and their ratio to the
baseline, so numbers from different machines are compared by ratio.
"""

import argparse
import asyncio
import statistics
import time
import uuid

import httpx

BODY = {
    "candidateEmail": "bench@example.com",
    "candidateName": "Bench Candidate",
    "role": "Engineer",
    "jobPosting": "A benchmark invitation.",
}


async def _measure(
    client: httpx.AsyncClient, send, *, requests: int, concurrency: int  # type: ignore[no-untyped-def]
) -> list[float]:
    latencies: list[float] = []
    semaphore = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with semaphore:
            started = time.perf_counter()
            response = await send(client)
            latencies.append(time.perf_counter() - started)
            if response.status_code >= 400:
                raise RuntimeError(f"{response.request.url.path} returned {response.status_code}")

    await asyncio.gather(*(one() for _ in range(requests)))
    return latencies


def _summary(latencies: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return statistics.median(ordered) * 1000, p95 * 1000


async def main(args: argparse.Namespace) -> None:
    headers = {"Authorization": f"Bearer {args.key}"}
    workloads = {
        "GET /healthz (baseline)": lambda c: c.get("/healthz"),
        "GET /v1/balance": lambda c: c.get("/v1/balance", headers=headers),
        "POST /v1/invitations": lambda c: c.post(
            "/v1/invitations", json=BODY, headers={**headers, "Idempotency-Key": str(uuid.uuid4())}
        ),
    }
    async with httpx.AsyncClient(base_url=args.gateway, timeout=30) as client:
        await _measure(client, workloads["GET /healthz (baseline)"], requests=20, concurrency=2)
        results = {
            name: _summary(
                await _measure(client, send, requests=args.requests, concurrency=args.concurrency)
            )
            for name, send in workloads.items()
        }
    baseline = results["GET /healthz (baseline)"][0]
    print(f"{'workload':<26} {'median ms':>10} {'p95 ms':>8} {'x baseline':>11}")
    for name, (median, p95) in results.items():
        print(f"{name:<26} {median:>10.1f} {p95:>8.1f} {median / baseline:>11.1f}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gateway", default="http://127.0.0.1:8080", help="gateway base URL")
    parser.add_argument("--key", required=True, help="a test API key, as make up prints it")
    parser.add_argument("--requests", type=int, default=200, help="requests per workload")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    asyncio.run(main(parser.parse_args()))
