"""Simulation service: wiring and entry point."""

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from mga_core.locks import KeyedLocks
from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_events.commands import AdvanceInterview, CommandName
from mga_messaging.topology import Consumer
from mga_service import ServiceRuntime, create_service_app
from mga_simulation import pages, store
from mga_simulation.api import router
from mga_simulation.consumers import event_handlers
from mga_simulation.headers import STATIC_PREFIX, SecurityHeadersMiddleware
from mga_simulation.panel import LlmPanelWriter, SandboxPanelWriter
from mga_simulation.questions import LlmQuestionWriter, SandboxQuestionWriter
from mga_simulation.sandbox_candidate import advance
from mga_simulation.service import Engines, InterviewService
from mga_simulation.settings import SimulationSettings

SERVICE = "simulation"
STATIC_DIRECTORY = Path(__file__).parent / "static"


def live_engines(settings: SimulationSettings) -> Engines | None:
    """Return the model-backed engines, or None when every interview runs on the sandbox."""
    model = settings.language_model()
    if model is None:
        return None
    return Engines(
        panel=LlmPanelWriter(model, settings.panel_size), questions=LlmQuestionWriter(model)
    )


async def start(settings: SimulationSettings) -> ServiceRuntime:
    runtime = ServiceRuntime(service=SERVICE, settings=settings)
    db = await runtime.open([store.INDEXES])

    locks = KeyedLocks()
    sessions = store.SessionStore(db, locks)
    relay = runtime.relay(sessions.collection, interval=settings.outbox_sweep_interval, locks=locks)
    service = InterviewService(
        store=sessions,
        outbox=relay,
        sandbox=Engines(
            panel=SandboxPanelWriter(settings.panel_size), questions=SandboxQuestionWriter()
        ),
        live=live_engines(settings),
        deadline_grace=settings.deadline_grace,
        public_base_url=settings.public_base_url,
    )
    runtime.service = service

    async def advance_interview(command: AdvanceInterview) -> dict[str, Any]:
        return await advance(service, sessions, command)

    await runtime.consume(Consumer.SIMULATION, event_handlers(service))
    await runtime.serve_commands(
        Consumer.SIMULATION, {CommandName.ADVANCE_INTERVIEW: advance_interview}
    )
    runtime.every(settings.session_sweep_interval, service.finish_overdue, name="deadline-sweep")
    return runtime


async def _not_found_page(request: Request, exc: Exception) -> Response:
    """Render the bilingual not-found page for unknown paths; other HTTP errors stay as usual."""
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return pages.not_found()
    return await http_exception_handler(request, exc)


def create_app(settings: SimulationSettings) -> FastAPI:
    app = create_service_app(service=SERVICE, start=lambda: start(settings))
    app.include_router(router)
    app.mount(STATIC_PREFIX.rstrip("/"), StaticFiles(directory=STATIC_DIRECTORY), name="static")
    app.add_exception_handler(StarletteHTTPException, _not_found_page)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def run() -> None:
    settings = SimulationSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
