"""Cheap article metadata read from an already parsed page.

Everything here reads the one lxml tree that extraction builds: JSON-LD first (publishers fill
it for search engines, so it is the most deliberate source), then OpenGraph / twitter: / plain
meta tags, then the visible markup. Library metadata extractors re-parse and re-walk the page
and roughly halve throughput; htmldate is only asked when nothing here gave a date.
"""

import copy
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from urllib.parse import urljoin, urlsplit

from lxml.html import HtmlElement

ARTICLE_TYPES = frozenset(
    {
        "Article", "NewsArticle", "ReportageNewsArticle", "AnalysisNewsArticle",
        "OpinionNewsArticle", "BackgroundNewsArticle", "ReviewNewsArticle", "BlogPosting",
        "LiveBlogPosting", "Report", "TechArticle", "ScholarlyArticle", "SatiricalArticle",
    }
)  # fmt: skip
WHITESPACE = re.compile(r"\s+")
# "By", "Written by", "Analysis by": a few words ending in "by" open a byline.
BY_PREFIX = re.compile(r"^\s*(?:\w+\s+){0,2}?by[:\s]+", re.IGNORECASE)
ROLE = re.compile(
    r"editor|correspondent|reporter|writer|columnist|contributor|at-large|producer", re.I
)
NAME_SPLIT = re.compile(r"\s*(?:,|;|&|\band\b|\|)\s*", re.IGNORECASE)
LANG_CODE = re.compile(r"^[a-zA-Z]{2,3}(?=$|[-_])")
# The byline line first (its dates and comment counts are dropped below), then lone author
# elements: a line like "By <a rel=author>A</a> and B" names more than its author link does.
BYLINE_XPATHS = (
    "//*[contains(@class, 'byline')][1]",
    "//*[@rel='author' or @itemprop='author' or contains(@class, 'author-name')"
    " or contains(@class, 'author__name') or contains(concat(' ', @class, ' '), ' author ')][1]",
)
MAX_NAME = 60


@dataclass
class PageMetadata:
    title: str = ""
    byline: str = ""
    published: datetime | None = None
    updated: datetime | None = None
    language: str = ""
    site_name: str = ""
    canonical_url: str = ""
    description: str = ""
    image_url: str = ""
    image_caption: str = ""
    image_alt: str = ""
    base_url: str = ""
    meta: dict[str, str] = field(default_factory=dict, repr=False)


def clean_text(value: object) -> str:
    return WHITESPACE.sub(" ", value).strip() if isinstance(value, str) else ""


def absolute_url(base: str, value: str) -> str:
    """`value` resolved against `base`, or "" unless it is a web address."""
    value = clean_text(value)
    if not value or value.startswith("data:"):
        return ""
    try:
        url = urljoin(base, value)
        parts = urlsplit(url)
    except ValueError:
        return ""
    return url if parts.scheme in ("http", "https") and parts.netloc else ""


# --- meta tags -------------------------------------------------------------------------------


def meta_tags(tree: HtmlElement) -> dict[str, str]:
    """First value of every <meta name|property|itemprop|http-equiv>, keys lower-cased."""
    found: dict[str, str] = {}
    for element in tree.iter("meta"):
        content = clean_text(element.get("content"))
        for attr in ("property", "name", "itemprop", "http-equiv"):
            key = (element.get(attr) or "").strip().lower()
            if key and content:
                found.setdefault(key, content)
    return found


def first_meta(meta: dict[str, str], *keys: str) -> str:
    return next((meta[key] for key in keys if meta.get(key)), "")


# --- JSON-LD ---------------------------------------------------------------------------------


def _walk_json(node: object, depth: int = 0) -> Iterator[dict]:
    if depth > 8:
        return
    if isinstance(node, list):
        for item in node:
            yield from _walk_json(item, depth + 1)
    elif isinstance(node, dict):
        yield node
        yield from _walk_json(node.get("@graph"), depth + 1)
        yield from _walk_json(node.get("mainEntity"), depth + 1)


def _types(node: dict) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1] for k in kinds if isinstance(k, str)}


def json_ld_objects(tree: HtmlElement) -> list[dict]:
    objects: list[dict] = []
    for script in tree.iterfind(".//script[@type='application/ld+json']"):
        try:
            data = json.loads(script.text or "", strict=False)
        except (ValueError, RecursionError):
            continue
        objects.extend(_walk_json(data))
    return objects


def article_json_ld(objects: list[dict]) -> dict:
    return next((obj for obj in objects if _types(obj) & ARTICLE_TYPES), {})


def _name_of(value: object) -> str:
    if isinstance(value, dict):
        value = value.get("name")
    if isinstance(value, list):
        value = value[0] if value else ""
    return clean_text(value)


def _image_of(value: object) -> tuple[str, str]:
    """(url, caption) of a JSON-LD image, which may be a URL, an ImageObject or a list."""
    if isinstance(value, list):
        value = value[0] if value else ""
    if isinstance(value, str):
        return value, ""
    if isinstance(value, dict):
        return clean_text(value.get("url") or value.get("contentUrl")), clean_text(
            value.get("caption") or value.get("description")
        )
    return "", ""


# --- names -----------------------------------------------------------------------------------


def _looks_like_name(name: str, *, roles_allowed: bool = False) -> bool:
    lowered = name.lower()
    return (
        0 < len(name) <= MAX_NAME
        and "://" not in name
        and not lowered.startswith(("www.", "@", "http"))
        and any(ch.isalpha() for ch in name)
        and len(name.split()) <= 8
        and (roles_allowed or not ROLE.search(name))
    )


def unique(names) -> list[str]:
    seen: set[str] = set()
    kept = []
    for name in names:
        if name.casefold() not in seen:
            seen.add(name.casefold())
            kept.append(name)
    return kept


def split_names(raw: str) -> list[str]:
    text = BY_PREFIX.sub("", clean_text(raw))
    return [BY_PREFIX.sub("", part).strip(" .:-") for part in NAME_SPLIT.split(text)]


def join_names(candidates: list[str]) -> str:
    """'A', 'A and B', 'A, B and C' from candidate names, dropping URLs and repeats.

    Roles ("Staff Writer") are dropped beside names, but a byline that is only a desk or a role
    ("our Science Editor", "Metro Daily Post reporters") is a byline all the same.
    """
    parts = [name for raw in candidates for name in split_names(raw)]
    names = unique(name for name in parts if _looks_like_name(name))
    if not names:
        names = unique(name for name in parts if _looks_like_name(name, roles_allowed=True))
    if len(names) <= 2:
        return " and ".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def json_ld_authors(article: dict) -> list[str]:
    authors = article.get("author") or article.get("creator") or []
    authors = authors if isinstance(authors, list) else [authors]
    return [_name_of(author) for author in authors]


def dom_byline(tree: HtmlElement) -> str:
    for xpath in BYLINE_XPATHS:
        try:
            found = tree.xpath(xpath)
        except Exception:
            return ""
        if found and isinstance(found[0], HtmlElement):
            return byline_text(found[0])
    return ""


def byline_text(element: HtmlElement) -> str:
    """The element's text without the dates and comment counts a byline line often carries."""
    if element.get("content"):
        return clean_text(element.get("content"))
    line = copy.deepcopy(element)
    extras = [
        e for e in line.iterdescendants() if e.tag == "time" or "comment" in (e.get("class") or "")
    ]
    for extra in extras:
        extra.drop_tree()  # keeps the text that follows it
    return clean_text(line.text_content())


def find_byline(tree: HtmlElement, article: dict, meta: dict[str, str]) -> str:
    sources = (
        lambda: json_ld_authors(article),
        lambda: [first_meta(meta, "author", "article:author", "parsely-author", "dc.creator")],
        lambda: [dom_byline(tree)],  # a whole-page walk: only when the others have nothing
    )
    for source in sources:
        if byline := join_names(source()):
            return byline
    return ""


# --- dates -----------------------------------------------------------------------------------


def parse_date(value: object) -> datetime | None:
    """An aware UTC datetime from ISO 8601 or RFC 2822 text; naive times are taken as UTC."""
    text = clean_text(value)
    if not text or len(text) > 64:
        return None
    try:
        moment = datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        try:
            moment = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    moment = moment.astimezone(UTC)
    # A publication date far in the future or before the web is a template default, not news.
    if not datetime(1995, 1, 1, tzinfo=UTC) <= moment <= datetime.now(UTC) + timedelta(days=2):
        return None
    return moment


def first_date(*values: object) -> datetime | None:
    return next((moment for value in values if (moment := parse_date(value))), None)


def time_element_date(tree: HtmlElement) -> datetime | None:
    for element in tree.iter("time"):
        if moment := parse_date(element.get("datetime")):
            return moment
    return None


PUBLISHED_KEYS = (
    "article:published_time", "og:article:published_time", "datepublished", "pubdate",
    "publishdate", "publish-date", "parsely-pub-date", "sailthru.date", "dc.date.issued",
    "dcterms.created", "date", "dc.date",
)  # fmt: skip
UPDATED_KEYS = ("article:modified_time", "og:updated_time", "datemodified", "last-modified")


def find_dates(tree: HtmlElement, article: dict, meta: dict[str, str]) -> tuple:
    published = first_date(
        article.get("datePublished"),
        *(meta.get(key) for key in PUBLISHED_KEYS),
        article.get("dateCreated"),
    ) or time_element_date(tree)
    updated = first_date(article.get("dateModified"), *(meta.get(key) for key in UPDATED_KEYS))
    return published, updated


# --- the rest --------------------------------------------------------------------------------


def language_of(tree: HtmlElement, article: dict, meta: dict[str, str]) -> str:
    for raw in (
        tree.get("lang"),
        tree.get("xml:lang"),
        meta.get("content-language"),
        meta.get("og:locale"),
        article.get("inLanguage") if isinstance(article.get("inLanguage"), str) else "",
    ):
        match = LANG_CODE.match(clean_text(raw))
        if match:
            return match.group(0).lower()
    return ""


def title_of(tree: HtmlElement, article: dict, meta: dict[str, str], site: str) -> str:
    title = first_meta(meta, "og:title", "twitter:title") or clean_text(article.get("headline"))
    if title:
        return title
    heading = tree.find(".//h1")
    if heading is not None and (text := clean_text(heading.text_content())):
        return text
    element = tree.find(".//title")
    text = clean_text(element.text_content()) if element is not None else ""
    for separator in (" | ", " - ", " \u2014 ", " \u2013 ", " :: "):
        head, _, tail = text.rpartition(separator)
        if head and site and tail.strip().casefold() == site.casefold():
            return head.strip()
    return text


def canonical_of(tree: HtmlElement, base: str, article: dict, meta: dict[str, str]) -> str:
    links = tree.xpath("//link[@rel='canonical']/@href")
    main = article.get("mainEntityOfPage")
    main = main.get("@id") if isinstance(main, dict) else main
    for raw in (links[0] if links else "", meta.get("og:url"), article.get("url"), main):
        if isinstance(raw, str) and (url := absolute_url(base, raw)):
            return url
    return ""


def site_name_of(article: dict, meta: dict[str, str], url: str) -> str:
    publisher = _name_of(article.get("publisher"))
    found = first_meta(meta, "og:site_name", "application-name") or publisher
    if found:
        return found
    host = urlsplit(url).hostname or ""
    return host.removeprefix("www.")


def base_url_of(tree: HtmlElement, url: str) -> str:
    """The page's own <base href> wins over its address when resolving relative links."""
    base = tree.find(".//base[@href]")
    if base is not None and (resolved := absolute_url(url, base.get("href", ""))):
        return resolved
    return url


def read_metadata(tree: HtmlElement, url: str) -> PageMetadata:
    url = base_url_of(tree, url)
    meta = meta_tags(tree)
    article = article_json_ld(json_ld_objects(tree))
    site = site_name_of(article, meta, url)
    published, updated = find_dates(tree, article, meta)
    image_url, image_caption = _image_of(article.get("image"))
    return PageMetadata(
        title=title_of(tree, article, meta, site),
        byline=find_byline(tree, article, meta),
        published=published,
        updated=updated,
        language=language_of(tree, article, meta),
        site_name=site,
        canonical_url=canonical_of(tree, url, article, meta),
        description=first_meta(meta, "description", "og:description", "twitter:description")
        or clean_text(article.get("description")),
        image_url=absolute_url(url, image_url or first_meta(meta, "og:image", "twitter:image")),
        image_caption=image_caption,
        image_alt=first_meta(meta, "og:image:alt", "twitter:image:alt"),
        base_url=url,
        meta=meta,
    )
