"""The enrichment stage: what Broadsheet learns about an article once it is stored.

Language, hashtags, an embedding and a near-duplicate signature are computed from the stored
text (never from the network), so ``broadsheet reprocess`` can run the stage again at any time.
Then syndicated copies are linked to their earliest original and related coverage refreshed.
A batch is embedded at once: the embedder is much faster on many texts than on one at a time.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.enrichment import copies
from broadsheet.enrichment.embeddings import get_embedder
from broadsheet.enrichment.language import detect_language
from broadsheet.enrichment.models import ArticleTag, Enrichment, Tag
from broadsheet.enrichment.related import batch_index, refresh_related
from broadsheet.enrichment.tags import TagCandidate, extract_tags
from broadsheet.front import pagecache

log = logging.getLogger(__name__)

VERSION = 1


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
    articles = list(due.select_related("source"))
    if not articles:
        return 0
    embedder = get_embedder()
    vectors = embedder.embed([embedding_text(a) for a in articles])
    for article, vector in zip(articles, vectors, strict=True):
        enrich_one(article, vector, embedder.name)
    for article in articles:
        copies.link_copies(article)
    index = batch_index(embedder.name, embedder.dim)
    for article in articles:
        refresh_related(article, index=index)
    # Tags, language and copy links were written with update()/bulk_create: no model signal.
    pagecache.enrichment_changed([a.pk for a in articles] + originals_of(articles))
    return len(articles)


def originals_of(articles: list[Article]) -> list[int]:
    return [a.duplicate_of_id for a in articles if a.duplicate_of_id]


def enrich_one(article: Article, vector, model_name: str) -> None:
    language = detect_language(article.text, hint=article.language)
    tags = extract_tags(article.title, article.text, language)
    with transaction.atomic():
        Article.objects.filter(pk=article.pk).update(language=language, enrich_due_at=None)
        article.language = language
        store_tags(article, tags)
        Enrichment.objects.update_or_create(
            article=article,
            defaults={
                "version": VERSION,
                "embedding_model": model_name,
                "embedding": vector.astype("float32").tobytes(),
                "signature": copies.signature(article.text),
                "enriched_at": timezone.now(),
            },
        )


def tags_by_slug(candidates: list[TagCandidate]) -> dict[str, Tag]:
    """The Tag rows for these candidates, creating the missing ones in one statement."""
    wanted = {c.slug[:100]: c for c in candidates if c.slug}
    Tag.objects.bulk_create(
        [Tag(slug=slug, name=c.name[:100], kind=c.kind) for slug, c in wanted.items()],
        ignore_conflicts=True,
    )
    return {tag.slug: tag for tag in Tag.objects.filter(slug__in=wanted)}


def store_tags(article: Article, tags: list[TagCandidate]) -> None:
    found = tags_by_slug(tags)
    ArticleTag.objects.filter(article=article).delete()
    ArticleTag.objects.bulk_create(
        [
            ArticleTag(article=article, tag=found[c.slug[:100]], rank=rank, score=c.score)
            for rank, c in enumerate(tags)
            if c.slug[:100] in found
        ],
        ignore_conflicts=True,
    )
