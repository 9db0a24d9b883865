"""The defensive fetch rules, proved through the real pipeline and read back from the rows.

Feeds go through ``refresh_feed`` and article pages through ``process_article``, against real
servers on 127.0.0.1 that misbehave on purpose. Each failure must be classified, stored on the
Feed or Article with its counter, and reached within the configured time. The network edge is
sealed for the whole file: every connection attempt is recorded, and any attempt to reach an
address other than 127.0.0.1 fails the test, so "blocked" means no packet left for that address.
"""

from __future__ import annotations

import socket
import time
from contextlib import closing, suppress
from dataclasses import replace
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.extraction.extract import extract_article
from broadsheet.ingest.errors import ErrorKind, PipelineError
from broadsheet.ingest.fetcher import FetchPolicy
from broadsheet.ingest.pipeline import (
    Toolkit,
    process_article,
    process_articles,
    refresh_feed,
    reset_toolkit,
)
from broadsheet.ingest.urls import normalize_url, url_key
from broadsheet.sources.models import Feed
from tests.httpservers import (
    LOOPBACK,
    compression_bomb,
    endless,
    fake_dns,
    guard_connections,
    lying_length,
    redirect,
    serve_routes,
    silent_server,
)

pytestmark = pytest.mark.django_db

POLICY = FetchPolicy(
    allowed_networks=["127.0.0.1/32"],
    fetch_timeout=1.5,
    connect_timeout=1.0,
    max_body_bytes=256 * 1024,
    max_redirects=3,
    host_rate=1000.0,
    host_concurrency=8,
    user_agent="BroadsheetTest/1.0",
)
# Refusals and HTTP errors need no waiting: well under the fetch timeout, database writes included.
QUICK = 1.0
# Scheduling noise between the deadline passing and the row being written.
SLACK = 0.5
DEADLINE = POLICY.fetch_timeout + SLACK

NAMES = {"intranet.example": ["10.1.2.3"], "metadata.example": ["169.254.169.254"]}


def record_connections(monkeypatch: pytest.MonkeyPatch, names: dict) -> list[object]:
    """Seal the network edge and return the list of every connection attempt, in order.

    DNS answers come from ``names`` only; any other name, or any connection to an address other
    than 127.0.0.1, fails the test (see ``guard_connections``).
    """
    fake_dns(monkeypatch, names)
    return guard_connections(monkeypatch)


def strays(attempted: list[object]) -> list[object]:
    return [a for a in attempted if not (isinstance(a, tuple) and a[0] == LOOPBACK)]


@pytest.fixture(autouse=True)
def sealed_network(monkeypatch):
    attempted = record_connections(monkeypatch, NAMES)
    yield attempted
    assert strays(attempted) == [], "connections outside 127.0.0.1 were attempted"


def test_the_seal_catches_stray_connections(sealed_network):
    with pytest.raises(pytest.fail.Exception, match=r"10\.0\.0\.1"):
        socket.create_connection(("10.0.0.1", 80), timeout=0.1)
    with socket.socket() as raw, pytest.raises(pytest.fail.Exception, match=r"169\.254\.169\.254"):
        raw.connect(("169.254.169.254", 80))
    with pytest.raises(pytest.fail.Exception, match="unexpected DNS lookup"):
        socket.getaddrinfo("news.example", 80)
    assert strays(sealed_network) == [("169.254.169.254", 80)]
    sealed_network.clear()  # provoked on purpose; the teardown check would rightly fail on it


@pytest.fixture
def tools():
    toolkit = Toolkit(POLICY)
    yield toolkit
    toolkit.close()


def poll(url: str, tools: Toolkit | None, within: float = QUICK) -> Feed:
    """Subscribe ``url`` (once), poll it, check the time it took, and return the fresh row."""
    feed, _ = Feed.objects.get_or_create(url=url)
    started = time.monotonic()
    refresh_feed(feed.pk, tools)
    elapsed = time.monotonic() - started
    feed.refresh_from_db()
    assert elapsed < within, f"{url} took {elapsed:.2f} s, bound {within} s: {feed.last_error}"
    return feed


def assert_failed(feed: Feed, kind: ErrorKind, count: int = 1) -> None:
    assert (feed.error_count, feed.last_error_kind) == (count, kind), feed.last_error
    assert feed.last_error and feed.last_polled_at and feed.last_success_at is None
    assert feed.next_poll_at > timezone.now()


def rss(*links: str, extra: str = "") -> bytes:
    items = "".join(
        f"<item><title>Story {n}</title><link>{u}</link></item>" for n, u in enumerate(links)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Test desk'
        f"</title><link>http://{LOOPBACK}/</link>{items}{extra}</channel></rss>"
    ).encode()


def feed_route(*links: str) -> tuple[int, dict[str, str], bytes]:
    return (200, {"Content-Type": "application/rss+xml"}, rss(*links))


# --- blocked addresses ------------------------------------------------------------------------


def test_loopback_without_the_allowance_is_blocked(settings, sealed_network):
    """The default settings allow no private network; the shared toolkit follows them."""
    settings.BROADSHEET_ALLOWED_NETWORKS = []
    settings.BROADSHEET_ALLOW_PRIVATE_NETWORKS = False
    settings.BROADSHEET_FETCH_TIMEOUT = POLICY.fetch_timeout
    reset_toolkit()
    try:
        with serve_routes({"/feed": feed_route("https://news.example/a")}) as base:
            feed = poll(f"{base}/feed", None)
            assert (base.connections, base.requests) == (0, [])
    finally:
        reset_toolkit()
    assert_failed(feed, ErrorKind.BLOCKED_ADDRESS)
    assert sealed_network == []


@pytest.mark.parametrize(
    "url",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://intranet.example/feed",
        "http://metadata.example/latest/meta-data/",
    ],
)
def test_feeds_at_private_addresses_are_blocked(tools, sealed_network, url):
    feed = poll(url, tools)
    assert_failed(feed, ErrorKind.BLOCKED_ADDRESS)
    assert urlsplit(url).hostname in feed.last_error
    assert sealed_network == []


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/feed",
        "http://169.254.169.254/latest/meta-data/",
        "http://127.0.0.2:{port}/",
    ],
)
def test_redirects_to_private_addresses_are_blocked(tools, sealed_network, target):
    routes = {}
    with serve_routes(routes) as base:
        routes["/feed"] = redirect(target.format(port=base.port))
        feed = poll(f"{base}/feed", tools)
        assert base.hits("/feed") == 1
    assert_failed(feed, ErrorKind.BLOCKED_ADDRESS)
    assert f"after a redirect to {target.format(port=base.port)}" in feed.last_error
    assert {address[0] for address in sealed_network} == {LOOPBACK}


# --- hostile and failing servers --------------------------------------------------------------


@pytest.mark.parametrize(
    ("route", "kind"),
    [
        (endless(), ErrorKind.TOO_LARGE),
        (lying_length(50 * 1024**3), ErrorKind.TOO_LARGE),
        (compression_bomb("gzip"), ErrorKind.TOO_LARGE),
        (compression_bomb("deflate"), ErrorKind.TOO_LARGE),
        ((404, {}, b"not here"), ErrorKind.HTTP_4XX),
        ((500, {}, b"oops"), ErrorKind.HTTP_5XX),
        (
            (200, {"Content-Type": "text/html; charset=utf-8"}, b"<!DOCTYPE html><p>Welcome</p>"),
            ErrorKind.NOT_A_FEED,
        ),
        ((200, {"Content-Type": "image/png"}, b"\x89PNG\r\n\x1a\n"), ErrorKind.BAD_CONTENT_TYPE),
    ],
    ids=["endless", "huge-length", "gzip-bomb", "deflate-bomb", "404", "500", "html", "png"],
)
def test_failing_feeds_are_classified_on_the_row(tools, route, kind):
    with serve_routes({"/feed": route}) as base:
        feed = poll(f"{base}/feed", tools)
    assert_failed(feed, kind)


def test_a_redirect_loop_is_recorded(tools):
    routes = {"/a": redirect("/b"), "/b": redirect("/a")}
    with serve_routes(routes) as base:
        feed = poll(f"{base}/a", tools)
        assert (base.hits("/a"), base.hits("/b")) == (1, 1)
    assert_failed(feed, ErrorKind.REDIRECT_LOOP)


def test_retry_after_on_503_sets_the_next_poll(tools):
    routes = {"/busy": (503, {"Retry-After": "7200"}, b""), "/down": (500, {}, b"")}
    with serve_routes(routes) as base:
        busy = poll(f"{base}/busy", tools)
        down = poll(f"{base}/down", tools)
    assert_failed(busy, ErrorKind.HTTP_5XX)
    wanted = timezone.now() + timedelta(seconds=7200)
    assert abs((busy.next_poll_at - wanted).total_seconds()) < 30
    # Without the header, the ordinary back-off applies, and it is sooner.
    assert down.next_poll_at < busy.next_poll_at - timedelta(minutes=30)


def test_a_silent_server_times_out_on_time(tools):
    """robots.txt comes first, from the same silent host, with its own deadline: the first poll
    may take two timeouts. That failure is remembered, so a later poll takes only one."""
    with silent_server() as base:
        first = poll(f"{base}/feed", tools, within=2 * POLICY.fetch_timeout + SLACK)
        assert_failed(first, ErrorKind.TIMEOUT)
        again = poll(f"{base}/feed", tools, within=DEADLINE)
    assert_failed(again, ErrorKind.TIMEOUT, count=2)


def test_a_silent_server_times_out_within_one_deadline_without_robots():
    toolkit = Toolkit(replace(POLICY, obey_robots=False))
    with closing(toolkit), silent_server() as base:
        feed = poll(f"{base}/feed", toolkit, within=DEADLINE)
    assert_failed(feed, ErrorKind.TIMEOUT)


# --- partial failures and recovery ------------------------------------------------------------

BROKEN_TAIL = (
    "<item><title>Script</title><link>javascript:alert(1)</link></item>"
    "<item><title>Cut &bogus; off <link>https://news.example/3"
)


def test_a_partly_broken_feed_keeps_its_good_items(tools):
    body = rss("https://news.example/1", "https://news.example/2", extra=BROKEN_TAIL)
    body = body.removesuffix(b"</channel></rss>")
    with serve_routes({"/feed": (200, {"Content-Type": "application/rss+xml"}, body)}) as base:
        feed = poll(f"{base}/feed", tools)
    assert (feed.error_count, feed.last_error_kind, feed.entries_seen) == (0, "", 2)
    assert "undefined entity" in feed.malformed
    stored = Article.objects.filter(feeds=feed).order_by("url")
    assert [(a.url, a.title, a.state) for a in stored] == [
        ("https://news.example/1", "Story 0", "pending"),
        ("https://news.example/2", "Story 1", "pending"),
    ]


def test_success_resets_the_error_counter(tools):
    routes = {"/feed": (500, {}, b"")}
    with serve_routes(routes) as base:
        assert_failed(poll(f"{base}/feed", tools), ErrorKind.HTTP_5XX)
        routes["/feed"] = (404, {}, b"")
        assert_failed(poll(f"{base}/feed", tools), ErrorKind.HTTP_4XX, count=2)
        routes["/feed"] = feed_route("https://news.example/1")
        feed = poll(f"{base}/feed", tools)
    assert (feed.error_count, feed.last_error_kind, feed.last_error) == (0, "", "")
    assert feed.last_success_at == feed.last_polled_at
    assert Article.objects.filter(feeds=feed).count() == 1


# --- article pages ----------------------------------------------------------------------------

PARAGRAPHS = [
    "The harbour bridge reopened to traffic on Tuesday morning after eleven weeks of repairs, "
    "and the first buses crossed shortly after six as engineers watched from the walkway.",
    "Inspectors had closed the span in spring when a routine survey found corroded cables near "
    "the northern tower, forcing commuters onto ferries and a long detour through the valley.",
    "City officials said the final cost stayed within the budget approved in April, and that "
    "sensors fitted during the work will now report strain on every cable around the clock.",
]
ARTICLE_PAGE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Bridge reopens</title>"
    "</head><body><article><h1>Harbour bridge reopens</h1>"
    + "".join(f"<p>{paragraph}</p>" for paragraph in PARAGRAPHS)
    + "</article></body></html>"
)
HTML = {"Content-Type": "text/html; charset=utf-8"}


@pytest.fixture
def pages(tools):
    """A feed announcing one article of each kind; the routes (changeable) and the pending rows."""
    routes = {
        "/a/huge": endless("text/html"),
        "/a/tiny": (200, HTML, "<!DOCTYPE html><html><body><p>Hello.</p></body></html>"),
        "/a/gone": (404, HTML, "<!DOCTYPE html><p>No such page</p>"),
        "/a/flaky": (500, HTML, "<!DOCTYPE html><p>Try later</p>"),
    }
    with silent_server() as silent, serve_routes(routes) as base:
        links = {name.rsplit("/", 1)[1]: f"{base}{name}" for name in routes}
        links |= {
            "slow": f"{silent}/a/slow",
            "private": "http://10.0.0.1/a/private",
            "metadata": "http://169.254.169.254/latest/meta-data/",
            "named": "http://intranet.example/a/named",
        }
        routes["/feed"] = feed_route(*links.values())
        assert poll(f"{base}/feed", tools).entries_seen == len(links)
        # Extraction's first call in a process pays for lazy set-up (~0.4 s here), which is not
        # the per-article time the bounds below are about.
        with suppress(PipelineError):
            extract_article(ARTICLE_PAGE.encode(), f"{base}/warm-up")
        rows = {
            name: Article.objects.get(url_key=url_key(normalize_url(u)))
            for name, u in links.items()
        }
        assert {row.state for row in rows.values()} == {Article.State.PENDING}
        yield routes, rows


def process(article: Article, tools: Toolkit, within: float = QUICK) -> Article:
    started = time.monotonic()
    process_article(article.pk, tools)
    elapsed = time.monotonic() - started
    article.refresh_from_db()
    assert elapsed < within, f"{article.url} took {elapsed:.2f} s, bound {within} s"
    return article


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("huge", ErrorKind.TOO_LARGE),
        ("tiny", ErrorKind.NOT_AN_ARTICLE),
        ("gone", ErrorKind.HTTP_4XX),
        ("private", ErrorKind.BLOCKED_ADDRESS),
        ("metadata", ErrorKind.BLOCKED_ADDRESS),
        ("named", ErrorKind.BLOCKED_ADDRESS),
    ],
)
def test_permanent_article_failures_fail_at_once(pages, tools, name, kind):
    article = process(pages[1][name], tools)
    assert (article.state, article.attempts, article.last_error_kind) == ("failed", 1, kind)
    assert article.last_error and article.fetched_at is None and article.raw_html is None
    # A failed article is not tried again.
    assert process(article, tools).attempts == 1


def test_a_500_article_waits_counts_attempts_then_is_stored(pages, tools):
    routes, rows = pages
    first = process(rows["flaky"], tools)
    assert (first.state, first.attempts, first.last_error_kind) == ("pending", 1, "http_5xx")
    first_retry = first.next_attempt_at
    assert first_retry > timezone.now() + timedelta(seconds=60)
    second = process(first, tools)
    assert (second.state, second.attempts) == ("pending", 2)
    assert second.next_attempt_at > first_retry  # backing off
    routes["/a/flaky"] = (200, HTML, ARTICLE_PAGE)
    stored = process(second, tools, within=DEADLINE)
    assert (stored.state, stored.attempts, stored.last_error_kind, stored.last_error) == (
        "done",
        3,
        "",
        "",
    )
    assert stored.title == "Harbour bridge reopens"
    assert "corroded cables" in stored.text


def test_a_batch_counts_each_attempt_once_and_skips_what_is_no_longer_pending(pages, tools):
    routes, rows = pages
    routes["/a/flaky"] = (200, HTML, ARTICLE_PAGE)
    failed = process(rows["gone"], tools)
    batch = [rows["flaky"].pk, failed.pk, rows["tiny"].pk, rows["flaky"].pk]
    counts, stored = process_articles(batch, tools)
    # The second "flaky" was stored by the first: no longer pending, so not tried again.
    assert counts == {"stored": 1, "failed": 1, "skipped": 2}
    assert stored == [rows["flaky"].pk]
    after = {row.pk: row for row in Article.objects.filter(pk__in=batch)}
    assert (after[rows["flaky"].pk].state, after[rows["flaky"].pk].attempts) == ("done", 1)
    assert (after[rows["tiny"].pk].state, after[rows["tiny"].pk].attempts) == ("failed", 1)
    assert after[failed.pk].attempts == 1


def test_a_silent_article_server_times_out_on_time(pages, tools):
    # As for feeds: robots.txt on the same silent host costs one deadline of its own, once.
    first = process(pages[1]["slow"], tools, within=2 * POLICY.fetch_timeout + SLACK)
    assert (first.state, first.attempts, first.last_error_kind) == ("pending", 1, "timeout")
    assert first.next_attempt_at > timezone.now()
    second = process(first, tools, within=DEADLINE)
    assert (second.state, second.attempts, second.last_error_kind) == ("pending", 2, "timeout")
