import importlib.util
import re

import pytest

from broadsheet.enrichment.tags import STOP_WORDS, extract_tags, singular
from broadsheet.samplepub.corpus import load_corpus
from tests.datasets import ROOT, dataset

CORPUS = load_corpus()
ORIGINALS = [a for a in CORPUS.articles if not a.synthetic]


def tags_of(article):
    return extract_tags(article.title, article.text())


def by_event(event):
    return [a for a in ORIGINALS if a.event == event]


def test_crane_collapse_is_tagged_with_the_port_and_the_crane():
    tagged = [{t.name for t in tags_of(a)} for a in by_event("crane-collapse")]
    with_place = [n for n in tagged if any(x.startswith("Aldport") for x in n)]
    assert len(with_place) >= 0.75 * len(tagged), tagged
    for names in tagged:
        assert names & {"Crane", "Port", "Container", "Terminal"}, names


def test_rate_rise_names_the_bank_once():
    tagged = [[t.name for t in tags_of(a)] for a in by_event("rate-rise")]
    assert sum("Vellmark Central Bank" in names for names in tagged) >= len(tagged) / 2
    for names in tagged:
        if "Vellmark Central Bank" in names:
            assert "Central Bank" not in names and "Bank" not in names, names


@pytest.mark.parametrize("article", ORIGINALS, ids=lambda a: a.key)
def test_tags_read_like_a_news_site(article):
    tags = tags_of(article)
    assert 3 <= len(tags) <= 8
    assert [t.score for t in tags] == sorted((t.score for t in tags), reverse=True)
    assert len({t.slug for t in tags}) == len(tags)
    assert len({t.name.lower() for t in tags}) == len(tags)
    for tag in tags:
        assert re.fullmatch(r"[a-z0-9]+(?:-[a-z0-9]+)*", tag.slug), tag
        assert tag.kind in {"person", "place", "organisation", "topic"}
        assert tag.name.lower() not in STOP_WORDS, tag
        assert not re.search(r"\d", tag.name), tag
        assert tag.name[0].isupper(), tag


def test_one_spelling_per_thing_across_plurals():
    tags = extract_tags(
        "Teachers strike over pay",
        "Teachers walked out on Monday. One teacher said the strike would last.\n\n"
        "The teachers' strike closed schools; each school sent pupils home.",
    )
    names = [t.name for t in tags]
    assert "Teacher" in names and "Teachers" not in names
    assert "School" in names and "Schools" not in names


def test_singular():
    assert singular("cities") == "city"
    assert singular("crashes") == "crash"
    assert singular("cranes") == "crane"
    assert singular("news") == "news"
    assert singular("bus") == "bus"


def test_tiny_or_hostile_input_gives_few_tags_and_no_crash():
    assert extract_tags("", "") == []
    assert len(extract_tags("Hi", "Ok.")) < 3
    extract_tags("&amp;" * 50, "\x00<script>" * 200 + "A" * 5000, language="zz")


def test_limit_is_respected():
    article = ORIGINALS[0]
    assert len(extract_tags(article.title, article.text(), limit=3)) == 3


def load_bench():
    spec = importlib.util.spec_from_file_location("bench_tags", ROOT / "bench" / "tags.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_kpcrowd_floors():
    bench = load_bench()
    stories = bench.load(dataset("keyphrases-kpcrowd-dev"))
    p5, f10, rate = bench.evaluate(stories, bench.ours)
    assert p5 >= 0.45
    assert f10 >= 0.15
    assert rate >= 50
