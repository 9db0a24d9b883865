"""URLs for the reader's pages, and a guard for links that come from publishers."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.urls import NoReverseMatch, reverse
from django.utils.text import slugify

SLUG_MAX = 80
FALLBACK_SLUG = "article"
SAFE_SCHEMES = frozenset({"http", "https"})


def article_slug(title: str) -> str:
    """A readable slug; Unicode is kept so that non-Latin headlines still read in the URL."""
    slug = slugify(title, allow_unicode=True)
    if len(slug) > SLUG_MAX:
        slug = slug[:SLUG_MAX].rsplit("-", 1)[0]
    return slug or FALLBACK_SLUG


def article_url(article) -> str:
    return reverse("article", args=[article.pk, article_slug(article.title)])


def source_url(source) -> str:
    return reverse("source", args=[source.slug])


def safe_external_url(url: str) -> str:
    """``url`` if it is plain http(s), else "".

    Auto-escaping stops markup, not a ``javascript:`` URL in an href, and these URLs come from
    publishers' feeds and pages.
    """
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    if parts.scheme.lower() not in SAFE_SCHEMES or not parts.netloc:
        return ""
    return url


def tag_url(tag) -> str:
    """The tag's page, or "" for a slug no URL can carry (a slash, say): skipped, not a 500."""
    try:
        return reverse("tag", args=[tag.slug])
    except NoReverseMatch:
        return ""
