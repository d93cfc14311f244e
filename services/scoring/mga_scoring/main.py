"""Scoring service: wiring and entry point."""

from fastapi import FastAPI

from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_messaging.topology import Consumer
from mga_scoring.consumers import event_handlers
from mga_scoring.service import ScoringService
from mga_scoring.settings import ScoringSettings
from mga_scoring.store import INDEXES, ResultStore
from mga_service import ServiceRuntime, create_service_app

SERVICE = "scoring"


async def start(settings: ScoringSettings) -> ServiceRuntime:
    runtime = ServiceRuntime(service=SERVICE, settings=settings)
    db = await runtime.open(INDEXES)

    results = ResultStore(db)
    relay = runtime.relay(results.collection, interval=settings.outbox_sweep_interval)
    service = ScoringService(store=results, outbox=relay, model=settings.language_model())
    runtime.service = service

    await runtime.consume(Consumer.SCORING, event_handlers(service))
    return runtime


def create_app(settings: ScoringSettings) -> FastAPI:
    return create_service_app(service=SERVICE, start=lambda: start(settings))


def run() -> None:
    settings = ScoringSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
