"""Metrics of the simulation service; the shared ones are in ``mga_core.metrics``."""

from prometheus_client import Counter, Gauge

INTERVIEWS_STARTED = Counter(
    "mga_interviews_started_total",
    "Interviews started by candidates, by mode (live or test).",
    ["mode"],
)
INTERVIEWS_FINISHED = Counter(
    "mga_interviews_total",
    "Interviews finished, by outcome (the finish reason) and mode (live or test).",
    ["outcome", "mode"],
)
INTERVIEWS_RUNNING = Gauge(
    "mga_interviews_running",
    "Interviews started and not yet finished, counted in the database at the last sweep.",
)
GENERATION_FAILURES = Counter(
    "mga_interview_generation_failures_total",
    "Panels, question plans or panel turns that could not be generated after all retries.",
    ["purpose"],
)
