"""The retry policy: which responses count as delivered, and when to try again."""

import random
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Responses whose Retry-After header sets the earliest next attempt.
RETRY_AFTER_STATUSES = frozenset({429, 503})
# The endpoint is gone for good: it is disabled and receives nothing more.
GONE_STATUS = 410


def is_success(status_code: int) -> bool:
    return 200 <= status_code < 300


def is_redirect(status_code: int) -> bool:
    return 300 <= status_code < 400


def backoff_delay(
    attempt: int, *, base: timedelta, cap: timedelta, rng: random.Random | None = None
) -> timedelta:
    """Return the wait after failed attempt number ``attempt`` (1 for the first).

    The wait is uniform between half of and all of min(cap, base * 2**(attempt-1))
    ("equal jitter"): endpoints that failed together are not retried at the same moment,
    and the schedule's total length stays predictable.
    """
    ceiling = min(cap.total_seconds(), base.total_seconds() * 2 ** min(attempt - 1, 62))
    return timedelta(seconds=(rng or random).uniform(ceiling / 2, ceiling))


def parse_retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """Return the wait a Retry-After header requests, or None when it is absent or invalid.

    The header is either whole seconds or an HTTP date (RFC 9110, section 10.2.3). A date in
    the past requests no wait.
    """
    if value is None:
        return None
    text = value.strip()
    if text.isdigit():
        return timedelta(seconds=int(text))
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        return None
    return max(timedelta(0), moment - now)


def next_retry_delay(
    attempt: int,
    *,
    status_code: int | None,
    retry_after: str | None,
    now: datetime,
    base: timedelta,
    cap: timedelta,
    retry_after_cap: timedelta,
) -> timedelta:
    """Return the wait before the attempt after ``attempt``.

    A 429 or 503 with a Retry-After header waits at least the requested time, up to
    ``retry_after_cap``. Every other failure waits the jittered backoff.
    """
    delay = backoff_delay(attempt, base=base, cap=cap)
    if status_code in RETRY_AFTER_STATUSES:
        requested = parse_retry_after(retry_after, now=now)
        if requested is not None:
            delay = max(delay, min(requested, retry_after_cap))
    return delay
