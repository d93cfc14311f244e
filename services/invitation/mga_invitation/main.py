"""Invitation service: wiring and entry point."""

from fastapi import FastAPI

from mga_core.locks import KeyedLocks
from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_invitation import ledger, store
from mga_invitation.consumers import command_handlers, event_handlers
from mga_invitation.service import InvitationService
from mga_invitation.settings import InvitationSettings
from mga_messaging.topology import Consumer
from mga_service import ServiceRuntime, create_service_app

SERVICE = "invitation"


async def start(settings: InvitationSettings) -> ServiceRuntime:
    runtime = ServiceRuntime(service=SERVICE, settings=settings)
    db = await runtime.open([store.INDEXES, ledger.INDEXES])

    locks = KeyedLocks()
    invitations = store.InvitationStore(db, locks)
    relay = runtime.relay(
        invitations.collection, interval=settings.outbox_sweep_interval, locks=locks
    )
    service = InvitationService(
        store=invitations,
        ledger=ledger.MinuteLedger(db),
        outbox=relay,
        public_base_url=settings.public_base_url,
    )
    runtime.service = service

    await runtime.serve_commands(Consumer.INVITATION, command_handlers(service))
    await runtime.consume(Consumer.INVITATION, event_handlers(service))
    runtime.every(settings.expiry_sweep_interval, service.expire_due, name="expiry")
    return runtime


def create_app(settings: InvitationSettings) -> FastAPI:
    return create_service_app(service=SERVICE, start=lambda: start(settings))


def run() -> None:
    settings = InvitationSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
