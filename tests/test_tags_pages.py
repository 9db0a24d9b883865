"""Tag pages: the stories carrying a tag, newest first, each story once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.enrichment.models import ArticleTag, Tag
from broadsheet.enrichment.tags import extract_tags
from broadsheet.front.queries import PER_PAGE
from tests.test_front import make_article, make_source, page_html, titles_in


@pytest.fixture
def ports():
    return Tag.objects.create(name="Ports", slug="ports")


def tagged(article, tag):
    ArticleTag.objects.create(article=article, tag=tag)
    return article


@pytest.mark.django_db
def test_tag_page_lists_tagged_stories_newest_first(client, ports):
    gazette = make_source()
    now = timezone.now()
    tagged(make_article(gazette, "Older", published_at=now - timedelta(hours=5)), ports)
    tagged(make_article(gazette, "Newer", published_at=now - timedelta(hours=1)), ports)
    make_article(gazette, "Untagged")
    tagged(make_article(gazette, "Pending", state=Article.State.PENDING), ports)

    html = page_html(client, "/tag/ports/")

    assert titles_in(html) == ["Newer", "Older"]
    assert "<h1" in html and "#Ports" in html
    assert "2 articles" in html


@pytest.mark.django_db
def test_a_tagged_copy_brings_its_original_once(client, ports):
    original = make_article(make_source(), "Cranes arrive")
    copy = make_article(
        make_source("Valley Courier", "valley-courier"), "Cranes arrive", duplicate_of=original
    )
    tagged(copy, ports)
    tagged(original, ports)

    html = page_html(client, "/tag/ports/")

    assert titles_in(html) == ["Cranes arrive"]
    assert "Also at" in html and "Valley Courier" in html


@pytest.mark.django_db
def test_tag_page_paginates_and_unknown_tags_are_not_found(client, ports):
    gazette = make_source()
    for n in range(PER_PAGE + 2):
        tagged(make_article(gazette, f"Story {n}"), ports)

    assert len(titles_in(page_html(client, "/tag/ports/"))) == PER_PAGE
    assert len(titles_in(page_html(client, "/tag/ports/?page=2"))) == 2
    assert client.get("/tag/ports/?page=3").status_code == 404
    assert client.get("/tag/no-such-tag/").status_code == 404


@pytest.mark.django_db
def test_empty_tag_page(client, ports):
    assert "No articles with this tag yet." in page_html(client, "/tag/ports/")


@pytest.mark.django_db
def test_a_tag_in_another_script_has_its_page(client):
    title = "Собянин открыл новую станцию метро"
    text = (
        "Мэр Москвы Сергей Собянин открыл в среду новую станцию метро. Собянин сказал, что "
        "станция примет сорок тысяч пассажиров в день."
    )
    article = make_article(make_source(), title)
    (person,) = [t for t in extract_tags(title, text, "ru") if t.name == "Собянин"]
    tag = Tag.objects.create(name=person.name, slug=person.slug, kind=person.kind)
    tagged(article, tag)

    html = page_html(client, reverse("tag", args=[person.slug]))

    assert person.slug == "собянин"
    assert titles_in(html) == [title] and "#Собянин" in html


@pytest.mark.django_db
def test_hostile_tag_names_are_escaped(client):
    Tag.objects.create(name='<svg onload=alert(1)>"', slug="svg")

    html = page_html(client, "/tag/svg/")

    assert "<svg onload" not in html
    assert re.search(r"#&lt;svg onload=alert\(1\)&gt;&quot;", html)


@pytest.mark.django_db
def test_the_most_covered_strip_shows_each_story_once(client):
    """Every report of a big story has a big coverage; the strip names the story once and
    makes room for the next one. A weak related row (another story) joins nothing."""
    from broadsheet.enrichment.models import RelatedArticle

    outlets = [make_source(f"Outlet {i}", f"outlet-{i}") for i in range(4)]
    now = timezone.now()
    fire = [
        make_article(outlets[i], f"Fire report {i}", published_at=now - timedelta(hours=i + 1))
        for i in range(4)
    ]
    flood = [
        make_article(outlets[i], f"Flood report {i}", published_at=now - timedelta(hours=i + 1))
        for i in range(3)
    ]
    for story, score in ((fire, 0.9), (flood, 0.8)):
        for article in story:
            for other in story:
                if other is not article:
                    RelatedArticle.objects.create(article=article, related=other, score=score)
    for article in fire:  # the flood is the nearest other story: listed, far below
        RelatedArticle.objects.create(article=article, related=flood[1], score=0.4)

    html = page_html(client, "/")

    strip = html[html.index('id="most-covered"') : html.index("</aside>")]
    titles = re.findall(r'class="covered-title"><a href="[^"]+">([^<]+)<', strip)
    assert titles == ["Fire report 0", "Flood report 0"], titles


@pytest.mark.django_db
def test_more_reports_counts_only_the_same_story(client):
    """A list's weaker rows (other stories that share a word or a place) are not reports of
    the story: "N more reports" counts the rows near the list's best."""
    from broadsheet.enrichment.models import RelatedArticle

    outlets = [make_source(f"Outlet {i}", f"outlet-{i}") for i in range(6)]
    now = timezone.now()
    recall = make_article(outlets[0], "Van recall", published_at=now - timedelta(hours=1))
    for i, score in ((1, 0.87), (2, 0.85), (3, 0.78), (4, 0.22), (5, 0.5)):
        other = make_article(outlets[i], f"Other {i}", published_at=now - timedelta(hours=2))
        RelatedArticle.objects.create(article=recall, related=other, score=score)

    html = page_html(client, "/")

    strip = html[html.index('id="most-covered"') : html.index("</aside>")]
    assert re.findall(r'class="covered-title"><a href="[^"]+">([^<]+)<', strip) == ["Van recall"]
    assert "3 more reports" in strip


@pytest.mark.django_db
def test_a_story_no_other_outlet_carries_is_not_most_covered(client):
    """Its list holds other stories, the best of them weak: none is a report of it."""
    from broadsheet.enrichment.models import RelatedArticle

    outlets = [make_source(f"Outlet {i}", f"outlet-{i}") for i in range(4)]
    now = timezone.now()
    lone = make_article(outlets[0], "Library opens", published_at=now - timedelta(hours=1))
    for i, score in ((1, 0.45), (2, 0.42), (3, 0.4)):
        other = make_article(outlets[i], f"Other {i}", published_at=now - timedelta(hours=2))
        RelatedArticle.objects.create(article=lone, related=other, score=score)

    assert 'id="most-covered"' not in page_html(client, "/")


@pytest.mark.django_db
def test_front_page_surfaces_the_most_covered_story(client):
    gazette, courier, herald = (
        make_source(),
        make_source("Valley Courier", "valley-courier"),
        make_source("Hill Herald", "hill-herald"),
    )
    now = timezone.now()
    big = make_article(gazette, "Big story", published_at=now - timedelta(hours=6))
    make_article(courier, "Big story", duplicate_of=big)
    make_article(herald, "Big story", duplicate_of=big)
    make_article(gazette, "Quiet story", published_at=now - timedelta(minutes=5))
    stale = make_article(gazette, "Old big story", published_at=now - timedelta(days=3))
    make_article(courier, "Old big story", duplicate_of=stale)
    make_article(herald, "Old big story", duplicate_of=stale)

    html = page_html(client, "/")

    strip = html[html.index('id="most-covered"') : html.index("</aside>")]
    assert re.findall(r'class="covered-title"><a href="[^"]+">([^<]+)<', strip) == ["Big story"]
    assert "2 more reports" in strip
    # The list below keeps plain newest-first order.
    assert titles_in(html) == ["Quiet story", "Big story", "Old big story"]
