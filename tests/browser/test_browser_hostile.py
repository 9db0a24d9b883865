"""Hostile payloads from publishers and commenters never run in a reader's browser.

A payload that ran would open a dialog, set ``window.__pwned`` or add an element with id
``pwned`` (see ``hostile.py``); each page is loaded, pointed at and focused, then checked for
all three. Each check also confirms the payload reached the page as text, so a pipeline that
silently dropped the hostile articles could not make these tests pass.
"""

from __future__ import annotations

import pytest

from tests.browser import hostile
from tests.browser.conftest import log_in

pytestmark = pytest.mark.slow

TRACES = """() => ({
  pwned: window.__pwned !== undefined,
  marker: document.getElementById('pwned') !== null,
  scriptLinks: [...document.querySelectorAll('a[href], form[action], iframe[src], object[data]')]
    .map(e => e.getAttribute('href') || e.getAttribute('action') || e.getAttribute('src')
              || e.getAttribute('data'))
    .filter(v => /^\\s*javascript:/i.test(v)),
  handlers: [...document.querySelectorAll('main *')]
    .flatMap(e => [...e.attributes].map(a => a.name))
    .filter(name => name.startsWith('on')),
})"""


def hostile_articles(site) -> list:
    from broadsheet.articles.models import Article

    found = Article.objects.filter(url__startswith=site.hostile_url, state="done")
    return list(found.select_related("source").order_by("url"))


def forged_article(site, source):
    """An article row holding raw payloads in every field; its body goes through the sanitizer
    as the pipeline's would, since a raw body_html is trusted by design."""
    from django.utils import timezone

    from broadsheet.articles.models import Article
    from broadsheet.extraction.sanitize import sanitize_html

    body = "".join(f"<p>{line}</p>{bad}" for line, bad in hostile.prose_and_payloads(0))
    url = f"{site.hostile_url}/news/forged.html"
    return Article.objects.create(
        url=url,
        url_key="forged-" + str(timezone.now().timestamp()),
        canonical_url=f"javascript:{hostile.RUN}",
        source=source,
        title="Forged " + hostile.TEXT_PAYLOADS[0],
        byline=hostile.TEXT_PAYLOADS[1],
        caption=hostile.TEXT_PAYLOADS[2],
        credit=hostile.TEXT_PAYLOADS[3],
        lead_image_url=f"{site.hostile_url}/img/wall-0.svg",
        lead_image_alt=hostile.TEXT_PAYLOADS[1],
        teaser=hostile.TEXT_PAYLOADS[0],
        body_html=sanitize_html(body, url),
        text=hostile.PROSE[0],
        published_at=timezone.now(),
        state=Article.State.DONE,
    )


def provoke(page) -> None:
    """Give event-handler payloads their chance: point at, click and focus what is there."""
    for selector in ("h1", "figure", ".story-body p", ".story-body a", ".comment-text"):
        for element in page.locator(selector).all()[:4]:
            if element.is_visible():
                element.hover(timeout=2000)
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.wait_for_timeout(200)


def assert_nothing_ran(watched, where: str) -> None:
    provoke(watched.page)
    traces = watched.page.evaluate(TRACES)
    assert watched.dialogs == [], f"{where}: a dialog opened: {watched.dialogs}"
    assert not traces["pwned"], f"{where}: a payload set window.__pwned"
    assert not traces["marker"], f"{where}: a payload added #pwned"
    assert traces["scriptLinks"] == [], f"{where}: javascript: URLs {traces['scriptLinks']}"
    assert traces["handlers"] == [], f"{where}: event-handler attributes {traces['handlers']}"


def visit(watched, path: str) -> None:
    response = watched.page.goto(path)
    assert response is not None and response.ok, f"{path}: {response and response.status}"


def test_the_hostile_publisher_was_ingested_by_the_real_pipeline(site):
    articles = hostile_articles(site)
    assert len(articles) == len(hostile.TEXT_PAYLOADS)
    assert all("Sea wall repairs" in article.title for article in articles)
    assert all("council" in article.text for article in articles)
    assert all("<script" not in article.body_html.lower() for article in articles)


def test_payloads_in_ingested_articles_never_run(site, page):
    articles = hostile_articles(site)
    assert articles, "the hostile publisher's articles were not ingested"
    for article in articles:
        visit(page, site.article_path(article))
        assert "Sea wall repairs" in page.page.inner_text("h1")
        assert page.page.locator("main p", has_text="harbour council").count() > 0
        assert_nothing_ran(page, article.url)


def test_payloads_in_every_field_of_a_stored_article_show_as_text(site, page):
    source = hostile_articles(site)[0].source
    article = forged_article(site, source)
    visit(page, site.article_path(article))
    assert page.page.inner_text("h1") == article.title
    html_text = page.page.inner_text("main")
    for shown in (article.byline, article.caption, article.credit):
        assert shown in html_text
    assert_nothing_ran(page, "forged article")


def test_listings_with_hostile_titles_and_outlet_names_never_run(site, page):
    source = hostile_articles(site)[0].source
    for path in ("/", f"/source/{source.slug}/", "/sources/"):
        visit(page, path)
        assert "Sea wall repairs" in page.page.inner_text("main") or path == "/sources/"
        assert_nothing_ran(page, path)


def test_payloads_in_comments_never_run(site, page):
    article = hostile_articles(site)[0]
    path = site.article_path(article)
    log_in(page, "regular")
    visit(page, path)
    text = " ".join((*hostile.TEXT_PAYLOADS, f"javascript:{hostile.RUN}"))
    page.page.fill("#new-comment", text)
    page.page.click("form.comment-form >> text=Post comment")
    comment = page.page.locator(".comment-text").last
    comment.wait_for()
    assert "<script>" in comment.inner_text()
    assert_nothing_ran(page, "comment")


def test_the_checks_catch_a_payload_that_runs(page):
    """The detector itself: an unescaped payload on a page must be reported."""
    page.page.set_content(f"<main><h1>Title</h1>{hostile.TEXT_PAYLOADS[1]}</main>")
    with pytest.raises(AssertionError, match="dialog"):
        assert_nothing_ran(page, "a page that runs its payload")
    assert page.page.evaluate("window.__pwned") == 1
