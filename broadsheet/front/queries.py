"""What the reader's pages show, as named queries.

Only stored articles (state "done") are public. Lists never load the heavy columns: they carry
just the opening characters of the text for a teaser, cut in the database.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from django.core.paginator import EmptyPage, Page, Paginator
from django.db.models import Count, F, Max, Prefetch, Q, QuerySet, Value, Window
from django.db.models.functions import Coalesce, NullIf, Substr
from django.http import Http404
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.community.queries import comment_count
from broadsheet.enrichment.models import ArticleTag, RelatedArticle, Tag
from broadsheet.enrichment.stories import SAME_STORY, SAME_STORY_MIN, same_story, worth_showing
from broadsheet.front.models import AdSlot
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


# --- Coverage, tags, related, search --------------------------------------------------------

COVERAGE_WINDOW = timedelta(days=1)
MOST_COVERED = 5
MIN_COVERAGE = 2
RELATED_SHOWN = 8
SEARCH_MAX_CHARS = 200


def most_covered(now=None) -> list[Article]:
    """The day's stories that the most outlets carry, for the strip at the top of the front page.

    The rule: among originals listed in the last 24 hours, coverage = the syndicated copies of
    the story + the related articles (precomputed by enrichment) that another outlet listed in
    the same 24 hours and that tell the same story (`stories.same_story`, judged among those
    rows; see `same_story_reports`): the "N more reports" a reader sees. Stories with a
    coverage of at least 2 qualify; the highest coverage comes first and, on a tie, the newest.
    Each story shows once: an article that one already in the strip lists among its closest
    related articles (`stories.same_story`), or that lists it so, is the same story told by
    another outlet, and is passed over. The list below the strip stays in plain newest-first
    order.
    """
    since = (now or timezone.now()) - COVERAGE_WINDOW
    recent = public_articles().filter(duplicate_of__isnull=True, listed_at__gte=since)
    copies = Count("copies", filter=Q(copies__state=Article.State.DONE), distinct=True)
    # Grouped by id alone: an aggregate over whole rows would group by (and read) every column.
    found = recent.values_list("id", "shown_time").annotate(copy_count=copies)
    reports = same_story_reports(recent, since)
    coverage, when = {}, {}
    for pk, moment, copy_count in found:
        coverage[pk], when[pk] = copy_count + reports.get(pk, 0), moment
    ranked = sorted(
        (pk for pk, n in coverage.items() if n >= MIN_COVERAGE),
        key=lambda pk: (coverage[pk], when[pk], pk),
        reverse=True,
    )
    # Every article of a big story has a big coverage: look far enough down to find 5 stories.
    keys = ranked[: MOST_COVERED * (RELATED_SHOWN + 1)]
    by_pk = {item.pk: item for item in with_copies(light(recent.filter(pk__in=keys)))}
    candidates = [by_pk[pk] for pk in keys if pk in by_pk]
    for article in candidates:
        article.coverage = coverage[article.pk]
    stories = stories_among([article.id for article in candidates])
    shown, passed = [], set()
    for article in candidates:
        if article.id in passed:
            continue
        shown.append(article)
        passed |= stories[article.id]
        if len(shown) == MOST_COVERED:
            break
    return shown


def same_story_reports(articles: QuerySet[Article], since) -> dict[int, int]:
    """For each of ``articles`` (by id), the related articles another outlet listed since
    ``since`` that tell its story: the `stories.same_story` rule, judged among those rows
    (a window over each list, so that one query counts them all)."""
    best = Window(Max("score"), partition_by=F("article_id"))
    rows = (
        RelatedArticle.objects.filter(article__in=articles.values("id"))
        .filter(related__listed_at__gte=since)
        .exclude(related__source=F("article__source"))
        .annotate(best=best)
        .filter(score__gte=F("best") * SAME_STORY)
        .filter(score__gte=SAME_STORY_MIN)
    )
    return Counter(rows.values_list("article_id", flat=True))


def stories_among(ids: list[int]) -> dict[int, set[int]]:
    """For each of these articles, the others among them that tell the same story: either
    lists the other among its closest related articles (`stories.same_story`)."""
    lists: dict[int, list[tuple[int, float]]] = {pk: [] for pk in ids}
    rows = RelatedArticle.objects.filter(article_id__in=ids)
    for pk, related_id, score in rows.values_list("article_id", "related_id", "score"):
        lists[pk].append((related_id, score))
    found: dict[int, set[int]] = {pk: set() for pk in ids}
    for pk, ranked in lists.items():
        for other in same_story(ranked):
            if other in found:
                found[pk].add(other)
                found[other].add(pk)
    return found


def article_tags(article: Article) -> list[Tag]:
    return list(Tag.objects.filter(article_tags__article=article).order_by("article_tags__rank"))


def tag_articles(tag: Tag) -> QuerySet[Article]:
    """Stories with the tag, each once: a tagged copy brings in its original."""
    tagged = ArticleTag.objects.filter(tag=tag).values("article_id")
    originals_of_copies = Article.objects.filter(pk__in=tagged, duplicate_of__isnull=False).values(
        "duplicate_of"
    )
    stories = public_articles().filter(
        Q(pk__in=tagged) | Q(pk__in=originals_of_copies), duplicate_of__isnull=True
    )
    return with_copies(light(newest_first(stories)))


def story_key(article_id: int, original_id: int | None) -> int:
    return original_id or article_id


def related_stories(article: Article, limit: int = RELATED_SHOWN) -> list[Article]:
    """Related coverage, best first, each story once: copies fold into their original's entry.
    Rows too far below the list's best to be worth a reader's time are left out
    (`stories.worth_showing`)."""
    rows = list(
        RelatedArticle.objects.filter(article=article, related__state=Article.State.DONE)
        .order_by("-score", "related_id")
        .values_list("related_id", "related__duplicate_of_id", "score")
    )
    shown = set(worth_showing([(related_id, score) for related_id, _, score in rows]))
    own = story_key(article.pk, article.duplicate_of_id)
    keys: list[int] = []
    for related_id, original_id, _ in rows:
        if related_id not in shown:
            continue
        key = story_key(related_id, original_id)
        if key != own and key not in keys:
            keys.append(key)
    keys = keys[:limit]
    found = with_copies(light(public_articles().filter(pk__in=keys)))
    by_pk = {item.pk: item for item in found}
    return [by_pk[key] for key in keys if key in by_pk]


def clean_query(raw: str | None) -> str:
    return " ".join((raw or "").split())[:SEARCH_MAX_CHARS]


def search_articles(query: str) -> QuerySet[Article]:
    """Title and text, case-insensitively; a full-text index is the search issue's job."""
    matches = Q(title__icontains=query) | Q(text__icontains=query)
    stories = public_articles().filter(matches, duplicate_of__isnull=True)
    return with_copies(light(newest_first(stories)))


def enabled_ads() -> list[AdSlot]:
    return list(AdSlot.objects.filter(enabled=True).order_by("name", "id"))
