"""The reader's pages. Views stay thin: what to show comes from ``queries``.

Pages that anonymous readers see are cached whole (``pagecache``); they carry no CSRF token, so
the AI box fetches one from ``csrf_cookie`` at the moment a reader asks a question.
"""

from __future__ import annotations

from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET

from broadsheet.enrichment.models import Tag
from broadsheet.front import queries
from broadsheet.front.body import Ad, build_body
from broadsheet.front.links import article_slug, article_url
from broadsheet.front.models import AdSlot
from broadsheet.front.pagecache import article_scopes, cached_page, list_scopes
from broadsheet.sources.models import Source


@cached_page(list_scopes)
def front_page(request):
    page = queries.page_of(queries.front_page_articles(), request.GET.get("page"))
    covered = queries.most_covered() if page.number == 1 else []
    context = {"page": page, "most_covered": covered, "nav": "latest"}
    return render(request, "front/front_page.html", context)


@cached_page(article_scopes)
def article_page(request, pk: int, slug: str):
    article = get_object_or_404(queries.article_for_page(), pk=pk)
    if slug != article_slug(article.title):
        return redirect(article_url(article), permanent=True)
    return render(request, "front/article.html", article_context(article))


def article_context(article) -> dict:
    source = article.source
    ads = [Ad(slot.pk, slot.html, slot.every_paragraphs) for slot in queries.enabled_ads()]
    teaser = source.body_mode == Source.BodyMode.TEASER
    body = build_body(article, ads, source.teaser_paragraphs if teaser else None)
    return {
        "article": article,
        "source": source,
        "body": body,
        "teaser_mode": teaser,
        "has_ads": bool(ads),
        "tags": queries.article_tags(article),
        "related": queries.related_stories(article),
    }


def article_by_id(request, pk: int):
    article = get_object_or_404(queries.article_for_page(), pk=pk)
    return redirect(article_url(article), permanent=True)


@cached_page(list_scopes)
def source_page(request, slug: str):
    source = get_object_or_404(Source, slug=slug)
    page = queries.page_of(queries.source_articles(source), request.GET.get("page"))
    return render(request, "front/source.html", {"source": source, "page": page})


def sources_page(request):
    sources = queries.sources_with_counts()
    return render(request, "front/sources.html", {"sources": sources, "nav": "sources"})


@cached_page(list_scopes)
def tag_page(request, slug: str):
    tag = get_object_or_404(Tag, slug=slug)
    page = queries.page_of(queries.tag_articles(tag), request.GET.get("page"))
    return render(request, "front/tag.html", {"tag": tag, "page": page})


def search_page(request):
    query = queries.clean_query(request.GET.get("q"))
    page = (
        queries.page_of(queries.search_articles(query), request.GET.get("page")) if query else None
    )
    context = {"query": query, "page": page, "nav": "search"}
    return render(request, "front/search.html", context)


@require_GET
@never_cache
@ensure_csrf_cookie
def csrf_cookie(request):
    """Sets Django's csrftoken cookie, so that a script on a cached page can post."""
    return JsonResponse({"ok": True})


@require_GET
def ad_styles(request):
    """Each slot's reserved height, as a stylesheet: pages keep to a CSP without inline styles."""
    rules = [
        f".ad-slot-{slot.pk} .ad-content {{ min-height: {int(slot.height)}px; }}"
        for slot in AdSlot.objects.filter(enabled=True)
    ]
    response = HttpResponse("\n".join(rules) + "\n", content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response
