"""robots.txt rules per origin, fetched through the guarded Fetcher and kept for a while.

The fetch goes through the same Fetcher as everything else, so a robots.txt URL gets the same
address checks, deadline and size cap as a feed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx
from protego import Protego

from broadsheet.ingest.errors import ErrorKind, FetchError
from broadsheet.ingest.fetcher import Fetcher

# Parsing stops here, as major crawlers do; real rule files are a few KiB.
MAX_ROBOTS_BYTES = 512 * 1024


@dataclass(frozen=True, slots=True)
class _Entry:
    rules: Protego | None  # None: everything is allowed
    expires: float


class RobotsCache:
    """``allowed(url)`` and ``crawl_delay(url)`` with one robots.txt fetch per origin and TTL."""

    def __init__(
        self,
        fetcher: Fetcher,
        ttl: float = 3600,
        *,
        error_ttl: float = 300,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetcher = fetcher
        self._agent = fetcher.policy.user_agent
        self._ttl = ttl
        self._error_ttl = error_ttl
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, _Entry] = {}
        self._loading: dict[str, threading.Lock] = {}

    def allowed(self, url: str) -> bool:
        if not self._fetcher.policy.obey_robots:
            return True
        rules = self._rules(url)
        return rules is None or rules.can_fetch(url, self._agent)

    def crawl_delay(self, url: str) -> float | None:
        """Seconds to leave between requests to this origin, from Crawl-delay or Request-rate."""
        rules = self._rules(url) if self._fetcher.policy.obey_robots else None
        if rules is None:
            return None
        delays = [rules.crawl_delay(self._agent)]
        rate = rules.request_rate(self._agent)
        if rate is not None and rate.requests > 0:
            delays.append(rate.seconds / rate.requests)
        found = [float(delay) for delay in delays if delay is not None]
        return max(found) if found else None

    def _rules(self, url: str) -> Protego | None:
        origin = _origin(url)
        if origin is None:
            return None  # the fetch itself will report the bad URL
        entry = self._fresh(origin)
        if entry is None:
            with self._origin_lock(origin):
                entry = self._fresh(origin) or self._store(origin, self._load(origin))
        return entry.rules

    def _load(self, origin: str) -> _Entry:
        try:
            response = self._fetcher.get(f"{origin}/robots.txt", accept="robots")
        except FetchError as exc:
            return self._after_failure(exc)
        text = response.content[:MAX_ROBOTS_BYTES].decode("utf-8", errors="replace")
        return _Entry(Protego.parse(text), self._clock() + self._ttl)

    def _after_failure(self, exc: FetchError) -> _Entry:
        # A missing or forbidden robots.txt (4xx) means no rules: allow, and keep that answer.
        if exc.kind == ErrorKind.HTTP_4XX and exc.status != 429:
            return _Entry(None, self._clock() + self._ttl)
        # 5xx, 429, timeouts and network errors say nothing about the publisher's wishes. The
        # standard suggests treating them as "disallow all", but then one flaky robots.txt would
        # stall a whole feed for hours. The article fetch that follows meets the same failure
        # anyway, so we allow it and ask again soon instead of caching the guess for the full TTL.
        # (An origin that did not answer at all is remembered as down by the Fetcher itself, so
        # the request that follows fails at once instead of waiting out a second timeout.)
        return _Entry(None, self._clock() + self._error_ttl)

    def _fresh(self, origin: str) -> _Entry | None:
        with self._lock:
            entry = self._entries.get(origin)
        return entry if entry is not None and entry.expires > self._clock() else None

    def _store(self, origin: str, entry: _Entry) -> _Entry:
        with self._lock:
            self._entries.pop(origin, None)
            self._entries[origin] = entry
            while len(self._entries) > self._max_entries:
                oldest = next(iter(self._entries))
                del self._entries[oldest]
                self._loading.pop(oldest, None)
        return entry

    def _origin_lock(self, origin: str) -> threading.Lock:
        # One fetch per origin at a time, so a burst of articles from a new host costs one fetch.
        with self._lock:
            return self._loading.setdefault(origin, threading.Lock())


def _origin(url: str) -> str | None:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        return None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        return None
    host = f"[{parsed.host}]" if ":" in parsed.host else parsed.host
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    return f"{parsed.scheme}://{host}:{port}"
