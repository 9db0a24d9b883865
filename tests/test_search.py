"""Search over titles and text, from the header's search box."""

from __future__ import annotations

import pytest

from broadsheet.front.queries import PER_PAGE, SEARCH_MAX_CHARS
from tests.test_front import make_article, make_source, page_html, titles_in


@pytest.fixture
def gazette():
    return make_source()


@pytest.mark.django_db
def test_header_has_a_search_box(client):
    html = page_html(client, "/")

    assert '<form class="site-search" role="search" method="get" action="/search/">' in html
    assert 'name="q"' in html


@pytest.mark.django_db
def test_search_matches_title_and_text_case_insensitively(client, gazette):
    make_article(gazette, "Lighthouse repainted")
    make_article(gazette, "Council meets", text="The LIGHTHOUSE budget was approved.")
    make_article(gazette, "Unrelated", text="Nothing here.")

    html = page_html(client, "/search/?q=lighthouse")

    assert sorted(titles_in(html)) == ["Council meets", "Lighthouse repainted"]
    assert "2 results" in html


@pytest.mark.django_db
def test_empty_query_prompts(client, gazette):
    make_article(gazette, "Anything")

    for url in ("/search/", "/search/?q=", "/search/?q=%20%20"):
        html = page_html(client, url)
        assert "Type a word or a phrase" in html
        assert titles_in(html) == []


@pytest.mark.django_db
def test_no_results_and_hostile_queries_are_escaped(client, gazette):
    hostile = '"><script>alert(1)</script>'

    html = page_html(client, "/search/?q=" + hostile)

    assert "<script>alert(1)" not in html
    assert "Nothing found for" in html and "&lt;script&gt;" in html


@pytest.mark.django_db
def test_long_queries_are_capped(client, gazette):
    make_article(gazette, "x" * 300)

    html = page_html(client, "/search/?q=" + "x" * 5000)

    assert f'value="{"x" * SEARCH_MAX_CHARS}"' in html
    assert "x" * (SEARCH_MAX_CHARS + 1) + '"' not in html
    assert len(titles_in(html)) == 1


@pytest.mark.django_db
def test_search_paginates_keeping_the_query(client, gazette):
    for n in range(PER_PAGE + 1):
        make_article(gazette, f"Harbour note {n}")

    first = page_html(client, "/search/?q=harbour+note")
    second = page_html(client, "/search/?q=harbour+note&page=2")

    assert len(titles_in(first)) == PER_PAGE
    assert 'href="?q=harbour%20note&amp;page=2"' in first
    assert len(titles_in(second)) == 1


@pytest.mark.django_db
def test_search_skips_copies_and_unpublished(client, gazette):
    original = make_article(gazette, "Tunnel opens")
    make_article(
        make_source("Valley Courier", "valley-courier"), "Tunnel opens", duplicate_of=original
    )
    make_article(gazette, "Tunnel draft", state="pending")

    assert titles_in(page_html(client, "/search/?q=tunnel")) == ["Tunnel opens"]
