"""robots.txt caching against a real loopback server, and per-host politeness with real threads."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from dataclasses import replace

import pytest

from broadsheet.ingest.fetcher import Fetcher, FetchPolicy
from broadsheet.ingest.hostlimit import HostLimiter, SharedSpacing, host_key
from broadsheet.ingest.robots import RobotsCache
from tests.httpservers import (
    fake_dns,
    guard_connections,
    redirect,
    serve_routes,
    silent_server,
)

POLICY = FetchPolicy(
    allowed_networks=["127.0.0.1"],
    fetch_timeout=1.0,
    connect_timeout=0.5,
    user_agent="BroadsheetTest/1.0 (+https://example.org/bot)",
)
ROBOTS = """\
User-agent: BroadsheetTest
Disallow: /private
Crawl-delay: 2

User-agent: *
Disallow: /
"""


class Clock:
    """A hand-moved clock for TTLs."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    fake_dns(monkeypatch, {})
    return guard_connections(monkeypatch)


@pytest.fixture
def fetcher():
    with Fetcher(POLICY) as fetcher:
        yield fetcher


def robots_route(body: str, status: int = 200):
    return (status, {"Content-Type": "text/plain"}, body)


# --- robots.txt ----------------------------------------------------------------------------------


def test_rules_for_our_user_agent_are_applied_and_cached(fetcher):
    clock = Clock()
    robots = RobotsCache(fetcher, ttl=3600, clock=clock)
    with serve_routes({"/robots.txt": robots_route(ROBOTS)}) as base:
        assert robots.allowed(f"{base}/news/1")  # the "*" group would forbid this
        assert not robots.allowed(f"{base}/private/memo")
        assert robots.crawl_delay(f"{base}/news/1") == 2.0
        assert base.hits("/robots.txt") == 1
        clock.now += 3601
        assert not robots.allowed(f"{base}/private/memo")
        assert base.hits("/robots.txt") == 2


def test_each_origin_has_its_own_rules(fetcher):
    robots = RobotsCache(fetcher)
    with (
        serve_routes({"/robots.txt": robots_route("User-agent: *\nDisallow: /\n")}) as closed,
        serve_routes({"/robots.txt": robots_route("User-agent: *\nAllow: /\n")}) as open_,
    ):
        assert not robots.allowed(f"{closed}/a")
        assert robots.allowed(f"{open_}/a")
        assert closed.hits("/robots.txt") == open_.hits("/robots.txt") == 1


def test_a_missing_robots_txt_allows_everything_for_the_full_ttl(fetcher):
    clock = Clock()
    robots = RobotsCache(fetcher, ttl=3600, error_ttl=60, clock=clock)
    with serve_routes({"/robots.txt": (404, {}, b"")}) as base:
        assert robots.allowed(f"{base}/anything")
        clock.now += 600
        assert robots.allowed(f"{base}/anything")
        assert base.hits("/robots.txt") == 1
        assert robots.crawl_delay(f"{base}/anything") is None


@pytest.mark.parametrize("status", [500, 503, 429])
def test_a_failing_robots_txt_allows_but_is_asked_again_soon(fetcher, status):
    clock = Clock()
    robots = RobotsCache(fetcher, ttl=3600, error_ttl=60, clock=clock)
    with serve_routes({"/robots.txt": (status, {}, b"")}) as base:
        assert robots.allowed(f"{base}/a")
        clock.now += 30
        assert robots.allowed(f"{base}/a")
        assert base.hits("/robots.txt") == 1
        clock.now += 31
        assert robots.allowed(f"{base}/a")
        assert base.hits("/robots.txt") == 2


def test_a_robots_txt_that_never_answers_costs_one_deadline(fetcher):
    robots = RobotsCache(fetcher, error_ttl=60)
    with silent_server() as base:
        started = time.monotonic()
        assert robots.allowed(f"{base}/a")
        assert robots.allowed(f"{base}/b")  # cached: no second wait
    assert time.monotonic() - started < POLICY.fetch_timeout + 0.4


def test_a_silent_site_costs_one_deadline_then_fails_at_once_for_a_while(monkeypatch):
    from broadsheet.ingest.errors import ErrorKind, FetchError
    from broadsheet.ingest.pipeline import Toolkit

    clock = Clock()
    tools = Toolkit(POLICY)
    tools.fetcher.close()
    tools.fetcher = Fetcher(POLICY, clock=clock)
    tools.robots = RobotsCache(tools.fetcher, error_ttl=300, clock=clock)
    try:
        with silent_server() as base:
            started = time.monotonic()
            for path in ("/a", "/b"):  # robots.txt waits out the deadline; the pages do not
                with pytest.raises(FetchError) as caught:
                    tools.get(f"{base}{path}")
                assert caught.value.kind == ErrorKind.TIMEOUT
                assert "did not answer" in caught.value.message
                assert caught.value.url == f"{base}{path}"
            assert time.monotonic() - started < POLICY.fetch_timeout + 0.4  # one deadline
            clock.now += 61  # no longer presumed down: the page itself is asked for
            started = time.monotonic()
            with pytest.raises(FetchError) as caught:
                tools.get(f"{base}/c")
            assert caught.value.kind == ErrorKind.TIMEOUT
            assert "did not answer" not in caught.value.message
            assert time.monotonic() - started >= POLICY.fetch_timeout - 0.1
    finally:
        tools.close()


def test_a_site_that_stops_answering_mid_feed_costs_two_deadlines(monkeypatch):
    """robots.txt answered; then two page requests in a row found nobody: the site's other
    pages fail at once instead of each waiting out the deadline."""
    from broadsheet.ingest.errors import ErrorKind, FetchError
    from broadsheet.ingest.pipeline import Toolkit

    def never_answers(request) -> None:
        time.sleep(POLICY.fetch_timeout + 0.5)

    tools = Toolkit(POLICY)
    try:
        with serve_routes({"/robots.txt": (404, {}, b""), "*": never_answers}) as base:
            started = time.monotonic()
            for path in ("/a", "/b", "/c", "/d"):
                with pytest.raises(FetchError) as caught:
                    tools.get(f"{base}{path}")
                assert caught.value.kind == ErrorKind.TIMEOUT
            assert time.monotonic() - started < 2 * POLICY.fetch_timeout + 0.5  # two deadlines
            assert "did not answer" in caught.value.message
            assert base.hits("/robots.txt") == 1
    finally:
        tools.close()


def test_a_robots_txt_answering_badly_does_not_mark_the_site_down(fetcher):
    with serve_routes({"/robots.txt": (503, {}, b""), "/a": (200, {}, b"ok")}) as base:
        robots = RobotsCache(fetcher)
        assert robots.allowed(f"{base}/a")
        assert fetcher.presumed_down(f"{base}/a") is None


def test_robots_fetches_go_through_the_address_guard(fetcher, connections):
    with serve_routes({"/robots.txt": redirect("http://169.254.169.254/robots.txt")}) as base:
        assert RobotsCache(fetcher).allowed(f"{base}/a")
    assert connections == [("127.0.0.1", base.port)]


def test_request_rate_counts_as_a_crawl_delay(fetcher):
    body = "User-agent: *\nRequest-rate: 1/5\nDisallow:\n"
    with serve_routes({"/robots.txt": robots_route(body)}) as base:
        assert RobotsCache(fetcher).crawl_delay(f"{base}/a") == 5.0


def test_robots_can_be_switched_off(connections):
    with Fetcher(replace(POLICY, obey_robots=False)) as fetcher:
        robots = RobotsCache(fetcher)
        with serve_routes({"/robots.txt": robots_route("User-agent: *\nDisallow: /\n")}) as base:
            assert robots.allowed(f"{base}/a")
            assert robots.crawl_delay(f"{base}/a") is None
            assert base.requests == []
    assert connections == []


def test_unusable_urls_are_left_to_the_fetcher(fetcher, connections):
    robots = RobotsCache(fetcher)
    assert robots.allowed("not a url")
    assert robots.allowed("ftp://127.0.0.1/")
    assert connections == []


# --- per-host limits -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "key"),
    [
        ("http://Example.COM/a", "example.com:80"),
        ("https://example.com/a", "example.com:443"),
        ("https://example.com:8443/a", "example.com:8443"),
        ("http://[::1]:81/", "[::1]:81"),
        ("http://example.com:99999/", "example.com:80"),
    ],
)
def test_host_key(url, key):
    assert host_key(url) == key


def test_concurrency_is_limited_per_host():
    limiter = HostLimiter(concurrency=2, rate=1000)
    active = {"a": 0, "b": 0}
    peak = {"a": 0, "b": 0}
    lock = threading.Lock()

    def work(host: str) -> None:
        with limiter.slot(f"http://{host}.example/x"):
            with lock:
                active[host] += 1
                peak[host] = max(peak[host], active[host])
            time.sleep(0.1)
            with lock:
                active[host] -= 1

    threads = [threading.Thread(target=work, args=(h,)) for h in "aaaaaab"]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert peak == {"a": 2, "b": 1}
    assert time.monotonic() - started >= 0.3  # six requests, two at a time, 0.1 s each


def test_requests_to_one_host_are_spaced_by_the_rate():
    limiter = HostLimiter(concurrency=4, rate=20)  # 50 ms apart
    starts = []
    for _ in range(5):
        with limiter.slot("http://a.example/"):
            starts.append(time.monotonic())
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    # A late wake-up shortens one gap on a busy machine; unspaced, the gaps would be ~0.
    assert min(gaps) >= 0.025 and starts[-1] - starts[0] >= 0.15, gaps


def test_a_host_waiting_its_turn_does_not_hold_up_other_hosts():
    limiter = HostLimiter(concurrency=4, rate=2)  # 0.5 s apart
    with limiter.slot("http://slow.example/"):
        pass

    def take_a_turn() -> None:
        with limiter.slot("http://slow.example/"):
            pass

    waiting = threading.Thread(target=take_a_turn)
    waiting.start()
    time.sleep(0.05)  # the thread is now asleep until its turn
    started = time.monotonic()
    with limiter.slot("http://other.example/"):
        entered = time.monotonic() - started
    waiting.join(2)
    assert entered < 0.05


def test_crawl_delay_widens_the_spacing_up_to_a_cap():
    now = [0.0]
    waits = []

    def sleep(seconds: float) -> None:
        waits.append(round(seconds, 3))
        now[0] += seconds

    limiter = HostLimiter(1, rate=10, max_interval=60, clock=lambda: now[0], sleep=sleep)
    for delay in (3.0, 3.0, 1000.0, None):
        with limiter.slot("https://a.example/", min_interval=delay):
            pass
    assert waits == [3.0, 3.0, 60.0]


def test_limiter_from_policy_and_bad_arguments():
    limiter = HostLimiter.from_policy(replace(POLICY, host_concurrency=3, host_rate=4.0))
    assert (limiter._concurrency, limiter._interval) == (3, 0.25)
    with pytest.raises(ValueError):
        HostLimiter(0, 1.0)
    with pytest.raises(ValueError):
        HostLimiter(1, 0)


# --- spacing shared across processes -----------------------------------------------------------

REDIS = "redis://127.0.0.1:6379/15"


def redis_url() -> str:
    import redis

    try:
        redis.Redis.from_url(REDIS, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379 (.ci/run starts one)")
    return REDIS


def spaced_starts(limiters, rounds: int, url: str) -> list[float]:
    """Start times of `rounds` requests to `url` through each limiter, all at once, sorted."""
    starts, lock = [], threading.Lock()

    def fetch(limiter) -> None:
        for _ in range(rounds):
            with limiter.slot(url), lock:
                starts.append(time.time())

    threads = [threading.Thread(target=fetch, args=(limiter,)) for limiter in limiters]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    return sorted(starts)


def fresh_host() -> str:
    return f"http://{uuid.uuid4().hex}.example/"


def test_limiters_sharing_redis_keep_one_rate_between_them():
    redis_url()
    url = fresh_host()
    limiters = [HostLimiter(4, rate=20, shared=SharedSpacing(redis_url())) for _ in range(2)]
    starts = spaced_starts(limiters, 4, url)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # Booked 50 ms apart across both. A start is read after its thread wakes, so a late wake-up
    # shortens one gap (37 ms seen on a busy machine): no gap is near zero, and the eight starts
    # span most of the 350 ms booked.
    assert len(gaps) == 7 and min(gaps) >= 0.025 and starts[-1] - starts[0] >= 0.3, gaps
    alone = [HostLimiter(4, rate=20) for _ in range(2)]
    gaps = [b - a for a, b in itertools.pairwise(spaced_starts(alone, 4, fresh_host()))]
    assert min(gaps) < 0.02, gaps  # without it, each keeps only its own spacing: pairs together


def test_a_host_nobody_asked_lately_is_not_kept_waiting():
    spacing = SharedSpacing(redis_url())
    key = host_key(fresh_host())
    assert spacing.wait(key, 0.5) == 0.0
    assert 0.45 <= spacing.wait(key, 0.5) <= 0.5


def test_a_failing_timetable_falls_back_to_the_process_spacing(caplog, connections):
    from tests.httpservers import closed_port

    port = closed_port()
    down = SharedSpacing(f"redis://127.0.0.1:{port}/15")  # nothing listens there
    limiter = HostLimiter(4, rate=20, shared=down)
    starts = spaced_starts([limiter], 4, fresh_host())
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= 0.025 and starts[-1] - starts[0] >= 0.1, gaps  # 50 ms apart, less jitter
    assert caplog.text.count("no shared per-host spacing") == 1
    # One try, not one (with retries) for every request: Redis is asked again later.
    assert connections.count(("127.0.0.1", port)) == 1


def _book_in_redis(url: str, queue) -> None:
    limiter = HostLimiter(4, rate=10, shared=SharedSpacing(REDIS))
    queue.put(spaced_starts([limiter], 3, url))


def test_worker_processes_share_the_timetable_in_redis():
    import multiprocessing

    redis_url()
    url = fresh_host()
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    processes = [context.Process(target=_book_in_redis, args=(url, queue)) for _ in range(2)]
    for process in processes:
        process.start()
    starts = sorted(queue.get(timeout=20) + queue.get(timeout=20))
    for process in processes:
        process.join(10)
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    # Booked 100 ms apart across both processes. A start is measured after its sleep, so a busy
    # machine's wake-up jitter (30 ms seen with a demo running beside the suite) comes off a
    # gap; without the shared timetable the two processes' starts would fall together.
    assert len(gaps) == 5 and min(gaps) >= 0.05
    assert starts[-1] - starts[0] >= 0.4  # five intervals, less a late first start


def test_the_timetable_is_shared_only_through_redis():
    assert SharedSpacing.from_cache() is None  # the default database cache: per process


def test_a_redis_cache_shares_the_timetable_on_its_first_server(settings):
    backend = "django.core.cache.backends.redis.RedisCache"
    settings.CACHES = {"default": {"BACKEND": backend, "LOCATION": f"{redis_url()},{REDIS}"}}
    spacing = SharedSpacing.from_cache()
    key = host_key(fresh_host())
    assert spacing.wait(key, 0.5) == 0.0
    assert 0.45 <= SharedSpacing(REDIS).wait(key, 0.5) <= 0.5  # booked where the others look
