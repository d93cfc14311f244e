from datetime import timedelta

from pydantic import Field

from mga_core.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    http_port: int = Field(default=8080, ge=0, le=65535)
    # Worker processes of the API; metrics of all of them are summed on /metrics.
    http_workers: int = Field(default=1, ge=1, le=64)
    # Requests one API key may make per window; the 429 carries the seconds to wait.
    rate_limit_requests: int = Field(default=100, ge=1)
    rate_limit_window: timedelta = timedelta(seconds=1)
    # Largest request body accepted; larger ones get 413 before they are parsed.
    max_body_bytes: int = Field(default=256 * 1024, ge=1024)
    # How long an Idempotency-Key and its stored response are kept.
    idempotency_ttl: timedelta = timedelta(hours=24)
    # How long a request may hold its Idempotency-Key before another may take it over.
    idempotency_lock: timedelta = timedelta(seconds=60)
    # How long a second request with a key in use waits for the first before a 409.
    idempotency_wait: timedelta = timedelta(seconds=5)
    # How long the gateway waits for the invitation service's reply to a command.
    command_timeout: timedelta = timedelta(seconds=10)
    # Default and latest allowed expiry of an invitation, counted from its creation.
    default_expiry: timedelta = timedelta(days=14)
    max_expiry: timedelta = timedelta(days=5 * 365)
