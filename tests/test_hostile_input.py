"""Hostile publisher input, end to end, with a real worker process (bench/hostile.py, reduced).

A loopback server sends script in every field, broken encodings, huge and deeply nested markup,
entity bombs, external entities, empty and binary bodies, wrong content types, a mistyped JSON
Feed and bad gzip. Each response must end stored or with a classified error, the worker must
exit cleanly, and no page of the site may carry a script the site did not write.
"""

import pytest

from bench.hostile import (
    article_cases,
    feed_cases,
    ingest,
    leaked_secrets,
    page_violations,
    render_all,
)
from broadsheet.testing.hostile import PAYLOADS, HostilePublisher
from tests.conftest import worker_environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def ingested():
    from broadsheet.sources.subscribe import subscribe

    with HostilePublisher() as publisher:
        for url in publisher.feed_urls():
            subscribe(url, check=False)
        problems, _ = ingest(worker_environment(BROADSHEET_MAX_ATTEMPTS="1"), timeout=240)
        yield publisher, problems


def outcomes(cases: list[str]) -> dict[str, str]:
    """``{"/path": "outcome"}`` from ``"feed http://host:port/path outcome"`` lines."""
    found = {}
    for case in cases:
        _, url, outcome = case.split(" ", 2)
        found["/" + url.split("/", 3)[3]] = outcome
    return found


def test_every_hostile_response_is_recorded_and_no_script_reaches_a_page(ingested):
    publisher, problems = ingested
    feed_lines, feed_problems = feed_cases()
    article_lines, article_problems = article_cases()
    pages, page_problems = render_all()
    assert problems + feed_problems + article_problems == []
    assert leaked_secrets(publisher) == []
    assert page_problems == []
    assert pages > 5
    feeds, articles = outcomes(feed_lines), outcomes(article_lines)
    assert len(feeds) == len(publisher.feed_urls())
    # The payload pages were stored, so the page check above read them.
    assert articles["/xss/page"] == articles["/xss/mutation"] == "stored"
    assert articles["/bin/empty"] == "not_an_article"
    assert articles["/type/png"] == "bad_content_type"
    assert feeds["/feed/xss"] == "stored"
    assert feeds["/feed/attributes"] == feeds["/feed/empty"] == "not_a_feed"
    assert feeds["/feed/png"] == "bad_content_type"
    assert feeds["/feed/gzip"] == "decode"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_page_check_itself_catches_each_payload(payload):
    page = f"<!DOCTYPE html><html><body><p>{payload}</p></body></html>"
    assert page_violations(page, {"/static/front/broadsheet.js"})


def test_the_page_check_allows_the_sites_own_script():
    page = '<html><head><script src="/static/front/broadsheet.js" defer></script></head></html>'
    assert page_violations(page, {"/static/front/broadsheet.js"}) == []
