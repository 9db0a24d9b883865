"""Copy detection through stored band keys: it must find what a scan of every signature finds."""

import importlib
import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from broadsheet.enrichment import copies
from broadsheet.samplepub.corpus import load_corpus
from tests.datasets import SHARED_DATA
from tests.test_copies import article_row as make_article


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def sample_and_ecbplus_texts(corpus) -> list[str]:
    """The sample's texts, and ECB+'s where the shared data is present."""
    texts = [a.text() for a in corpus.articles]
    docs = SHARED_DATA / "stories-ecbplus-dev" / "docs.jsonl"
    if docs.is_file():
        texts += [json.loads(line)["text"] for line in docs.read_text().splitlines()]
    return texts


def test_every_pair_the_copy_rule_accepts_shares_a_band_key(corpus):
    sigs = [copies.signature(text) for text in sample_and_ecbplus_texts(corpus)]
    keys = [set(copies.lookup_keys(sig)) for sig in sigs]
    accepted = sharing = 0
    for i, j in itertools.combinations(range(len(sigs)), 2):
        if copies.is_copy(sigs[i], sigs[j]):
            accepted += 1
            sharing += bool(keys[i] & keys[j])
    assert accepted >= 24  # the sample's wire copies at least
    assert sharing == accepted


def test_unrelated_texts_rarely_share_a_band_key(corpus):
    texts = [a.text() for a in corpus.articles if not a.wire_of]
    keys = [set(copies.lookup_keys(copies.signature(text))) for text in texts]
    pairs = list(itertools.combinations(range(len(texts)), 2))
    shared = sum(bool(keys[i] & keys[j]) for i, j in pairs)
    assert shared <= 0.02 * len(pairs)


def test_short_texts_have_no_band_keys():
    assert copies.lookup_keys(copies.signature("Too short to judge.")) == []
    assert len(copies.lookup_keys(copies.signature(" ".join(f"w{i}" for i in range(60))))) == 64


def enriched(article):
    """Store the article's signature as the enrichment stage does (band keys included)."""
    from broadsheet.enrichment.models import Enrichment

    Enrichment.objects.create(article=article, signature=copies.signature(article.text))
    return article


def band_count(article) -> int:
    from broadsheet.enrichment.models import CopyBand

    return CopyBand.objects.filter(article=article).count()


@pytest.mark.django_db
def test_saved_signatures_keep_their_band_keys_in_step(corpus):
    from broadsheet.enrichment.models import CopyBand, Enrichment

    first, second = corpus.articles[0].text(), corpus.articles[1].text()
    article = make_article("paper", first, datetime.now(UTC))
    enrichment = Enrichment.objects.create(article=article, signature=copies.signature(first))
    stored = set(CopyBand.objects.filter(article=article).values_list("key", flat=True))
    assert stored == set(copies.lookup_keys(copies.signature(first)))
    enrichment.signature = copies.signature(second)
    enrichment.save()
    stored = set(CopyBand.objects.filter(article=article).values_list("key", flat=True))
    assert stored == set(copies.lookup_keys(copies.signature(second)))
    enrichment.signature = None
    enrichment.save(update_fields=["version"])  # the signature column is not written
    assert band_count(article) == 64
    enrichment.save()
    assert band_count(article) == 0
    article.delete()
    assert not CopyBand.objects.exists()


@pytest.mark.django_db
def test_link_batch_links_copies_inside_the_batch_and_with_stored_ones(corpus):
    from broadsheet.articles.models import Article

    wire_copy = next(a for a in corpus.articles if a.wire_of)
    original = corpus.article(*wire_copy.wire_of.split("/"))
    other = next(a for a in corpus.articles if a.event == original.event and a != original)
    t0 = datetime.now(UTC) - timedelta(days=1)
    stored = enriched(make_article("courier", wire_copy.text(), t0 + timedelta(hours=2), "s"))
    # The batch: a copy, then the wire original (published first), then another story.
    batch = [
        make_article("paper", wire_copy.text() + "\nA local line.", t0 + timedelta(hours=1), "c"),
        make_article("wire", original.text(), t0, "wire"),
        make_article("gazette", other.text(), t0 + timedelta(hours=3), "other"),
    ]
    for article in batch:
        enriched(article)
    copies.link_batch(batch, {a.pk: copies.signature(a.text) for a in batch})
    wire = batch[1]
    links = dict(Article.objects.values_list("pk", "duplicate_of_id"))
    assert links == {stored.pk: wire.pk, batch[0].pk: wire.pk, wire.pk: None, batch[2].pk: None}
    # In memory too, the first article of the batch included (the wire moved its group).
    assert [a.duplicate_of_id for a in batch] == [wire.pk, None, None]


@pytest.mark.django_db
def test_link_copies_ignores_copies_outside_the_lookback(corpus):
    wire_copy = next(a for a in corpus.articles if a.wire_of)
    original = corpus.article(*wire_copy.wire_of.split("/"))
    t0 = datetime.now(UTC) - timedelta(days=40)
    enriched(make_article("wire", original.text(), t0, "old"))
    late = enriched(make_article("paper", wire_copy.text(), t0 + copies.LOOKBACK * 2, "late"))
    assert copies.link_copies(late) is None
    near = enriched(make_article("gazette", wire_copy.text(), t0 + timedelta(days=1), "near"))
    assert copies.link_copies(near) is not None


@pytest.mark.django_db
def test_the_migration_bands_signatures_stored_before_it(corpus):
    from django.apps import apps

    from broadsheet.enrichment.models import CopyBand, Enrichment

    migration = importlib.import_module("broadsheet.enrichment.migrations.0002_copy_bands")
    text = corpus.articles[0].text()
    article = make_article("paper", text, datetime.now(UTC))
    Enrichment.objects.create(article=article, signature=copies.signature(text))
    CopyBand.objects.all().delete()
    migration.band_stored_signatures(apps, None)
    assert band_count(article) == 64
