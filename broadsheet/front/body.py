"""The article body as the page shows it: whole or cut to a teaser, with ad slots between blocks.

``body_html`` was cleaned with an allow-list by the pipeline. It is split here into its top-level
blocks, so that an advertisement can only ever sit between two blocks, never inside one, and a
teaser ends on a block boundary. lxml re-serialises each block, escaping any text it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import lxml.html
from django.utils.html import escape, linebreaks
from lxml import etree

WRAPPERS = frozenset({"div", "article", "section", "main"})
PARAGRAPH = "p"
EXTERNAL_REL = ("noopener", "nofollow", "ugc")


@dataclass(frozen=True)
class Ad:
    pk: int
    html: str
    every: int


@dataclass
class Body:
    blocks: list[str] = field(default_factory=list)
    truncated: bool = False

    @property
    def html(self) -> str:
        return "\n".join(self.blocks)


def source_html(article) -> str:
    if article.body_html:
        return article.body_html
    return linebreaks(article.text or article.teaser or "", autoescape=True)


def top_level(html: str) -> list:
    """The body's top-level nodes; one wrapping element around everything is looked through."""
    try:
        nodes = lxml.html.fragments_fromstring(html)
    except (etree.ParserError, ValueError):
        return []
    elements = [n for n in nodes if not isinstance(n, str)]
    if len(elements) == 1 and len(nodes) == 1 and elements[0].tag in WRAPPERS:
        inner = elements[0]
        return ([inner.text] if (inner.text or "").strip() else []) + list(inner)
    return nodes


def open_elsewhere(element) -> None:
    """Links in the body lead to other sites: a new tab, and no handle back to this page."""
    for link in element.iter("a"):
        if not link.get("href"):
            continue
        rel = (link.get("rel") or "").split()
        link.set("rel", " ".join(dict.fromkeys([*rel, *EXTERNAL_REL])))
        link.set("target", "_blank")


def serialise(node) -> str:
    if isinstance(node, str):
        return f"<p>{escape(node.strip())}</p>" if node.strip() else ""
    if not isinstance(node.tag, str):  # comments and processing instructions
        return ""
    open_elsewhere(node)
    node.tail = None
    return lxml.html.tostring(node, encoding="unicode")


def is_paragraph(node) -> bool:
    return isinstance(node, str) or node.tag == PARAGRAPH


def ad_block(ad: Ad) -> str:
    return (
        f'<aside class="ad-slot ad-slot-{ad.pk}" aria-label="Advertisement">'
        f'<p class="ad-label">Advertisement</p><div class="ad-content">{ad.html}</div></aside>'
    )


def ads_after(paragraphs: int, ads: list[Ad]) -> list[str]:
    return [ad_block(ad) for ad in ads if ad.every > 0 and paragraphs % ad.every == 0]


def build_body(article, ads: list[Ad], teaser_paragraphs: int | None = None) -> Body:
    """Blocks in order; ``teaser_paragraphs`` cuts after that many paragraphs."""
    nodes = [n for n in top_level(source_html(article)) if serialise_ok(n)]
    body, paragraphs = Body(), 0
    for index, node in enumerate(nodes):
        if teaser_paragraphs is not None and paragraphs >= teaser_paragraphs:
            body.truncated = True
            break
        body.blocks.append(serialise(node))
        if not is_paragraph(node):
            continue
        paragraphs += 1
        if index < len(nodes) - 1 and not reached(teaser_paragraphs, paragraphs):
            body.blocks.extend(ads_after(paragraphs, ads))
    return body


def serialise_ok(node) -> bool:
    if isinstance(node, str):
        return bool(node.strip())
    return isinstance(node.tag, str)


def reached(limit: int | None, paragraphs: int) -> bool:
    return limit is not None and paragraphs >= limit
