"""Feed parsing: the bytes of an RSS, Atom or JSON Feed document in, one normalized model out.

feedparser reads RSS 0.9x/1.0/2.0 and Atom; JSON Feed is plain JSON. Both adapt to
``ParsedFeed``/``ParsedEntry`` so later stages never see a format. Publisher bytes are hostile:
whatever they hold, ``parse_feed`` either returns a model or raises ``PipelineError``.
"""

from __future__ import annotations

import html
import io
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import charset_normalizer
import feedparser
import nh3
from feedparser.mixin import _FeedParserMixin

from broadsheet.ingest.errors import ErrorKind, PipelineError
from broadsheet.ingest.urls import normalize_url

# feedparser treats an entry's id as a URI to resolve against the current xml:base, and its base
# stack leaks out of inline XHTML content, so an Atom id "t3_abc" came out as "/t3_abc". An id is
# an opaque name for dedupe: keep it exactly as published. (Relative permalink guids still work:
# entry links are resolved against the feed URL here.)
_FeedParserMixin.can_be_relative_uri = frozenset(_FeedParserMixin.can_be_relative_uri - {"id"})

EARLIEST_DATE = datetime(1990, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=2)
JSON_TYPES = ("application/feed+json", "application/json")
_JSON_VERSION = re.compile(r"^https?://jsonfeed\.org/version/(\d+)(?:\.(\d+))?")
_BLOCK_TAG = re.compile(r"<(?:br|p|div|li|h[1-6]|tr|td)\b[^<>]*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[a-zA-Z/!?][^<>]*>")
_XML_ENCODING = re.compile(rb"^<\?xml[^>]*encoding\s*=")
# expat checks attribute names pairwise: a tag with 100,000 attributes takes minutes to parse.
# No real feed has a start tag anywhere near this long (UTF-16 puts a NUL after the "<").
_HUGE_TAG = re.compile(rb"<\x00?[A-Za-z_][^<>]{32768}")
# Byte-order marks, and the NUL bytes that open UTF-16/32 text without one: feedparser reads those.
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff", b"\x00", b"<\x00")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NOT_A_SCRIPT = ("Latin", "Punctuation", "Control", "Symbol", "Modifier")


@dataclass
class ParsedEntry:
    """One item. ``url`` is absolute http(s), as published (see urls.normalize_url for the key);
    ``title``, ``author`` and ``tags`` are plain text; ``summary`` is a sanitized HTML fragment;
    dates are UTC-aware, None when missing or absurd."""

    guid: str | None
    url: str
    title: str
    summary: str
    author: str | None
    published: datetime | None
    updated: datetime | None
    image_url: str | None
    tags: list[str] = field(default_factory=list)

    @property
    def date(self) -> datetime | None:
        """The date to show and sort by: many Atom feeds only say when an entry was updated."""
        return self.published or self.updated


@dataclass
class ParsedFeed:
    """A feed. ``malformed`` says what was wrong when a broken feed still gave its entries;
    ``skipped`` counts entries dropped for lack of a usable link; ``format`` is feedparser's
    version name ("rss20", "atom10", ...) or "json10"/"json11"."""

    title: str
    link: str | None
    description: str
    language: str | None
    entries: list[ParsedEntry]
    malformed: str | None
    format: str
    skipped: int = 0


def parse_feed(content: bytes, *, url: str, content_type: str | None = None) -> ParsedFeed:
    """Parse feed bytes fetched from ``url``; relative links resolve against ``url``.

    Raises ``PipelineError(not_a_feed)`` when the bytes hold no feed at all (an HTML page, an
    empty body, an image, an XML or JSON document of another kind). A valid feed with no
    entries is not an error, and a broken feed keeps the entries that could be read, with
    ``malformed`` saying what was wrong.
    """
    try:
        if _is_json(content, content_type):
            return _parse_json_feed(content, url)
        return _parse_xml_feed(content, url, content_type)
    except PipelineError:
        raise
    except Exception as exc:
        # The boundary promise: no input, however hostile, escapes as anything but a
        # classified error that the caller can store on the feed.
        message = f"feed could not be parsed ({type(exc).__name__}: {exc})"
        raise PipelineError(ErrorKind.NOT_A_FEED, message[:500]) from exc


def clean_text(value: Any) -> str:
    """Plain text from a title-like value: tags stripped, entities decoded, whitespace collapsed."""
    if not isinstance(value, str) or not value:
        return ""
    text = _ANY_TAG.sub("", _BLOCK_TAG.sub(" ", value))
    return " ".join(storable(html.unescape(text)).split())


def storable(text: str) -> str:
    """``text`` without what databases refuse: NUL and other control bytes, lone surrogates."""
    return _CONTROL.sub("", text.encode("utf-8", "replace").decode("utf-8"))


def usable_url(candidate: Any, base: str) -> str | None:
    """``candidate`` resolved against ``base`` when that gives an absolute http(s) URL."""
    if not isinstance(candidate, str) or not candidate.strip():
        return None
    try:
        normalize_url(candidate, base)
    except PipelineError:
        return None
    return urljoin(base, candidate.strip())


def valid_date(value: datetime | None) -> datetime | None:
    """``value`` in UTC, or None when it is missing or absurd (before 1990, or in the future)."""
    if value is None:
        return None
    try:
        value = value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    except (OverflowError, ValueError):  # year 1 with an offset falls off the calendar
        return None
    if value < EARLIEST_DATE or value > datetime.now(UTC) + FUTURE_SLACK:
        return None
    return value


# --- RSS and Atom, through feedparser ------------------------------------------------------


def _parse_xml_feed(content: bytes, url: str, content_type: str | None) -> ParsedFeed:
    if not content.strip():
        raise PipelineError(ErrorKind.NOT_A_FEED, "empty body: no feed to read")
    content = _strip_leading_space(content)
    if _HUGE_TAG.search(content):
        raise PipelineError(ErrorKind.NOT_A_FEED, "a tag longer than 32 KiB: not a feed")
    charset, guessed = _choose_charset(content, content_type)
    result = _run_feedparser(content, charset)
    if not result.get("version") and not result.get("entries"):
        raise PipelineError(ErrorKind.NOT_A_FEED, _not_a_feed_reason(content, result))
    malformed = _malformed(result)
    if guessed and not malformed:
        malformed = f"no character encoding declared and not UTF-8; guessed {charset}"
    return _xml_feed_model(result, url, malformed)


def _run_feedparser(content: bytes, charset: str | None) -> Any:
    # feedparser applies RFC 3023, where "text/xml" without a charset means US-ASCII and a
    # missing header means ISO-8859-1: a UTF-8 feed would be flagged or misread. Declaring
    # plain application/xml lets the document itself (BOM, XML declaration) decide.
    content_type = f"application/xml; charset={charset}" if charset else "application/xml"
    return feedparser.parse(
        # A BytesIO, never bytes or str: feedparser treats a string as a URL or a file path and
        # would fetch or open it.
        io.BytesIO(content),
        response_headers={"content-type": content_type},
        resolve_relative_uris=True,
        sanitize_html=True,
    )


def _xml_feed_model(result: Any, url: str, malformed: str | None) -> ParsedFeed:
    entries = [_xml_entry(raw, url) for raw in result.get("entries") or []]
    kept = [entry for entry in entries if entry is not None]
    feed = result.get("feed") or {}
    return ParsedFeed(
        title=clean_text(feed.get("title")),
        link=usable_url(feed.get("link"), url),
        description=clean_text(feed.get("subtitle")),
        language=_language(feed.get("language")),
        entries=kept,
        malformed=malformed,
        format=result.get("version") or "unknown",
        skipped=len(entries) - len(kept),
    )


def _strip_leading_space(content: bytes) -> bytes:
    # Blank lines before the XML declaration are a common publishing slip; strict XML rejects
    # them and feedparser then falls back to its lossy loose parser for the whole feed.
    stripped = content.lstrip(b" \t\r\n")
    return stripped if stripped.startswith(b"<?xml") else content


def _choose_charset(content: bytes, content_type: str | None) -> tuple[str | None, bool]:
    """The charset to impose on feedparser (None: let the document decide), and whether guessed.

    A charset on an XML media type was set on purpose and wins. One on ``text/html`` or
    ``text/plain`` is usually a server default that knows nothing of the feed, so it is ignored.
    A document with no BOM, no declared encoding and bytes that are not UTF-8 gets a guess.
    """
    declared = _header_charset(content_type)
    if declared or content.startswith(_BOMS) or _XML_ENCODING.match(content):
        return declared, False
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        guess = _guess_charset(content)
        return guess, guess is not None
    return None, False


def _guess_charset(content: bytes) -> str | None:
    best = charset_normalizer.from_bytes(content).best()
    if best is None:
        return None
    # The detector is sure of multi-byte and non-Latin encodings (GB2312, Big5, KOI8-R, ...) but
    # cannot tell Latin code pages apart on short texts: Portuguese came out as Baltic cp1257 or
    # Central European cp1250. For Latin text, windows-1252, the web's legacy default, is the
    # likeliest truth.
    if all(any(word in alphabet for word in _NOT_A_SCRIPT) for alphabet in best.alphabets):
        return "windows-1252"
    return best.encoding


def _header_charset(content_type: str | None) -> str | None:
    mime, _, params = (content_type or "").partition(";")
    mime = mime.strip().lower()
    if mime in ("application/xml", "text/xml") or mime.endswith("+xml"):
        return _charset(params)
    return None


def _charset(params: str) -> str | None:
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip(" \"'"):
            return value.strip(" \"'")
    return None


def _not_a_feed_reason(content: bytes, result: Any) -> str:
    head = content[:1024].lstrip().lower()
    if any(tag in head for tag in (b"<!doctype html", b"<html", b"<head", b"<body")):
        return "an HTML page, not a feed"
    if result.get("bozo"):
        return f"unreadable as RSS, Atom or JSON ({result.get('bozo_exception')})"[:500]
    return "an XML document that is not RSS or Atom"


def _malformed(result: Any) -> str | None:
    if not result.get("bozo"):
        return None
    problem = result.get("bozo_exception")
    return (str(problem) or type(problem).__name__)[:500]


def _xml_entry(raw: Any, base: str) -> ParsedEntry | None:
    url = _entry_url(raw, base)
    if url is None:
        return None
    return ParsedEntry(
        guid=_guid(raw.get("id")),
        url=url,
        title=clean_text(raw.get("title")),
        summary=_summary(raw),
        author=clean_text(raw.get("author")) or None,
        published=_struct_date(raw.get("published_parsed")),
        # dict.get: feedparser's own get() quietly answers "updated" with the published date.
        updated=_struct_date(dict.get(raw, "updated_parsed")),
        image_url=_xml_image(raw, base),
        tags=_unique(clean_text(tag.get("term") or tag.get("label")) for tag in _list(raw, "tags")),
    )


def _entry_url(raw: Any, base: str) -> str | None:
    # Atom entries may carry several links (replies, enclosures, edit); the alternate one is
    # the article. feedparser's "link" already falls back to an RSS guid that claims to be a
    # permalink; many such guids are bare ids ("story-42"), so only an absolute URL counts.
    candidates = [link.get("href") for link in _list(raw, "links") if _is_alternate(link)]
    link = raw.get("link")
    from_guid = raw.get("guidislink") and link == raw.get("id")
    candidates.append(link if not from_guid or _is_absolute(link) else None)
    return next((u for u in (usable_url(c, base) for c in candidates) if u), None)


def _is_alternate(link: Any) -> bool:
    kind = link.get("type") or "text/html"
    return link.get("rel", "alternate") == "alternate" and ("html" in kind or kind == "text/plain")


def _summary(raw: Any) -> str:
    summary = raw.get("summary")
    if not summary:
        contents = _list(raw, "content")
        summary = contents[0].get("value") if contents else ""
    return storable(summary).strip() if isinstance(summary, str) else ""


def _xml_image(raw: Any, base: str) -> str | None:
    candidates = [item.get("url") for item in _list(raw, "media_thumbnail")]
    candidates += [item.get("url") for item in _list(raw, "media_content") if _is_image(item)]
    enclosures = _list(raw, "enclosures")
    candidates += [e.get("href") for e in enclosures if _str(e.get("type")).startswith("image/")]
    image = raw.get("image")
    if isinstance(image, dict):
        candidates.append(image.get("href"))
    return next((u for u in (usable_url(c, base) for c in candidates) if u), None)


def _is_image(media: Any) -> bool:
    kind, medium = media.get("type") or "", media.get("medium") or ""
    # Media without a type or medium is almost always a picture (e.g. news sites' media:content).
    return kind.startswith("image/") or medium == "image" or not (kind or medium)


def _struct_date(value: Any) -> datetime | None:
    try:
        return valid_date(datetime(*value[:6], tzinfo=UTC)) if value else None
    except (TypeError, ValueError, OverflowError):
        return None


# --- JSON Feed ---------------------------------------------------------------------------


def _is_json(content: bytes, content_type: str | None) -> bool:
    head = content[:64].lstrip(b"\xef\xbb\xbf \t\r\n")
    if head.startswith(b"{"):
        return True
    if head.startswith(b"<"):
        return False
    return (content_type or "").split(";")[0].strip().lower() in JSON_TYPES


def _parse_json_feed(content: bytes, url: str) -> ParsedFeed:
    document = _load_json(content)
    version = _JSON_VERSION.match(_str(document.get("version")))
    if version is None:
        raise PipelineError(ErrorKind.NOT_A_FEED, "a JSON document that is not a JSON Feed")
    items = document.get("items")
    entries = [_json_entry(item, document, url) for item in _as_list(items)]
    kept = [entry for entry in entries if entry is not None]
    return ParsedFeed(
        title=clean_text(document.get("title")),
        link=usable_url(document.get("home_page_url"), url),
        description=clean_text(document.get("description")),
        language=_language(document.get("language")),
        entries=kept,
        malformed=None if isinstance(items, list) else "JSON Feed has no items list",
        format=f"json{version.group(1)}{version.group(2) or '0'}",
        skipped=len(entries) - len(kept),
    )


def _load_json(content: bytes) -> dict:
    try:
        document = json.loads(content)
    except UnicodeDecodeError as exc:
        raise PipelineError(ErrorKind.DECODE, f"JSON feed is not valid Unicode: {exc}") from exc
    except (ValueError, RecursionError) as exc:
        raise PipelineError(ErrorKind.NOT_A_FEED, f"invalid JSON ({exc})") from exc
    if not isinstance(document, dict):
        raise PipelineError(ErrorKind.NOT_A_FEED, "a JSON document that is not a JSON Feed")
    return document


def _json_entry(item: Any, document: dict, base: str) -> ParsedEntry | None:
    if not isinstance(item, dict):
        return None
    guid = _guid(item.get("id"))
    url = usable_url(item.get("url"), base) or usable_url(item.get("external_url"), base)
    url = url or (usable_url(guid, base) if _is_absolute(guid) else None)
    if url is None:
        return None
    return ParsedEntry(
        guid=guid,
        url=url,
        title=clean_text(item.get("title")),
        summary=_json_summary(item),
        author=_json_author(item) or _json_author(document),
        published=_iso_date(item.get("date_published")),
        updated=_iso_date(item.get("date_modified")),
        image_url=usable_url(item.get("image"), base) or usable_url(item.get("banner_image"), base),
        tags=_unique(clean_text(tag) for tag in _as_list(item.get("tags"))),
    )


def _json_summary(item: dict) -> str:
    """An HTML fragment, as feedparser gives for RSS and Atom (sanitized the same way).

    JSON Feed's "summary" and "content_text" are plain text and get escaped; "content_html" is
    publisher markup and goes through nh3 here too, so no caller meets raw markup from either.
    """
    summary = storable(_str(item.get("summary"))).strip()
    if summary:
        return html.escape(summary, quote=False)
    markup = storable(_str(item.get("content_html"))).strip()
    if markup:
        return nh3.clean(markup).strip()
    return html.escape(storable(_str(item.get("content_text"))).strip(), quote=False)


def _json_author(holder: dict) -> str | None:
    # Version 1.1 has an "authors" list; 1.0 had a single "author" object.
    people = _as_list(holder.get("authors")) or [holder.get("author")]
    names = (clean_text(person.get("name")) for person in people if isinstance(person, dict))
    return next((name for name in names if name), None)


def _iso_date(value: Any) -> datetime | None:
    text = _str(value).strip()
    if not text:
        return None
    try:
        return valid_date(datetime.fromisoformat(text))
    except ValueError:
        pass
    try:
        # Some JSON feeds are written by RSS code and carry RFC 822 dates.
        return valid_date(parsedate_to_datetime(text))
    except (TypeError, ValueError, IndexError):
        return None


# --- small shared helpers -------------------------------------------------------------------


def _guid(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    return (storable(value).strip() or None) if isinstance(value, str) else None


def _is_absolute(url: Any) -> bool:
    return isinstance(url, str) and url.strip().lower().startswith(("http://", "https://"))


def _language(value: Any) -> str | None:
    return storable(_str(value)).strip() or None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _list(raw: Any, key: str) -> list:
    return [item for item in _as_list(raw.get(key)) if isinstance(item, dict)]


def _unique(values: Any) -> list[str]:
    return list(dict.fromkeys(value for value in values if value))
