"""Every Prometheus metric the services export, in one place, prefixed ``mga_``.

Labels take only bounded values: route templates, event types, outcomes, never ids or
addresses.
"""

from prometheus_client import Counter, Gauge, Histogram

HTTP_REQUESTS = Counter(
    "mga_http_requests_total",
    "HTTP requests handled, by route template, method and status code.",
    ["service", "route", "method", "status"],
)
HTTP_REQUEST_DURATION = Histogram(
    "mga_http_request_duration_seconds",
    "Time to handle an HTTP request, by route template and method.",
    ["service", "route", "method"],
)

EVENTS_PUBLISHED = Counter(
    "mga_events_published_total",
    "Messages confirmed by the broker, by publishing service and message type.",
    ["service", "type"],
)
EVENTS_PUBLISH_FAILURES = Counter(
    "mga_events_publish_failures_total",
    "Publishes the broker did not confirm or returned as unroutable.",
    ["service", "type", "reason"],
)
EVENTS_CONSUMED = Counter(
    "mga_events_consumed_total",
    "Messages handled by a consumer, by outcome (processed, duplicate, retried, "
    "dead_lettered).",
    ["service", "consumer", "type", "outcome"],
)
EVENT_PROCESSING_DURATION = Histogram(
    "mga_event_processing_duration_seconds",
    "Time a consumer spent on one message.",
    ["service", "consumer", "type"],
)
OUTBOX_PENDING = Gauge(
    "mga_outbox_pending_events",
    "Events written to the outbox and not yet confirmed by the broker, at the last sweep.",
    ["service"],
)

INVITATIONS_CREATED = Counter(
    "mga_invitations_created_total",
    "Invitations created, by mode.",
    ["mode"],
)
INVITATION_TRANSITIONS = Counter(
    "mga_invitation_transitions_total",
    "Invitation status changes, by new status and mode.",
    ["status", "mode"],
)
MINUTES_RESERVED = Counter(
    "mga_minutes_reserved_total",
    "Interview minutes reserved by live invitations.",
)
MINUTES_RELEASED = Counter(
    "mga_minutes_released_total",
    "Reserved interview minutes released again, by reason.",
    ["reason"],
)
MINUTES_CHARGED = Counter(
    "mga_minutes_charged_total",
    "Interview minutes charged for completed interviews.",
)

RATE_LIMITED_REQUESTS = Counter(
    "mga_rate_limited_requests_total",
    "Requests rejected with 429 because an API key exceeded its rate limit.",
    ["mode"],
)

LLM_CALLS = Counter(
    "mga_llm_calls_total",
    "Calls to a language model, by purpose, model and outcome (ok or the failure reason).",
    ["purpose", "model", "outcome"],
)
LLM_CALL_DURATION = Histogram(
    "mga_llm_call_duration_seconds",
    "Time one language-model call took, retries excluded.",
    ["purpose", "model"],
    buckets=(0.25, 0.5, 1, 2, 5, 10, 20, 40, 80),
)
LLM_TOKENS = Counter(
    "mga_llm_tokens_total",
    "Tokens used by language-model calls, by kind (prompt or completion).",
    ["purpose", "model", "kind"],
)
LLM_COST = Counter(
    "mga_llm_cost_usd_total",
    "Estimated cost of language-model calls in US dollars, from litellm's price table.",
    ["purpose", "model"],
)

RESULTS_SCORED = Counter(
    "mga_results_scored_total",
    "Interviews scored, by engine (sandbox or live) and outcome (completed or failed).",
    ["engine", "outcome"],
)
