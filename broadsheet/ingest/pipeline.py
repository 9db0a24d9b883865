"""The ingest pipeline, stage by stage.

``refresh_feed`` reads top to bottom like a recipe: request, classify errors, parse, store,
schedule, reset the error counter. ``process_article`` does the same for one article page:
fetch, extract (which sanitizes last), store. Errors are classified once, where they happen,
and stored on the row with a counter that success resets; nothing here raises on bad input.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.articles.store import (
    EntryRow,
    apply_extracted,
    ensure_source,
    record_article_error,
    store_entries,
    store_extracted,
)
from broadsheet.extraction.extract import extract_article
from broadsheet.ingest.errors import ErrorKind, FetchError, PipelineError
from broadsheet.ingest.feedparse import ParsedFeed, parse_feed
from broadsheet.ingest.fetcher import Fetcher, FetchPolicy, FetchResponse
from broadsheet.ingest.hostlimit import HostLimiter
from broadsheet.ingest.robots import RobotsCache
from broadsheet.ingest.schedule import error_backoff, next_poll, publishing_interval
from broadsheet.sources.models import Feed

log = logging.getLogger(__name__)


class Toolkit:
    """A process's fetcher, robots cache and per-host limiter, shared by its tasks."""

    def __init__(self, policy: FetchPolicy | None = None) -> None:
        self.policy = policy or FetchPolicy.from_settings()
        self.fetcher = Fetcher(self.policy)
        self.robots = RobotsCache(self.fetcher)
        self.limiter = HostLimiter.from_policy(self.policy)

    def get(self, url: str, **kwargs) -> FetchResponse:
        # A site presumed down fails here, before it costs a robots.txt request or a wait for
        # its turn; one that stops answering on its robots.txt fails on the page just after.
        if (down := self.fetcher.presumed_down(url)) is not None:
            down.url = url
            raise down
        if self.policy.obey_robots and not self.robots.allowed(url):
            raise FetchError(ErrorKind.ROBOTS, f"robots.txt disallows {url}", url=url)
        with self.limiter.slot(url, min_interval=self.robots.crawl_delay(url)):
            return self.fetcher.get(url, **kwargs)

    def close(self) -> None:
        self.fetcher.close()


_toolkit: Toolkit | None = None
_toolkit_lock = threading.Lock()


def toolkit() -> Toolkit:
    global _toolkit
    with _toolkit_lock:
        if _toolkit is None:
            _toolkit = Toolkit()
        return _toolkit


def reset_toolkit() -> None:
    """Forget the shared fetcher (tests that change fetch settings call this)."""
    global _toolkit
    with _toolkit_lock:
        if _toolkit is not None:
            _toolkit.close()
        _toolkit = None


@dataclass
class PollResult:
    feed_id: int
    new_article_ids: list[int] = field(default_factory=list)
    not_modified: bool = False
    error_kind: str = ""
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error_kind


def classified(exc: Exception, url: str) -> PipelineError:
    """Every failure as a classified error; one that is not already classified is our bug."""
    if isinstance(exc, PipelineError):
        return exc
    log.exception("unexpected failure on %s", url)
    return PipelineError(ErrorKind.INTERNAL, f"{type(exc).__name__}: {exc}"[:500])


# --- feeds -------------------------------------------------------------------------------


def refresh_feed(feed_id: int, tools: Toolkit | None = None) -> PollResult:
    tools = tools or toolkit()
    feed = Feed.objects.select_related("source").get(pk=feed_id)
    now = timezone.now()
    result = PollResult(feed_id)
    try:
        response = tools.get(
            feed.url,
            etag=feed.etag or None,
            last_modified=feed.last_modified or None,
            accept="feed",
        )
        # The whole header, not just the media type: a charset on an XML type decides the
        # encoding of a feed that declares none.
        content_type = response.headers.get("content-type") or response.content_type
        parsed = (
            None
            if response.not_modified
            else parse_feed(response.content, url=response.url, content_type=content_type)
        )
    except Exception as exc:
        error = classified(exc, feed.url)
        record_feed_error(feed, error, now)
        result.error_kind, result.error = str(error.kind), error.message
        return result
    if parsed is None:
        result.not_modified = True
        record_feed_success(feed, response, now, interval=feed.poll_interval)
        return result
    result.new_article_ids = store_feed(feed, parsed, now)
    interval = publishing_interval(
        (e.published or e.updated for e in parsed.entries), settings.BROADSHEET_POLL_INTERVAL
    )
    record_feed_success(feed, response, now, interval=interval, parsed=parsed)
    return result


def entry_rows(parsed: ParsedFeed) -> list[EntryRow]:
    return [
        EntryRow(
            url=e.url,
            guid=e.guid or "",
            title=e.title or "",
            teaser=e.summary or "",
            byline=e.author or "",
            published=e.published,
            updated=e.updated,
        )
        for e in parsed.entries
    ]


def store_feed(feed: Feed, parsed: ParsedFeed, now: datetime) -> list[int]:
    ensure_source(feed, title=parsed.title or "", site_url=parsed.link or "")
    return store_entries(feed, entry_rows(parsed), now)


def record_feed_success(
    feed: Feed,
    response: FetchResponse,
    now: datetime,
    *,
    interval: int,
    parsed: ParsedFeed | None = None,
) -> None:
    updates = {
        "etag": (response.etag or "")[:500],
        "last_modified": (response.last_modified or "")[:100],
        "poll_interval": interval,
        "next_poll_at": next_poll(
            now,
            interval,
            cache_max_age=response.cache_max_age,
            retry_after=response.retry_after,
        ),
        "last_polled_at": now,
        "last_success_at": now,
        "error_count": 0,
        "last_error_kind": "",
        "last_error": "",
    }
    if parsed is not None:
        updates.update(
            title=(parsed.title or feed.title)[:300],
            site_url=(parsed.link or feed.site_url)[:2000],
            format=parsed.format[:20],
            malformed=(parsed.malformed or "")[:2000],
            entries_seen=len(parsed.entries),
        )
    Feed.objects.filter(pk=feed.pk).update(**updates)


def record_feed_error(feed: Feed, error: PipelineError, now: datetime) -> None:
    errors = feed.error_count + 1
    log.warning("feed %s failed: %s", feed.url, error)
    Feed.objects.filter(pk=feed.pk).update(
        error_count=errors,
        last_error_kind=str(error.kind),
        last_error=error.message[:2000],
        last_polled_at=now,
        next_poll_at=error_backoff(
            now, feed.poll_interval, errors, getattr(error, "retry_after", None)
        ),
    )


# --- articles ----------------------------------------------------------------------------


def process_articles(
    article_ids: list[int], tools: Toolkit | None = None
) -> tuple[dict[str, int], list[int]]:
    """Fetch, extract and store each article; returns the counts and the ids stored."""
    from broadsheet.front import pagecache

    tools = tools or toolkit()
    counts = {"stored": 0, "failed": 0, "skipped": 0}
    stored = []
    # The batch's rows in one query: loading each after counting its attempt cost a query each.
    pending = Article.objects.filter(pk__in=article_ids, state=Article.State.PENDING)
    loaded = {article.pk: article for article in pending}
    with pagecache.batched():  # one cache write for the batch, not two per stored article
        for article_id in article_ids:
            article = loaded.get(article_id)
            outcome = process_article(article_id, tools, article) if article else "skipped"
            counts[outcome] += 1
            if outcome == "stored":
                stored.append(article_id)
    return counts, stored


def begin_attempt(article_id: int, loaded: Article | None = None) -> Article | None:
    """Count an attempt on a pending article and load it (or count it on ``loaded``, the row
    read with its batch: while it waits, only its lease changes, which storing or recording
    a failure sets anew); None when it is no longer pending."""
    pending = Article.objects.filter(pk=article_id, state=Article.State.PENDING)
    if not pending.update(attempts=F("attempts") + 1):
        return None
    if loaded is None:
        return pending.order_by().first()
    loaded.attempts += 1
    return loaded


def process_article(article_id: int, tools: Toolkit, loaded: Article | None = None) -> str:
    article = begin_attempt(article_id, loaded)
    if article is None:
        return "skipped"
    now = timezone.now()
    try:
        response = tools.get(article.url, accept="html")
        extracted = extract_article(response.content, response.url, charset=response.charset)
    except Exception as exc:
        error = classified(exc, article.url)
        log.info("article %s failed: %s", article.url, error)
        record_article_error(article, error, now)
        return "failed"
    store_extracted(article, response.content, extracted, now, response.url)
    return "stored"


def reprocess_article(article_id: int) -> bool:
    """Extract again from the stored raw HTML; the stored text stays if extraction fails."""
    article = Article.objects.get(pk=article_id)
    try:
        extracted = extract_article(article.get_raw_html(), article.canonical_url or article.url)
    except PipelineError as error:
        Article.objects.filter(pk=article.pk).update(
            last_error_kind=str(error.kind), last_error=error.message[:2000]
        )
        return False
    apply_extracted(article, extracted)
    article.last_error_kind = article.last_error = ""
    # Claimed for the enrichment that the caller runs next (or a worker, once the lease ends).
    article.enrich_due_at = timezone.now() + timedelta(seconds=settings.BROADSHEET_CLAIM_LEASE)
    article.save()
    return True
