"""Webhook dispatcher: wiring and entry point."""

import structlog
from fastapi import FastAPI

from mga_core.locks import KeyedLocks
from mga_core.logging import configure_logging
from mga_core.server import serve
from mga_messaging.topology import Consumer
from mga_service import ServiceRuntime, create_service_app
from mga_webhook_dispatcher import store
from mga_webhook_dispatcher.attempts import AttemptPolicy, AttemptRunner
from mga_webhook_dispatcher.consumers import command_handlers, event_handlers
from mga_webhook_dispatcher.delivery import HttpxSender, WebhookSender
from mga_webhook_dispatcher.metrics import WEBHOOK_ENDPOINTS_FAILING, WEBHOOK_RETRIES_PENDING
from mga_webhook_dispatcher.scheduler import DeliveryScheduler
from mga_webhook_dispatcher.service import WebhookService
from mga_webhook_dispatcher.settings import WebhookDispatcherSettings
from mga_webhook_dispatcher.ssrf import Resolver, SystemResolver

SERVICE = "webhook-dispatcher"
# Seconds by which httpx's own timeout exceeds the attempt deadline.
_HTTPX_TIMEOUT_MARGIN = 1.0
log = structlog.get_logger()


async def start(
    settings: WebhookDispatcherSettings,
    *,
    resolver: Resolver | None = None,
    sender: WebhookSender | None = None,
) -> ServiceRuntime:
    """Start the dispatcher; tests pass their own ``resolver`` so no lookup leaves the host."""
    runtime = ServiceRuntime(service=SERVICE, settings=settings)
    db = await runtime.open(store.INDEXES)

    webhooks = store.WebhookStore(db, KeyedLocks())
    resolver = resolver or SystemResolver()
    if sender is None:
        # The runner enforces the attempt deadline. httpx's per-operation timeout is only a
        # backstop and is longer, so attempt records always name the deadline.
        own_sender = HttpxSender(
            timeout_seconds=settings.webhook_timeout.total_seconds() + _HTTPX_TIMEOUT_MARGIN
        )
        sender = own_sender
        runtime.on_stop(own_sender.aclose)
    runner = AttemptRunner(
        store=webhooks,
        sender=sender,
        resolver=resolver,
        policy=AttemptPolicy(
            timeout=settings.webhook_timeout,
            retry_base=settings.webhook_retry_base,
            retry_cap=settings.webhook_retry_cap,
            retry_after_cap=settings.webhook_retry_after_cap,
            max_attempts=settings.webhook_max_attempts,
            allow_private_targets=settings.webhook_allow_private_targets,
        ),
    )
    scheduler = DeliveryScheduler(
        webhooks,
        runner.run,
        max_concurrency=settings.webhook_max_concurrency,
        max_concurrency_per_endpoint=settings.webhook_max_concurrency_per_endpoint,
        poll_interval=settings.webhook_scheduler_interval,
    )
    service = WebhookService(
        store=webhooks,
        resolver=resolver,
        allow_private_targets=settings.webhook_allow_private_targets,
        default_secret_overlap=settings.webhook_secret_overlap,
        on_scheduled=scheduler.wake,
    )
    runtime.service = service
    if settings.webhook_allow_private_targets:
        log.warning("webhook.private_targets_allowed")

    async def count_gauges() -> None:
        WEBHOOK_RETRIES_PENDING.set(await webhooks.count_retries_pending())
        WEBHOOK_ENDPOINTS_FAILING.set(await webhooks.count_failing_endpoints())

    await runtime.serve_commands(Consumer.WEBHOOK_DISPATCHER, command_handlers(service))
    await runtime.consume(Consumer.WEBHOOK_DISPATCHER, event_handlers(service))
    runtime.background(scheduler.run, name="webhook-scheduler")
    runtime.every(settings.webhook_gauge_interval, count_gauges, name="webhook-gauges")
    # Attempts in flight at shutdown are recorded as interrupted, so the next start retries
    # them at once.
    runtime.on_stop(scheduler.stop)
    return runtime


def create_app(settings: WebhookDispatcherSettings) -> FastAPI:
    return create_service_app(service=SERVICE, start=lambda: start(settings))


def run() -> None:
    settings = WebhookDispatcherSettings()
    configure_logging(service=SERVICE, log_format=settings.log_format, level=settings.log_level)
    serve(create_app(settings), host=settings.http_host, port=settings.http_port)
