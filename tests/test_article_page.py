"""The article page, part by part and in order, rendered from a real database."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from broadsheet.enrichment.models import ArticleTag, RelatedArticle, Tag
from broadsheet.front.links import article_url
from broadsheet.front.models import AdSlot
from broadsheet.sources.models import Source
from tests.test_front import make_article, make_source, page_html

HOSTILE = '<script>alert("x")</script><img src=x onerror=alert(1)>'
BODY = "".join(f"<p>Paragraph {n} about the ferry. It sails at dawn.</p>" for n in range(1, 7))
TEXT = "\n\n".join(f"Paragraph {n} about the ferry. It sails at dawn." for n in range(1, 7))


@pytest.fixture
def courier() -> Source:
    return make_source("Valley Courier", "valley-courier", icon_url="https://valley.example/i.png")


@pytest.fixture
def herald() -> Source:
    return make_source("Hill Herald", "hill-herald")


def ferry_story(source: Source, **fields):
    values = {
        "title": "Ferry returns to the harbour",
        "byline": "Quay desk",
        "lead_image_url": "https://img.example/ferry.jpg",
        "lead_image_alt": "The ferry at the quay",
        "caption": "Back in service.",
        "credit": "Port office",
        "body_html": BODY + '<p>See the <a href="https://port.example/t" rel="noopener nofollow '
        'ugc">timetable</a>.</p>',
        "text": TEXT,
        "canonical_url": "https://valley-courier.example/ferry",
        "published_at": timezone.now() - timedelta(minutes=4),
    }
    values.update(fields)
    return make_article(source, **values)


def tag(article, name: str, rank: int, slug: str = "") -> Tag:
    found, _ = Tag.objects.get_or_create(slug=slug or name.lower(), defaults={"name": name})
    ArticleTag.objects.create(article=article, tag=found, rank=rank)
    return found


def positions(html: str, markers: list[str]) -> list[int]:
    found = [html.find(marker) for marker in markers]
    assert -1 not in found, [m for m, at in zip(markers, found, strict=True) if at < 0]
    return found


@pytest.mark.django_db
def test_every_part_is_present_and_in_order(client, courier, herald):
    article = ferry_story(courier)
    tag(article, "Harbour", 0)
    other = make_article(herald, "Harbour dredging starts", text="Work begins on the channel.")
    RelatedArticle.objects.create(article=article, related=other, score=0.9)

    html = page_html(client, article_url(article))

    markers = [
        '<h1 class="story-title" id="story-title">Ferry returns to the harbour</h1>',
        '<a class="source" href="/source/valley-courier/">Valley Courier</a>',
        '<span class="byline">By Quay desk</span>',
        ">4 minutes ago</time>",
        'alt="The ferry at the quay"',
        '<span class="credit">Photo: Port office</span>',
        '<div class="story-body" id="story-body">',
        "Read the original at Valley Courier",
        '<section class="hashtags" id="hashtags"',
        '<section class="ai-box" id="ai-box"',
        'id="comments"',
        '<section class="related" id="related"',
    ]
    at = positions(html, markers)
    assert at == sorted(at)
    assert 'src="https://valley.example/i.png"' in html
    assert re.search(r'<time datetime="[^"]+" title="[^"]+">4 minutes ago</time>', html)
    assert '<a rel="tag" href="/tag/harbour/">#Harbour</a>' in html
    assert 'src="/static/front/broadsheet.js"' in html and "<script>" not in html
    assert " onclick=" not in html and "csrfmiddlewaretoken" not in html


@pytest.mark.django_db
def test_inline_links_open_the_original_safely(client, courier):
    html = page_html(client, article_url(ferry_story(courier)))

    link = re.search(r'<a href="https://port.example/t"[^>]*>timetable</a>', html).group(0)
    assert 'target="_blank"' in link
    assert 'rel="noopener nofollow ugc"' in link


@pytest.mark.django_db
def test_ai_box_carries_its_endpoints_as_data(client, courier):
    article = ferry_story(courier)

    html = page_html(client, article_url(article))

    assert f'data-summary-url="/article/{article.pk}/ai/summary.json"' in html
    assert f'data-key-points-url="/article/{article.pk}/ai/key-points.json"' in html
    assert f'data-ask-url="/article/{article.pk}/ai/ask"' in html
    assert 'data-csrf-url="/csrf.json"' in html
    for control in ('id="ai-summary"', 'id="ai-key-points"', 'id="ai-question"'):
        assert control in html


@pytest.mark.django_db
def test_teaser_mode_cuts_and_links_to_the_original(client):
    source = make_source("Paywall Post", "paywall-post", body_mode="teaser", teaser_paragraphs=2)
    article = ferry_story(source, canonical_url="https://paywall-post.example/ferry")

    html = page_html(client, article_url(article))

    assert "Paragraph 2 about" in html and "Paragraph 3 about" not in html
    assert (
        '<a class="continue-link" href="https://paywall-post.example/ferry" '
        'rel="noopener nofollow">Continue reading at Paywall Post</a>'
    ) in html
    assert "Read the original at" not in html


@pytest.mark.django_db
def test_plain_text_teaser_is_escaped(client):
    source = make_source("Text Only", "text-only", body_mode="teaser", teaser_paragraphs=1)
    article = make_article(source, "Plain", text=f"First {HOSTILE}\n\nSecond para.")

    html = page_html(client, article_url(article))

    assert "First &lt;script&gt;" in html and "Second para." not in html
    assert HOSTILE not in html


@pytest.mark.django_db
def test_ads_are_off_by_default(client, courier):
    AdSlot.objects.create(name="House", html="<b>Subscribe</b>", every_paragraphs=2)

    html = page_html(client, article_url(ferry_story(courier)))

    assert "Advertisement" not in html and "Subscribe" not in html


@pytest.mark.django_db
def test_ads_sit_between_paragraphs_labelled_with_reserved_height(client, courier):
    slot = AdSlot.objects.create(
        name="House", html="<b>Subscribe</b>", every_paragraphs=2, height=180, enabled=True
    )

    html = page_html(client, article_url(ferry_story(courier)))

    body = html[html.index('id="story-body"') : html.index("</div>\n\n  ")]
    # Seven paragraphs: after the 2nd, 4th and 6th, never after the last one.
    assert body.count('aria-label="Advertisement"') == 3
    assert body.count('<p class="ad-label">Advertisement</p>') == 3
    assert re.search(r"It sails at dawn\.</p>\s*<aside class=\"ad-slot ad-slot-\d+\"", body)
    for chunk in re.findall(r"<p>(.*?)</p>", body, flags=re.S):
        assert "ad-slot" not in chunk
    assert '<link rel="stylesheet" href="/ads.css">' in html
    css = client.get("/ads.css").content.decode()
    assert f".ad-slot-{slot.pk} .ad-content {{ min-height: 180px; }}" in css


@pytest.mark.django_db
def test_tags_in_rank_order_link_to_tag_pages(client, courier):
    article = ferry_story(courier)
    tag(article, "Zeta", 1)
    tag(article, "Alpha", 2)
    tag(article, "Ferries", 0)

    html = page_html(client, article_url(article))

    names = re.findall(r'<a rel="tag" href="/tag/([^/]+)/">#([^<]+)</a>', html)
    assert names == [("ferries", "Ferries"), ("zeta", "Zeta"), ("alpha", "Alpha")]
    assert client.get("/tag/zeta/").status_code == 200


@pytest.mark.django_db
def test_related_collapses_syndicated_copies(client, courier, herald):
    wire = make_source("Wire Service", "wire-service")
    article = ferry_story(courier)
    original = make_article(wire, "Storm season ends", text="The storm season is over now.")
    copy_a = make_article(herald, "Storm season ends", duplicate_of=original)
    copy_b = make_article(courier, "Storm season ends (copy)", duplicate_of=original)
    other = make_article(herald, "Harbour dredging starts", text="Dredging begins today.")
    for related, score in ((copy_a, 0.95), (original, 0.9), (copy_b, 0.8), (other, 0.7)):
        RelatedArticle.objects.create(article=article, related=related, score=score)

    html = page_html(client, article_url(article))

    section = html[html.index('id="related"') :]
    titles = re.findall(r'<h3 class="related-title"><a href="[^"]+">([^<]+)</a>', section)
    assert titles == ["Storm season ends", "Harbour dredging starts"]
    assert re.search(
        r"Also published by <a [^>]+>Hill Herald</a>, <a [^>]+>Valley Courier", section
    )
    assert "The storm season is over now." in section
    assert ">Wire Service</a>" in section


@pytest.mark.django_db
def test_related_shows_at_most_eight(client, courier, herald):
    article = ferry_story(courier)
    for n in range(12):
        RelatedArticle.objects.create(
            article=article, related=make_article(herald, f"Story {n}"), score=1 - n / 100
        )

    section = page_html(client, article_url(article)).split('id="related"')[1]

    assert section.count('class="related-title"') == 8


@pytest.mark.django_db
def test_related_leaves_out_rows_far_below_the_best(client, courier, herald):
    article = ferry_story(courier)
    close = make_article(herald, "Ferry timetable changes for winter")
    also = make_article(herald, "Ferry crews agree new rota")
    chance = make_article(herald, "Hospital opens new wing")
    for related, score in ((close, 0.87), (also, 0.78), (chance, 0.22)):
        RelatedArticle.objects.create(article=article, related=related, score=score)

    section = page_html(client, article_url(article)).split('id="related"')[1]

    titles = re.findall(r'<h3 class="related-title"><a href="[^"]+">([^<]+)</a>', section)
    assert titles == ["Ferry timetable changes for winter", "Ferry crews agree new rota"]


@pytest.mark.django_db
def test_hostile_fields_are_escaped(client, courier):
    article = ferry_story(
        courier,
        title=f"Title {HOSTILE}",
        caption=HOSTILE,
        credit=HOSTILE,
        byline=HOSTILE,
        lead_image_alt=HOSTILE,
    )
    tag(article, HOSTILE[:90], 0, slug="hostile")
    tag(article, "Odd", 1, slug="a/b")  # no URL can carry it: left out, not a crash
    AdSlot.objects.create(name="x", html="<i>ad</i>", every_paragraphs=3, enabled=True)

    html = page_html(client, article_url(article))

    assert HOSTILE not in html and "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


@pytest.mark.django_db
def test_body_markup_that_slipped_through_is_not_revived(client, courier):
    article = ferry_story(
        courier, body_html="<div><p>One &lt;script&gt;x()&lt;/script&gt;</p></div>"
    )

    html = page_html(client, article_url(article))

    assert "<p>One &lt;script&gt;x()&lt;/script&gt;</p>" in html


@pytest.mark.django_db
def test_ai_endpoints_answer_with_citations(client, courier):
    article = ferry_story(courier)

    summary = client.get(f"/article/{article.pk}/ai/summary.json").json()
    client.get("/csrf.json")
    token = client.cookies["csrftoken"].value
    answer = client.post(
        f"/article/{article.pk}/ai/ask",
        {"question": "When does the ferry sail?"},
        HTTP_X_CSRFTOKEN=token,
    ).json()

    assert summary["kind"] == "summary" and summary["backend"] == "offline"
    cited = summary["sentences"][0]["citations"]
    assert cited and summary["sources"][str(cited[0])] in TEXT
    assert answer["kind"] == "answer" and "sources" in answer


@pytest.mark.django_db
def test_csrf_endpoint_sets_the_cookie_for_strangers():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.get("/csrf.json")

    assert response.status_code == 200 and "csrftoken" in response.cookies
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]


def test_script_has_no_inline_use_and_reads_the_token_from_the_cookie():
    from pathlib import Path

    import broadsheet.front

    script = (Path(broadsheet.front.__file__).parent / "static/front/broadsheet.js").read_text()
    assert "X-CSRFToken" in script and "csrftoken" in script
    assert "Intl.DateTimeFormat" in script and "The article does not say." in script
    assert "innerHTML" not in script and "eval(" not in script
