"""What the reader's pages show, as named queries.

Only stored articles (state "done") are public. Lists never load the heavy columns: they carry
just the opening characters of the text for a teaser, cut in the database.
"""

from __future__ import annotations

from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Count, F, Prefetch, Q, QuerySet, Value
from django.db.models.functions import Coalesce, NullIf, Substr
from django.http import Http404

from broadsheet.articles.models import Article
from broadsheet.community.queries import comment_count
from broadsheet.sources.models import Source

PER_PAGE = 30
OPENING_CHARS = 400
LIST_DEFERRED = ("raw_html", "text", "body_html", "teaser", "last_error")
PAGE_DEFERRED = ("raw_html", "text", "last_error")


def shown_time():
    """When an article counts as published: ``Article.listed_at``, kept by the pipeline."""
    return F("listed_at")


def public_articles() -> QuerySet[Article]:
    return (
        Article.objects.filter(state=Article.State.DONE)
        .select_related("source")
        .annotate(shown_time=shown_time())
    )


def newest_first(articles: QuerySet[Article]) -> QuerySet[Article]:
    return articles.order_by("-shown_time", "-id")


def light(articles: QuerySet[Article]) -> QuerySet[Article]:
    opening = Coalesce(
        NullIf(Substr("text", 1, OPENING_CHARS), Value("")), Substr("teaser", 1, OPENING_CHARS)
    )
    return articles.defer(*LIST_DEFERRED).annotate(opening=opening, comment_count=comment_count())


def with_copies(articles: QuerySet[Article]) -> QuerySet[Article]:
    """Attach other outlets' copies as ``shown_copies``, so that a list names them in one place."""
    copies = (
        Article.objects.filter(state=Article.State.DONE)
        .select_related("source")
        .only("id", "title", "duplicate_of", "source__name", "source__slug")
        .order_by("source__name", "id")
    )
    return articles.prefetch_related(Prefetch("copies", queryset=copies, to_attr="shown_copies"))


def front_page_articles() -> QuerySet[Article]:
    originals = public_articles().filter(duplicate_of__isnull=True)
    return with_copies(light(newest_first(originals)))


def source_articles(source: Source) -> QuerySet[Article]:
    """Everything the source published, syndicated copies included: they are its articles too."""
    return light(newest_first(public_articles().filter(source=source)))


def article_for_page() -> QuerySet[Article]:
    return public_articles().defer(*PAGE_DEFERRED)


def sources_with_counts() -> QuerySet[Source]:
    shown = Count("articles", filter=Q(articles__state=Article.State.DONE))
    return Source.objects.annotate(article_count=shown).order_by("name", "id")


def page_number(raw: str | None) -> int:
    """The requested page; anything that is not a positive whole number means the first."""
    try:
        number = int(raw or 1)
    except (TypeError, ValueError):
        return 1
    return max(number, 1)


def page_of(items: QuerySet, raw_number: str | None, per_page: int = PER_PAGE) -> Page:
    """One page of ``items``; a page past the end is a 404 rather than a copy of the last one."""
    paginator = Paginator(items, per_page)
    try:
        return paginator.page(page_number(raw_number))
    except EmptyPage as exc:
        raise Http404("No such page.") from exc
