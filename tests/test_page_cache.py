"""Anonymous pages come from the shared cache and go stale the moment their data changes."""

from __future__ import annotations

from datetime import timedelta

import pytest
from csp.decorators import csp_update
from django.contrib.auth import get_user_model
from django.db import connection
from django.http import HttpResponse
from django.middleware.csrf import get_token
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone

from broadsheet.community.actions import do_delete_comment
from broadsheet.community.models import Comment
from broadsheet.enrichment.models import ArticleTag, Tag
from broadsheet.front import pagecache
from broadsheet.front.links import article_url
from broadsheet.front.pagecache import cached_page, list_scopes
from tests.test_front import make_article, make_source

HEADER = "X-Broadsheet-Cache"


@cached_page(list_scopes)
def page_with_a_form(request):
    return HttpResponse(f"<form><input name=csrfmiddlewaretoken value={get_token(request)}>")


@cached_page(list_scopes)
@csp_update({"img-src": ["https://maps.example.org"]})
def page_with_its_own_policy(request):
    return HttpResponse("<p>map</p>")


# Used by the tests marked with pytest.mark.urls(__name__): the site plus two test pages.
urlpatterns = [
    path("test/form/", page_with_a_form),
    path("test/map/", page_with_its_own_policy),
    path("", include("broadsheet.urls")),
]


@pytest.fixture(autouse=True)
def fresh_process():
    pagecache.clear_local()
    yield
    pagecache.clear_local()


@pytest.fixture
def story():
    source = make_source()
    return make_article(source, "Bridge reopens", text="The bridge reopened on Monday.")


@pytest.fixture
def reader():
    return get_user_model().objects.create_user("reader", "reader@example.com", "pw-for-tests-1")


def app_queries(captured) -> list[str]:
    return [
        q["sql"]
        for q in captured
        if "broadsheet_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/source/harbour-gazette/", "/tag/bridges/", "ARTICLE"])
def test_second_anonymous_request_is_served_from_the_cache(client, story, path):
    ArticleTag.objects.create(article=story, tag=Tag.objects.create(name="Bridges", slug="bridges"))
    url = article_url(story) if path == "ARTICLE" else path

    first = client.get(url)
    with CaptureQueriesContext(connection) as captured:
        second = client.get(url)

    assert first[HEADER] == "miss" and second[HEADER] == "hit"
    assert second.content == first.content
    assert app_queries(captured.captured_queries) == []
    # One read of the version keys, and nothing else: the page comes from this process's copy.
    assert len(captured.captured_queries) == 1


@pytest.mark.django_db
def test_another_process_reads_the_page_from_the_shared_cache(client, story):
    client.get(article_url(story))
    pagecache.clear_local()  # as if the next request landed on another worker

    with CaptureQueriesContext(connection) as captured:
        response = client.get(article_url(story))

    assert response[HEADER] == "hit"
    assert app_queries(captured.captured_queries) == []


@pytest.mark.django_db
def test_no_database_queries_at_all_with_a_memory_cache(client, story, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    client.get(article_url(story))

    with CaptureQueriesContext(connection) as captured:
        assert client.get(article_url(story))[HEADER] == "hit"

    assert captured.captured_queries == []


@pytest.mark.django_db
def test_new_comment_invalidates_the_article_and_the_lists(client, story, reader):
    client.get(article_url(story))
    client.get("/")

    Comment.objects.create(article=story, author=reader, text="Finally open again.")

    page = client.get(article_url(story))
    front = client.get("/")
    assert page[HEADER] == "miss" and "Finally open again." in page.content.decode()
    assert front[HEADER] == "miss" and "1 comment" in front.content.decode()


@pytest.mark.django_db
def test_deleting_a_comment_invalidates_although_it_bypasses_signals(client, story, reader):
    comment = Comment.objects.create(article=story, author=reader, text="Soon to be gone.")
    assert "Soon to be gone." in client.get(article_url(story)).content.decode()

    do_delete_comment(comment)

    assert "Soon to be gone." not in client.get(article_url(story)).content.decode()


@pytest.mark.django_db
def test_retagging_invalidates(client, story):
    old = Tag.objects.create(name="Roads", slug="roads")
    link = ArticleTag.objects.create(article=story, tag=old)
    assert "#Roads" in client.get(article_url(story)).content.decode()

    link.delete()
    ArticleTag.objects.create(article=story, tag=Tag.objects.create(name="Rivers", slug="rivers"))

    html = client.get(article_url(story)).content.decode()
    assert "#Rivers" in html and "#Roads" not in html


@pytest.mark.django_db
def test_article_change_invalidates(client, story):
    client.get(article_url(story))
    client.get("/")

    story.byline = "Night desk"
    story.published_at = timezone.now() - timedelta(minutes=1)
    story.save()

    assert "By Night desk" in client.get(article_url(story)).content.decode()
    assert client.get("/")[HEADER] == "miss"


@pytest.mark.django_db
def test_signed_in_readers_get_their_own_uncached_page(client, story, reader):
    client.get(article_url(story))  # an anonymous copy now exists
    client.force_login(reader)

    response = client.get(article_url(story))

    assert HEADER not in response
    html = response.content.decode()
    assert "csrfmiddlewaretoken" in html and "Signed in as reader" in html
    client.logout()
    anonymous = client.get(article_url(story)).content.decode()
    assert "csrfmiddlewaretoken" not in anonymous and "Signed in as" not in anonymous


@pytest.mark.django_db
def test_cached_pages_set_no_cookies_and_vary_on_cookie(client, story):
    client.get(article_url(story))

    response = client.get(article_url(story))

    assert response[HEADER] == "hit"
    assert not response.cookies
    assert "Cookie" in response["Vary"]


@pytest.mark.django_db
def test_errors_and_redirects_are_not_cached(client, story):
    assert client.get(f"/article/{story.pk}/wrong-slug/").status_code == 301
    assert HEADER not in client.get("/tag/missing/")
    assert client.get("/?page=9").status_code == 404
    assert HEADER not in client.get("/?page=9")


@pytest.mark.django_db
def test_bulk_written_related_rows_invalidate_through_the_helper(client, story):
    from broadsheet.enrichment.models import RelatedArticle

    other = make_article(story.source, "Ferry timetable changes")
    assert "Ferry timetable changes" not in client.get(article_url(story)).content.decode()

    RelatedArticle.objects.bulk_create([RelatedArticle(article=story, related=other, score=0.5)])
    stale = client.get(article_url(story))
    pagecache.enrichment_changed([story.pk])
    fresh = client.get(article_url(story))

    assert stale[HEADER] == "hit"  # bulk_create sends no signal: the caller must say so
    assert "Ferry timetable changes" in fresh.content.decode()


@pytest.mark.django_db
def test_a_hit_is_answered_before_sessions_auth_and_the_view(client, story):
    client.get(article_url(story))

    response = client.get(article_url(story))

    assert response[HEADER] == "hit"
    request = response.wsgi_request
    assert not hasattr(request, "session") and not hasattr(request, "user")
    assert response["X-Frame-Options"] == "DENY"  # kept from the inner middleware's miss
    assert int(response["Content-Length"]) == len(response.content)


@pytest.mark.django_db
@pytest.mark.parametrize("cookie", ["sessionid", "messages"])
def test_a_session_or_message_cookie_bypasses_the_cache(client, story, cookie):
    client.get(article_url(story))
    client.cookies[cookie] = "anything"

    response = client.get(article_url(story))

    assert response.status_code == 200 and HEADER not in response


@pytest.mark.django_db
def test_an_authorization_header_bypasses_the_cache(client, story):
    client.get(article_url(story))

    assert HEADER not in client.get(article_url(story), HTTP_AUTHORIZATION="Bearer x")


@pytest.mark.django_db
def test_a_cached_page_still_refuses_an_unknown_host(client, story):
    client.get(article_url(story))
    assert client.get(article_url(story))[HEADER] == "hit"

    assert client.get(article_url(story), HTTP_HOST="evil.example").status_code == 400


@pytest.mark.django_db
def test_head_is_answered_from_the_cache_but_never_stores(client, story):
    assert HEADER not in client.head(article_url(story))
    assert client.get(article_url(story))[HEADER] == "miss"

    assert client.head(article_url(story))[HEADER] == "hit"


@pytest.mark.django_db
def test_posts_are_never_answered_from_the_cache(client, story):
    client.get("/")

    assert HEADER not in client.post("/")


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_page_that_sets_the_csrf_cookie_is_never_shared(client):
    first = client.get("/test/form/")
    second = client.get("/test/form/")

    assert "csrftoken" in first.cookies
    assert HEADER not in first and HEADER not in second


@pytest.mark.django_db
@pytest.mark.urls(__name__)
def test_a_hit_keeps_the_views_own_content_security_policy(client):
    assert client.get("/test/map/")[HEADER] == "miss"
    pagecache.clear_local()  # the hit comes from the shared cache, as on another worker

    hit = client.get("/test/map/")

    assert hit[HEADER] == "hit"
    assert "https://maps.example.org" in hit["Content-Security-Policy"]
