"""Load, check and render the sample publisher's corpus.

The corpus is fictional: every outlet, event and article describes the invented Republic of
Vellmark, was written for Broadsheet, and is licensed with the project.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"
FEED_FORMATS = ("rss20", "atom10", "jsonfeed11", "rss10", "rss092")
LAYOUTS = ("classic", "grid", "tabloid", "wire")
RESERVED_DOMAINS = ("example.org", "example.com", "example.net")
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
LINK_RE = re.compile(r"\[([^\[\]]+)\]\(([^()\s]+)\)")
HTML_TAG_RE = re.compile(r"</?[A-Za-z][^>]*>")
MAX_MINUTES_AGO = 10080


class CorpusError(ValueError):
    """The corpus files cannot be served: a field is missing, mistyped or duplicated."""


@dataclass(frozen=True)
class Section:
    slug: str
    name: str
    declared: bool = True


@dataclass(frozen=True)
class Outlet:
    slug: str
    name: str
    feed_format: str
    tagline: str
    sections: tuple[Section, ...]
    accent: str
    layout: str

    def section(self, slug: str) -> Section | None:
        return next((s for s in self.sections if s.slug == slug), None)


@dataclass(frozen=True)
class Image:
    alt: str
    caption: str
    credit: str


@dataclass(frozen=True)
class CorpusArticle:
    outlet: str
    slug: str
    sections: tuple[str, ...]
    title: str
    dek: str
    byline: str
    published: datetime
    updated: datetime | None
    tags: tuple[str, ...]
    image: Image | None
    wire_of: str | None
    paragraphs: tuple[str, ...]
    event: str | None
    synthetic: bool = False

    @property
    def key(self) -> str:
        return f"{self.outlet}/{self.slug}"

    @property
    def path(self) -> str:
        """The canonical path: the first section is the article's home."""
        return f"/{self.outlet}/{self.sections[0]}/{self.slug}"

    @property
    def modified(self) -> datetime:
        return self.updated or self.published

    def text(self) -> str:
        return "\n".join(strip_markup(p) for p in self.paragraphs)


@dataclass
class Corpus:
    now: datetime
    outlets: dict[str, Outlet]
    articles: list[CorpusArticle]
    _by_key: dict[str, CorpusArticle] = field(init=False, repr=False)
    _by_outlet: dict[str, list[CorpusArticle]] = field(init=False, repr=False)
    _by_section: dict[tuple[str, str], list[CorpusArticle]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {a.key: a for a in self.articles}
        self._by_outlet = {slug: [] for slug in self.outlets}
        self._by_section = {}
        for article in sorted(self.articles, key=lambda a: a.published, reverse=True):
            self._by_outlet[article.outlet].append(article)

    def article(self, outlet: str, slug: str) -> CorpusArticle | None:
        return self._by_key.get(f"{outlet}/{slug}")

    def latest(self, outlet: str, section: str | None = None) -> list[CorpusArticle]:
        """Newest first; restricted to articles filed in ``section`` when given."""
        items = self._by_outlet.get(outlet, [])
        if section is None:
            return items
        key = (outlet, section)
        if key not in self._by_section:
            self._by_section[key] = [a for a in items if section in a.sections]
        return self._by_section[key]

    def events(self) -> dict[str, list[CorpusArticle]]:
        grouped: dict[str, list[CorpusArticle]] = {}
        for article in self.articles:
            if article.event:
                grouped.setdefault(article.event, []).append(article)
        return grouped


def load_corpus(
    now: datetime | None = None, scale: int = 1, *, path: Path | str | None = None
) -> Corpus:
    """Read the outlets and every event file; with ``scale`` > 1 add synthetic articles.

    Publication times are ``now`` minus each article's ``minutes_ago``, so a corpus loaded at
    any moment reads as fresh news.
    """
    if scale < 1:
        raise CorpusError("scale must be at least 1")
    root = Path(path) if path else CORPUS_DIR
    now = normalise_now(now)
    raw_articles = _read_articles(root / "articles")
    outlets = _read_outlets(root / "outlets.json", raw_articles)
    articles = [_parse_article(raw, event, outlets, now) for event, raw in raw_articles]
    _reject_duplicates(articles)
    if scale > 1:
        articles += synthesize(articles, len(articles) * (scale - 1), now)
    return Corpus(now=now, outlets=outlets, articles=articles)


def normalise_now(now: datetime | None) -> datetime:
    """UTC, whole seconds: HTTP dates carry no fractions, so Last-Modified must not either."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).replace(microsecond=0)


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"{path.name}: {exc}") from exc


def _read_articles(folder: Path) -> list[tuple[str, dict]]:
    found: list[tuple[str, dict]] = []
    for path in sorted(folder.glob("*.json")):
        data = _read_json(path)
        if not isinstance(data, dict) or not isinstance(data.get("articles"), list):
            raise CorpusError(f"{path.name}: expected an object with an 'articles' list")
        event = str(data.get("event") or path.stem)
        found += [(event, raw) for raw in data["articles"]]
    return found


def _read_outlets(path: Path, raw_articles: list[tuple[str, dict]]) -> dict[str, Outlet]:
    data = _read_json(path)
    if not isinstance(data, dict) or not isinstance(data.get("outlets"), list):
        raise CorpusError(f"{path.name}: expected an object with an 'outlets' list")
    used = _sections_used(raw_articles)
    outlets = [_parse_outlet(raw, used.get(raw.get("slug"), [])) for raw in data["outlets"]]
    return {o.slug: o for o in outlets}


def _sections_used(raw_articles: list[tuple[str, dict]]) -> dict[str, list[str]]:
    used: dict[str, list[str]] = {}
    for _, raw in raw_articles:
        sections = raw.get("sections") if isinstance(raw, dict) else None
        for section in sections if isinstance(sections, list) else []:
            used.setdefault(raw.get("outlet"), []).append(section)
    return used


def _parse_outlet(raw: dict, used_sections: list[str]) -> Outlet:
    slug = _require(raw, "slug", str, "outlet")
    where = f"outlet {slug}"
    feed_format = _require(raw, "feed_format", str, where)
    layout = _require(raw, "layout", str, where)
    if feed_format not in FEED_FORMATS or layout not in LAYOUTS:
        raise CorpusError(f"{where}: unknown feed_format {feed_format!r} or layout {layout!r}")
    sections = [Section(s["slug"], s["name"]) for s in _require(raw, "sections", list, where)]
    # An article filed under a section the outlet forgot to declare still gets a home and a feed.
    for extra in dict.fromkeys(used_sections):
        if isinstance(extra, str) and extra not in {s.slug for s in sections}:
            sections.append(Section(extra, extra.replace("-", " ").capitalize(), declared=False))
    return Outlet(
        slug=slug,
        name=_require(raw, "name", str, where),
        feed_format=feed_format,
        tagline=_require(raw, "tagline", str, where),
        sections=tuple(sections),
        accent=_require(raw, "accent", str, where),
        layout=layout,
    )


def _require(raw: object, key: str, kind: type, where: str):
    if not isinstance(raw, dict) or not isinstance(raw.get(key), kind):
        raise CorpusError(f"{where}: field {key!r} missing or not a {kind.__name__}")
    return raw[key]


def _optional(raw: dict, key: str, kind: type, where: str):
    value = raw.get(key)
    if value is not None and not isinstance(value, kind):
        raise CorpusError(f"{where}: field {key!r} must be a {kind.__name__} or null")
    return value


def _parse_article(raw: dict, event: str, outlets: dict[str, Outlet], now: datetime):
    outlet = _require(raw, "outlet", str, f"event {event}")
    slug = _require(raw, "slug", str, f"event {event}")
    where = f"{event}: {outlet}/{slug}"
    if outlet not in outlets:
        raise CorpusError(f"{where}: unknown outlet")
    sections = _require(raw, "sections", list, where)
    if not sections or not all(isinstance(s, str) and SLUG_RE.match(s) for s in sections):
        raise CorpusError(f"{where}: sections must be a non-empty list of slugs")
    if not SLUG_RE.match(slug):
        raise CorpusError(f"{where}: slug must be lowercase words joined by hyphens")
    minutes = _require(raw, "minutes_ago", int, where)
    updated = _optional(raw, "updated_minutes_ago", int, where)
    return CorpusArticle(
        outlet=outlet,
        slug=slug,
        sections=tuple(sections),
        title=_require(raw, "title", str, where),
        dek=_require(raw, "dek", str, where),
        byline=_require(raw, "byline", str, where),
        published=now - timedelta(minutes=minutes),
        updated=None if updated is None else now - timedelta(minutes=updated),
        tags=tuple(str(t) for t in _optional(raw, "tags", list, where) or ()),
        image=_parse_image(_optional(raw, "image", dict, where), where),
        wire_of=_optional(raw, "wire_of", str, where),
        paragraphs=tuple(str(p) for p in _require(raw, "paragraphs", list, where)),
        event=event,
    )


def _parse_image(raw: dict | None, where: str) -> Image | None:
    if raw is None:
        return None
    return Image(
        *(_require(raw, key, str, f"{where} image") for key in ("alt", "caption", "credit"))
    )


def _reject_duplicates(articles: list[CorpusArticle]) -> None:
    seen: set[str] = set()
    for article in articles:
        if article.key in seen:
            raise CorpusError(f"duplicate article {article.key}")
        seen.add(article.key)


# --- quality checks: what a writer should fix, though the server can still run ------------


def check_corpus(corpus: Corpus) -> list[str]:
    """Return one line per departure from the corpus specification (empty when clean)."""
    problems: list[str] = []
    for article in corpus.articles:
        if not article.synthetic:
            problems += [f"{article.key}: {p}" for p in _article_problems(article, corpus)]
    return problems


def _article_problems(article: CorpusArticle, corpus: Corpus) -> list[str]:
    outlet = corpus.outlets[article.outlet]
    problems = [f"section {s!r} not declared in outlets.json" for s in _undeclared(article, outlet)]
    if not 1 <= len(article.sections) <= 2:
        problems.append("needs 1 or 2 sections")
    if not outlet.section(article.sections[0]):
        problems.append("first section unknown")
    minutes = (corpus.now - article.published).total_seconds() / 60
    if not 5 <= minutes <= MAX_MINUTES_AGO:
        problems.append(f"minutes_ago {minutes:.0f} outside 5..{MAX_MINUTES_AGO}")
    if article.updated and not article.published <= article.updated <= corpus.now:
        problems.append("updated_minutes_ago must be between 0 and minutes_ago")
    if article.wire_of and not _wire_source_ok(article, corpus):
        problems.append(f"wire_of {article.wire_of!r} does not name a civic-wire article")
    if not 4 <= len(article.paragraphs) <= 9:
        problems.append(f"{len(article.paragraphs)} blocks (want 4-9)")
    return problems + _text_problems(article, corpus)


def _undeclared(article: CorpusArticle, outlet: Outlet) -> list[str]:
    return [s.slug for s in outlet.sections if not s.declared and s.slug in article.sections]


def _wire_source_ok(article: CorpusArticle, corpus: Corpus) -> bool:
    outlet, _, slug = (article.wire_of or "").partition("/")
    return outlet == "civic-wire" and corpus.article(outlet, slug) is not None


def _text_problems(article: CorpusArticle, corpus: Corpus) -> list[str]:
    problems = []
    for text in (article.title, article.dek, *article.paragraphs):
        if HTML_TAG_RE.search(text):
            problems.append(f"HTML in text: {text[:40]!r}")
        problems += [_link_problem(url, corpus) for _, url in LINK_RE.findall(text)]
    return [p for p in problems if p]


def _link_problem(url: str, corpus: Corpus) -> str | None:
    if resolve_link(url, corpus, "") is None:
        return f"link {url!r} is neither a corpus article nor a reserved domain"
    parts = url.strip("/").split("/")
    target = corpus.article(parts[0], parts[-1]) if url.startswith("/") else None
    if target and target.path != url:
        return f"link {url!r} should use the first section: {target.path}"
    return None


# --- mini-markup ---------------------------------------------------------------------------


def strip_markup(block: str) -> str:
    """The plain text of one block: prefixes dropped, links reduced to their text."""
    for prefix in ("## ", "> ", "- "):
        if block.startswith(prefix):
            block = block[len(prefix) :]
            break
    return LINK_RE.sub(r"\1", block)


def resolve_link(url: str, corpus: Corpus, base_url: str) -> str | None:
    """Absolute URL for a corpus path or a reserved-domain link; None for anything else."""
    if url.startswith("/"):
        parts = url.strip("/").split("/")
        if len(parts) == 3 and corpus.article(parts[0], parts[2]):
            return base_url + "/" + "/".join(parts)
        return None
    split = urlsplit(url)
    host = (split.hostname or "").lower()
    reserved = any(host == d or host.endswith("." + d) for d in RESERVED_DOMAINS)
    return url if split.scheme in ("http", "https") and reserved else None


def render_inline(text: str, corpus: Corpus, base_url: str) -> str:
    """Escape ``text`` and turn its ``[text](url)`` links into anchors; bad links stay text."""
    out, last = [], 0
    for match in LINK_RE.finditer(text):
        out.append(escape(text[last : match.start()]))
        out.append(_anchor(match.group(1), match.group(2), corpus, base_url))
        last = match.end()
    out.append(escape(text[last:]))
    return "".join(out)


def _anchor(label: str, url: str, corpus: Corpus, base_url: str) -> str:
    href = resolve_link(url, corpus, base_url)
    if href is None:
        return escape(label)
    external = "" if url.startswith("/") else ' rel="noopener" target="_blank"'
    return f'<a href="{escape(href)}"{external}>{escape(label)}</a>'


def render_blocks(paragraphs: tuple[str, ...], corpus: Corpus, base_url: str) -> list[str]:
    """HTML for each block; runs of list items are gathered into one ``<ul>``."""
    html: list[str] = []
    items: list[str] = []
    for block in paragraphs:
        if block.startswith("- "):
            items.append(f"<li>{render_inline(block[2:], corpus, base_url)}</li>")
            continue
        if items:
            html.append("<ul>" + "".join(items) + "</ul>")
            items = []
        html.append(_render_block(block, corpus, base_url))
    if items:
        html.append("<ul>" + "".join(items) + "</ul>")
    return html


def _render_block(block: str, corpus: Corpus, base_url: str) -> str:
    if block.startswith("## "):
        return f"<h2>{render_inline(block[3:], corpus, base_url)}</h2>"
    if block.startswith("> "):
        return f"<blockquote><p>{render_inline(block[2:], corpus, base_url)}</p></blockquote>"
    return f"<p>{render_inline(block, corpus, base_url)}</p>"


# --- synthetic articles for benchmarks ----------------------------------------------------

_KICKERS = (
    "Briefing",
    "Follow-up",
    "Notebook",
    "Update",
    "In focus",
    "Explainer",
    "Week in review",
    "Reaction",
)
_PLACES = (
    "Aldport",
    "Brennan Bay",
    "Kessel",
    "Marrow Falls",
    "the Lantern Coast",
    "Oster",
    "the Tamsin valley",
    "the Kessel plateau",
)
_BODIES = (
    "National Statistics Office",
    "Aldport City Council",
    "Ministry of Transport",
    "Ministry of Health",
    "Halvard Energy",
    "Aldport Port Authority",
    "National Weather Office",
    "Northgate University",
)
SYNTHETIC_MAX_MINUTES = 43200


def synthesize(base: list[CorpusArticle], count: int, now: datetime) -> list[CorpusArticle]:
    """``count`` new articles built from ``base`` with a fixed seed, so every run agrees.

    Each one keeps a source article's outlet, sections and lede, borrows paragraphs from
    other articles and adds one sentence of its own figures, so that no two share most of
    their text: benchmarks must not see them collapse into near-duplicates.
    """
    if not base:
        return []
    rng = random.Random(20240611)
    pool = [p for a in base for p in a.paragraphs[1:] if not p.startswith(("## ", "> ", "- "))]
    return [_synthetic(base, pool, i, rng, now) for i in range(count)]


def _synthetic(base, pool, i: int, rng: random.Random, now: datetime) -> CorpusArticle:
    src = base[i % len(base)]
    copy = i // len(base)
    minutes = rng.randint(5, SYNTHETIC_MAX_MINUTES)
    updated = rng.randint(1, minutes) if rng.random() < 0.3 else None
    body = (src.paragraphs[0], *rng.sample(pool, min(3, len(pool))), _figures_line(rng, i))
    return replace(
        src,
        slug=f"{src.slug}-{copy + 1:03d}",
        title=f"{_kicker(copy)}: {src.title}",
        published=now - timedelta(minutes=minutes),
        updated=None if updated is None else now - timedelta(minutes=updated),
        wire_of=None,
        paragraphs=body,
        event=None,
        synthetic=True,
    )


def _kicker(copy: int) -> str:
    """A distinct prefix per copy of one source: (kicker, place) pairs are unique below 64."""
    kicker = _KICKERS[copy % len(_KICKERS)]
    place = _PLACES[(copy // len(_KICKERS) + copy) % len(_PLACES)]
    lap = copy // (len(_KICKERS) * len(_PLACES))
    return f"{kicker} from {place}" + (f", part {lap + 1}" if lap else "")


def _figures_line(rng: random.Random, serial: int) -> str:
    body, place = rng.choice(_BODIES), rng.choice(_PLACES)
    count, share = rng.randint(120, 98000), rng.randint(2, 97)
    return (
        f"Figures released by the {body} for {place} put the total at {count:,}, "
        f"with {share} per cent of cases settled within a month (reference {serial:05d})."
    )
