"""The grounding checker keeps faithful sentences and drops invented facts, with a reason."""

import time

import pytest

from broadsheet.ai import offline
from broadsheet.ai.grounding import check, claims, names, numbers_in, numbers_with_text
from broadsheet.ai.sentences import split_sentences
from broadsheet.samplepub.corpus import load_corpus

ARTICLE = [
    "The city council approved a rent cap of 3% a year on Tuesday by 31 votes to 12.",
    "The cap applies to about 1,200,000 homes let by private landlords in Aldport.",
    "Landlords who break the rules face fines of up to 40,000 crowns.",
    '"Renters have waited long enough," the housing councillor told the chamber.',
    "The rules take effect in March and will be reviewed after two years.",
]
TITLE = "Aldport council approves a rent cap"


def kept_texts(generated):
    return [c.text for c in check(generated, ARTICLE, title=TITLE).kept]


def dropped_reasons(generated):
    return [d.reason for d in check(generated, ARTICLE, title=TITLE).dropped]


@pytest.mark.parametrize(
    "sentence",
    [
        "The council approved the rent cap by 31 votes to 12 [1].",
        "Aldport's council voted 31 to 12 for a 3% annual cap on rents [1].",
        "About 1.2 million privately let homes in Aldport are covered by the cap [2].",
        "The cap covers roughly 1200000 homes let by private landlords [2].",
        "Landlords breaking the rules can be fined as much as 40,000 crowns [3].",
        "The rules start in March and will be reviewed after 2 years [5].",
    ],
)
def test_faithful_paraphrases_are_kept_with_their_citations(sentence):
    result = check([sentence], ARTICLE, title=TITLE)
    assert [c.text for c in result.kept] == [sentence.rsplit(" [", 1)[0] + "."]
    assert result.kept[0].citations and not result.dropped


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("The council approved the cap by 35 votes to 12 [1].", "number not in the article: 35"),
        ("The cap covers about 1.5 million homes [2].", "number not in the article: 1.5 million"),
        ("The cap applies to 1,200,000 homes and 300 shops [2].", "number not in the article: 300"),
        ("Fines reach 40,000 crowns, or 4% of rent [3].", "number not in the article: 4"),
        ("Fines reach 40 million crowns [3].", "number not in the article: 40 million"),
        ("The rules will be reviewed after five years [5].", "number not in the article: five"),
        ("The council approved the cap on Friday [1].", "date not in the article: Friday"),
        ("The rules take effect in September [5].", "date not in the article: September"),
        ("The mayor, Hanna Virtanen, backed the rent cap [1].", "name not in the article: Hanna"),
        (
            "Landlords in Brennan Bay face fines of up to 40,000 crowns [3].",
            "name not in the article: Brennan",
        ),
        (
            'Councillor Osk Lamb said "renters have waited long enough" [4].',
            "name not in the article: Osk",
        ),
    ],
)
def test_invented_numbers_dates_and_names_are_dropped(sentence, reason):
    result = check([sentence], ARTICLE, title=TITLE)
    assert result.kept == []
    assert [d.reason for d in result.dropped] == [reason]


def test_unsupported_sentences_are_dropped_even_without_invented_facts():
    reasons = dropped_reasons(
        [
            "The weather was pleasant and crowds celebrated in the streets [1].",
            "Tenants' groups called the decision a betrayal of working families.",
        ]
    )
    assert reasons == ["not supported by the article"] * 2


def test_wrong_or_missing_citations_are_replaced_by_the_supporting_sentence():
    result = check(
        [
            "Landlords who break the rules face fines of up to 40,000 crowns [1].",
            "Landlords who break the rules face fines of up to 40,000 crowns.",
            "Landlords who break the rules face fines of up to 40,000 crowns [42].",
        ],
        ARTICLE,
    )
    assert [c.citations for c in result.kept] == [[2], [2], [2]]


def test_a_correct_citation_is_kept_as_the_model_gave_it():
    result = check(["The cap takes effect in March [5] [1]."], ARTICLE)
    assert result.kept[0].citations == [4, 0]


def test_raw_text_with_bullets_markers_and_labels_is_split_into_claims():
    raw = (
        "Key points:\n"
        "- The council approved a 3% rent cap [1]. Fines reach 40,000 crowns. [3]\n"
        "2. The rules take effect in March [5-5].\n"
        "* The cap was approved by 99 votes [sentence 1]"
    )
    result = check(raw, ARTICLE)
    assert [(c.text, c.citations) for c in result.kept] == [
        ("The council approved a 3% rent cap.", [0]),
        ("Fines reach 40,000 crowns.", [2]),
        ("The rules take effect in March.", [4]),
    ]
    assert result.dropped[0].reason == "number not in the article: 99"


def test_citation_numbers_are_not_checked_as_facts():
    assert kept_texts(["The council approved the rent cap [4, 1]."]) != []
    assert claims("Fines apply [2][3].")[0].cited == (1, 2)
    assert claims("Fines apply [2-4].")[0].cited == (1, 2, 3)


def test_number_formats_are_normalised():
    article = numbers_in("It cost 1,200 crowns, 2.5 million more, 4% and 7 per cent, three.", True)
    assert {1200.0, 2.5e6, 2.5, 4.0, 7.0, 3.0} <= article
    said = dict((text, value) for value, text in numbers_with_text("1200 or twenty-one or 2.5bn"))
    assert said == {"1200": 1200.0, "twenty-one": 21.0, "2.5bn": 2.5e9}


def test_names_skip_sentence_openers_but_not_multiword_names():
    assert names("The cap was approved. Officials said so.") == []
    assert names("Prime Minister Alva spoke, and Aldport's mayor agreed.") == [
        "Prime",
        "Minister",
        "Alva",
        "Aldport's",
    ]
    assert names('He said: "We will see." I think so, and I\'ll vote.') == []


def test_short_or_empty_generated_text_is_dropped_or_ignored():
    result = check(["Yes.", "", "[3]", "   "], ARTICLE)
    assert result.kept == []
    assert [d.reason for d in result.dropped] == ["too short to check"]


def test_hostile_input_does_not_crash():
    result = check(["[" * 500 + "1" * 400 + "]" * 500, None, 42], ["", "x" * 10_000])
    assert result.kept == []
    assert check("A claim about nothing at all [7].", []).kept == []


def test_every_sentence_of_the_sample_corpus_passes_against_its_own_article():
    corpus = load_corpus()
    refused = []
    for article in corpus.articles:
        sentences = split_sentences(article.text())
        result = check(sentences, sentences, title=article.title)
        refused += [d for d in result.dropped if d.reason != "too short to check"]
    assert refused == []


def test_offline_outputs_always_pass_the_checker():
    corpus = load_corpus()
    refused = []
    started = time.perf_counter()
    for article in corpus.articles[::4]:
        text, sentences = article.text(), split_sentences(article.text())
        for items in (
            offline.summarize(article.title, text),
            offline.key_points(article.title, text),
        ):
            result = check([c.text for c in items], sentences, title=article.title)
            refused += result.dropped
    assert refused == []
    assert time.perf_counter() - started < 20
