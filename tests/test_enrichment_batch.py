"""The enrichment stage writes a batch at once: the result must be what enriching the same
articles one at a time gives, and each worker's vector index must follow what others store."""

import hashlib
from datetime import timedelta

import numpy as np
import pytest
from django.utils import timezone

from broadsheet.enrichment import related
from broadsheet.enrichment.stage import enrich_articles
from broadsheet.samplepub.corpus import load_corpus

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_indexes")]


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def store_corpus(corpus, count: int) -> list[int]:
    """The first `count` sample articles as stored rows, due for enrichment."""
    from broadsheet.articles.models import Article
    from broadsheet.sources.models import Source

    ids = []
    for written in corpus.articles[:count]:
        source, _ = Source.objects.get_or_create(
            slug=written.outlet,
            defaults={"name": written.outlet, "homepage": f"https://{written.outlet}.test/"},
        )
        url = f"https://{written.outlet}.test/{written.slug}"
        article = Article.objects.create(
            source=source,
            url=url,
            url_key=hashlib.sha256(url.encode()).hexdigest(),
            title=written.title,
            text=written.text(),
            published_at=written.published,
            discovered_at=written.published + timedelta(minutes=3),
            state=Article.State.DONE,
            enrich_due_at=timezone.now(),
        )
        ids.append(article.pk)
    return ids


def snapshot(ids: list[int]) -> dict:
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.models import ArticleTag, CopyBand, Enrichment

    return {
        "articles": sorted(
            Article.objects.filter(pk__in=ids).values_list(
                "pk", "language", "duplicate_of_id", "enrich_due_at"
            )
        ),
        "tags": sorted(ArticleTag.objects.values_list("article_id", "tag__slug", "rank")),
        "enrichments": sorted(
            (pk, bytes(vector), bytes(sig))
            for pk, vector, sig in Enrichment.objects.values_list(
                "article_id", "embedding", "signature"
            )
        ),
        "bands": sorted(CopyBand.objects.values_list("article_id", "key")),
    }


def forget_enrichment(ids: list[int]) -> None:
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.models import ArticleTag, Enrichment, RelatedArticle, Tag

    for model in (ArticleTag, RelatedArticle, Enrichment, Tag):
        model.objects.all().delete()
    Article.objects.filter(pk__in=ids).update(
        duplicate_of=None, language="", enrich_due_at=timezone.now()
    )
    related._EXACT.clear()


def test_a_batch_is_enriched_as_one_article_at_a_time_would_be(corpus):
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.models import RelatedArticle

    ids = store_corpus(corpus, 40)
    assert enrich_articles(ids) == len(ids)
    batched = snapshot(ids)
    assert enrich_articles(ids) == 0  # nothing is due any more
    assert RelatedArticle.objects.exists()
    assert any(duplicate for _, _, duplicate, _ in batched["articles"])
    assert all(due is None for *_, due in batched["articles"])
    order = list(Article.objects.filter(pk__in=ids).values_list("pk", flat=True))
    forget_enrichment(ids)
    for pk in order:
        assert enrich_articles([pk]) == 1
    assert snapshot(ids) == batched


def test_related_lists_name_only_stored_articles_of_other_outlets(corpus):
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.models import RelatedArticle

    ids = store_corpus(corpus, 40)
    enrich_articles(ids[:20])
    enrich_articles(ids[20:])
    sources = dict(Article.objects.values_list("pk", "source_id"))
    rows = list(RelatedArticle.objects.values_list("article_id", "related_id"))
    assert rows
    assert all(sources[a] != sources[b] for a, b in rows)
    per_article = {}
    for article_id, _ in rows:
        per_article[article_id] = per_article.get(article_id, 0) + 1
    assert max(per_article.values()) <= related.LIMIT


def stored_vector(article_id: int) -> np.ndarray:
    from broadsheet.enrichment.embeddings import from_bytes
    from broadsheet.enrichment.models import Enrichment

    return from_bytes(Enrichment.objects.get(article_id=article_id).embedding)


def test_the_batch_index_takes_in_what_other_workers_store(corpus):
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.embeddings import get_embedder, to_bytes
    from broadsheet.enrichment.models import Enrichment

    ids = store_corpus(corpus, 30)
    enrich_articles(ids[:10])
    embedder = get_embedder()
    index = related.batch_index(embedder.name, embedder.dim)
    assert sorted(index.ids()) == sorted(ids[:10])
    # Another worker (its own indexes) stores ten more; ours learns them on its next batch.
    ours = dict(related._EXACT)
    related._EXACT.clear()
    enrich_articles(ids[10:20])
    related._EXACT.clear()
    related._EXACT.update(ours)
    assert sorted(index.ids()) == sorted(ids[:10])
    index = related.batch_index(embedder.name, embedder.dim)
    assert sorted(index.ids()) == sorted(ids[:20])
    # A re-enriched article's new vector replaces its old one.
    changed = embedder.embed(["Copper prices in Santiago rose again this week."])[0]
    Enrichment.objects.filter(article_id=ids[0]).update(
        embedding=to_bytes(changed), enriched_at=timezone.now() + timedelta(seconds=1)
    )
    index = related.batch_index(embedder.name, embedder.dim)
    assert index.search(changed, 1)[0][0] == ids[0]
    # An article no longer stored leaves the index.
    Article.objects.filter(pk=ids[1]).update(state=Article.State.FAILED)
    index = related.batch_index(embedder.name, embedder.dim)
    assert ids[1] not in index.ids() and len(index) == 19
    np.testing.assert_allclose(index.search(stored_vector(ids[2]), 1)[0][1], 1.0, rtol=1e-5)


def test_a_large_collection_follows_through_the_shared_index(corpus, monkeypatch):
    from broadsheet.enrichment.embeddings import get_embedder

    monkeypatch.setattr(related, "EXACT_LIMIT", 5)
    ids = store_corpus(corpus, 24)
    enrich_articles(ids[:8])
    enrich_articles(ids[8:16])
    embedder = get_embedder()
    index = related.batch_index(embedder.name, embedder.dim)
    assert isinstance(index, related.SharedIndex)
    assert sorted(index.index.ids()) == sorted(ids[:16])
    enrich_articles(ids[16:])
    assert sorted(related.shared_index().index.ids()) == sorted(ids)
