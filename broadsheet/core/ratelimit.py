"""Fixed-window rate limits on Django's cache, for anything a stranger can post."""

from __future__ import annotations

import time

from django.core.cache import cache


def client_ip(request) -> str:
    # Behind a proxy, set it to pass the client address in REMOTE_ADDR (e.g. gunicorn's
    # --forwarded-allow-ips); trusting X-Forwarded-For here would let anyone pick their key.
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def hit(scope: str, key: str, limit: int, window: int) -> bool:
    """Count one event; True while the count in this window stays within ``limit``."""
    bucket = int(time.time() // window)
    name = f"rl:{scope}:{key}:{bucket}"
    if cache.add(name, 1, timeout=window + 5):
        return limit >= 1
    try:
        return cache.incr(name) <= limit
    except ValueError:  # expired between add and incr
        cache.add(name, 1, timeout=window + 5)
        return True
