"""From a publisher's raw page to one clean article: text, sanitized HTML, metadata, lead image.

The page is decoded and parsed once; metadata and figures are read from that tree, and
trafilatura runs once on it for the body. Text and HTML both come from that single result.
"""

import codecs
import logging
import re
from copy import deepcopy
from dataclasses import dataclass
from datetime import datetime

import charset_normalizer
import trafilatura
from htmldate import find_date
from lxml import etree
from lxml.html import HtmlElement
from trafilatura.htmlprocessing import convert_to_html
from trafilatura.utils import load_html
from trafilatura.xml import xmltotxt

from broadsheet.extraction.metadata import PageMetadata, absolute_url, clean_text, parse_date
from broadsheet.extraction.metadata import read_metadata as read_page_metadata
from broadsheet.extraction.sanitize import sanitize_html
from broadsheet.ingest.errors import ErrorKind, PipelineError

LOGGER = logging.getLogger(__name__)

MIN_WORDS = 25
MAX_BYTES = 20_000_000
WORD = re.compile(r"\w+")

# Below this many characters of text, the fast extraction is checked against the external
# extractors (readability, jusText). Set from the AEB pages: of 181, 9 fall below it, and
# checking only those keeps F1 within 0.001 of checking every page at 0.6 of the cost.
FULL_CHECK_BELOW = 500
# Chosen by measurement on AEB (181 pages, bench/extraction.py), text F1 with comments off:
#   favor_precision 0.963 · balanced 0.960 · favor_recall 0.959 · fast 0.958
#   include_tables=False 0.957 (vs 0.960) · include_images=True 0.953 (captions, galleries leak in)
# Links and formatting change nothing once stripped from the text, so the HTML keeps them.
# Precision mode costs no measurable CPU over balanced here. Images stay off: the figures are
# read from the page itself (article_figures). Dropping a repeated headline adds 0.002.
TRAFILATURA_OPTIONS = {
    "include_comments": False,
    "include_tables": True,
    "include_images": False,
    "include_links": True,
    "include_formatting": True,
    "favor_precision": True,
    "with_metadata": False,
    # Not "python": that renders a Markdown text we would throw away (text and HTML are built
    # from the body tree here).
    "output_format": "html",
}


@dataclass
class ExtractedArticle:
    title: str
    byline: str
    published: datetime | None
    updated: datetime | None
    language: str
    site_name: str
    canonical_url: str
    description: str
    text: str
    body_html: str
    lead_image_url: str
    lead_image_alt: str
    caption: str
    credit: str
    word_count: int


def extract_article(html: bytes | str, url: str, charset: str | None = None) -> ExtractedArticle:
    """Extract the article of one page; raise PipelineError(NOT_AN_ARTICLE) if there is none.

    `charset` is the one the HTTP response declared, if any. No other exception escapes: a page
    is hostile input, and whatever breaks on it is that page's problem, classified here.
    """
    try:
        return _extract(html, url, charset)
    except PipelineError:
        raise
    except Exception as err:
        LOGGER.warning("extraction failed on %s", url, exc_info=True)
        raise PipelineError(
            ErrorKind.NOT_AN_ARTICLE, f"could not extract: {type(err).__name__}"
        ) from err


def _extract(html: bytes | str, url: str, charset: str | None) -> ExtractedArticle:
    if len(html) > MAX_BYTES:
        raise PipelineError(ErrorKind.TOO_LARGE, f"page of {len(html)} bytes")
    tree = parse_page(decode_page(html, charset) if isinstance(html, bytes) else html)
    # No url: trafilatura would resolve every link through courlan (~10% of the run); the
    # sanitizer resolves them anyway, against the page's <base href> when it has one.
    document = trafilatura.bare_extraction(tree, fast=True, **TRAFILATURA_OPTIONS)
    if document is None or len(document.raw_text or "") < FULL_CHECK_BELOW:
        # A short result may be trafilatura's own rules missing the article: only then is it
        # worth comparing with readability and jusText, which cost as much again.
        document = trafilatura.bare_extraction(tree, **TRAFILATURA_OPTIONS) or document
    if document is None:
        raise PipelineError(ErrorKind.NOT_AN_ARTICLE, "no article text found")
    meta = read_metadata(tree, url)
    drop_headline(document.body, meta.title)
    text = body_text(document.body)
    word_count = len(WORD.findall(text))  # not split(): CJK text has no spaces
    if word_count < MIN_WORDS:
        raise PipelineError(ErrorKind.NOT_AN_ARTICLE, f"only {word_count} words of article text")
    figures = article_figures(tree, meta.base_url, text)
    lead = figures.lead or fallback_figure(meta)
    return ExtractedArticle(
        title=meta.title,
        byline=meta.byline,
        published=meta.published,
        updated=meta.updated,
        language=meta.language,
        site_name=meta.site_name,
        canonical_url=meta.canonical_url,
        description=meta.description,
        text=text,
        body_html=body_html(document.body, figures.inline, meta.base_url),
        lead_image_url=lead.url,
        lead_image_alt=lead.alt,
        caption=lead.caption,
        credit=lead.credit,
        word_count=word_count,
    )


# --- decoding and parsing --------------------------------------------------------------------

BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
META_CHARSET = re.compile(
    rb"""<meta[^>]{0,200}?charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]{1,40})""", re.I
)
# As browsers do (WHATWG Encoding): these labels mean windows-1252 on the web.
WEB_ALIASES = {"latin_1": "cp1252", "ascii": "cp1252", "iso8859-1": "cp1252"}


def codec_for(label: str | None) -> str | None:
    try:
        name = codecs.lookup((label or "").strip().strip("\"'")).name
    except (LookupError, ValueError):
        return None
    return WEB_ALIASES.get(name, name)


def decode_page(data: bytes, charset: str | None = None) -> str:
    """Text of the page: byte-order mark, then the HTTP charset, then <meta charset>, then UTF-8,
    then a statistical guess; a wrong declaration falls through to the next source."""
    for bom, name in BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(name, errors="replace")
    declared = META_CHARSET.search(data[:4096])
    for label in (charset, declared.group(1).decode("ascii") if declared else None, "utf-8"):
        if codec := codec_for(label):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
    guess = charset_normalizer.from_bytes(data[:20000]).best()
    return data.decode(codec_for(guess.encoding if guess else None) or "cp1252", errors="replace")


# libxml2 checks attributes against each other: 20,000 on one tag take seconds, 100,000 hang.
# Real tags never carry a thousand; a tag this long with that many words loses its attributes.
OVERSIZED_CHARS = 20000
OVERSIZED_TAG = re.compile(rf"<([a-zA-Z][\w:-]{{0,40}})([^<>]{{{OVERSIZED_CHARS},}})")
MAX_ATTRIBUTES = 1000


def _strip_attributes(match: re.Match) -> str:
    words = match.group(2).split(None, MAX_ATTRIBUTES)
    return match.group(0) if len(words) <= MAX_ATTRIBUTES else f"<{match.group(1)}"


def _long_stretch(text: str) -> bool:
    """Whether more than OVERSIZED_CHARS characters stand between two "<" somewhere. Such a
    stretch covers one of the page's consecutive windows of half that length whole, so the
    windows are searched first (a few searches a page, instead of splitting it at every tag)."""
    half = OVERSIZED_CHARS // 2
    if all(text.find("<", at, at + half) >= 0 for at in range(0, len(text) - half + 1, half)):
        return False
    return max(map(len, text.split("<"))) > OVERSIZED_CHARS


def parse_page(text: str) -> HtmlElement:
    # The pattern walks the whole page (about 1 ms on a news page); no stretch that long
    # between two "<" means no tag that long.
    if _long_stretch(text):
        text = OVERSIZED_TAG.sub(_strip_attributes, text)
    tree = load_html(text)  # it also strips the characters XML forbids, NUL included
    if tree is None:
        raise PipelineError(ErrorKind.NOT_AN_ARTICLE, "not an HTML page")
    return tree


# --- metadata --------------------------------------------------------------------------------


def read_metadata(tree: HtmlElement, url: str) -> PageMetadata:
    meta = read_page_metadata(tree, url)
    if meta.published is None:
        # Only here, where the cheap sources failed: htmldate walks the whole page again.
        meta.published = parse_date(_htmldate(tree, url))
    return meta


def _htmldate(tree: HtmlElement, url: str) -> str | None:
    try:
        return find_date(
            tree, url=url, extensive_search=False, original_date=True, outputformat="%Y-%m-%d"
        )
    except Exception:
        return None


# --- body ------------------------------------------------------------------------------------


def drop_headline(body: etree._Element, title: str) -> None:
    """The headline is shown on its own; repeated atop the body it would appear twice (and
    dropping it also raises AEB precision: its ground truth leaves headlines out)."""
    first = body[0] if len(body) else None
    if (
        first is not None
        and first.tag == "head"
        and title
        and paragraph_key("".join(first.itertext())) == paragraph_key(title)
    ):
        body.remove(first)


def body_text(body: etree._Element) -> str:
    """Plain text, one paragraph (or list item, or table row) per block, blank lines between."""
    plain = deepcopy(body)
    etree.strip_elements(plain, "graphic", with_tail=False)
    etree.strip_tags(plain, "ref")
    lines = (line.strip() for line in xmltotxt(plain, include_formatting=False).splitlines())
    return "\n\n".join(line for line in lines if line)


HEADING_LEVELS = {"h1": "h2", "h5": "h4", "h6": "h4"}


def body_html(body: etree._Element, figures: list["Figure"], base_url: str) -> str:
    html = convert_to_html(body)[0]  # rewrites the tree in place: runs after body_text
    for heading in html.iter(*HEADING_LEVELS):
        heading.tag = HEADING_LEVELS[heading.tag]
    place_figures(html, figures)
    markup = etree.tostring(html, encoding="unicode", method="html")
    return sanitize_html(markup, base_url)


# --- figures ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figure:
    url: str = ""
    alt: str = ""
    caption: str = ""
    credit: str = ""
    # Key of the paragraph the figure stands before in the page, to place it in the body.
    before: str = ""


@dataclass(frozen=True)
class Figures:
    lead: Figure | None
    inline: list[Figure]


NOT_ARTICLE_PARTS = re.compile(
    r"related|promo|recommend|newsletter|outbrain|taboola|sponsor|popular|most-?read|sidebar"
    r"|advert|teaser|trending|more-stories",
    re.I,
)
SKIPPED_TAGS = frozenset({"nav", "aside", "footer", "form"})
KEY_CHARS = 60
MIN_KEY_CHARS = 25


def paragraph_key(text: str) -> str:
    """Paragraph text reduced to a comparable prefix: words only, case folded."""
    return " ".join(WORD.findall(text.casefold()))[:KEY_CHARS]


def anchor_key(text: str) -> str:
    """Key of the first substantial paragraph of the extracted text (skipping the headline)."""
    for paragraph in text.split("\n\n")[:6]:
        if len(key := paragraph_key(paragraph)) >= MIN_KEY_CHARS:
            return key
    return ""


def outside_article(element: HtmlElement) -> bool:
    for ancestor in element.iterancestors():
        if ancestor.tag in SKIPPED_TAGS:
            return True
        marks = f"{ancestor.get('class', '')} {ancestor.get('id', '')}"
        if marks != " " and NOT_ARTICLE_PARTS.search(marks):
            return True
    return False


def article_figures(tree: HtmlElement, base_url: str, text: str) -> Figures:
    """The lead figure and the figures standing between paragraphs of the extracted article.

    Figures are located relative to the first extracted paragraph found back in the page: a
    figure counts when it shares a container with it (below <body>), which keeps out the
    promos, related stories and galleries that sit elsewhere on the page.
    """
    anchor, placed = scan_figures(tree, anchor_key(text))
    if anchor is None:
        return Figures(None, [])
    # A set of the elements themselves: it keeps lxml's proxies alive, so the same node
    # met again through another walk is the same object.
    scope = {element for element in anchor.iterancestors() if element.tag not in ("body", "html")}
    found = [
        (index, build_figure(figure, base_url, before))
        for index, (figure, before) in enumerate(placed)
        if not scope.isdisjoint(figure.iterancestors()) and not outside_article(figure)
    ]
    found = [(index, figure) for index, figure in found if figure.url]
    if not found:
        return Figures(None, [])
    return Figures(found[0][1], [figure for _, figure in found[1:]])


def scan_figures(tree: HtmlElement, target: str) -> tuple[HtmlElement | None, list]:
    """One walk in page order: the paragraph matching `target`, and every figure with the key
    of the paragraph that follows it."""
    anchor, placed, waiting = None, [], []
    if not target:
        return None, []
    for element in tree.iter("figure", "p"):
        if element.tag == "figure":
            waiting.append(element)
            continue
        if not waiting and anchor is not None:
            continue
        if any(True for _ in element.iterancestors("figure")):
            continue
        key = paragraph_key(element.text_content())
        placed.extend((figure, key) for figure in waiting)
        waiting = []
        if anchor is None and len(key) >= MIN_KEY_CHARS and key[:40] == target[:40]:
            anchor = element
    placed.extend((figure, "") for figure in waiting)
    return anchor, placed[:40]


# --- one figure ------------------------------------------------------------------------------

SOURCE_ATTRS = ("data-src", "data-lazy-src", "data-original", "data-url", "data-full-src", "src")
SRCSET_ATTRS = ("data-srcset", "data-lazy-srcset", "srcset")
PLACEHOLDER = re.compile(r"^data:|blank\.gif|spacer|placeholder|1x1|pixel\.gif|transparent\.", re.I)
DESCRIPTOR = re.compile(r"^(\d+(?:\.\d+)?)([wxh])$")
MAX_WIDTH = 2000  # past this a "largest" candidate is a print master, not a web image
CREDIT_XPATH = etree.XPath(
    ".//*[contains(translate(concat(@class, ' ', @itemprop), 'CDEGHIOPRTY', 'cdeghioprty'),"
    " 'credit') or contains(translate(concat(@class, ' ', @itemprop), 'CDEGHIOPRTY',"
    " 'cdeghioprty'), 'copyright') or contains(translate(@class, 'CDEGHIOPRTY',"
    " 'cdeghioprty'), 'photographer')]"
)
CREDIT_LABEL = r"(?:photo(?:graph)?s?|image|picture|credit|illustration|foto)"
LABELLED_CREDIT = re.compile(
    rf"(?:^|(?<=[\s.;|(]))\(?{CREDIT_LABEL}\s*(?::|\bby\b)\s*(.+?)\)?\s*$", re.I
)
AGENCY_CREDIT = re.compile(r"\(([^()]{2,100}/[^()]{2,100})\)\s*\.?\s*$")
COPYRIGHT_CREDIT = re.compile(r"(?:^|\s)(?:©|\(c\)|copyright\b)\s*(.+?)\s*$", re.I)
CREDIT_PREFIX = re.compile(rf"^\s*(?:{CREDIT_LABEL}\s*(?:credit)?\s*(?::|\bby\b)|©|\(c\))\s*", re.I)


NOT_A_PHOTO = re.compile(r"avatar|logo|icon|headshot|author|profile|sprite|badge", re.I)


def build_figure(figure: HtmlElement, base_url: str, before: str = "") -> Figure:
    image = next(figure.iter("img"), None)
    if image is None or NOT_A_PHOTO.search(f"{image.get('class', '')} {image.get('src', '')}"):
        return Figure()
    caption, credit = caption_and_credit(figure)
    return Figure(
        url=image_url(image, base_url),
        alt=clean_text(image.get("alt")),
        caption=caption,
        credit=credit,
        before=before,
    )


def image_url(image: HtmlElement, base_url: str) -> str:
    """The image's real address: lazy-loading attributes and the largest sensible srcset entry
    win over a `src` that is often a placeholder."""
    # libxml2 does not know <source> is empty and nests the <img> inside it: look up to the
    # <picture> rather than at the parent.
    picture = next(image.iterancestors("picture"), None)
    sources = [image, *(picture.iter("source") if picture is not None else ())]
    candidates = [c for s in sources for attr in SRCSET_ATTRS for c in srcset(s.get(attr, ""))]
    chosen = pick_candidate(candidates)
    plain = (image.get(attr, "") for attr in SOURCE_ATTRS)
    for raw in (chosen, *plain):
        if raw and not PLACEHOLDER.search(raw) and (url := absolute_url(base_url, raw)):
            return url
    return ""


def srcset(value: str) -> list[tuple[str, float]]:
    """(url, size) pairs of a srcset; a URL may itself contain commas, so split on spaces."""
    found: list[tuple[str, float]] = []
    for token in value.split()[:200]:
        match = DESCRIPTOR.match(token.rstrip(","))
        if match and found:
            size = float(match.group(1)) * (1000 if match.group(2) == "x" else 1)
            found[-1] = (found[-1][0], size)
        elif not match:
            found.append((token.rstrip(","), 0.0))
    return found


def pick_candidate(candidates: list[tuple[str, float]]) -> str:
    fitting = [c for c in candidates if c[1] <= MAX_WIDTH]
    if fitting:
        return max(fitting, key=lambda c: c[1])[0]
    return min(candidates, key=lambda c: c[1])[0] if candidates else ""


def caption_and_credit(figure: HtmlElement) -> tuple[str, str]:
    element = figure.find(".//figcaption")
    caption = clean_text(element.text_content()) if element is not None else ""
    marked = CREDIT_XPATH(figure)
    if marked and (credit := clean_text(marked[0].text_content())):
        # Only the credit line itself goes: the same words may also appear in the caption.
        head, _, tail = caption.rpartition(credit)
        return clean_text(f"{head} {tail}"), clean_credit(credit)
    return split_credit(caption)


def split_credit(caption: str) -> tuple[str, str]:
    """Caption and credit from a caption that ends with its credit line."""
    for pattern in (AGENCY_CREDIT, LABELLED_CREDIT, COPYRIGHT_CREDIT):
        match = pattern.search(caption)
        if match:
            return caption[: match.start()].strip(" |-\u2013\u2014"), clean_credit(match.group(1))
    return caption, ""


def clean_credit(credit: str) -> str:
    return CREDIT_PREFIX.sub("", credit.strip(" ()|")).strip(" ()|")


def fallback_figure(meta: PageMetadata) -> Figure:
    caption, credit = split_credit(meta.image_caption)
    return Figure(url=meta.image_url, alt=meta.image_alt, caption=caption, credit=credit)


def place_figures(html: etree._Element, figures: list[Figure]) -> None:
    """Put each in-body figure back before the paragraph it preceded on the page."""
    wanted = {
        figure.before[:40]: figure for figure in figures if len(figure.before) >= MIN_KEY_CHARS
    }
    if not wanted:
        return
    for paragraph in list(html.iter("p")):
        figure = wanted.pop(paragraph_key("".join(paragraph.itertext()))[:40], None)
        if figure is not None:
            paragraph.addprevious(figure_element(figure))


def figure_element(figure: Figure) -> etree._Element:
    element = etree.Element("figure")
    etree.SubElement(element, "img", src=figure.url, alt=figure.alt)
    if figure.caption or figure.credit:
        caption = etree.SubElement(element, "figcaption")
        caption.text = f"{figure.caption} " if figure.credit else figure.caption
        if figure.credit:
            etree.SubElement(caption, "cite").text = figure.credit
    return element
