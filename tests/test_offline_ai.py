"""Offline summaries, key points and answers: cited, extractive, and honest about gaps."""

import subprocess
import sys
import time

import pytest

from broadsheet.ai.offline import (
    NOT_FOUND,
    answer,
    is_deletion_of,
    key_points,
    prepare,
    summarize,
    synonyms,
)
from broadsheet.ai.sentences import split_sentences
from broadsheet.samplepub.corpus import load_corpus
from tests.datasets import ROOT, dataset

FLOOD = "tamsin-river-floods-marrow-falls-1200-evacuated"
CRANE = "aldport-port-crane-collapse-injures-two"
RATE = "central-bank-raises-main-rate-to-four-percent"
FIRE = "kessel-plateau-wildfire-contained-after-five-days"
STRIKE = "oster-teachers-begin-two-day-strike"
VANS = "orrin-motors-recalls-40000-electric-vans"
HOSPITAL = "kessel-general-hospital-cyberattack-booking-systems"


@pytest.fixture(scope="module")
def corpus():
    return load_corpus()


def article(corpus, slug):
    return corpus.article("civic-wire", slug)


def test_summaries_are_cited_article_sentences(corpus):
    for item in corpus.articles:
        text = item.text()
        source = split_sentences(text)
        summary = summarize(item.title, text)
        assert 1 <= len(summary) <= 3
        for cited in summary:
            assert len(cited.citations) == 1
            assert is_deletion_of(cited.text, source[cited.citations[0]]), cited


def test_key_points_are_short_distinct_and_cited(corpus):
    for item in corpus.articles:
        text = item.text()
        source = split_sentences(text)
        points = key_points(item.title, text)
        assert 3 <= len(points) <= 5
        cited = [i for p in points for i in p.citations]
        assert len(set(cited)) == len(cited)
        for point in points:
            quoted = " ".join(source[i] for i in point.citations)
            assert is_deletion_of(point.text, quoted), point
        assert all(p.text.count('"') % 2 == 0 for p in points), points


def test_key_points_mostly_differ_from_the_summary(corpus):
    item = article(corpus, FLOOD)
    summary = {c.citations[0] for c in summarize(item.title, item.text())}
    points = {c.citations[0] for c in key_points(item.title, item.text(), n=3)}
    assert not summary & points


def test_sentences_that_send_the_reader_elsewhere_are_not_key_points():
    text = (
        "The Kessel Rovers board sacked manager Tomas Vrana on Monday after 11 games without a "
        "win. Assistant coach Mira Oduya will take charge for Saturday's match against Brennan "
        "Bay FC. The club said it would name a permanent manager within 30 days.\n\n"
        "The Civic Wire Service has the wider reaction from Kessel Rovers supporters.\n\n"
        "Vrana joined in June 2024 on a three-year contract. The board thanked him for his work. "
        "Rovers sit 14th in the table, 4 points above the relegation places. The Harbour Herald "
        "report describes the Rovers board meeting.\n\nTickets for Saturday are still on sale."
    )
    chosen = key_points("Kessel Rovers sack manager", text) + summarize("Rovers sack", text)
    assert not [c.text for c in chosen if "Civic Wire" in c.text or "Harbour Herald" in c.text]


def test_compression_only_deletes():
    text = "However, the council (which met on Tuesday) approved the plan by nine votes to two."
    (cited,) = summarize("Council approves plan", text, n=1)
    assert cited.text == "The council approved the plan by nine votes to two."
    assert is_deletion_of(cited.text, text)
    assert not is_deletion_of("The council rejected the plan.", text)


ANSWERABLE = [
    (FLOOD, "How many people were evacuated?", "1,200 people were evacuated"),
    (FLOOD, "How high did the river peak?", "5.8 metres"),
    (FLOOD, "How much rain fell?", "140 millimetres"),
    (FLOOD, "Were there any deaths?", "No deaths"),
    (FLOOD, "Where were residents moved to?", "shelters"),
    (FLOOD, "What did the mayor say?", "People listened"),
    (FLOOD, "When can residents go home?", "several days"),
    (CRANE, "When did the crane collapse?", "this morning"),
    (CRANE, "How many workers were injured?", "injuring two workers"),
    (CRANE, "When was the crane built?", "1991"),
    (CRANE, "How long will container handling be suspended?", "four days"),
    (RATE, "What is the new interest rate?", "4.0%"),
    (RATE, "How did the committee vote?", "seven to two"),
    (RATE, "How fast are wages rising?", "5.2%"),
    (RATE, "How much will monthly mortgage repayments rise?", "42 crowns"),
    (RATE, "When is the next meeting?", "six weeks"),
    # Put as a reader would: "anyone", "what kind of", "how long" and everyday words the
    # article puts otherwise say nothing about what is asked.
    (VANS, "Has anyone been injured?", "No one was injured"),
    (FIRE, "Was anyone killed?", "No one was killed"),
    (HOSPITAL, "What kind of attack was it?", "ransomware"),
    (STRIKE, "How long will the strike last?", "two-day strike"),
    (FIRE, "Will it rain soon?", "forecasts rain"),
    (FIRE, "How big was the area that burned?", "3,400 hectares"),
]
UNANSWERABLE = [
    (FLOOD, "What did the minister say about tariffs?"),
    (FLOOD, "Who won the cup final?"),
    (FLOOD, "How much will the insurance payout be?"),
    (FLOOD, "What is the name of the mayor?"),
    (CRANE, "What caused the fire?"),
    (CRANE, "How much did the new crane cost?"),
    (RATE, "What did the governor say about tariffs?"),
    (RATE, "What is the unemployment rate?"),
    (HOSPITAL, "What is the name of the chief executive?"),
    (VANS, "What is the name of the chief executive?"),
    (FIRE, "How much will rebuilding the homes cost?"),
    (FIRE, "What did the prime minister say?"),
    (STRIKE, "Who won the election?"),
    (VANS, "How much did Orrin shares fall?"),
]


@pytest.mark.parametrize(("slug", "question", "expected"), ANSWERABLE)
def test_answers_cite_the_sentence_that_holds_the_fact(corpus, slug, question, expected):
    item = article(corpus, slug)
    source = split_sentences(item.text())
    result = answer(question, item.title, item.text())
    assert result.found
    assert any(expected in source[i] for c in result.sentences for i in c.citations)
    assert all(c.text == source[c.citations[0]] for c in result.sentences)


@pytest.mark.parametrize(("slug", "question"), UNANSWERABLE)
def test_unanswerable_questions_say_so(corpus, slug, question):
    item = article(corpus, slug)
    result = answer(question, item.title, item.text())
    assert not result.found
    assert [c.text for c in result.sentences] == [NOT_FOUND]
    assert result.sentences[0].citations == []


HOSTILE = ["", "   \n\n", "?!.", "\x00\ufffd" * 50, "<script>alert(1)</script>", "a " * 100_000]


LIBRARIES = (
    "The city council voted on Tuesday to keep six of its nine public libraries open. "
    "Councillors said the plan would save 1.2 million crowns a year. The libraries in "
    "Eastfield, Saltmarsh and Northgate will be closed in March. Readers can borrow books "
    "from a mobile library that visits each district twice a week. The 40 employees of the "
    "three buildings will be offered jobs elsewhere in the council. Children under 12 will get "
    "a free card for the mobile library."
)


@pytest.mark.parametrize(
    "question, expected",
    [
        ("Which libraries will be shut?", "Eastfield"),
        ("What happens to the workers?", "offered jobs"),
        ("What do kids get?", "free card"),
    ],
)
def test_a_question_in_other_words_is_answered(question, expected):
    """A word the article never uses ("shut", "workers", "kids") stands for the article's word
    nearest in meaning ("closed", "employees", "children"); without that these go unanswered."""
    result = answer(question, "Council to close three libraries", LIBRARIES)
    assert result.found, question
    assert any(expected in c.text for c in result.sentences), result


def test_words_without_a_near_word_in_the_article_stay_unmatched():
    doc = prepare(LIBRARIES)
    found = synonyms(doc, ["shut", "workers", "tariffs", "election", "still", "soon"])
    assert found["shut"][0] == "clos" and found["worker"][0] == "employ", found
    # No article word means "tariffs" or "election"; everyday words are not expanded at all.
    assert not {"tariff", "electi", "still", "soon"} & found.keys(), found
    for question in ("What did the minister say about tariffs?", "Who won the election?"):
        assert not answer(question, "Council to close three libraries", LIBRARIES).found


def test_without_word_vectors_answers_fall_back_to_the_articles_words(monkeypatch, caplog):
    from broadsheet.ai import offline

    def broken(words):
        raise OSError("weights file unreadable")

    monkeypatch.setattr(offline, "word_vectors", broken)
    title = "Council to close three libraries"
    assert not answer("What happens to the workers?", title, LIBRARIES).found
    assert answer("Which libraries will close?", title, LIBRARIES).found
    assert "word vectors unavailable" in caplog.text


def test_a_compound_is_not_the_word_it_starts_with(corpus):
    # "ransom" and "ransomware" share a stem, but the article never mentions a ransom.
    item = article(corpus, HOSPITAL)
    assert not answer("How much ransom was demanded?", item.title, item.text()).found
    # An ending that is also a word ("ship", "ment") makes no new thing.
    text = (
        "The hospital was hit by ransomware on Monday night. Its booking system was shut down "
        "and 1,300 appointments were cancelled. The hospital's relationship with its software "
        "supplier is under review."
    )
    result = answer("What is the relation with the supplier?", "Hospital hit", text)
    assert result.found and "supplier" in result.sentences[0].text, result


def test_a_crosshead_is_never_an_answer_summary_or_key_point(corpus):
    item = corpus.article("metro-daily-post", "orrin-van-fire-fears-40000-recalled")
    assert "What owners must do" in split_sentences(item.text())
    result = answer("What should owners do?", item.title, item.text())
    assert result.found
    assert "What owners must do" not in [c.text for c in result.sentences]
    long_read = corpus.article("the-meridian", "lantern-coast-bronze-age-wreck-long-read")
    assert "A coast on the route" in split_sentences(long_read.text())
    chosen = summarize(long_read.title, long_read.text()) + key_points(
        long_read.title, long_read.text()
    )
    assert "A coast on the route" not in [c.text for c in chosen]
    # A list line with a figure is a fact, not a crosshead.
    rates = corpus.article("northern-ledger", "inflation-2-1-percent-crown-bonds-rate-cut-bets")
    points = [c.text for c in key_points(rates.title, rates.text())]
    assert any(":" in point and "per cent" in point for point in points), points


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_input_does_not_crash(text):
    assert isinstance(summarize(text, text), list)
    assert isinstance(key_points(text, text, n=99), list)
    assert answer(text, text, text).found in (True, False)
    assert answer("How many?", "", "").found is False
    assert summarize(None, None) == [] and answer(None, None, None).found is False  # type: ignore[arg-type]


def test_bbc_summary_beats_lead_3_on_every_figure():
    data = dataset("summaries-bbc")
    run = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "summaries.py"), "--data", str(data)],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    figures = dict(line.split(": ", 1) for line in run.stdout.splitlines())
    ratios = {k: float(v) for k, v in figures.items() if k.startswith("ratio.")}
    assert len(ratios) == 10 and min(ratios.values()) >= 1.2, ratios  # measured 1.26 to 1.45
    assert float(figures["n3.ours.precision"]) >= 0.80  # measured 0.84
    assert float(figures["gold_n.ours.rouge2"]) >= 0.72  # measured 0.76


def test_a_huge_page_of_short_sentences_stays_fast():
    text = "The council met. " * 20_000
    started = time.perf_counter()
    assert summarize("Council", text) and key_points("Council", text)
    assert answer("Who met?", "Council", text).found
    assert time.perf_counter() - started < 15  # 2.3 s here; it took minutes before a fix
