import ipaddress
from datetime import timedelta
from enum import StrEnum

from pydantic import Field, SecretStr, field_validator, model_validator

from mga_core.settings import ServiceSettings


class SmtpSecurity(StrEnum):
    """Protection of the connection to the SMTP server."""

    # Plain text, for a mail catcher on the same host.
    NONE = "none"
    # A plain connection upgraded with STARTTLS before anything is sent (submission port 587).
    STARTTLS = "starttls"
    # TLS from the first byte (implicit TLS, port 465).
    TLS = "tls"


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MailerSettings(ServiceSettings):
    http_port: int = Field(default=8082, ge=0, le=65535)

    smtp_host: str = "127.0.0.1"
    # 1025 is where local mail catchers listen. Production uses 587 (starttls) or 465 (tls).
    smtp_port: int = Field(default=1025, ge=1, le=65535)
    smtp_security: SmtpSecurity = SmtpSecurity.NONE
    # Set both or neither. The login happens after TLS is in place.
    smtp_username: SecretStr | None = None
    smtp_password: SecretStr | None = None
    # Upper bound for one delivery attempt, from connecting to the server accepting the message.
    smtp_timeout: timedelta = timedelta(seconds=30)
    # Delivery attempts inside one handling of an event, the first included. After the last
    # one the event goes back to the consumer's delayed retries.
    smtp_retry_attempts: int = Field(default=3, ge=1, le=10)
    # Wait before the second attempt. It doubles for each further attempt, up to the maximum.
    smtp_retry_initial_backoff: timedelta = timedelta(seconds=1)
    smtp_retry_max_backoff: timedelta = timedelta(seconds=10)
    # How long an attempt in progress keeps other deliveries of the same email from sending.
    # A record left in "sending" by a worker that died is sent again only after this lease,
    # so it must exceed smtp_timeout, and the consumer's retry delays should add up to more.
    send_lease: timedelta = timedelta(minutes=2)

    mail_from_address: str = "interviews@meetandgreet.ai"
    mail_from_name: str = "MeetAndGreet"
    mail_reply_to: str | None = None

    # How often the outbox is swept for events whose first publish failed. Every write
    # publishes its events at once, so the sweep only catches broker outages; each sweep is a
    # query over the collection, which FerretDB answers by scanning it.
    outbox_sweep_interval: timedelta = timedelta(seconds=15)

    @field_validator("mail_from_address", "mail_from_name", "mail_reply_to")
    @classmethod
    def _reject_line_breaks(cls, value: str | None) -> str | None:
        if value is not None and ("\r" in value or "\n" in value):
            raise ValueError("must be a single line: header values may not contain CR or LF")
        return value

    @field_validator("mail_from_address", "mail_reply_to")
    @classmethod
    def _require_address(cls, value: str | None) -> str | None:
        if value is None:
            return value
        local, at, domain = value.rpartition("@")
        if not at or not local or not domain or any(ch.isspace() or ch in '<>"' for ch in value):
            raise ValueError(f"{value!r} is not an email address such as interviews@example.com")
        return value

    @model_validator(mode="after")
    def _check_smtp(self) -> "MailerSettings":
        if (self.smtp_username is None) != (self.smtp_password is None):
            raise ValueError("set both MGA_SMTP_USERNAME and MGA_SMTP_PASSWORD, or neither")
        if (
            self.smtp_password is not None
            and self.smtp_security is SmtpSecurity.NONE
            and not _is_loopback(self.smtp_host)
        ):
            raise ValueError(
                "MGA_SMTP_SECURITY=none would send the SMTP password in clear to "
                f"{self.smtp_host}. Set MGA_SMTP_SECURITY to starttls or tls."
            )
        if self.send_lease <= self.smtp_timeout:
            raise ValueError(
                "MGA_SEND_LEASE must be longer than MGA_SMTP_TIMEOUT, or a slow attempt "
                "still running could be taken for a dead one and sent twice"
            )
        if self.smtp_retry_max_backoff < self.smtp_retry_initial_backoff:
            raise ValueError(
                "MGA_SMTP_RETRY_MAX_BACKOFF must not be shorter than MGA_SMTP_RETRY_INITIAL_BACKOFF"
            )
        return self
