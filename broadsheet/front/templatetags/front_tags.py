"""Template filters for the reader's pages: relative times, teasers and safe links."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import dateformat, timezone
from django.utils.translation import ngettext

from broadsheet.front import links

register = template.Library()

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR
EXCERPT_CHARS = 200
TRAILING_PUNCTUATION = " ,;:.-–—"


def describe_age(moment: datetime, now: datetime) -> str:
    """How long ago ``moment`` was, as a reader would say it; a date once it is older than a day.

    A moment in the future is clock skew at one end or the other, not news from tomorrow.
    """
    seconds = (now - moment).total_seconds()
    if seconds < MINUTE:
        return "just now"
    if seconds < HOUR:
        minutes = int(seconds // MINUTE)
        return ngettext("%(n)d minute ago", "%(n)d minutes ago", minutes) % {"n": minutes}
    if seconds < DAY:
        hours = int(seconds // HOUR)
        return ngettext("%(n)d hour ago", "%(n)d hours ago", hours) % {"n": hours}
    return describe_day(timezone.localtime(moment), timezone.localtime(now))


def describe_day(moment: datetime, now: datetime) -> str:
    if (now.date() - moment.date()).days == 1:
        return "yesterday"
    pattern = "j M" if moment.year == now.year else "j M Y"
    return dateformat.format(moment, pattern)


@register.filter
def relative_time(value) -> str:
    if not isinstance(value, datetime):
        return ""
    if timezone.is_naive(value):
        value = timezone.make_aware(value)
    return describe_age(value, timezone.now())


def shorten(text: str, limit: int = EXCERPT_CHARS) -> str:
    """``text`` on one line, cut at a word boundary near ``limit`` characters."""
    flat = " ".join((text or "").split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit + 1]
    space = cut.rfind(" ")
    # One unbroken run (a URL, or a script without spaces) is cut where it is.
    if space > limit // 2:
        cut = cut[:space]
    return cut[:limit].rstrip(TRAILING_PUNCTUATION) + "…"


@register.filter
def excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    return shorten(text, int(limit))


@register.filter
def byline(names: str) -> str:
    names = " ".join((names or "").split())
    if not names or names.lower().startswith("by "):
        return names
    return f"By {names}"


@register.filter
def external(url: str) -> str:
    return links.safe_external_url(url)


@register.filter
def article_url(article) -> str:
    return links.article_url(article)


@register.filter
def source_url(source) -> str:
    return links.source_url(source)


@register.filter
def tag_url(tag) -> str:
    return links.tag_url(tag)
