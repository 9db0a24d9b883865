"""A hostile publisher on 127.0.0.1: a feed and article pages laced with script payloads.

Every payload, if it ever ran, would leave a trace the browser tests look for: it sets
``window.__pwned``, adds an element with id ``pwned`` and opens an alert. Markup-looking text
in titles, bylines, captions, credits and the outlet's name is HTML-escaped in the publisher's
page, so it reaches Broadsheet as literal text, which is exactly what a hostile headline is;
the body carries raw elements and attributes, which the pipeline must take out.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from html import escape

from tests.httpservers import serve_routes

RUN = (
    "window.__pwned=1;"
    "document.body.append(Object.assign(document.createElement('b'),{id:'pwned'}));"
    "alert('pwned')"
)
# Markup that runs RUN if a page ever emits it unescaped.
TEXT_PAYLOADS = (
    f"<script>{RUN}</script>",
    f'"><img src=x onerror="{RUN}">',
    f'<svg onload="{RUN}"></svg>',
    f'\'><a href="javascript:{RUN}">more</a>',
)
OUTLET = "The Hostile Herald " + TEXT_PAYLOADS[1]
BODY_PAYLOADS = (
    f"<script>{RUN}</script>",
    f'<img src="x" onerror="{RUN}" alt="broken">',
    f'<svg width="10" height="10" onload="{RUN}"><circle r="4"/></svg>',
    f'<a href="javascript:{RUN}">Read the full statement</a>',
    f'<a href="JaVaScRiPt:{RUN}">Read the appendix</a>',
    f'<a href="&#106;avascript:{RUN}">Read the annex</a>',
    f'<iframe src="javascript:{RUN}"></iframe>',
    f'<p onmouseover="{RUN}" onclick="{RUN}">Point at this paragraph of council news.</p>',
    f'<input autofocus onfocus="{RUN}">',
    f'<details open ontoggle="{RUN}"><summary>More</summary>Details.</details>',
    f'<object data="javascript:{RUN}"></object>',
    f'<math><mtext><table><mglyph><style><img src=x onerror="{RUN}">',
    f'<form action="javascript:{RUN}"><button>Send</button></form>',
    f'<div style="background:url(javascript:{RUN})">Styled council notes.</div>',
)
PROSE = (
    "The harbour council met on Tuesday evening to discuss the repairs to the old sea wall, "
    "which storms damaged twice this winter and which now lets water into the fish market.",
    "Engineers told the council that the cheapest repair would last about ten years, while a "
    "full rebuild would cost three times as much and take most of the next two summers.",
    "Several traders asked for the market to stay open during the works, and the council "
    "agreed to look at moving the stalls to the car park by the ferry terminal.",
    "A final decision is expected next month, after a public meeting in the town library "
    "where residents can see the plans and put questions to the engineers.",
)


BYLINE = "<img src=x onerror=alert(7)>"
CAPTION = f"The sea wall after the second storm {TEXT_PAYLOADS[2]}"
CREDIT = TEXT_PAYLOADS[3]
# An SVG with scripts of its own: shown through <img>, it must stay a picture.
IMAGE = (
    f'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="360" onload="{escape(RUN)}">'
    f'<script>{escape(RUN)}</script><rect width="640" height="360" fill="#4a6d8c"/></svg>'
)


def article_paths() -> list[str]:
    return [f"/news/sea-wall-{n}.html" for n in range(len(TEXT_PAYLOADS))]


def feed_url(base: str) -> str:
    return f"{base}/feed.xml"


def title_of(n: int) -> str:
    return f"Sea wall repairs, part {n + 1} {TEXT_PAYLOADS[n]}"


def article_page(base: str, n: int, published: datetime) -> str:
    url = base + article_paths()[n]
    title = escape(title_of(n))
    body = "".join(f"<p>{line}</p>{payload}" for line, payload in prose_and_payloads(n))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        f'<meta property="og:title" content="{title}">'
        f'<meta property="og:site_name" content="{escape(OUTLET)}">'
        f'<meta name="author" content="{escape(BYLINE)}">'
        f'<meta property="article:published_time" content="{published.isoformat()}">'
        f'<link rel="canonical" href="{url}">'
        f"</head><body><article><h1>{title}</h1>"
        f'<p class="byline">By {escape(BYLINE)}</p>'
        f'<figure><img src="{base}/img/wall-{n}.svg" alt="{escape(TEXT_PAYLOADS[0])}">'
        f'<figcaption>{escape(CAPTION)} <span class="credit">Photo: {escape(CREDIT)}</span>'
        f"</figcaption></figure>{body}</article></body></html>"
    )


def prose_and_payloads(n: int) -> list[tuple[str, str]]:
    """Prose paragraphs with payloads between them; each page starts at a different payload."""
    payloads = BODY_PAYLOADS[n:] + BODY_PAYLOADS[:n]
    lines = [PROSE[i % len(PROSE)] for i in range(len(payloads))]
    return list(zip(lines, payloads, strict=True))


def feed(base: str, published: list[datetime]) -> str:
    items = "".join(
        f"<item><title>{escape(title_of(n))}</title><link>{base}{path}</link>"
        f"<guid>{base}{path}</guid><pubDate>{format_datetime(published[n])}</pubDate>"
        f"<description>{escape(TEXT_PAYLOADS[n] + PROSE[0])}</description></item>"
        for n, path in enumerate(article_paths())
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{escape(OUTLET)}</title><link>{base}/</link>"
        f"<description>News</description>{items}</channel></rss>"
    )


def routes(base: str) -> dict:
    now = datetime.now(UTC)
    published = [now - timedelta(hours=n + 1) for n in range(len(TEXT_PAYLOADS))]
    html = {"Content-Type": "text/html; charset=utf-8"}
    table = {"/feed.xml": (200, {"Content-Type": "application/rss+xml"}, feed(base, published))}
    for n, path in enumerate(article_paths()):
        table[path] = (200, html, article_page(base, n, published[n]))
        table[f"/img/wall-{n}.svg"] = (200, {"Content-Type": "image/svg+xml"}, IMAGE)
    return table


@contextmanager
def serve() -> Iterator[str]:
    """Serve the hostile publisher; yields its base URL."""
    table: dict = {}
    with serve_routes(table) as base:
        table.update(routes(str(base)))
        yield str(base)
