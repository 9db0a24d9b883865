"""Per-host politeness.

A batch of articles often comes from one publisher; without a limit a worker's threads would
hit that one server all at once. Each host gets a few concurrent slots and a minimum spacing
between request starts. The concurrent slots are per process. The spacing is per process too,
unless the cache is Redis (CACHE_URL=redis://...): then every worker process on every machine
books its start times in one shared timetable (`SharedSpacing`), so the rate a publisher sees
stays the configured one however many workers run.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from broadsheet.ingest.fetcher import FetchPolicy

DEFAULT_PORTS = {"http": 80, "https": 443}
log = logging.getLogger(__name__)


@dataclass
class _Host:
    slots: threading.Semaphore
    next_start: float = 0.0
    users: int = field(default=0)  # threads waiting for or holding a slot


class HostLimiter:
    def __init__(
        self,
        concurrency: int,
        rate: float,
        *,
        max_interval: float = 60.0,
        max_hosts: int = 4096,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        shared: SharedSpacing | None = None,
    ) -> None:
        if concurrency < 1 or rate <= 0:
            raise ValueError("concurrency must be >= 1 and rate > 0")
        self._concurrency = concurrency
        self._interval = 1.0 / rate
        # A robots.txt Crawl-delay is publisher input: a huge one must not park a worker.
        self._max_interval = max_interval
        self._max_hosts = max_hosts
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()  # guards the table and start times; never held while waiting
        self._hosts: dict[str, _Host] = {}
        self._shared = shared

    @classmethod
    def from_policy(cls, policy: FetchPolicy) -> HostLimiter:
        return cls(policy.host_concurrency, policy.host_rate, shared=SharedSpacing.from_cache())

    @contextmanager
    def slot(self, url: str, *, min_interval: float | None = None) -> Iterator[None]:
        """Wait for a free slot on the URL's host and for its turn, then run the block."""
        key = host_key(url)
        host = self._enter(key)
        try:
            with host.slots:
                earliest = self._clock()
                if self._shared is not None:  # booked first: its round trip counts as waiting
                    earliest += self._shared.wait(key, self._spacing(min_interval))
                wait = self._reserve(host, min_interval, earliest) - self._clock()
                if wait > 0:
                    self._sleep(wait)
                yield
        finally:
            with self._lock:
                host.users -= 1

    def _enter(self, key: str) -> _Host:
        with self._lock:
            host = self._hosts.get(key)
            if host is None:
                self._forget_idle()
                host = self._hosts[key] = _Host(threading.Semaphore(self._concurrency))
            host.users += 1
            return host

    def _spacing(self, min_interval: float | None) -> float:
        return max(self._interval, min(min_interval or 0.0, self._max_interval))

    def _reserve(self, host: _Host, min_interval: float | None, earliest: float) -> float:
        """Book this host's next start, not before ``earliest``, and return it (on the
        limiter's clock)."""
        interval = self._spacing(min_interval)
        with self._lock:
            start = max(earliest, self._clock(), host.next_start)
            host.next_start = start + interval
        return start

    def _forget_idle(self) -> None:
        if len(self._hosts) < self._max_hosts:
            return
        now = self._clock()
        idle = [k for k, h in self._hosts.items() if h.users == 0 and h.next_start <= now]
        for key in idle:
            del self._hosts[key]


# One round trip books a start time: the later of now and the host's next free time, which then
# moves one interval on. Times are milliseconds of the wall clock, so machines agree to within
# their clock skew; the key expires once the booking is long past.
_BOOK = """
local now = tonumber(ARGV[1])
local start = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
local free = start + tonumber(ARGV[2])
redis.call('SET', KEYS[1], free, 'PX', free - now + 60000)
return start
"""


class SharedSpacing:
    """Each host's next free start time, kept in Redis and booked atomically by every worker
    process on every machine. When Redis fails, the request goes by its process's own spacing
    alone (logged once), so a Redis outage never stops fetching."""

    PREFIX = "broadsheet:host-spacing:"
    # A booking is one round trip; a Redis that does not answer costs this much once, then
    # requests go by their process's own spacing and Redis is asked again RETRY seconds later.
    TIMEOUT = 1.0
    RETRY = 30.0

    def __init__(self, url: str, *, clock: Callable[[], float] = time.time) -> None:
        import redis  # the "redis" extra, as for a Redis cache
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        client = redis.Redis.from_url(
            url,
            socket_connect_timeout=self.TIMEOUT,
            socket_timeout=self.TIMEOUT,
            retry=Retry(NoBackoff(), 0),  # one try: the fallback is right there
        )
        self._book = client.register_script(_BOOK)  # EVALSHA, the script sent once
        self._clock = clock
        self._warned = False
        self._retry_at = 0.0

    @classmethod
    def from_cache(cls) -> SharedSpacing | None:
        """One on the default cache's Redis server (its first, where writes go); None when the
        cache is not Redis (spacing per process)."""
        from django.conf import settings

        cache = settings.CACHES["default"]
        if not cache["BACKEND"].endswith(".RedisCache"):
            return None
        location = cache["LOCATION"]
        servers = location.split(",") if isinstance(location, str) else location
        return cls(servers[0].strip())

    def wait(self, key: str, interval: float) -> float:
        """Book this host's next start; seconds to wait for it (0.0 when none was booked)."""
        if time.monotonic() < self._retry_at:
            return 0.0
        now = round(self._clock() * 1000)
        try:
            booked = self._book(
                keys=[f"{self.PREFIX}{key}"], args=[now, max(1, round(interval * 1000))]
            )
        except Exception:  # a shared service that can fail; fetching goes on
            self._retry_at = time.monotonic() + self.RETRY
            if not self._warned:
                log.warning("no shared per-host spacing; each process spaces alone", exc_info=True)
                self._warned = True
            return 0.0
        return max(0.0, (int(booked) - now) / 1000)


def host_key(url: str) -> str:
    """``hostname:port`` with the scheme's default port filled in."""
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or DEFAULT_PORTS.get(parts.scheme.lower(), 0)
    host = (parts.hostname or "").lower()
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
