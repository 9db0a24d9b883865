"""Writing articles: the last stage of the pipeline, and the only place that does.

Every write here is idempotent and keyed by a normalized URL, so a feed polled twice, two
feeds announcing one article, or two workers racing on the same entry all end in one row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils.text import slugify

from broadsheet.articles.models import Article, ArticleFeed
from broadsheet.ingest.errors import ErrorKind, PipelineError
from broadsheet.ingest.schedule import article_retry
from broadsheet.ingest.urls import normalize_url, url_key
from broadsheet.sources.models import Feed, Source

# Failures that another attempt will not fix: the article is marked failed at once.
PERMANENT = {
    ErrorKind.HTTP_4XX,
    ErrorKind.NOT_AN_ARTICLE,
    ErrorKind.BAD_CONTENT_TYPE,
    ErrorKind.ROBOTS,
    ErrorKind.BLOCKED_ADDRESS,
    ErrorKind.TOO_LARGE,
    ErrorKind.BAD_URL,
    ErrorKind.TOO_MANY_REDIRECTS,
    ErrorKind.REDIRECT_LOOP,
}


@dataclass
class EntryRow:
    """What a feed told us about one article, before the page is fetched."""

    url: str
    guid: str
    title: str
    teaser: str
    byline: str
    published: datetime | None
    updated: datetime | None


def unique_slug(name: str) -> str:
    base = slugify(name)[:100] or "source"
    slug, n = base, 1
    while Source.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def homepage_of(feed_url: str, site_url: str) -> str:
    parts = urlsplit(feed_url)
    origin = f"{parts.scheme}://{parts.netloc}/"
    for candidate in (site_url, origin):
        try:
            return normalize_url(candidate, base=feed_url) if candidate else ""
        except PipelineError:
            continue
    return origin


def publisher_name(feed_title: str) -> str:
    """The outlet in a feed title like "Outlet: Section", so section feeds share one source."""
    name = feed_title.strip()
    for separator in (": ", " - ", " | ", " — ", " – "):
        head, found, _ = name.partition(separator)
        if found and len(head) >= 3:
            return head.strip()[:200]
    return name[:200]


def same_publisher(homepage: str, name: str) -> Source | None:
    """A known source on the same host with the same name, or whose homepage encloses ours.

    Section feeds link to their section's page ("/world/"), and one host may carry several
    outlets, so neither the link nor the host alone identifies a publisher.
    """
    host = urlsplit(homepage).netloc
    candidates = Source.objects.filter(
        homepage__startswith=f"{urlsplit(homepage).scheme}://{host}/"
    )
    for source in candidates:
        if source.name == name or homepage.startswith(source.homepage):
            return source
    return None


def ensure_source(feed: Feed, *, title: str, site_url: str) -> Source:
    """The feed's publisher, shared by all of its section feeds."""
    if feed.source_id:
        return feed.source
    homepage = homepage_of(feed.url, site_url) or homepage_of(feed.url, "")
    name = publisher_name(title) or urlsplit(homepage).netloc
    source = same_publisher(homepage, name)
    if source is None:
        source, _ = Source.objects.get_or_create(
            homepage=homepage, defaults={"name": name, "slug": unique_slug(name)}
        )
    feed.source = source
    Feed.objects.filter(pk=feed.pk).update(source=source)
    return source


def keyed_entries(entries: Iterable[EntryRow]) -> dict[str, EntryRow]:
    keyed: dict[str, EntryRow] = {}
    for entry in entries:
        try:
            entry.url = normalize_url(entry.url)
        except PipelineError:
            continue
        keyed.setdefault(url_key(entry.url), entry)
    return keyed


def store_entries(feed: Feed, entries: Iterable[EntryRow], now: datetime) -> list[int]:
    """Create articles for entries not seen before; link every entry to this feed.

    Returns the ids of the articles this call created, already claimed for one lease so
    that the scheduler does not enqueue them a second time while they wait in the queue.
    """
    keyed = keyed_entries(entries)
    if not keyed:
        return []
    lease = now + timedelta(seconds=settings.BROADSHEET_CLAIM_LEASE)
    with transaction.atomic():
        known = set(Article.objects.filter(url_key__in=keyed).values_list("url_key", flat=True))
        fresh = [
            new_article(feed, key, e, now, lease) for key, e in keyed.items() if key not in known
        ]
        Article.objects.bulk_create(fresh, ignore_conflicts=True)
        ids = dict(Article.objects.filter(url_key__in=keyed).values_list("url_key", "id"))
        links = [
            ArticleFeed(article_id=ids[key], feed=feed, guid=e.guid[:2000], first_seen_at=now)
            for key, e in keyed.items()
            if key in ids
        ]
        ArticleFeed.objects.bulk_create(links, ignore_conflicts=True)
    return [ids[key] for key in keyed if key not in known and key in ids]


def new_article(feed: Feed, key: str, entry: EntryRow, now: datetime, lease: datetime) -> Article:
    article = Article(
        url=entry.url,
        url_key=key,
        source=feed.source,
        title=entry.title[:500],
        teaser=entry.teaser[:2000],
        byline=entry.byline[:300],
        published_at=entry.published,
        updated_at=entry.updated,
        discovered_at=now,
        next_attempt_at=lease,
    )
    article.update_listed_at()
    return article


def content_hash(text: str) -> str:
    canonical = " ".join(text.split()).lower()  # str.split() splits where r"\s" matches
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def same_article_elsewhere(article: Article, canonical_key: str, digest: str) -> Article | None:
    """Another stored row of the same source that is this very article under another URL:
    its address, else its canonical address, else its text (the newest such row of each).

    One query through the three keys' own indexes; source and state are checked on the few
    rows it returns (filtering on them in SQL lets SQLite walk the source's whole index).
    """
    wanted = Q()
    if canonical_key:
        wanted |= Q(url_key=canonical_key) | Q(canonical_key=canonical_key)
    if digest:
        wanted |= Q(content_hash=digest)
    if not wanted:
        return None
    rows = Article.objects.filter(wanted).exclude(pk=article.pk).order_by("-published_at", "-id")
    found = [
        row
        for row in rows.values_list(
            "pk", "source_id", "state", "url_key", "canonical_key", "content_hash"
        )
        if row[1] == article.source_id and row[2] == Article.State.DONE
    ]
    for position, value in ((3, canonical_key), (4, canonical_key), (5, digest)):
        match = next((row[0] for row in found if value and row[position] == value), None)
        if match is not None:
            return Article.objects.get(pk=match)
    return None


def merge_into(article: Article, original: Article) -> None:
    """Keep one row: move this row's feed links to the original and mark this one a duplicate."""
    for link in ArticleFeed.objects.filter(article=article):
        ArticleFeed.objects.get_or_create(
            article=original, feed_id=link.feed_id, defaults={"guid": link.guid}
        )
    article.duplicate_of = original
    article.state = Article.State.DUPLICATE
    article.raw_html = None
    article.save(update_fields=["duplicate_of", "state", "raw_html"])


def apply_extracted(article: Article, extracted) -> None:
    article.title = (extracted.title or article.title)[:500]
    article.byline = (extracted.byline or article.byline)[:300]
    article.published_at = extracted.published or article.published_at
    article.updated_at = extracted.updated or article.updated_at
    article.update_listed_at()
    article.language = (extracted.language or "")[:16]
    article.lead_image_url = (extracted.lead_image_url or "")[:2000]
    article.lead_image_alt = (extracted.lead_image_alt or "")[:500]
    article.caption = extracted.caption or ""
    article.credit = (extracted.credit or "")[:300]
    article.text = extracted.text
    article.body_html = extracted.body_html
    article.word_count = extracted.word_count
    article.content_hash = content_hash(extracted.text)


def canonical_of(extracted, fallback: str) -> tuple[str, str]:
    try:
        url = normalize_url(extracted.canonical_url or fallback)
    except PipelineError:
        url = fallback
    return url, url_key(url)


def store_extracted(
    article: Article, raw: bytes, extracted, now: datetime, final_url: str
) -> Article:
    """Save a fetched and extracted article, or fold it into the row it duplicates.

    Two workers may store two URLs of one article at once; the unique constraint on
    (source, canonical_key) among stored rows lets only one win, and the loser merges into it.
    """
    apply_extracted(article, extracted)
    article.canonical_url, article.canonical_key = canonical_of(extracted, final_url)
    article.set_raw_html(raw)
    article.state = Article.State.DONE
    article.fetched_at = now
    article.enrich_due_at = now + timedelta(seconds=settings.BROADSHEET_CLAIM_LEASE)
    article.last_error_kind = article.last_error = ""
    for _ in range(2):
        try:
            with transaction.atomic():
                original = same_article_elsewhere(
                    article, article.canonical_key, article.content_hash
                )
                if original is None:
                    article.save()
                    return article
                merge_into(article, original)
                return original
        except IntegrityError:
            continue
    raise PipelineError(ErrorKind.BAD_RESPONSE, "could not store: concurrent writes kept colliding")


def record_article_error(article: Article, error: PipelineError, now: datetime) -> None:
    permanent = error.kind in PERMANENT and error.kind != ErrorKind.HTTP_4XX
    if error.kind == ErrorKind.HTTP_4XX:
        permanent = getattr(error, "status", None) not in (408, 425, 429)
    exhausted = article.attempts >= settings.BROADSHEET_MAX_ATTEMPTS
    Article.objects.filter(pk=article.pk).update(
        state=Article.State.FAILED if (permanent or exhausted) else Article.State.PENDING,
        next_attempt_at=article_retry(now, article.attempts, getattr(error, "retry_after", None)),
        last_error_kind=str(error.kind),
        last_error=error.message[:2000],
    )
