"""The whole pipeline against the sample publisher on 127.0.0.1, with a real worker process.

Feeds are polled, article pages fetched, extracted and stored, then shown on the article page;
a second poll sends conditional headers and stores nothing new; an article reached through two
feeds (one of them adding tracking parameters) is stored once. Runs on SQLite and PostgreSQL,
whichever ``DATABASE_URL`` selects.
"""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from broadsheet.articles.models import Article, ArticleFeed
from broadsheet.enrichment.models import ArticleTag, RelatedArticle
from broadsheet.ingest.urls import normalize_url
from broadsheet.sources.models import Feed, Source
from broadsheet.sources.subscribe import subscribe

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def subscribe_all(publisher) -> list[Feed]:
    return [subscribe(info.url, check=False, title=info.title)[0] for info in publisher.feeds()]


def make_everything_due() -> None:
    Feed.objects.update(next_poll_at=timezone.now() - timedelta(seconds=1))


def test_the_whole_pipeline_on_the_sample_publisher(publisher, run_worker, client):
    """One ingestion (it takes a while), then every property checked on its result."""
    feeds = subscribe_all(publisher)
    run_worker()
    ingested = (publisher, feeds)
    check_every_article_is_fetched_extracted_and_stored_once(ingested)
    check_extracted_fields_match_what_the_publisher_wrote(ingested)
    check_one_article_through_two_feeds_is_stored_once_and_linked_to_both(ingested)
    check_stored_article_is_shown_on_its_page(ingested, client)
    check_every_article_is_enriched(ingested)
    check_second_poll_is_conditional_and_stores_nothing_new(ingested, run_worker)


def corpus_urls(publisher) -> set[str]:
    return {normalize_url(publisher.article_url(a)) for a in publisher.corpus.articles}


def stored_article(publisher, written) -> Article:
    url = normalize_url(publisher.article_url(written))
    return Article.objects.get(canonical_url=url, state=Article.State.DONE)


def check_every_article_is_fetched_extracted_and_stored_once(ingested):
    publisher, feeds = ingested
    assert Feed.objects.filter(error_count=0).count() == len(feeds)
    stored = Article.objects.filter(state=Article.State.DONE)
    assert set(stored.values_list("canonical_url", flat=True)) == corpus_urls(publisher)
    assert stored.count() == len(publisher.corpus.articles)
    assert not Article.objects.exclude(state__in=["done", "duplicate"]).exists()
    assert not stored.filter(text="").exists()
    assert not stored.filter(body_html="").exists()
    assert Source.objects.count() == len(publisher.corpus.outlets)


def check_extracted_fields_match_what_the_publisher_wrote(ingested):
    publisher, _ = ingested
    for written in publisher.corpus.articles:
        article = stored_article(publisher, written)
        assert article.title == written.title
        assert article.byline == written.byline.removeprefix("By ")
        assert written.paragraphs[0][:40].split("[")[0] in article.text
        assert abs(article.published_at - written.published) < timedelta(seconds=1)
        assert article.get_raw_html().startswith(b"<!DOCTYPE html>")
        if written.image:
            assert article.lead_image_url.startswith(publisher.base_url)
            assert written.image.caption.split("(")[0].strip()[:30] in article.caption
            assert written.image.credit in article.credit


def check_one_article_through_two_feeds_is_stored_once_and_linked_to_both(ingested):
    publisher, _ = ingested
    main_feed = Feed.objects.get(url=publisher.feeds(main_only=True)[0].url)
    assert ArticleFeed.objects.filter(feed=main_feed).exists()
    for link in ArticleFeed.objects.filter(feed=main_feed):
        others = ArticleFeed.objects.filter(article=link.article).exclude(feed=main_feed)
        assert others.exists(), f"{link.article.url} was reached only through the main feed"
    assert not Article.objects.filter(url__contains="utm_").exists()


def check_second_poll_is_conditional_and_stores_nothing_new(ingested, run_worker):
    publisher, feeds = ingested
    articles, links = Article.objects.count(), ArticleFeed.objects.count()
    publisher.stats.reset()
    make_everything_due()
    run_worker()
    for feed in feeds:
        path = feed.url.removeprefix(publisher.base_url)
        assert publisher.stats.conditional[path]["If-None-Match"] == 1, path
        assert publisher.stats.not_modified(path) == 1, path
    assert Article.objects.count() == articles
    assert ArticleFeed.objects.count() == links
    assert Feed.objects.filter(error_count=0, last_success_at__isnull=False).count() == len(feeds)


def check_stored_article_is_shown_on_its_page(ingested, client):
    publisher, _ = ingested
    written = next(a for a in publisher.corpus.articles if a.image)
    article = stored_article(publisher, written)
    page = client.get(reverse("article", args=[article.pk, "x"]), follow=True)
    html = page.content.decode()
    assert page.status_code == 200
    for expected in (written.title, article.source.name, article.credit):
        assert expected.replace("'", "&#x27;") in html
    assert "<figure" in html and "<figcaption" in html
    front = client.get("/").content.decode()
    assert article.source.name in front


def check_every_article_is_enriched(ingested):
    publisher, _ = ingested
    stored = Article.objects.filter(state=Article.State.DONE)
    assert not stored.filter(enrichment__isnull=True).exists()
    assert not stored.filter(enrich_due_at__isnull=False).exists()
    assert set(stored.values_list("language", flat=True)) == {"en"}
    for article in stored:
        assert 3 <= ArticleTag.objects.filter(article=article).count() <= 8, article.title
        related = RelatedArticle.objects.filter(article=article).select_related("related")
        assert all(row.related.source_id != article.source_id for row in related)
    for written in publisher.corpus.articles:
        copy = stored_article(publisher, written)
        if written.wire_of:
            outlet, slug = written.wire_of.split("/")
            original = stored_article(publisher, publisher.corpus.article(outlet, slug))
            assert copy.duplicate_of_id == original.pk, written.title
        else:
            assert copy.duplicate_of_id is None, written.title
