"""When to poll a feed next, and when to retry an article.

Polling adapts to how often a feed publishes: half the typical gap between its recent items,
kept within the operator's bounds. A publisher's own hints win when they ask for patience
(Cache-Control max-age, Retry-After), and failures back off exponentially.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from itertools import pairwise

from django.conf import settings


def clamp(seconds: float) -> int:
    low = settings.BROADSHEET_POLL_MIN_INTERVAL
    high = settings.BROADSHEET_POLL_MAX_INTERVAL
    return int(min(max(seconds, low), high))


def publishing_interval(dates: Iterable[datetime | None], default: int) -> int:
    """Half the median gap between the 20 newest items (Nyquist-style), clamped."""
    ordered = sorted((d for d in dates if d is not None), reverse=True)[:20]
    if len(ordered) < 2:
        return clamp(default)
    gaps = [(a - b).total_seconds() for a, b in pairwise(ordered)]
    gaps = [g for g in gaps if g > 0]
    if not gaps:
        return clamp(default)
    return clamp(statistics.median(gaps) / 2)


def next_poll(
    now: datetime,
    interval: int,
    *,
    cache_max_age: int | None = None,
    retry_after: datetime | None = None,
) -> datetime:
    wait = max(interval, cache_max_age or 0)
    when = now + timedelta(seconds=clamp(wait))
    if retry_after is not None and retry_after > when:
        when = min(retry_after, now + timedelta(seconds=settings.BROADSHEET_POLL_MAX_INTERVAL))
    return when


def error_backoff(
    now: datetime, interval: int, errors: int, retry_after: datetime | None
) -> datetime:
    wait = clamp(interval * (2 ** min(errors, 10)))
    when = now + timedelta(seconds=wait)
    if retry_after is not None and retry_after > when:
        when = min(retry_after, now + timedelta(seconds=settings.BROADSHEET_POLL_MAX_INTERVAL))
    return when


def article_retry(now: datetime, attempts: int, retry_after: datetime | None) -> datetime:
    when = now + timedelta(seconds=60 * (2 ** min(attempts, 8)))
    if retry_after is not None and retry_after > when:
        return retry_after
    return when
