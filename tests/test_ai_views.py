"""The AI box's JSON endpoints: on demand, cached, cited, rate limited, CSRF-protected."""

import pytest
from django.test import Client

from broadsheet.ai.models import AIResult
from broadsheet.articles.models import Article
from broadsheet.sources.models import Source

pytestmark = pytest.mark.django_db

TEXT = (
    "Floodwater from the Tamsin River forced 1,200 people from their homes in Marrow Falls.\n\n"
    "The river peaked at 5.8 metres on Tuesday night, the highest level since 1987.\n\n"
    "Emergency crews opened three shelters in school halls across the town.\n\n"
    "The mayor said the clean-up would take weeks and asked volunteers to register online.\n\n"
    "Forecasters expect drier weather from Thursday."
)


@pytest.fixture
def article():
    source = Source.objects.create(name="Gazette", slug="gazette", homepage="https://g.test/")
    return Article.objects.create(
        source=source,
        url="https://g.test/flood",
        url_key="flood",
        title="Tamsin floods town",
        text=TEXT,
        body_html="<p>x</p>",
        state=Article.State.DONE,
    )


def test_summary_is_cited_and_cached(client, article):
    first = client.get(f"/article/{article.pk}/ai/summary.json").json()
    assert first["backend"] == "offline"
    assert first["sentences"]
    for sentence in first["sentences"]:
        assert sentence["citations"]
        for index in sentence["citations"]:
            assert first["sources"][str(index)] in TEXT
    client.get(f"/article/{article.pk}/ai/summary.json")
    assert AIResult.objects.filter(article=article, kind="summary").count() == 1


def test_key_points(client, article):
    body = client.get(f"/article/{article.pk}/ai/key-points.json").json()
    assert 3 <= len(body["sentences"]) <= 5


def test_answers_cite_the_article_or_say_it_does_not(client, article):
    url = f"/article/{article.pk}/ai/ask"
    found = client.post(url, {"question": "How many people left their homes?"}).json()
    assert found["found"] is True
    assert "1,200" in " ".join(s["text"] for s in found["sentences"])
    missing = client.post(url, {"question": "What did the prime minister say about tariffs?"})
    assert missing.json()["found"] is False
    assert missing.json()["sentences"][0]["text"] == "The article does not say."


def test_bad_questions_are_refused_with_a_message(client, article):
    url = f"/article/{article.pk}/ai/ask"
    assert client.post(url, {"question": ""}).status_code == 400
    assert client.post(url, {"question": "x" * 301}).status_code == 400
    assert "error" in client.post(url, {}).json()
    assert client.get(url).status_code == 405


def test_strangers_are_rate_limited(client, article, settings):
    settings.BROADSHEET_ASK_RATE = (2, 60)
    url = f"/article/{article.pk}/ai/ask"
    codes = [client.post(url, {"question": f"Where is shelter {i}?"}).status_code for i in range(3)]
    assert codes == [200, 200, 429]


def test_asking_needs_a_csrf_token(article):
    strict = Client(enforce_csrf_checks=True)
    response = strict.post(f"/article/{article.pk}/ai/ask", {"question": "Where?"})
    assert response.status_code == 403


def test_articles_not_yet_stored_have_no_ai(client, article):
    Article.objects.filter(pk=article.pk).update(state=Article.State.PENDING)
    assert client.get(f"/article/{article.pk}/ai/summary.json").status_code == 404
