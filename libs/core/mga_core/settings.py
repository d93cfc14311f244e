"""Settings every service shares, read from ``MGA_``-prefixed environment variables."""

import re
from datetime import timedelta
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class ServiceSettings(BaseSettings):
    """Base settings; each service subclasses it and adds its own fields."""

    model_config = SettingsConfigDict(env_prefix="MGA_", extra="ignore")

    environment: Environment = Environment.PRODUCTION
    log_format: LogFormat = LogFormat.JSON
    log_level: str = "INFO"

    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=0, le=65535)

    mongodb_url: SecretStr = SecretStr("mongodb://127.0.0.1:27017")
    mongodb_database: str = "mga"

    amqp_url: SecretStr = SecretStr("amqp://guest:guest@127.0.0.1:5672/")
    # Prefix for every exchange and queue name, so that tests and several stacks can share
    # one broker without seeing each other's messages.
    amqp_prefix: str = Field(default="mga", pattern=r"^[a-z][a-z0-9-]{0,30}$")
    # Unacknowledged messages one consumer holds at a time.
    amqp_prefetch: int = Field(default=16, ge=1, le=1000)
    # Delays between attempts of a failing message, in seconds; the last is reused.
    amqp_retry_delays_seconds: list[int] = Field(default=[5, 30, 120, 600])
    # Attempts of a failing message, the first included, before it is dead-lettered.
    amqp_max_attempts: int = Field(default=5, ge=1, le=50)
    # How long a publish may wait for the broker's confirm.
    amqp_confirm_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("*", mode="before")
    @classmethod
    def _read_seconds_as_durations(cls, value: Any, info: ValidationInfo) -> Any:
        """Accept a duration as plain seconds ("30", "0.5") as well as ISO 8601 ("PT30S")."""
        field = cls.model_fields.get(info.field_name or "")
        if field is None or field.annotation is not timedelta or not isinstance(value, str):
            return value
        if re.fullmatch(r"\d+(\.\d+)?", value.strip()):
            return timedelta(seconds=float(value))
        return value

    @model_validator(mode="after")
    def _reject_placeholder_secrets(self) -> "ServiceSettings":
        if self.environment is not Environment.PRODUCTION:
            return self
        if "guest:guest@" in self.amqp_url.get_secret_value():
            raise ValueError(
                "MGA_AMQP_URL uses the guest account, which production must not; "
                "set MGA_AMQP_URL or MGA_ENVIRONMENT=development"
            )
        return self
