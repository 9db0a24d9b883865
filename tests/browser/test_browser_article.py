"""The article page in a browser: every element, in the reference page's order, and the AI box.

The AI box must work without reloading the page: a load that navigated would fire a main-frame
navigation and wipe a marker left on ``window``, and both are checked.
"""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

pytestmark = pytest.mark.slow

# In the order a reader meets them. The ad slot sits inside the body, between two blocks.
ELEMENTS = {
    "headline": "h1.story-title",
    "source": ".source-line a.source",
    "byline": ".story-meta .byline",
    "time": ".story-meta time",
    "photo": "figure.lead img",
    "caption": "figure.lead figcaption",
    "credit": "figure.lead figcaption .credit",
    "body": "#story-body",
    "advertisement": "#story-body > aside.ad-slot",
    "hashtags": "#hashtags",
    "ai box": "#ai-box",
    "comments": "#comments",
    "related": "#related",
}
DOCUMENT_ORDER = """selectors => {
  const found = selectors.map(s => document.querySelector(s));
  const follows = found.slice(1).map(
    (el, i) => Boolean(found[i].compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING));
  return follows;
}"""
HOUSE_AD = "Read the harbour almanac, out every spring"


@pytest.fixture
def house_ad(site):
    from broadsheet.front.models import AdSlot

    return AdSlot.objects.create(
        name="house", html=f"<p>{HOUSE_AD}</p>", every_paragraphs=2, height=120, enabled=True
    )


def open_article(watched, site):
    path = site.article_path(site.sample_article())
    response = watched.page.goto(path)
    assert response is not None and response.ok
    watched.page.locator("#ai-box.ai-ready").wait_for()
    return watched.page


def watch_navigation(page) -> list[str]:
    """Main-frame navigations from now on; also leaves a marker that a reload would wipe."""
    navigations: list[str] = []
    page.on("framenavigated", lambda f: f.parent_frame is None and navigations.append(f.url))
    page.evaluate("window.__stillHere = true")
    return navigations


def assert_not_reloaded(page, navigations: list[str]) -> None:
    assert navigations == [], f"the page navigated: {navigations}"
    assert page.evaluate("window.__stillHere") is True


def test_every_element_is_present_and_in_order(site, page, house_ad):
    article_page = open_article(page, site)
    for name, selector in ELEMENTS.items():
        assert article_page.locator(selector).count() >= 1, f"{name} ({selector}) is missing"
    follows = article_page.evaluate(DOCUMENT_ORDER, list(ELEMENTS.values()))
    names = list(ELEMENTS)
    out_of_order = [f"{names[i]} -> {names[i + 1]}" for i, ok in enumerate(follows) if not ok]
    assert out_of_order == []
    assert page.errors == []


def test_links_in_the_body_open_the_original_politely(site, page):
    article_page = open_article(page, site)
    rels = article_page.eval_on_selector_all("#story-body a[href]", "as => as.map(a => a.rel)")
    assert rels, "the showcase article has inline links"
    for rel in rels:
        assert {"noopener", "nofollow", "ugc"} <= set(rel.split()), rel


def test_advertisement_sits_between_blocks_labelled(site, page, house_ad):
    article_page = open_article(page, site)
    slot = article_page.locator("#story-body .ad-slot").first
    assert slot.locator(".ad-label").text_content().strip() == "Advertisement"
    assert HOUSE_AD in slot.inner_text()
    assert slot.evaluate("el => el.parentElement.id") == "story-body"
    assert slot.evaluate("el => el.getBoundingClientRect().height") >= 120


def test_summary_loads_in_place_and_a_citation_highlights_its_sentence(site, page):
    article_page = open_article(page, site)
    navigations = watch_navigation(article_page)
    with article_page.expect_response(re.compile(r"/ai/summary\.json$")) as answered:
        article_page.click("#ai-summary")
    data = answered.value.json()
    citation = article_page.locator("#ai-output .citation").first
    citation.wait_for()
    index = data["sentences"][0]["citations"][0]
    cited = " ".join(data["sources"][str(index)].split())
    article_page.locator("#ai-output .ai-sentence").first.locator(".citation").first.click()
    mark = article_page.locator("#story-body mark").first
    mark.wait_for()
    marked = " ".join(
        article_page.eval_on_selector_all("#story-body mark", "ms => ms.map(m => m.textContent)")
    )
    assert " ".join(marked.split()) == cited
    assert_not_reloaded(article_page, navigations)
    assert page.errors == []


def test_questions_are_answered_in_place(site, page):
    article_page = open_article(page, site)
    navigations = watch_navigation(article_page)
    article_page.fill("#ai-question", question_from(article_page.inner_text("#story-body p")))
    article_page.click("#ai-ask button[type=submit]")
    article_page.locator("#ai-output .ai-sentence, #ai-output .ai-unanswered").first.wait_for()
    assert article_page.locator("#ai-output .ai-sentence").count() >= 1
    article_page.fill("#ai-question", "How many moons does the planet Neptune have?")
    article_page.click("#ai-ask button[type=submit]")
    article_page.locator("#ai-output .ai-unanswered").wait_for()
    assert article_page.inner_text("#ai-output").strip() == "The article does not say."
    assert_not_reloaded(article_page, navigations)
    assert page.errors == []


def question_from(paragraph: str) -> str:
    """A question the opening paragraph answers: about its three longest words."""
    words = sorted({w.strip(".,;:!?'’\"()") for w in paragraph.split()}, key=len, reverse=True)
    return f"What does the article say about {' '.join(words[:3])}?"


def exact_time(new_page, site, zone: str) -> tuple[str, datetime]:
    """The hover text of the article's time in a browser set to ``zone``, and the instant."""
    watched = new_page(timezone_id=zone, locale="en-GB")
    article_page = open_article(watched, site)
    time = article_page.locator(ELEMENTS["time"]).first
    time.hover()
    moment = datetime.fromisoformat(time.get_attribute("datetime"))
    return time.get_attribute("title"), moment


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
def test_exact_time_on_hover_is_in_the_readers_zone(site, new_page, zone):
    title, moment = exact_time(new_page, site, zone)
    local = moment.astimezone(ZoneInfo(zone))
    assert f"{local:%H:%M}" in title, title
    assert str(local.day) in title and f"{local:%B}" in title, title


def test_the_same_instant_reads_differently_in_two_zones(site, new_page):
    new_york, moment = exact_time(new_page, site, "America/New_York")
    tokyo, same = exact_time(new_page, site, "Asia/Tokyo")
    assert moment == same
    assert new_york != tokyo
