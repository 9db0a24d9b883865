"""OPML import and export: the subscription lists that feed readers trade with each other."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime

from lxml import etree

from broadsheet.ingest.errors import ErrorKind, PipelineError
from broadsheet.ingest.urls import normalize_url, url_key

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_BARE_AMPERSAND = re.compile(rb"&(?!#[0-9]+;|#x[0-9a-fA-F]+;|[A-Za-z_][\w.-]*;)")


@dataclass(frozen=True)
class OpmlFeed:
    xml_url: str
    title: str = ""
    html_url: str | None = None
    category: str | None = None


def _safe_parser(*, recover: bool) -> etree.XMLParser:
    # An uploaded OPML file is hostile input: no DTD or network fetches (XXE), no entity
    # expansion in text, and libxml2's size and depth limits stay on (huge_tree=False keeps
    # nesting under 256 levels, which also bounds the recursion in _walk).
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        huge_tree=False,
        load_dtd=False,
        dtd_validation=False,
        recover=recover,
    )


def parse_opml(data: bytes) -> list[OpmlFeed]:
    """The feeds listed in an OPML document, in document order, each URL once.

    A feed's category is the text of the outline that holds it. Outlines whose feed URL is not
    an http(s) URL are left out. Raises ``PipelineError(not_a_feed)`` when ``data`` is not OPML.
    """
    root, repair = _parse_xml(data)
    feeds: dict[str, OpmlFeed] = {}
    for feed in _walk(_opml_body(root), None):
        feeds.setdefault(url_key(feed.xml_url), feed)
    if not feeds and repair is not None:
        # A broken file that yields nothing (a truncated upload) deserves its parse error,
        # not an empty import that looks like success.
        raise PipelineError(ErrorKind.NOT_A_FEED, _unreadable(repair))
    return list(feeds.values())


def build_opml(feeds: Iterable[OpmlFeed], title: str) -> bytes:
    """An OPML 2.0 document listing ``feeds``, grouped under one outline per category."""
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = _xml_text(title)
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    body = etree.SubElement(root, "body")
    folders: dict[str, etree._Element] = {}
    for feed in feeds:
        parent = body if not feed.category else _folder(body, folders, feed.category)
        etree.SubElement(parent, "outline", _outline_attributes(feed))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _parse_xml(data: bytes) -> tuple[etree._Element, etree.XMLSyntaxError | None]:
    """The document's root, and the strict parser's complaint when it had to be repaired."""
    if not isinstance(data, bytes) or not data.strip():
        raise PipelineError(ErrorKind.NOT_A_FEED, "empty file: not an OPML document")
    try:
        root, repair = etree.fromstring(data, parser=_safe_parser(recover=False)), None
    except etree.XMLSyntaxError as strict_error:
        root, repair = _recover(data, strict_error), strict_error
        if root is None:
            raise PipelineError(ErrorKind.NOT_A_FEED, _unreadable(strict_error)) from strict_error
    _refuse_entities(root)
    return root, repair


def _unreadable(error: etree.XMLSyntaxError) -> str:
    return f"not an OPML document: unreadable as XML ({error})"[:500]


def _refuse_entities(root: etree._Element) -> None:
    # libxml2 expands internal entities inside attributes even with resolve_entities=False, and
    # OPML never needs them: refuse any declaration, as defusedxml does.
    dtd = root.getroottree().docinfo.internalDTD
    if dtd is not None and any(True for _ in dtd.iterentities()):
        raise PipelineError(ErrorKind.NOT_A_FEED, "OPML document declares entities: refused")


def _recover(data: bytes, strict_error: etree.XMLSyntaxError) -> etree._Element | None:
    """A second, forgiving parse; None when it cannot give a usable OPML tree either."""
    if "amplification" in str(strict_error):
        return None  # an entity bomb: refuse it rather than salvage what came before it
    # Exports from some readers carry bare "&" in URLs; escaping them keeps those URLs whole,
    # where libxml2's own recovery would drop the text after each "&".
    try:
        root = etree.fromstring(_BARE_AMPERSAND.sub(b"&amp;", data), _safe_parser(recover=True))
    except etree.XMLSyntaxError:
        return None
    return root if root is not None and _find(root, "body") is not None else None


def _opml_body(root: etree._Element) -> etree._Element:
    if not isinstance(root.tag, str) or etree.QName(root).localname.lower() != "opml":
        raise PipelineError(ErrorKind.NOT_A_FEED, "not an OPML document: the root is not <opml>")
    body = _find(root, "body")
    if body is None:
        raise PipelineError(ErrorKind.NOT_A_FEED, "not an OPML document: it has no <body>")
    return body


def _walk(parent: etree._Element, category: str | None) -> Iterator[OpmlFeed]:
    for outline in parent:
        if not _is(outline, "outline"):
            continue
        feed = _feed(outline, category)
        if feed is not None:
            yield feed
        elif _attribute(outline, "xmlUrl") is None:
            # An outline without a feed URL is a folder; its text names its feeds' category.
            yield from _walk(outline, _label(outline) or category)


def _feed(outline: etree._Element, category: str | None) -> OpmlFeed | None:
    xml_url = _http_url(_attribute(outline, "xmlUrl"))
    if xml_url is None:
        return None
    return OpmlFeed(
        xml_url=xml_url,
        title=_label(outline),
        html_url=_http_url(_attribute(outline, "htmlUrl")),
        category=category,
    )


def _http_url(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    url = value.strip()
    if url.lower().startswith("feed:"):
        # The old "feed:" pseudo-scheme either wraps an http(s) URL or stands for "http:".
        rest = url[5:]
        url = rest if rest.lower().startswith(("http://", "https://")) else f"http:{rest}"
    try:
        normalize_url(url)
    except PipelineError:
        return None
    return url


def _label(outline: etree._Element) -> str:
    text = _attribute(outline, "text") or _attribute(outline, "title") or ""
    return " ".join(text.split())


def _attribute(element: etree._Element, name: str) -> str | None:
    """An attribute by name, whatever its case: exporters write xmlUrl, xmlurl and XMLURL."""
    wanted = name.lower()
    return next((value for key, value in element.attrib.items() if key.lower() == wanted), None)


def _find(parent: etree._Element, name: str) -> etree._Element | None:
    return next((child for child in parent if _is(child, name)), None)


def _is(element: etree._Element, name: str) -> bool:
    return isinstance(element.tag, str) and etree.QName(element).localname.lower() == name


def _folder(body: etree._Element, folders: dict, category: str) -> etree._Element:
    if category not in folders:
        label = _xml_text(category)
        folders[category] = etree.SubElement(body, "outline", text=label, title=label)
    return folders[category]


def _outline_attributes(feed: OpmlFeed) -> dict[str, str]:
    title = _xml_text(feed.title or feed.xml_url)
    attributes = {"type": "rss", "text": title, "title": title, "xmlUrl": _xml_text(feed.xml_url)}
    if feed.html_url:
        attributes["htmlUrl"] = _xml_text(feed.html_url)
    return attributes


def _xml_text(value: str) -> str:
    # Stored titles come from publishers; a stray control character or lone surrogate would
    # make lxml refuse the whole export.
    return _NOT_XML.sub("", value)
