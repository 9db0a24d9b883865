"""Subscribing to feeds: by URL (with feed autodiscovery on web pages) or from OPML."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from lxml import html as lxml_html

from broadsheet.ingest.errors import ErrorKind, PipelineError
from broadsheet.ingest.feedparse import parse_feed
from broadsheet.ingest.opml import OpmlFeed
from broadsheet.ingest.urls import normalize_url
from broadsheet.sources.models import Feed

FEED_TYPES = {
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/json",
    "application/rdf+xml",
}


def discover_feeds(content: bytes, base_url: str) -> list[str]:
    """Feed URLs that a web page announces with <link rel="alternate">."""
    try:
        document = lxml_html.document_fromstring(content)
    except (ValueError, lxml_html.etree.ParserError):
        return []
    found = []
    for link in document.iterfind(".//link[@href]"):
        rel = (link.get("rel") or "").lower().split()
        kind = (link.get("type") or "").lower().split(";")[0].strip()
        if "alternate" in rel and kind in FEED_TYPES:
            try:
                found.append(normalize_url(link.get("href"), base=base_url))
            except PipelineError:
                continue
    return found


def check_feed(url: str) -> tuple[str, str]:
    """Fetch ``url``; return (feed URL, title), following autodiscovery from a web page once."""
    from broadsheet.ingest.pipeline import toolkit

    response = toolkit().get(url, accept="feed")
    try:
        parsed = parse_feed(
            response.content,
            url=response.url,
            content_type=response.headers.get("content-type") or response.content_type,
        )
        return url, parsed.title or ""
    except PipelineError as error:
        candidates = discover_feeds(response.content, response.url)
        if error.kind != ErrorKind.NOT_A_FEED or not candidates:
            raise
    response = toolkit().get(candidates[0], accept="feed")
    parsed = parse_feed(
        response.content,
        url=response.url,
        content_type=response.headers.get("content-type") or response.content_type,
    )
    return candidates[0], parsed.title or ""


def subscribe(url: str, *, check: bool = True, title: str = "") -> tuple[Feed, bool]:
    url = normalize_url(url.strip())
    existing = Feed.objects.filter(url=url).first()
    if existing:
        return existing, False
    if check:
        url, title = check_feed(url)
    try:
        with transaction.atomic():
            feed = Feed.objects.create(
                url=url,
                title=title[:300],
                poll_interval=settings.BROADSHEET_POLL_INTERVAL,
                next_poll_at=timezone.now(),
            )
    except IntegrityError:
        return Feed.objects.get(url=url), False
    return feed, True


def import_opml(feeds: list[OpmlFeed]) -> tuple[int, int, list[str]]:
    """Subscribe to every feed of an OPML file without fetching; returns added, known, errors."""
    added = known = 0
    errors = []
    for item in feeds:
        try:
            _, created = subscribe(item.xml_url, check=False, title=item.title or "")
        except PipelineError as error:
            errors.append(f"{item.xml_url}: {error.kind}: {error.message}")
            continue
        added += created
        known += not created
    return added, known, errors
