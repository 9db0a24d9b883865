"""Comment text to HTML: escaped first, URLs linked, line breaks kept, then an allow-list pass.

Readers write plain text. Django's ``urlize`` escapes everything that is not a link and links
only http(s), www. and e-mail addresses, so ``javascript:`` never becomes a link. nh3 runs last,
as everywhere in Broadsheet, and is what puts ``rel="nofollow ugc noopener"`` on every link.
"""

from __future__ import annotations

import nh3
from django.utils.html import linebreaks, urlize
from django.utils.safestring import SafeString, mark_safe

LINK_REL = "nofollow ugc noopener"
ALLOWED_TAGS = {"a", "p", "br"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


def linked(text: str) -> str:
    return urlize(text, nofollow=True, autoescape=True)


def comment_html(text: str) -> SafeString:
    html = linebreaks(linked(text), autoescape=False)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel=LINK_REL,
    )
    return mark_safe(clean)  # noqa: S308 - escaped by urlize, then cleaned by nh3


def link_count(text: str) -> int:
    """How many links the text would show: what a spammer is after."""
    return linked(text).count("<a ")
