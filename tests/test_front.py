"""The reader's pages, rendered for real from objects in a real database."""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime, timedelta
from itertools import count

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.front.links import article_slug, article_url, safe_external_url
from broadsheet.front.queries import PER_PAGE, page_number
from broadsheet.front.templatetags.front_tags import byline, describe_age, shorten
from broadsheet.sources.models import Source

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE_BREAKOUT = '"><img src=x onerror=alert(1)>'
_serial = count(1)


def make_source(name="Harbour Gazette", slug="harbour-gazette", **fields) -> Source:
    fields.setdefault("homepage", f"https://{slug}.example/")
    return Source.objects.create(name=name, slug=slug, **fields)


def make_article(source: Source, title="Tide tables revised", **fields) -> Article:
    n = next(_serial)
    fields.setdefault("url", f"https://{source.slug}.example/news/{n}")
    fields.setdefault("url_key", f"key-{n}")
    fields.setdefault("state", Article.State.DONE)
    fields.setdefault("published_at", timezone.now() - timedelta(hours=1))
    return Article.objects.create(source=source, title=title, **fields)


@pytest.fixture
def gazette() -> Source:
    return make_source()


@pytest.fixture
def courier() -> Source:
    return make_source("Valley Courier", "valley-courier", icon_url="https://valley.example/i.png")


def page_html(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def titles_in(html: str) -> list[str]:
    return re.findall(r'<h2 class="item-title"><a href="[^"]+">([^<]*)</a>', html)


# --- Front page ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_front_page_lists_done_articles_newest_first(client, gazette, courier):
    now = timezone.now()
    make_article(gazette, "Middle", published_at=now - timedelta(hours=2))
    make_article(courier, "Newest", published_at=now - timedelta(minutes=5))
    make_article(gazette, "Oldest", published_at=now - timedelta(days=3))
    make_article(
        gazette,
        "Undated but seen long ago",
        published_at=None,
        discovered_at=now - timedelta(days=5),
    )

    html = page_html(client, "/")

    assert titles_in(html) == ["Newest", "Middle", "Oldest", "Undated but seen long ago"]
    assert 'href="/source/valley-courier/">Valley Courier</a>' in html
    assert "5 minutes ago" in html


@pytest.mark.django_db
def test_front_page_hides_pending_failed_and_duplicate_articles(client, gazette, courier):
    original = make_article(gazette, "Shown original")
    make_article(gazette, "Still pending", state=Article.State.PENDING)
    make_article(gazette, "Fetch failed", state=Article.State.FAILED)
    make_article(gazette, "Marked duplicate", state=Article.State.DUPLICATE)
    make_article(courier, "Syndicated copy", duplicate_of=original)

    html = page_html(client, "/")

    assert titles_in(html) == ["Shown original"]
    # The copy is named under its original instead of being listed on its own.
    assert "Also at" in html and "Valley Courier" in html


@pytest.mark.django_db
def test_future_dates_do_not_pin_an_article_to_the_top(client, gazette):
    now = timezone.now()
    make_article(gazette, "Honest", published_at=now - timedelta(minutes=10))
    make_article(
        gazette,
        "Claims next year",
        published_at=now + timedelta(days=365),
        discovered_at=now - timedelta(hours=3),
    )

    assert titles_in(page_html(client, "/")) == ["Honest", "Claims next year"]


@pytest.mark.django_db
def test_front_page_teaser_prefers_text_then_feed_teaser(client, gazette):
    make_article(gazette, "With text", text="Harbour works begin. " * 40, teaser="feed summary")
    make_article(gazette, "Only teaser", teaser="The council met on Tuesday.")

    html = page_html(client, "/")

    assert "The council met on Tuesday." in html
    teaser = re.search(r'<p class="teaser">(Harbour works[^<]*)</p>', html).group(1)
    assert teaser.endswith("…") and len(teaser) <= 201


@pytest.mark.django_db
def test_front_page_paginates(client, gazette):
    start = timezone.now() - timedelta(days=1)
    for i in range(PER_PAGE + 5):
        make_article(gazette, f"Story {i:02d}", published_at=start + timedelta(minutes=i))

    first = page_html(client, "/")
    second = page_html(client, "/?page=2")

    assert len(titles_in(first)) == PER_PAGE
    assert titles_in(first)[0] == f"Story {PER_PAGE + 4:02d}"
    assert titles_in(second) == [f"Story {i:02d}" for i in range(4, -1, -1)]
    assert 'rel="next" href="?page=2"' in first
    assert 'rel="prev" href="/"' in second


@pytest.mark.django_db
@pytest.mark.parametrize("raw", ["abc", "0", "-3", "", "1.5", "9" * 5000, "%00"])
def test_bad_page_numbers_fall_back_to_the_first_page(client, gazette, raw):
    make_article(gazette, "Only story")

    assert titles_in(page_html(client, f"/?page={raw}")) == ["Only story"]


@pytest.mark.django_db
def test_a_page_past_the_end_is_not_found(client, gazette):
    make_article(gazette, "Only story")

    assert client.get("/?page=2").status_code == 404
    assert client.get("/?page=99999999999999999999").status_code == 404


@pytest.mark.django_db
def test_front_page_empty_state(client):
    html = page_html(client, "/")

    assert "No articles yet." in html
    assert "broadsheet add-feed URL" in html


@pytest.mark.django_db
def test_lists_never_load_heavy_columns(client, gazette, courier, django_assert_max_num_queries):
    for i in range(PER_PAGE):
        original = make_article(
            gazette,
            f"Story {i}",
            raw_html=zlib.compress(b"<p>x</p>"),
            text="Body " * 50,
            body_html="<p>Body</p>",
        )
        make_article(courier, f"Copy {i}", duplicate_of=original)

    with CaptureQueriesContext(connection) as queries:
        page_html(client, "/")
        page_html(client, "/source/harbour-gazette/")

    # The page cache's own work (the cache table, its savepoints) is not the lists' queries.
    ours = [
        q["sql"]
        for q in queries.captured_queries
        if "broadsheet_cache" not in q["sql"] and "SAVEPOINT" not in q["sql"]
    ]
    sql = " ".join(ours)
    assert '"raw_html"' not in sql
    assert '"body_html"' not in sql
    # Constant, not one query per row: count + page + copies, the "most covered" strip, and
    # the source lookup.
    assert len(ours) <= 8


# --- Article page -------------------------------------------------------------------------


def full_article(source: Source, **fields) -> Article:
    values = {
        "title": "Ferry service resumes after storm",
        "byline": "Harbour desk",
        "lead_image_url": "https://img.example/ferry.jpg",
        "lead_image_alt": "A ferry leaving the quay",
        "caption": "The first crossing since Monday.",
        "credit": "Port Authority",
        "body_html": '<p>Crossings restart at dawn.</p><p>See the <a href="https://port.example/'
        'timetable">timetable</a> for details.</p>',
        "canonical_url": "https://harbour-gazette.example/ferry-resumes",
        "raw_html": zlib.compress(b"<html>the whole publisher page</html>"),
    }
    values.update(fields)
    return make_article(source, **values)


@pytest.mark.django_db
def test_article_page_shows_every_part(client, courier):
    article = full_article(courier, published_at=timezone.now() - timedelta(hours=4))

    html = page_html(client, article_url(article))

    assert "<h1" in html and "Ferry service resumes after storm</h1>" in html
    assert '<a class="source" href="/source/valley-courier/">Valley Courier</a>' in html
    assert 'src="https://valley.example/i.png"' in html
    assert "By Harbour desk" in html
    iso = timezone.localtime(article.published_at).isoformat()
    assert re.search(rf'<time datetime="{re.escape(iso)}" title="[^"]+">4 hours ago</time>', html)
    assert re.search(
        r'<img src="https://img.example/ferry.jpg" alt="A ferry leaving the quay"'
        r' loading="lazy"',
        html,
    )
    assert "The first crossing since Monday." in html
    assert "Photo: Port Authority" in html
    assert "<p>Crossings restart at dawn.</p>" in html
    # Inline links open the original in a new tab, with no handle back to this page.
    assert (
        '<a href="https://port.example/timetable" rel="noopener nofollow ugc" target="_blank">'
        "timetable</a>"
    ) in html
    assert (
        '<a href="https://harbour-gazette.example/ferry-resumes" rel="noopener nofollow">'
        "Read the original at Valley Courier</a>"
    ) in html


@pytest.mark.django_db
def test_article_page_never_loads_the_raw_page(client, gazette):
    article = full_article(gazette)

    with CaptureQueriesContext(connection) as queries:
        page_html(client, article_url(article))

    assert not any('"raw_html"' in q["sql"] for q in queries.captured_queries)


@pytest.mark.django_db
def test_article_without_html_body_falls_back_to_plain_text(client, gazette):
    article = make_article(
        gazette,
        "Plain",
        url="https://harbour-gazette.example/plain",
        text="First paragraph.\n\nSecond <b>paragraph</b>.",
    )

    html = page_html(client, article_url(article))

    assert "<p>First paragraph.</p>" in html
    assert "Second &lt;b&gt;paragraph&lt;/b&gt;." in html
    assert 'href="https://harbour-gazette.example/plain" rel="noopener nofollow"' in html


@pytest.mark.django_db
def test_wrong_or_missing_slug_redirects_permanently(client, gazette):
    article = make_article(gazette, "Bridge reopens")
    right = f"/article/{article.pk}/bridge-reopens/"

    assert article_url(article) == right
    for wrong in (f"/article/{article.pk}/old-headline/", f"/article/{article.pk}/"):
        response = client.get(wrong)
        assert response.status_code == 301
        assert response["Location"] == right


@pytest.mark.django_db
def test_unicode_headlines_keep_readable_slugs(client, gazette):
    article = make_article(gazette, "Über die Brücke: 渡船 resumes")

    url = article_url(article)

    assert client.get(url).status_code == 200
    assert article_slug(article.title) == "über-die-brücke-渡船-resumes"


@pytest.mark.django_db
def test_unknown_and_unpublished_articles_are_not_found(client, gazette):
    pending = make_article(gazette, "Pending", state=Article.State.PENDING)

    assert client.get("/article/999999/anything/").status_code == 404
    assert client.get(f"/article/{pending.pk}/pending/").status_code == 404
    assert client.get("/source/no-such-source/").status_code == 404


@pytest.mark.django_db
def test_hostile_text_is_escaped_everywhere(client, gazette):
    for hostile in (SCRIPT, ATTRIBUTE_BREAKOUT):
        Article.objects.all().delete()
        article = full_article(
            gazette,
            title=f"Headline {hostile}",
            byline=hostile,
            caption=hostile,
            credit=hostile,
            lead_image_alt=hostile,
            teaser=hostile,
            body_html="<p>clean</p>",
        )
        for url in ("/", article_url(article), "/source/harbour-gazette/"):
            html = page_html(client, url)
            assert hostile not in html, url
        assert hostile.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;") in html


@pytest.mark.django_db
def test_publisher_links_must_be_http(client):
    source = make_source(
        "Odd Source", "odd-source", homepage="https://odd.example/", icon_url="javascript:alert(1)"
    )
    article = full_article(
        source, canonical_url="", url="javascript:alert(1)", lead_image_url="data:text/html,boom"
    )

    html = page_html(client, article_url(article))

    assert "javascript:" not in html
    assert "data:text/html" not in html
    assert "Read the original" not in html


# --- Source pages -------------------------------------------------------------------------


@pytest.mark.django_db
def test_source_page_lists_its_own_articles(client, gazette, courier):
    make_article(gazette, "Gazette story")
    make_article(courier, "Courier story")
    make_article(gazette, "Gazette draft", state=Article.State.PENDING)

    html = page_html(client, "/source/harbour-gazette/")

    assert "<h1" in html and "Harbour Gazette" in html
    assert 'href="https://harbour-gazette.example/"' in html
    assert titles_in(html) == ["Gazette story"]


@pytest.mark.django_db
def test_source_page_empty_state_and_pagination(client, gazette):
    assert "No articles from Harbour Gazette yet." in page_html(client, "/source/harbour-gazette/")
    assert client.get("/source/harbour-gazette/?page=2").status_code == 404


@pytest.mark.django_db
def test_sources_list_counts_published_articles(client, gazette, courier):
    make_article(gazette, "One")
    make_article(gazette, "Two")
    make_article(gazette, "Not yet", state=Article.State.PENDING)

    html = page_html(client, "/sources/")

    assert re.search(r"Harbour Gazette</a>\s*<span class=\"meta\">2 articles</span>", html)
    assert re.search(r"Valley Courier</a>\s*<span class=\"meta\">0 articles</span>", html)
    assert 'aria-current="page">Sources' in html


@pytest.mark.django_db
def test_layout_has_header_navigation_and_footer(client, settings):
    settings.SITE_NAME = "Morning Edition"

    html = page_html(client, "/")

    assert '<a class="site-name" href="/">Morning Edition</a>' in html
    assert 'href="/sources/"' in html
    for landmark in ("<header", "<nav", "<main", "<footer"):
        assert landmark in html
    assert re.search(r'<link rel="stylesheet" href="/static/front/broadsheet\.css"', html)


@pytest.mark.django_db
def test_stylesheet_is_served_locally(client):
    response = client.get("/static/front/broadsheet.css")

    assert response.status_code == 200
    css = b"".join(response.streaming_content).decode()
    assert "prefers-color-scheme: dark" in css
    assert "focus-visible" in css
    assert "http" not in css and "@import" not in css


# --- Filters ------------------------------------------------------------------------------

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("ago", "expected"),
    [
        (timedelta(seconds=-300), "just now"),
        (timedelta(0), "just now"),
        (timedelta(seconds=59), "just now"),
        (timedelta(seconds=60), "1 minute ago"),
        (timedelta(seconds=119), "1 minute ago"),
        (timedelta(minutes=4), "4 minutes ago"),
        (timedelta(minutes=59, seconds=59), "59 minutes ago"),
        (timedelta(hours=1), "1 hour ago"),
        (timedelta(hours=4, minutes=30), "4 hours ago"),
        (timedelta(hours=23, minutes=59), "23 hours ago"),
        (timedelta(hours=24), "yesterday"),
        (timedelta(hours=36), "yesterday"),
        (timedelta(hours=37), "13 Jun"),
        (timedelta(days=100), "7 Mar"),
        (timedelta(days=200), "27 Nov 2025"),
    ],
)
def test_describe_age(settings, ago, expected):
    settings.TIME_ZONE = "UTC"

    assert describe_age(NOW - ago, NOW) == expected


def test_describe_age_uses_the_local_calendar(settings):
    settings.TIME_ZONE = "Asia/Tokyo"  # 21:00 there when it is noon in UTC
    late_evening = datetime(2026, 6, 14, 11, 0, tzinfo=UTC)  # 20:00 the day before in Tokyo

    assert describe_age(late_evening, NOW) == "yesterday"
    assert describe_age(datetime(2026, 6, 13, 14, 0, tzinfo=UTC), NOW) == "13 Jun"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(None, 1), ("", 1), ("2", 2), ("0", 1), ("-4", 1), ("x", 1), ("2.0", 1), ("9" * 5000, 1)],
)
def test_page_number(raw, expected):
    assert page_number(raw) == expected


def test_shorten_cuts_at_a_word_boundary():
    text = "word " * 100

    short = shorten(text, 20)

    assert short == "word word word word…"
    assert shorten("  two\n\nlines ") == "two lines"
    assert shorten("x" * 300, 10) == "x" * 10 + "…"


def test_byline_and_links():
    assert byline("A. Writer") == "By A. Writer"
    assert byline("by the desk") == "by the desk"
    assert safe_external_url(" https://a.example/x ") == "https://a.example/x"
    for bad in ("javascript:alert(1)", "JAVASCRIPT:x", "data:,x", "//a.example", "http://[::1"):
        assert safe_external_url(bad) == ""
    assert article_slug("") == "article"
    assert len(article_slug("long headline " * 20)) <= 80
