"""Feeds in the five formats the sample outlets publish: RSS 2.0, Atom 1.0, JSON Feed 1.1,
RSS 1.0 (RDF) and RSS 0.92, each with the fields and quirks its format allows."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime

from broadsheet.samplepub.corpus import CorpusArticle, Outlet

NS = {
    "atom": "http://www.w3.org/2005/Atom",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "media": "http://search.yahoo.com/mrss/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rss1": "http://purl.org/rss/1.0/",
}
for _prefix in ("atom", "dc", "dcterms", "media"):
    ET.register_namespace(_prefix, NS[_prefix])

CONTENT_TYPES = {
    "rss20": "application/rss+xml; charset=utf-8",
    "rss092": "application/rss+xml; charset=utf-8",
    "atom10": "application/atom+xml; charset=utf-8",
    "jsonfeed11": "application/feed+json; charset=utf-8",
    "rss10": "application/rdf+xml; charset=utf-8",
}
TRACKING_QUERY = "utm_source=rss&utm_medium=feed&utm_campaign=main"
TAG_AUTHORITY = "samplepub.example.org,2025"


@dataclass(frozen=True)
class FeedSpec:
    """Everything one feed document needs besides its articles."""

    outlet: Outlet
    title: str
    base_url: str
    self_url: str
    home_url: str
    section: str | None
    updated: datetime
    next_url: str | None = None

    def link(self, article: CorpusArticle) -> str:
        """Main feeds add campaign parameters, as publishers do. Section feeds link without
        them but through their own section, which redirects when it is not the canonical one."""
        if self.section is None:
            return f"{self.clean(article)}?{TRACKING_QUERY}"
        return f"{self.base_url}/{article.outlet}/{self.section}/{article.slug}"

    def clean(self, article: CorpusArticle) -> str:
        return self.base_url + article.path

    def image_url(self, article: CorpusArticle) -> str:
        return f"{self.base_url}/{article.outlet}/images/{article.slug}.svg"

    def logo_url(self) -> str:
        return f"{self.base_url}/{self.outlet.slug}/logo.svg"


def tag_uri(article: CorpusArticle) -> str:
    return f"tag:{TAG_AUTHORITY}:{article.outlet}/{article.slug}"


def render_feed(spec: FeedSpec, articles: list[CorpusArticle]) -> bytes:
    renderer: Callable[[FeedSpec, list[CorpusArticle]], bytes] = RENDERERS[spec.outlet.feed_format]
    return renderer(spec, articles)


def _rfc822(moment: datetime) -> str:
    return format_datetime(moment, usegmt=True)


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    node = ET.SubElement(parent, tag, attrs)
    if text is not None:
        node.text = text
    return node


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


def _xml(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _categories(spec: FeedSpec, article: CorpusArticle) -> list[str]:
    sections = (spec.outlet.section(slug) for slug in article.sections)
    return list(dict.fromkeys([*(s.name for s in sections if s), *article.tags]))


# --- RSS 2.0 ------------------------------------------------------------------------------


def render_rss20(spec: FeedSpec, articles: list[CorpusArticle]) -> bytes:
    root = ET.Element("rss", version="2.0")
    channel = _sub(root, "channel")
    _rss_channel_head(channel, spec)
    _sub(
        channel,
        _q("atom", "link"),
        href=spec.self_url,
        rel="self",
        type=CONTENT_TYPES["rss20"].split(";")[0],
    )
    if spec.next_url:
        _sub(channel, _q("atom", "link"), href=spec.next_url, rel="next")
    _sub(channel, "lastBuildDate", _rfc822(spec.updated))
    _sub(channel, "ttl", "15")
    image = _sub(channel, "image")
    for tag, text in (("url", spec.logo_url()), ("title", spec.title), ("link", spec.home_url)):
        _sub(image, tag, text)
    for article in articles:
        _rss20_item(_sub(channel, "item"), spec, article)
    return _xml(root)


def _rss_channel_head(channel: ET.Element, spec: FeedSpec) -> None:
    _sub(channel, "title", spec.title)
    _sub(channel, "link", spec.home_url)
    _sub(channel, "description", spec.outlet.tagline)
    _sub(channel, "language", "en-gb")


def _rss20_item(item: ET.Element, spec: FeedSpec, article: CorpusArticle) -> None:
    _sub(item, "title", article.title)
    _sub(item, "link", spec.link(article))
    _sub(item, "guid", spec.clean(article), isPermaLink="true")
    _sub(item, "pubDate", _rfc822(article.published))
    if article.updated:
        _sub(item, _q("dcterms", "modified"), _rfc3339(article.updated))
    _sub(item, "description", article.dek)
    _sub(item, _q("dc", "creator"), article.byline)
    for name in _categories(spec, article):
        _sub(item, "category", name)
    if article.image:
        media = _sub(item, _q("media", "content"), url=spec.image_url(article), medium="image")
        _sub(media, _q("media", "description"), article.image.caption)
        _sub(media, _q("media", "credit"), article.image.credit)


# --- RSS 0.92 -----------------------------------------------------------------------------


def render_rss092(spec: FeedSpec, articles: list[CorpusArticle]) -> bytes:
    """RSS 0.92 has no guid or author: readers must identify items by their (tracked) link."""
    root = ET.Element("rss", version="0.92")
    channel = _sub(root, "channel")
    _rss_channel_head(channel, spec)
    _sub(channel, "lastBuildDate", _rfc822(spec.updated))
    for article in articles:
        item = _sub(channel, "item")
        _sub(item, "title", article.title)
        _sub(item, "link", spec.link(article))
        _sub(item, "description", article.dek)
        _sub(item, "pubDate", _rfc822(article.published))
        for name in _categories(spec, article)[:1]:
            _sub(item, "category", name)
        if article.image:
            _sub(item, "enclosure", url=spec.image_url(article), length="0", type="image/svg+xml")
    return _xml(root)


# --- RSS 1.0 (RDF) ------------------------------------------------------------------------
# RDF and Atom documents use a default namespace; ElementTree cannot emit one next to
# unprefixed attributes, so these two declare their namespaces literally on the root.


def render_rss10(spec: FeedSpec, articles: list[CorpusArticle]) -> bytes:
    root = ET.Element("rdf:RDF", {"xmlns:rdf": NS["rdf"], "xmlns": NS["rss1"]})
    root.attrib.update({"xmlns:dc": NS["dc"], "xmlns:dcterms": NS["dcterms"]})
    channel = _sub(root, "channel", **{"rdf:about": spec.self_url})
    _sub(channel, "title", spec.title)
    _sub(channel, "link", spec.home_url)
    _sub(channel, "description", spec.outlet.tagline)
    _sub(channel, "dc:date", _rfc3339(spec.updated))
    seq = _sub(_sub(channel, "items"), "rdf:Seq")
    for article in articles:
        _sub(seq, "rdf:li", **{"rdf:resource": spec.clean(article)})
    for article in articles:
        _rss10_item(root, spec, article)
    return _xml(root)


def _rss10_item(root: ET.Element, spec: FeedSpec, article: CorpusArticle) -> None:
    item = _sub(root, "item", **{"rdf:about": spec.clean(article)})
    _sub(item, "title", article.title)
    _sub(item, "link", spec.link(article))
    _sub(item, "description", article.dek)
    _sub(item, "dc:date", _rfc3339(article.published))
    if article.updated:
        _sub(item, "dcterms:modified", _rfc3339(article.updated))
    _sub(item, "dc:creator", article.byline)
    for name in _categories(spec, article):
        _sub(item, "dc:subject", name)


# --- Atom 1.0 -----------------------------------------------------------------------------


def render_atom10(spec: FeedSpec, articles: list[CorpusArticle]) -> bytes:
    root = ET.Element("feed", {"xmlns": NS["atom"], "xml:lang": "en-GB"})
    _sub(root, "id", f"tag:{TAG_AUTHORITY}:{spec.self_url.split('/', 3)[-1]}")
    _sub(root, "title", spec.title)
    _sub(root, "subtitle", spec.outlet.tagline)
    _sub(root, "updated", _rfc3339(spec.updated))
    _sub(root, "link", href=spec.home_url, rel="alternate", type="text/html")
    _sub(root, "link", href=spec.self_url, rel="self")
    if spec.next_url:
        _sub(root, "link", href=spec.next_url, rel="next")
    _sub(root, "logo", spec.logo_url())
    for article in articles:
        _atom_entry(_sub(root, "entry"), spec, article)
    return _xml(root)


def _atom_entry(entry: ET.Element, spec: FeedSpec, article: CorpusArticle) -> None:
    _sub(entry, "id", tag_uri(article))
    _sub(entry, "title", article.title)
    _sub(entry, "link", href=spec.link(article), rel="alternate", type="text/html")
    _sub(entry, "published", _rfc3339(article.published))
    _sub(entry, "updated", _rfc3339(article.modified))
    _sub(entry, "summary", article.dek, type="text")
    _sub(_sub(entry, "author"), "name", article.byline)
    for name in _categories(spec, article):
        _sub(entry, "category", term=name)
    if article.image:
        _sub(entry, "link", href=spec.image_url(article), rel="enclosure", type="image/svg+xml")


# --- JSON Feed 1.1 ------------------------------------------------------------------------


def render_jsonfeed11(spec: FeedSpec, articles: list[CorpusArticle]) -> bytes:
    feed: dict[str, object] = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": spec.title,
        "home_page_url": spec.home_url,
        "feed_url": spec.self_url,
        "description": spec.outlet.tagline,
        "icon": spec.logo_url(),
        "language": "en-GB",
        "items": [_json_item(spec, a) for a in articles],
    }
    if spec.next_url:
        feed["next_url"] = spec.next_url
    return json.dumps(feed, ensure_ascii=False, indent=1).encode("utf-8")


def _json_item(spec: FeedSpec, article: CorpusArticle) -> dict[str, object]:
    item: dict[str, object] = {
        "id": spec.clean(article),
        "url": spec.link(article),
        "title": article.title,
        "summary": article.dek,
        "content_text": article.dek,
        "date_published": _rfc3339(article.published),
        "date_modified": _rfc3339(article.modified),
        "authors": [{"name": article.byline}],
        "tags": _categories(spec, article),
    }
    if article.image:
        item["image"] = spec.image_url(article)
    return item


RENDERERS: dict[str, Callable[[FeedSpec, list[CorpusArticle]], bytes]] = {
    "rss20": render_rss20,
    "rss092": render_rss092,
    "rss10": render_rss10,
    "atom10": render_atom10,
    "jsonfeed11": render_jsonfeed11,
}
