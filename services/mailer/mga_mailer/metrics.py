"""The mailer's Prometheus metrics. Labels take only bounded values, never ids or addresses."""

from prometheus_client import Counter, Histogram

EMAILS = Counter(
    "mga_emails_total",
    "Invitation emails handled, by outcome (sent, failed, deferred, in_flight, duplicate), "
    "language and mode (live, test).",
    ["outcome", "language", "mode"],
)
EMAIL_SEND_DURATION = Histogram(
    "mga_email_send_duration_seconds",
    "Time of one SMTP delivery attempt, from connecting until the server accepted or refused "
    "the message, by result (accepted, rejected, deferred).",
    ["result"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
