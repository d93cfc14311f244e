"""The webhook dispatcher's Prometheus metrics.

Labels take only bounded values, never ids or URLs.
"""

from prometheus_client import Counter, Gauge, Histogram

WEBHOOK_DELIVERIES = Counter(
    "mga_webhook_deliveries_total",
    "Delivery attempts by outcome: succeeded, retry_scheduled, failed (no attempts left), "
    "endpoint_disabled (the endpoint answered 410), interrupted (the dispatcher stopped "
    "during the attempt), cancelled (the endpoint was disabled or deleted before the attempt).",
    ["outcome"],
)
WEBHOOK_DELIVERY_DURATION = Histogram(
    "mga_webhook_delivery_duration_seconds",
    "Time of one delivery attempt, from resolving the host until the response status and "
    "first kilobyte arrived or the attempt failed.",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
WEBHOOK_RETRIES_PENDING = Gauge(
    "mga_webhook_retries_pending",
    "Deliveries with at least one failed attempt that are waiting for their next attempt, "
    "at the last count.",
)
WEBHOOK_ENDPOINTS_FAILING = Gauge(
    "mga_webhook_endpoints_failing",
    "Endpoints marked failing because a delivery used up its attempts, at the last count.",
)
