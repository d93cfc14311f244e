"""Mailer service: wiring and entry point."""

import structlog
from fastapi import FastAPI

from mga_core.locks import KeyedLocks
from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_mailer import store
from mga_mailer.consumers import event_handlers
from mga_mailer.message import Mailbox
from mga_mailer.render import InvitationRenderer
from mga_mailer.sender import AiosmtplibSender, SmtpSender
from mga_mailer.service import DeliveryPolicy, MailerService
from mga_mailer.settings import MailerSettings
from mga_messaging.topology import Consumer
from mga_service import ServiceRuntime, create_service_app

SERVICE = "mailer"
log = structlog.get_logger()


def create_sender(settings: MailerSettings) -> AiosmtplibSender:
    return AiosmtplibSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        security=settings.smtp_security,
        username=settings.smtp_username.get_secret_value() if settings.smtp_username else None,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        timeout_seconds=settings.smtp_timeout.total_seconds(),
    )


async def start(settings: MailerSettings, *, sender: SmtpSender | None = None) -> ServiceRuntime:
    """Start the mailer; ``sender`` replaces the aiosmtplib client built from the settings."""
    runtime = ServiceRuntime(service=SERVICE, settings=settings)
    db = await runtime.open([store.INDEXES, store.ATTEMPT_INDEXES])

    locks = KeyedLocks()
    emails = store.EmailStore(db, locks)
    relay = runtime.relay(emails.collection, interval=settings.outbox_sweep_interval, locks=locks)
    service = MailerService(
        store=emails,
        sender=sender or create_sender(settings),
        outbox=relay,
        renderer=InvitationRenderer(),
        policy=DeliveryPolicy(
            attempts=settings.smtp_retry_attempts,
            initial_backoff_seconds=settings.smtp_retry_initial_backoff.total_seconds(),
            max_backoff_seconds=settings.smtp_retry_max_backoff.total_seconds(),
            lease=settings.send_lease,
        ),
        from_mailbox=Mailbox(settings.mail_from_name, settings.mail_from_address),
        reply_to=settings.mail_reply_to,
    )
    runtime.service = service

    # The SMTP server is not a readiness check: deliveries during an SMTP outage are retried.
    await runtime.consume(Consumer.MAILER, event_handlers(service))
    log.info(
        "mailer.smtp_configured",
        smtp_host=settings.smtp_host,
        smtp_port=settings.smtp_port,
        smtp_security=settings.smtp_security.value,
    )
    return runtime


def create_app(settings: MailerSettings, *, sender: SmtpSender | None = None) -> FastAPI:
    return create_service_app(service=SERVICE, start=lambda: start(settings, sender=sender))


def run() -> None:
    settings = MailerSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
