from datetime import timedelta

from pydantic import Field, model_validator

from mga_core.settings import ServiceSettings


class WebhookDispatcherSettings(ServiceSettings):
    http_port: int = Field(default=8085, ge=0, le=65535)

    # Lets endpoints use http and private, loopback or link-local addresses. Only for local
    # development and tests: in production it would let integrators reach internal services.
    webhook_allow_private_targets: bool = False
    # Upper bound for one delivery attempt: resolving the host, connecting, sending the body
    # and reading the status line and the first kilobyte of the response.
    webhook_timeout: timedelta = timedelta(seconds=10)
    # Retry schedule: the wait before retry n is a random time between half of and all of
    # min(webhook_retry_cap, webhook_retry_base * 2**(n-1)) ("equal jitter"). With these
    # defaults the last of 24 attempts comes 1.8 to 3.6 days after the first.
    webhook_retry_base: timedelta = timedelta(seconds=30)
    webhook_retry_cap: timedelta = timedelta(hours=6)
    # Attempts of one delivery, the first included, before it is marked failed.
    webhook_max_attempts: int = Field(default=24, ge=1, le=100)
    # Maximum wait that a Retry-After header of a 429 or 503 response can set.
    webhook_retry_after_cap: timedelta = timedelta(days=1)
    # How long the previous secret keeps signing after a rotation whose request sets no overlap.
    webhook_secret_overlap: timedelta = timedelta(hours=24)
    # Attempts in flight at once, over all endpoints and per endpoint. The per-endpoint limit
    # keeps a slow or dead endpoint from taking every slot.
    webhook_max_concurrency: int = Field(default=64, ge=1, le=10_000)
    webhook_max_concurrency_per_endpoint: int = Field(default=4, ge=1, le=1_000)
    # How often due deliveries are looked for when no new delivery or finished attempt wakes
    # the scheduler earlier.
    webhook_scheduler_interval: timedelta = timedelta(seconds=1)
    # How often the gauges of pending retries and failing endpoints are recounted.
    webhook_gauge_interval: timedelta = timedelta(seconds=15)

    @model_validator(mode="after")
    def _check_schedule(self) -> "WebhookDispatcherSettings":
        if self.webhook_retry_cap < self.webhook_retry_base:
            raise ValueError(
                "MGA_WEBHOOK_RETRY_CAP must not be shorter than MGA_WEBHOOK_RETRY_BASE"
            )
        if self.webhook_timeout <= timedelta(0):
            raise ValueError("MGA_WEBHOOK_TIMEOUT must be positive")
        if self.webhook_max_concurrency_per_endpoint > self.webhook_max_concurrency:
            raise ValueError(
                "MGA_WEBHOOK_MAX_CONCURRENCY_PER_ENDPOINT must not exceed "
                "MGA_WEBHOOK_MAX_CONCURRENCY"
            )
        return self
