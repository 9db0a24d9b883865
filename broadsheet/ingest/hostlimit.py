"""Per-host politeness inside one worker process.

A batch of articles often comes from one publisher; without a limit a worker's threads would
hit that one server all at once. Each host gets a few concurrent slots and a minimum spacing
between request starts. The limit is per process: across worker hosts it adds up, which is fine
for the small numbers of workers Broadsheet runs.
"""

from __future__ import annotations

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

    @classmethod
    def from_policy(cls, policy: FetchPolicy) -> HostLimiter:
        return cls(policy.host_concurrency, policy.host_rate)

    @contextmanager
    def slot(self, url: str, *, min_interval: float | None = None) -> Iterator[None]:
        """Wait for a free slot on the URL's host and for its turn, then run the block."""
        host = self._enter(host_key(url))
        try:
            with host.slots:
                wait = self._reserve(host, min_interval)
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

    def _reserve(self, host: _Host, min_interval: float | None) -> float:
        """Book the next start time for this host and return how long to wait for it."""
        interval = max(self._interval, min(min_interval or 0.0, self._max_interval))
        with self._lock:
            now = self._clock()
            start = max(now, host.next_start)
            host.next_start = start + interval
        return start - now

    def _forget_idle(self) -> None:
        if len(self._hosts) < self._max_hosts:
            return
        now = self._clock()
        idle = [k for k, h in self._hosts.items() if h.users == 0 and h.next_start <= now]
        for key in idle:
            del self._hosts[key]


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
