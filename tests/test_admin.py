"""The operator's admin: three personas meet the changelists, the actions and the detail pages.

An operator (superuser), a staff member without permissions, and an anonymous visitor.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from broadsheet.articles.models import Article, ArticleFeed
from broadsheet.sources.models import Feed, Source

CHANGELISTS = ["sources_source", "sources_feed", "articles_article"]


@pytest.fixture
def operator(client):
    user = User.objects.create_superuser("operator", "operator@example.invalid", None)
    client.force_login(user)
    return client


@pytest.fixture
def staffer(client):
    user = User.objects.create_user("staffer", password=None, is_staff=True)
    client.force_login(user)
    return client


@pytest.fixture
def source() -> Source:
    return Source.objects.create(
        name="Harbour Gazette", slug="harbour-gazette", homepage="https://harbour.example/"
    )


@pytest.fixture
def feed(source) -> Feed:
    return Feed.objects.create(
        source=source,
        url="https://harbour.example/feed.xml",
        title="Harbour news",
        next_poll_at=timezone.now() + timedelta(hours=2),
        error_count=4,
        last_error_kind="timeout",
        last_error="read timed out after 20 s\n<b>second line</b>",
    )


@pytest.fixture
def article(source, feed) -> Article:
    article = Article(
        source=source,
        url="https://harbour.example/a/1",
        url_key="k1",
        title="Quay repairs finish early",
        state=Article.State.DONE,
        published_at=timezone.now(),
        body_html="<p>Done.</p>",
    )
    article.set_raw_html(b"<html>" + b"publisher page " * 2000 + b"</html>")
    article.save()
    ArticleFeed.objects.create(article=article, feed=feed, guid="entry-guid-77")
    return article


@pytest.mark.django_db
@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_operator_sees_every_changelist(operator, article, changelist):
    response = operator.get(reverse(f"admin:{changelist}_changelist"))

    assert response.status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_anonymous_visitor_is_sent_to_login(client, changelist):
    url = reverse(f"admin:{changelist}_changelist")

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
@pytest.mark.parametrize("changelist", CHANGELISTS)
def test_staff_without_permissions_is_refused(staffer, changelist):
    assert staffer.get(reverse(f"admin:{changelist}_changelist")).status_code == 403


@pytest.mark.django_db
def test_source_changelist_counts_feeds_and_articles(operator, source, feed, article):
    Feed.objects.create(source=source, url="https://harbour.example/sport.xml")

    html = operator.get(reverse("admin:sources_source_changelist")).content.decode()

    assert '<td class="field-feed_count">2</td>' in html
    assert '<td class="field-article_count">1</td>' in html


@pytest.mark.django_db
def test_changelist_search_and_filters(operator, feed, article):
    feeds = reverse("admin:sources_feed_changelist")
    articles = reverse("admin:articles_article_changelist")

    assert "harbour.example/feed.xml" in operator.get(feeds, {"q": "harbour"}).content.decode()
    assert "feed.xml" not in operator.get(feeds, {"q": "nothing-like-it"}).content.decode()
    assert "feed.xml" in operator.get(feeds, {"last_error_kind": "timeout"}).content.decode()
    assert "Quay repairs" in operator.get(articles, {"q": "quay"}).content.decode()
    assert "Quay repairs" not in operator.get(articles, {"state": "failed"}).content.decode()


@pytest.mark.django_db
def test_feed_detail_shows_the_last_error_readably(operator, feed):
    response = operator.get(reverse("admin:sources_feed_change", args=[feed.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert "read timed out after 20 s<br>&lt;b&gt;second line&lt;/b&gt;" in html


@pytest.mark.django_db
def test_poll_now_makes_feeds_due(operator, feed):
    before = timezone.now()

    operator.post(
        reverse("admin:sources_feed_changelist"),
        {"action": "poll_now", "_selected_action": [feed.pk]},
    )

    feed.refresh_from_db()
    assert before <= feed.next_poll_at <= timezone.now()


@pytest.mark.django_db
def test_reset_errors_clears_the_counter(operator, feed):
    operator.post(
        reverse("admin:sources_feed_changelist"),
        {"action": "reset_errors", "_selected_action": [feed.pk]},
    )

    feed.refresh_from_db()
    assert (feed.error_count, feed.last_error_kind, feed.last_error) == (0, "", "")


@pytest.mark.django_db
def test_article_detail_shows_raw_size_not_raw_html(operator, article):
    response = operator.get(reverse("admin:articles_article_change", args=[article.pk]))

    html = response.content.decode()
    compressed = len(bytes(Article.objects.get(pk=article.pk).raw_html))
    assert response.status_code == 200
    assert 'name="raw_html"' not in html
    assert "publisher page" not in html
    assert f"{compressed}\xa0bytes" in html
    assert "entry-guid-77" in html  # the read-only ArticleFeed inline
    assert 'name="articlefeed_set-0-guid"' not in html


@pytest.mark.django_db
def test_article_edit_keeps_the_raw_page(operator, article, source):
    url = reverse("admin:articles_article_change", args=[article.pk])
    form = {
        "url": article.url,
        "canonical_url": "",
        "source": source.pk,
        "title": "Edited title",
        "teaser": "",
        "byline": "",
        "language": "",
        "lead_image_url": "",
        "lead_image_alt": "",
        "caption": "",
        "credit": "",
        "state": "done",
        "attempts": 0,
        "next_attempt_at_0": "2026-01-01",
        "next_attempt_at_1": "00:00:00",
        "published_at_0": "2026-01-01",
        "published_at_1": "00:00:00",
        "articlefeed_set-TOTAL_FORMS": 1,
        "articlefeed_set-INITIAL_FORMS": 1,
        "articlefeed_set-0-id": ArticleFeed.objects.get().pk,
        "articlefeed_set-0-article": article.pk,
    }

    response = operator.post(url, form)

    assert response.status_code == 302, response.content.decode()[:2000]
    article.refresh_from_db()
    assert article.title == "Edited title"
    assert article.get_raw_html().startswith(b"<html>publisher page")


@pytest.mark.django_db
def test_article_changelist_does_not_load_raw_html(operator, article):
    with CaptureQueriesContext(connection) as queries:
        operator.get(reverse("admin:articles_article_changelist"))

    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert 'LENGTH("articles_article"."raw_html")' in sql
    assert '"raw_html"' not in sql.replace('LENGTH("articles_article"."raw_html")', "")
