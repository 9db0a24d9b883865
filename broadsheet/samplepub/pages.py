"""HTML pages and SVG images of the sample outlets.

Article pages are built the way publishers build theirs, clutter included (navigation, cookie
banner, ticker, ads, share buttons, most-read and related boxes, newsletter box, footer,
scripts), in four layouts whose markup differs, so that extraction is tested on the kind of
page it meets in the wild rather than on clean text.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from html import escape
from urllib.parse import quote

from broadsheet.samplepub.corpus import Corpus, CorpusArticle, Image, Outlet, render_blocks
from broadsheet.samplepub.feeds import CONTENT_TYPES

HOME_LIMIT = 50


@dataclass(frozen=True)
class Site:
    """The corpus as served from one base URL."""

    corpus: Corpus
    base_url: str

    def url(self, path: str) -> str:
        return self.base_url + path

    def image_path(self, article: CorpusArticle) -> str:
        return f"/{article.outlet}/images/{article.slug}.svg"

    def feed_path(self, outlet: Outlet, section: str | None = None) -> str:
        return f"/{outlet.slug}/{section}/feed" if section else f"/{outlet.slug}/feed"


# --- layouts ------------------------------------------------------------------------------


def _strip_photo(credit: str) -> str:
    return credit.removeprefix("Photo:").strip()


def _credit_span(image: Image) -> str:
    caption, credit = escape(image.caption), escape(image.credit)
    return f'<span class="caption">{caption}</span> <span class="credit">{credit}</span>'


def _credit_small(image: Image) -> str:
    return f"{escape(image.caption)} <small>Photo: {escape(_strip_photo(image.credit))}</small>"


def _credit_inline(image: Image) -> str:
    return f"{escape(image.caption)} (Photo: {escape(_strip_photo(image.credit))})"


def _credit_wire(image: Image) -> str:
    caption, credit = escape(image.caption), escape(image.credit)
    return f'<p class="wp-caption-text">{caption}</p><p class="photo-credit">Credit: {credit}</p>'


@dataclass(frozen=True)
class Layout:
    name: str
    body_class: str
    ticker: bool
    author_type: str
    credit: Callable[[Image], str]
    mid_ad_after: int


LAYOUT_STYLES = {
    "classic": Layout("classic", "article-body", False, "Organization", _credit_span, 2),
    "grid": Layout("grid", "story__content", True, "Person", _credit_small, 3),
    "tabloid": Layout("tabloid", "article-text js-article", True, "Person", _credit_inline, 1),
    "wire": Layout("wire", "entry-content", False, "Organization", _credit_wire, 2),
}


# --- shared page parts --------------------------------------------------------------------


def _when(moment: datetime) -> str:
    return f"{moment:%d %B %Y, %H:%M} UTC"


def _head(site: Site, outlet: Outlet, title: str, description: str, extra: str = "") -> str:
    feed = site.url(site.feed_path(outlet))
    kind = CONTENT_TYPES[outlet.feed_format].split(";")[0]
    return (
        '<head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>"
        f'<meta name="description" content="{escape(description)}">'
        f'<link rel="alternate" type="{kind}" title="{escape(outlet.name)}" href="{feed}">'
        f'<link rel="icon" href="/{outlet.slug}/logo.svg">'
        f"<style>:root{{--accent:{escape(outlet.accent)}}}body{{font-family:Georgia,serif}}"
        ".ad{background:#eee;min-height:90px}</style>"
        f"{extra}</head>"
    )


def _nav(site: Site, outlet: Outlet) -> str:
    links = "".join(
        f'<li><a href="/{outlet.slug}/{s.slug}/">{escape(s.name)}</a></li>' for s in outlet.sections
    )
    return (
        f'<header class="masthead"><a class="logo" href="/{outlet.slug}/">'
        f'<img src="/{outlet.slug}/logo.svg" alt="{escape(outlet.name)}" width="200" height="50">'
        f'</a><p class="tagline">{escape(outlet.tagline)}</p>'
        f'<nav class="main-nav" aria-label="Sections"><ul>{links}'
        '<li><a href="/private/subscribe">Subscribe</a></li></ul></nav></header>'
    )


def _cookie_banner() -> str:
    return (
        '<div class="cookie-consent" role="dialog" aria-label="Cookie consent">'
        "<p>We use cookies to remember your settings and to count visits. "
        'You can change your mind at any time in <a href="/private/privacy">privacy settings</a>.'
        '</p><button type="button" class="accept">Accept all</button>'
        '<button type="button" class="reject">Only necessary</button></div>'
    )


def _ticker(site: Site, outlet: Outlet) -> str:
    items = "".join(
        f'<li><a href="{a.path}">{escape(a.title)}</a></li>'
        for a in site.corpus.latest(outlet.slug)[:3]
    )
    return f'<div class="breaking-ticker"><strong>Breaking</strong><ul>{items}</ul></div>'


def _ad(slot: str) -> str:
    return (
        f'<aside class="ad ad-{slot}" data-slot="{slot}">'
        '<span class="ad-label">Advertisement</span><div class="ad-placeholder"></div></aside>'
    )


def _footer(outlet: Outlet, year: int) -> str:
    return (
        '<footer class="site-footer"><ul>'
        f'<li><a href="/{outlet.slug}/">Home</a></li><li><a href="/private/about">About us</a></li>'
        '<li><a href="/private/contact">Contact</a></li><li><a href="/private/terms">Terms</a></li>'
        f'<li><a href="/{outlet.slug}/feed">Feed</a></li></ul>'
        f"<p>&copy; {year} {escape(outlet.name)}. A fictional outlet of the Broadsheet sample "
        "corpus.</p></footer>"
    )


def _analytics(outlet: Outlet, page_type: str) -> str:
    data = json.dumps({"site": outlet.slug, "pageType": page_type})
    return (
        f"<script>window.dataLayer=window.dataLayer||[];dataLayer.push({data});</script>"
        "<noscript><p>Some features of this site need JavaScript.</p></noscript>"
    )


def _document(head: str, body_class: str, body: str) -> str:
    return (
        f'<!DOCTYPE html>\n<html lang="en-GB">{head}<body class="{body_class}">{body}</body></html>'
    )


def _article_list(articles: list[CorpusArticle], css: str) -> str:
    items = "".join(
        f'<li><a href="{a.path}">{escape(a.title)}</a>'
        f'<time datetime="{a.published.isoformat()}">{_when(a.published)}</time></li>'
        for a in articles
    )
    return f'<ol class="{css}">{items}</ol>'


# --- article page -------------------------------------------------------------------------


def render_article(site: Site, article: CorpusArticle) -> str:
    outlet = site.corpus.outlets[article.outlet]
    layout = LAYOUT_STYLES[outlet.layout]
    body = (
        _cookie_banner()
        + _nav(site, outlet)
        + (_ticker(site, outlet) if layout.ticker else "")
        + _ad("leaderboard")
        + f'<main class="layout-{layout.name}">{_article_main(site, article, layout)}'
        + _sidebar(site, article)
        + "</main>"
        + _footer(outlet, site.corpus.now.year)
        + _analytics(outlet, "article")
    )
    return _document(
        _article_head(site, article, outlet, layout), f"page-article {layout.name}", body
    )


def _article_head(site: Site, article: CorpusArticle, outlet: Outlet, layout: Layout) -> str:
    url = site.url(article.path)
    image = (
        site.url(site.image_path(article))
        if article.image
        else site.url(f"/{outlet.slug}/logo.svg")
    )
    meta = (
        f'<link rel="canonical" href="{url}">'
        f'<meta property="og:type" content="article">'
        f'<meta property="og:title" content="{escape(article.title)}">'
        f'<meta property="og:description" content="{escape(article.dek)}">'
        f'<meta property="og:url" content="{url}">'
        f'<meta property="og:image" content="{image}">'
        f'<meta property="og:site_name" content="{escape(outlet.name)}">'
        f'<meta property="article:published_time" content="{article.published.isoformat()}">'
        f'<meta property="article:modified_time" content="{article.modified.isoformat()}">'
        f'<meta property="article:section" content="{escape(_section_name(outlet, article))}">'
        '<meta name="twitter:card" content="summary_large_image">'
        f'<meta name="twitter:title" content="{escape(article.title)}">'
        f'<meta name="twitter:image" content="{image}">' + _json_ld(site, article, outlet, layout)
    )
    return _head(site, outlet, f"{article.title} | {outlet.name}", article.dek, meta)


def _section_name(outlet: Outlet, article: CorpusArticle) -> str:
    section = outlet.section(article.sections[0])
    return section.name if section else article.sections[0]


def _json_ld(site: Site, article: CorpusArticle, outlet: Outlet, layout: Layout) -> str:
    data: dict[str, object] = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": article.title,
        "description": article.dek,
        "datePublished": article.published.isoformat(),
        "dateModified": article.modified.isoformat(),
        "author": {"@type": layout.author_type, "name": article.byline.removeprefix("By ")},
        "publisher": {
            "@type": "Organization",
            "name": outlet.name,
            "logo": {"@type": "ImageObject", "url": site.url(f"/{outlet.slug}/logo.svg")},
        },
        "mainEntityOfPage": {"@type": "WebPage", "@id": site.url(article.path)},
        "articleSection": _section_name(outlet, article),
        "keywords": list(article.tags),
    }
    if article.image:
        data["image"] = {
            "@type": "ImageObject",
            "url": site.url(site.image_path(article)),
            "caption": article.image.caption,
            "creditText": article.image.credit,
        }
    text = json.dumps(data, ensure_ascii=False).replace("<", "\\u003c")
    return f'<script type="application/ld+json">{text}</script>'


def _article_main(site: Site, article: CorpusArticle, layout: Layout) -> str:
    return (
        '<article class="article" itemscope itemtype="https://schema.org/NewsArticle">'
        + _article_header(site, article)
        + _share(site.url(article.path), article.title)
        + _figure(site, article, layout)
        + _article_body(site, article, layout)
        + _share(site.url(article.path), article.title)
        + _comments(article)
        + "</article>"
    )


def _article_header(site: Site, article: CorpusArticle) -> str:
    outlet = site.corpus.outlets[article.outlet]
    updated = (
        f' <span class="updated">Updated <time datetime="{article.updated.isoformat()}">'
        f"{_when(article.updated)}</time></span>"
        if article.updated
        else ""
    )
    return (
        f'<header class="article-header"><p class="kicker"><a href="/{outlet.slug}/'
        f'{article.sections[0]}/">{escape(_section_name(outlet, article))}</a></p>'
        f"<h1>{escape(article.title)}</h1>"
        f'<p class="standfirst">{escape(article.dek)}</p>'
        f'<p class="byline"><span class="author">{escape(article.byline)}</span> '
        f'<time datetime="{article.published.isoformat()}">{_when(article.published)}</time>'
        f'{updated} <a class="comment-count" href="#comments">0 comments</a></p></header>'
    )


def _share(url: str, title: str) -> str:
    mail = escape(f"mailto:?subject={quote(title)}&body={quote(url)}")
    return (
        '<div class="share-buttons" aria-label="Share this article">'
        f'<a class="share email" href="{mail}">Email</a>'
        f'<button type="button" class="share copy" data-url="{escape(url)}">Copy link</button>'
        '<button type="button" class="share print">Print</button></div>'
    )


def _figure(site: Site, article: CorpusArticle, layout: Layout) -> str:
    if not article.image:
        return ""
    return (
        f'<figure class="lead-image"><img src="{site.image_path(article)}" '
        f'alt="{escape(article.image.alt)}" width="1200" height="675">'
        f"<figcaption>{layout.credit(article.image)}</figcaption></figure>"
    )


def _article_body(site: Site, article: CorpusArticle, layout: Layout) -> str:
    blocks = render_blocks(article.paragraphs, site.corpus, site.base_url)
    cut = min(layout.mid_ad_after, len(blocks))
    middle = _ad("mid-article") + _newsletter() if layout.name == "tabloid" else _ad("mid-article")
    inner = "".join(blocks[:cut]) + middle + "".join(blocks[cut:])
    tags = "".join(f'<li><a href="#">{escape(t)}</a></li>' for t in article.tags)
    return f'<div class="{layout.body_class}">{inner}</div><ul class="tags">{tags}</ul>'


def _comments(article: CorpusArticle) -> str:
    return (
        '<section id="comments" class="comments"><h2>Comments</h2>'
        '<p class="comment-stub">Be the first to comment.</p>'
        "<noscript><p>Comments need JavaScript.</p></noscript></section>"
    )


def _newsletter() -> str:
    return (
        '<form class="newsletter-signup" action="/private/newsletter" method="post">'
        "<h3>The morning briefing</h3><p>The day's stories in your inbox before breakfast.</p>"
        '<input type="email" name="email" placeholder="Your email address">'
        '<button type="submit">Sign up</button></form>'
    )


def _sidebar(site: Site, article: CorpusArticle) -> str:
    latest = site.corpus.latest(article.outlet)[:6]
    most_read = [a for a in latest if a is not article][:5]
    in_section = site.corpus.latest(article.outlet, article.sections[0])[:5]
    related = [a for a in in_section if a is not article]
    return (
        '<aside class="sidebar">'
        + _box("most-read", "Most read", most_read)
        + _ad("sidebar")
        + _box("related", "Related", related[:4])
        + _newsletter()
        + "</aside>"
    )


def _box(css: str, heading: str, articles: list[CorpusArticle]) -> str:
    items = _article_list(articles, css + "-list")
    return f'<section class="{css}"><h2>{heading}</h2>{items}</section>'


# --- listing pages ------------------------------------------------------------------------


def render_outlet_home(site: Site, outlet: Outlet, section: str | None = None) -> str:
    articles = site.corpus.latest(outlet.slug, section)[:HOME_LIMIT]
    label = outlet.section(section).name if section and outlet.section(section) else "Latest"
    teasers = "".join(_teaser(a) for a in articles)
    body = (
        _cookie_banner()
        + _nav(site, outlet)
        + _ad("leaderboard")
        + f'<main class="front"><h1>{escape(outlet.name)}: {escape(label)}</h1>'
        + f'<div class="teasers">{teasers}</div></main>'
        + _footer(outlet, site.corpus.now.year)
        + _analytics(outlet, "front")
    )
    return _document(
        _head(site, outlet, f"{outlet.name}: {label}", outlet.tagline), "page-front", body
    )


def _teaser(article: CorpusArticle) -> str:
    return (
        f'<div class="teaser"><h2><a href="{article.path}">{escape(article.title)}</a></h2>'
        f"<p>{escape(article.dek)}</p>"
        f'<time datetime="{article.published.isoformat()}">{_when(article.published)}</time></div>'
    )


def render_index(site: Site) -> str:
    rows = "".join(_index_row(site, o) for o in site.corpus.outlets.values())
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8">'
        "<title>Broadsheet sample publisher</title></head><body>"
        "<h1>Broadsheet sample publisher</h1><p>Fictional outlets of the Republic of Vellmark, "
        f"written for Broadsheet and served on loopback.</p><ul>{rows}</ul></body></html>"
    )


def _index_row(site: Site, outlet: Outlet) -> str:
    sections = ", ".join(
        f'<a href="{site.feed_path(outlet, s.slug)}">{escape(s.name)}</a>' for s in outlet.sections
    )
    return (
        f'<li><a href="/{outlet.slug}/">{escape(outlet.name)}</a> '
        f'(<a class="feed" href="{site.feed_path(outlet)}">{outlet.feed_format} feed</a>; '
        f"section feeds: {sections})</li>"
    )


def render_not_found(path: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en-GB"><head><meta charset="utf-8"><title>Page not found'
        f"</title></head><body><h1>Page not found</h1><p>Nothing lives at {escape(path)}.</p>"
        '<p><a href="/">All outlets</a></p></body></html>'
    )


# --- images -------------------------------------------------------------------------------


def render_image_svg(outlet: Outlet, article: CorpusArticle) -> str:
    """A small abstract picture in the outlet's colour, different for every article."""
    digest = hashlib.sha256(article.key.encode()).digest()
    shapes = "".join(_circle(digest[i : i + 4]) for i in range(0, 24, 4))
    label = escape(article.image.alt if article.image else article.title)
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="1200" height="675" viewBox="0 0 1200 675">'
        f'<title>{label}</title><rect width="1200" height="675" fill="{escape(outlet.accent)}"/>'
        f"{shapes}</svg>"
    )


def _circle(seed: bytes) -> str:
    x, y, radius, opacity = seed[0] * 5, seed[1] * 3 % 675, 20 + seed[2] % 140, 1 + seed[3] % 5
    return f'<circle cx="{x}" cy="{y}" r="{radius}" fill="#fff" fill-opacity="0.{opacity}"/>'


def render_logo_svg(outlet: Outlet) -> str:
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" width="200" height="50" viewBox="0 0 200 50">'
        f'<rect width="200" height="50" fill="{escape(outlet.accent)}"/>'
        '<text x="10" y="32" font-family="Georgia, serif" font-size="16" fill="#fff">'
        f"{escape(outlet.name)}</text></svg>"
    )
