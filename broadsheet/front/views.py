"""The reader's pages. Views stay thin: what to show comes from ``queries``."""

from __future__ import annotations

from django.shortcuts import get_object_or_404, redirect, render

from broadsheet.front import queries
from broadsheet.front.links import article_slug, article_url
from broadsheet.sources.models import Source


def front_page(request):
    page = queries.page_of(queries.front_page_articles(), request.GET.get("page"))
    return render(request, "front/front_page.html", {"page": page, "nav": "latest"})


def article_page(request, pk: int, slug: str):
    article = get_object_or_404(queries.article_for_page(), pk=pk)
    if slug != article_slug(article.title):
        return redirect(article_url(article), permanent=True)
    return render(request, "front/article.html", {"article": article, "source": article.source})


def article_by_id(request, pk: int):
    article = get_object_or_404(queries.article_for_page(), pk=pk)
    return redirect(article_url(article), permanent=True)


def source_page(request, slug: str):
    source = get_object_or_404(Source, slug=slug)
    page = queries.page_of(queries.source_articles(source), request.GET.get("page"))
    return render(request, "front/source.html", {"source": source, "page": page})


def sources_page(request):
    sources = queries.sources_with_counts()
    return render(request, "front/sources.html", {"sources": sources, "nav": "sources"})
