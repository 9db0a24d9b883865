"""Whole feed collections polled end to end: loopback HTTP, Fetcher, parse_feed, the database.

feedparser's 2,106 edge-case feeds and 31 real publishers' feeds are served by real HTTP servers
on 127.0.0.1 and polled through ``refresh_feed``, exactly as a worker polls them. Every outcome
is read back from the rows. The feeds link to real public hosts, so the network edge is sealed:
any DNS lookup or any connection to an address other than 127.0.0.1 fails the test.
"""

from __future__ import annotations

import ast
import re
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
from django.db import transaction

from broadsheet.articles.models import Article, ArticleFeed
from broadsheet.ingest.errors import ErrorKind
from broadsheet.ingest.feedparse import parse_feed, usable_url
from broadsheet.ingest.pipeline import refresh_feed
from broadsheet.ingest.urls import normalize_url, url_key
from broadsheet.sources.models import Feed
from tests.datasets import dataset
from tests.httpservers import LOOPBACK, serve_routes
from tests.test_defensive_pipeline import record_connections, strays
from tests.test_feedparse import EXPECT, _expected_date, _expected_items, _same_title

pytestmark = pytest.mark.django_db

# feedparser's own test server sends each "Header: Name: value" line of a file as an HTTP
# header, and guesses the Content-Type from the file name (.xml) when none is given.
HEADER_LINE = re.compile(r"^Header:\s*([^:\s]+):\s*(\S.*?)\s*$", re.M)
DEFAULT_XML_TYPE = "application/xml"


@pytest.fixture(autouse=True)
def sealed_network(monkeypatch):
    """Every connection attempt; any DNS lookup, or any address but 127.0.0.1, fails the test."""
    attempted = record_connections(monkeypatch, {})
    yield attempted
    assert strays(attempted) == [], "connections outside 127.0.0.1 were attempted"


def poll_all(feed_ids: list[int]) -> dict[int, str]:
    """Poll each feed in its own savepoint; return the feeds whose poll raised, with the error.

    A savepoint per poll keeps one crash (on PostgreSQL, one failed statement) from spoiling
    the rest of the run, so the test can report every crash at once.
    """
    crashes = {}
    for feed_id in feed_ids:
        try:
            with transaction.atomic():
                refresh_feed(feed_id)
        except Exception as error:  # the very thing these tests hunt for
            crashes[feed_id] = f"{type(error).__name__}: {error}"
    return crashes


def assert_classified(feed: Feed) -> None:
    """A polled feed either succeeded with a clean slate or failed once with a known kind."""
    if feed.error_count == 0:
        assert (feed.last_error_kind, feed.last_error) == ("", ""), feed.url
        assert feed.last_success_at is not None, feed.url
    else:
        assert feed.error_count == 1, feed.url
        assert feed.last_error_kind in set(ErrorKind) - {ErrorKind.INTERNAL}, feed.url
        assert feed.last_error and feed.last_success_at is None, feed.url


def stored_keys(entries) -> set[str]:
    """The article keys a parsed feed's entries should end up under."""
    return {url_key(normalize_url(entry.url)) for entry in entries}


# --- feedparser's edge-case suite -------------------------------------------------------------


def edge_headers(data: bytes) -> dict[str, str]:
    head = data[:4000].decode("latin-1")
    headers = {name.title(): value for name, value in HEADER_LINE.findall(head)}
    headers.setdefault("Content-Type", DEFAULT_XML_TYPE)
    return headers


def edge_expect(data: bytes) -> str:
    found = EXPECT.search(data[:4000].decode("latin-1"))
    return found[1] if found else ""


@pytest.fixture(scope="module")
def edge_server():
    """One loopback server holding every edge-case file at its own path, with its headers."""
    root = dataset("feeds-edge-cases") / "tests"
    files = {"/" + path.relative_to(root).as_posix(): path for path in sorted(root.rglob("*.xml"))}
    routes = {}
    for url_path, path in files.items():
        data = path.read_bytes()
        routes[url_path] = (200, edge_headers(data), data)
    with serve_routes(routes) as base:
        yield base, files


def test_every_edge_case_feed_is_polled_stored_or_classified(edge_server, loopback):
    """All files, polled once (a poll costs a few milliseconds); each check below reads the rows."""
    base, files = edge_server
    Feed.objects.bulk_create(Feed(url=f"{base}{url_path}") for url_path in files)
    started = time.monotonic()
    crashes = poll_all(list(Feed.objects.values_list("id", flat=True)))
    elapsed = time.monotonic() - started
    polled = {feed.url.removeprefix(base): feed for feed in Feed.objects.all()}
    print(f"\npolled {len(polled)} edge-case feeds in {elapsed:.1f} s")
    assert crashes == {}
    assert len(polled) == len(files) >= 2100
    check_outcomes(polled)
    check_rows_hold_what_the_parser_read(files, polled)
    check_bozo_expectations(files, polled)
    check_entity_titles(files, polled)


def check_outcomes(polled: dict[str, Feed]) -> None:
    for feed in polled.values():
        assert_classified(feed)
    outcomes = Counter(
        (path.split("/")[1], feed.last_error_kind or ("malformed" if feed.malformed else "clean"))
        for path, feed in polled.items()
    )
    print("outcomes:", dict(sorted(outcomes.items())))
    failed = {path for path, feed in polled.items() if feed.error_count}
    # As in test_feedparse: only CDF (which has no version feedparser names) and some
    # ill-formed files are refused, and every refusal says the bytes hold no feed.
    assert {polled[path].last_error_kind for path in failed} <= {ErrorKind.NOT_A_FEED}
    assert all(path.startswith(("/wellformed/cdf/", "/illformed/")) for path in failed)
    assert len(failed) <= 10


def check_rows_hold_what_the_parser_read(files: dict[str, Path], polled: dict[str, Feed]) -> None:
    """The rows agree with parsing the file directly: every good item is linked to its feed,
    and a partly broken feed keeps its items while ``malformed`` says what was wrong."""
    linked = Counter(ArticleFeed.objects.values_list("feed__url", flat=True))
    kept_from_broken = 0
    for path, feed in polled.items():
        if feed.error_count:
            continue
        data = files[path].read_bytes()
        content_type = edge_headers(data)["Content-Type"]
        parsed = parse_feed(data, url=feed.url, content_type=content_type)
        assert feed.entries_seen == len(parsed.entries), path
        assert linked[feed.url] == len(stored_keys(parsed.entries)), path
        assert feed.malformed == (parsed.malformed or "")[:2000], path
        kept_from_broken += bool(feed.malformed and linked[feed.url])
    print(f"malformed feeds whose good items were stored: {kept_from_broken}")
    print(f"articles: {Article.objects.count()}, feed links: {sum(linked.values())}")
    assert kept_from_broken >= 1
    assert not Article.objects.exclude(state=Article.State.PENDING).exists()


def check_bozo_expectations(files: dict[str, Path], polled: dict[str, Feed]) -> None:
    expects = {path: edge_expect(files[path].read_bytes()) for path in polled}
    bozo = [path for path in polled if expects[path].startswith("bozo")]
    illformed_bozo = [path for path in bozo if path.startswith("/illformed/")]
    for path in illformed_bozo:
        feed = polled[path]
        assert feed.malformed or feed.last_error_kind == ErrorKind.NOT_A_FEED, path
    clean = [p for p in polled if expects[p].startswith("not bozo") and not polled[p].error_count]
    flagged = [path for path in clean if polled[path].malformed]
    print(f"bozo files: {len(bozo)} ({len(illformed_bozo)} ill-formed), not bozo: {len(clean)}")
    assert len(illformed_bozo) >= 13
    assert len(clean) >= 1500
    assert flagged == []


def check_entity_titles(files: dict[str, Path], polled: dict[str, Feed]) -> None:
    checked = 0
    for path, feed in polled.items():
        expect = re.fullmatch(r"feed\['title'\] == (u?'.*')", edge_expect(files[path].read_bytes()))
        if expect and path.startswith("/entities/"):
            checked += 1
            # Stored titles are collapsed to single spaces, so a no-break space is one space.
            assert feed.title == " ".join(ast.literal_eval(expect[1]).split()), path
    print(f"entity titles checked: {checked}")
    assert checked >= 251


# --- real publishers' feeds ------------------------------------------------------------------

# What such publishers' servers send: a feed media type and no charset, leaving the encoding to
# the XML declaration (or to nothing at all, as uolNoticias.rss shows).
REAL_TYPES = {".atom": "application/atom+xml", ".rss": "application/rss+xml"}


def real_content_type(name: str, data: bytes) -> str:
    head = data[:2000].lstrip()
    if head.lower().startswith((b"<head", b"<html", b"<!doctype html")):
        return "text/html"  # unrecognized.rss: a server's "document moved" page
    if b"<rdf:RDF" in head:
        return "application/rdf+xml"
    return REAL_TYPES[Path(name).suffix]


def _real_names() -> list[str]:
    try:
        root = dataset("feeds-real")
    except pytest.skip.Exception:
        return []
    return sorted(path.name for path in (root / "input").iterdir())


@pytest.fixture(scope="module")
def real_server():
    routes = {}
    for path in sorted((dataset("feeds-real") / "input").iterdir()):
        data = path.read_bytes()
        routes[f"/{path.name}"] = (200, {"Content-Type": real_content_type(path.name, data)}, data)
    # The undeclared Latin-1 feed once more, as a server that states its charset would send it.
    uol = routes["/uolNoticias.rss"][2]
    stated = {"Content-Type": "text/xml; charset=ISO-8859-1"}
    routes["/charset/uolNoticias.rss"] = (200, stated, uol)
    with serve_routes(routes) as base:
        yield base


def poll_one(url: str) -> Feed:
    feed = Feed.objects.create(url=url)
    refresh_feed(feed.pk)
    feed.refresh_from_db()
    return feed


def expected_guid(item: dict) -> str:
    guid = item.get("guid", item.get("id", item.get("rdf:about")))
    return guid.strip() if isinstance(guid, str) else ""


def expected_by_key(items: list[dict], feed_url: str) -> dict[str, dict]:
    """The recorded items that have a usable link, by article key; the first of a key wins,
    as in the store, which keeps one article per normalized URL."""
    keyed: dict[str, dict] = {}
    for item in items:
        if usable_url(item.get("link"), feed_url):
            url = normalize_url(urljoin(feed_url, item["link"].strip()))
            keyed.setdefault(url_key(url), {**item, "url": url})
    return keyed


def real_mismatches(feed: Feed, expected: dict[str, dict]) -> list[str]:
    links = ArticleFeed.objects.filter(feed=feed).select_related("article")
    stored = {link.article.url_key: link for link in links}
    problems = [] if stored.keys() == expected.keys() else ["stored keys differ from expected"]
    for key, want in expected.items():
        link = stored.get(key)
        if link is None:
            continue
        article = link.article
        if article.url != want["url"]:
            problems.append(f"url {want['url']!r} != {article.url!r}")
        if not _same_title(want.get("title"), article.title):
            problems.append(f"title {want.get('title')!r} != {article.title!r}")
        if link.guid != expected_guid(want):
            problems.append(f"guid {expected_guid(want)!r} != {link.guid!r}")
        date = _expected_date(want)
        if date and date != (article.published_at or article.updated_at):
            problems.append(f"date {want.get('isoDate')!r} != {article.published_at!r}")
    return problems


@pytest.mark.parametrize("name", _real_names() or [pytest.param("", marks=pytest.mark.skip)])
def test_real_feed_rows_match_recorded_items(real_server, loopback, name):
    seen_before = len(real_server.requests)
    feed = poll_one(f"{real_server}/{name}")
    # Entries wait for their page fetch: the poll asked for robots.txt and the feed, nothing else.
    requested = [seen.path for seen in real_server.requests[seen_before:]]
    assert requested == ["/robots.txt", f"/{name}"]
    items = _expected_items(name)
    if name == "unrecognized.rss":
        assert (feed.error_count, feed.last_error_kind) == (1, ErrorKind.NOT_A_FEED)
        assert not Article.objects.exists()
        return
    assert (feed.error_count, feed.last_error_kind) == (0, ""), feed.last_error
    if items is None:  # itunes-missing-image.rss has no recorded output
        # 131 episodes, most linking to the show's home page: one article per distinct link.
        data = (dataset("feeds-real") / "input" / name).read_bytes()
        links = stored_keys(parse_feed(data, url=feed.url).entries)
        assert feed.entries_seen == 131
        assert ArticleFeed.objects.filter(feed=feed).count() == len(links) == 9
        return
    expected = expected_by_key(items, feed.url)
    assert feed.entries_seen >= len(expected) == ArticleFeed.objects.filter(feed=feed).count()
    assert real_mismatches(feed, expected) == []
    assert set(Article.objects.values_list("state", "attempts")) <= {("pending", 0)}


@pytest.mark.parametrize("path", ["/encoding.rss", "/uolNoticias.rss", "/charset/uolNoticias.rss"])
def test_real_latin1_feeds_decode_through_http(real_server, loopback, path):
    feed = poll_one(f"{real_server}{path}")
    titles = list(Article.objects.values_list("title", flat=True))
    if path == "/encoding.rss":
        assert feed.title == "Jornal de Notícias - Últimas Notícias"
        assert feed.malformed == ""
    else:
        assert any("simulações de 2º turno" in title for title in titles)
        # Without a charset anywhere, the encoding is a guess and the row says so; a charset
        # stated in the HTTP header is used as such.
        guessed = "guessed" in feed.malformed
        assert guessed == (path == "/uolNoticias.rss"), feed.malformed
    assert not [title for title in titles if "\ufffd" in title]


def test_no_page_of_a_real_feed_is_ever_fetched(real_server, loopback, sealed_network):
    """Polling stores links to real public hosts and stops there: only 127.0.0.1 was contacted."""
    for name in ("guardian.rss", "heise.atom", "reddit.rss"):
        poll_one(f"{real_server}/{name}")
    assert Article.objects.filter(state=Article.State.PENDING).count() >= 60
    assert sealed_network and {address[0] for address in sealed_network} == {LOOPBACK}
    urls = list(Article.objects.values_list("url", flat=True))
    hosts = {urlsplit(url).hostname for url in urls}
    assert LOOPBACK not in hosts and len(hosts) >= 3
    assert all(url.startswith(("http://", "https://")) for url in urls)
