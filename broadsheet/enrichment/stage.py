"""The enrichment stage: what Broadsheet learns about an article once it is stored.

Language, hashtags, an embedding and a near-duplicate signature are computed from the stored
text (never from the network), so ``broadsheet reprocess`` can run the stage again at any time.
Then syndicated copies are linked to their earliest original and related coverage refreshed.
A batch is embedded at once (the embedder is much faster on many texts than on one at a time)
and written at once: a handful of statements per batch, not per article. An article is marked
enriched last, so a worker killed half-way leaves its batch due for another.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.enrichment import copies
from broadsheet.enrichment.current import STAGE_VERSION
from broadsheet.enrichment.embeddings import get_embedder
from broadsheet.enrichment.language import detect_language
from broadsheet.enrichment.models import ArticleTag, Enrichment, Tag
from broadsheet.enrichment.related import batch_index, refresh_batch
from broadsheet.enrichment.tags import TagCandidate, extract_tags
from broadsheet.front import pagecache

log = logging.getLogger(__name__)

VERSION = STAGE_VERSION  # stored with each article's enrichment (see `current`)
# Never read by the stage: the raw page and the rendered body are the largest columns.
UNUSED_FIELDS = ("raw_html", "body_html", "teaser", "caption")


@dataclass
class Findings:
    """What the stage computed from one article's text."""

    language: str
    tags: list[TagCandidate]
    signature: bytes


def embedding_text(article: Article) -> str:
    return f"{article.title}\n\n{article.text}"


def enrich_articles(article_ids: list[int]) -> int:
    """Enrich the stored articles among ``article_ids``; returns how many were enriched."""
    with pagecache.batched():
        return enrich_batch(article_ids)


def enrich_batch(article_ids: list[int]) -> int:
    # Only articles still due: a task that ran late, after another already enriched its
    # articles, costs one query.
    due = Article.objects.filter(
        pk__in=article_ids, state=Article.State.DONE, enrich_due_at__isnull=False
    )
    articles = list(due.defer(*UNUSED_FIELDS))
    if not articles:
        return 0
    embedder = get_embedder()
    vectors = embedder.embed([embedding_text(a) for a in articles])
    findings = [analyse(article) for article in articles]
    with transaction.atomic():
        store_findings(articles, findings, vectors, embedder.name)
    signatures = {a.pk: f.signature for a, f in zip(articles, findings, strict=True)}
    copies.link_batch(articles, signatures)
    index = batch_index(embedder.name, embedder.dim)
    copies.link_neighbours(articles, vectors, index)
    touched: set[int] = set()
    refresh_batch(articles, list(vectors), embedder.name, index, touched=touched)
    mark_enriched(articles, findings)
    # Tags, language and copy links were written with update()/bulk_create: no model signal.
    pagecache.enrichment_changed([a.pk for a in articles] + originals_of(articles) + [*touched])
    return len(articles)


def warm_up() -> None:
    """Load what a process's first batch would otherwise load (the language model, the
    embedder, the tagger's word lists): a worker that calls this at start takes its first
    batch as fast as the later ones."""
    text = "Broadsheet warms up in London before the first batch of articles arrives today."
    language = detect_language(text, hint="en") or "en"
    extract_tags("Warm-up", text, language)
    get_embedder().embed([text])
    copies.signature(text)


def originals_of(articles: list[Article]) -> list[int]:
    return [a.duplicate_of_id for a in articles if a.duplicate_of_id]


def analyse(article: Article) -> Findings:
    language = detect_language(article.text, hint=article.language)
    return Findings(
        language=language,
        tags=extract_tags(article.title, article.text, language),
        signature=copies.signature(article.text),
    )


def store_findings(articles: list[Article], findings: list[Findings], vectors, model: str):
    """Tags, embeddings, signatures and band keys of the whole batch (inside its transaction)."""
    store_tags({a.pk: f.tags for a, f in zip(articles, findings, strict=True)})
    now = timezone.now()
    Enrichment.objects.bulk_create(
        [
            Enrichment(
                article_id=article.pk,
                version=VERSION,
                embedding_model=model,
                embedding=vector.astype("float32").tobytes(),
                signature=found.signature,
                enriched_at=now,
            )
            for article, found, vector in zip(articles, findings, vectors, strict=True)
        ],
        update_conflicts=True,
        unique_fields=["article"],
        update_fields=["version", "embedding_model", "embedding", "signature", "enriched_at"],
    )
    copies.store_bands({a.pk: f.signature for a, f in zip(articles, findings, strict=True)})


def mark_enriched(articles: list[Article], findings: list[Findings]) -> None:
    """The detected language and the end of the claim, one statement per language."""
    by_language: dict[str, list[int]] = {}
    for article, found in zip(articles, findings, strict=True):
        article.language = found.language
        by_language.setdefault(found.language, []).append(article.pk)
    for language, ids in by_language.items():
        Article.objects.filter(pk__in=ids).update(language=language, enrich_due_at=None)


def tags_by_slug(candidates: list[TagCandidate]) -> dict[str, Tag]:
    """The Tag rows for these candidates, creating the missing ones in one statement; a new
    tag takes its name and kind from the first candidate that proposes it."""
    wanted: dict[str, TagCandidate] = {}
    for candidate in candidates:
        if candidate.slug:
            wanted.setdefault(candidate.slug[:100], candidate)
    Tag.objects.bulk_create(
        [Tag(slug=slug, name=c.name[:100], kind=c.kind) for slug, c in wanted.items()],
        ignore_conflicts=True,
    )
    return {tag.slug: tag for tag in Tag.objects.filter(slug__in=wanted)}


def store_tags(tags: dict[int, list[TagCandidate]]) -> None:
    """Replace the tags of these articles (by id), ranked in the given order."""
    # Within one article its last candidate for a slug names a new tag, as it always has.
    latest = [
        candidate
        for found in tags.values()
        for candidate in {c.slug[:100]: c for c in found if c.slug}.values()
    ]
    known = tags_by_slug(latest)
    ArticleTag.objects.filter(article_id__in=list(tags))._raw_delete(ArticleTag.objects.db)
    ArticleTag.objects.bulk_create(
        [
            ArticleTag(article_id=pk, tag=known[c.slug[:100]], rank=rank, score=c.score)
            for pk, found in tags.items()
            for rank, c in enumerate(found)
            if c.slug[:100] in known
        ],
        ignore_conflicts=True,
    )
