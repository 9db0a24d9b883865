"""The sample publisher, exercised over real HTTP on 127.0.0.1 as an aggregator would see it."""

import gzip
import itertools
import json
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

import feedparser
import httpx
import lxml.html
import pytest
from protego import Protego

from broadsheet.samplepub import Corpus, SamplePublisher, check_corpus, load_corpus
from broadsheet.samplepub.corpus import CorpusError, render_blocks
from broadsheet.samplepub.server import accepts_gzip

NOW = datetime(2025, 6, 2, 9, 30, tzinfo=UTC)
FEEDPARSER_VERSIONS = {"rss20": "rss20", "atom10": "atom10", "rss10": "rss10", "rss092": "rss092"}


@pytest.fixture(scope="module")
def publisher():
    with SamplePublisher(now=NOW) as pub:
        yield pub


@pytest.fixture(scope="module")
def client():
    with httpx.Client(timeout=10) as http:
        yield http


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(now=NOW)


def parse_feed(body: bytes, feed_format: str) -> list[dict]:
    """Items as (id, link, title, published) dicts, whatever the format."""
    if feed_format == "jsonfeed11":
        data = json.loads(body)
        assert data["version"] == "https://jsonfeed.org/version/1.1"
        return [
            {"id": i["id"], "link": i["url"], "title": i["title"], "published": i["date_published"]}
            for i in data["items"]
        ]
    parsed = feedparser.parse(body)
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == FEEDPARSER_VERSIONS[feed_format]
    return [
        {
            "id": e.get("id"),
            "link": e.link,
            "title": e.title,
            "published": e.get("published") or e.get("updated"),
        }
        for e in parsed.entries
    ]


def without_query(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(query=""))


# --- the corpus ---------------------------------------------------------------------------


def test_corpus_has_the_specified_shape(corpus):
    assert len(corpus.outlets) >= 8
    assert {o.feed_format for o in corpus.outlets.values()} == {
        "rss20",
        "atom10",
        "jsonfeed11",
        "rss10",
        "rss092",
    }
    assert len(corpus.articles) >= 80
    events = corpus.events()
    assert len(events) >= 15
    thin = {e: len({a.outlet for a in arts}) for e, arts in events.items()}
    assert all(n >= 3 for n in thin.values()), thin


def test_corpus_follows_its_specification(corpus):
    assert check_corpus(corpus) == []


def test_corpus_check_reports_departures(corpus):
    original = corpus.articles[0]
    broken = replace(
        original,
        wire_of="civic-wire/no-such-story",
        paragraphs=("One <b>bold</b> claim, see [this](https://evil.test/x).", "Two.", "Three."),
    )
    problems = check_corpus(Corpus(NOW, corpus.outlets, [broken, *corpus.articles[1:]]))
    assert len(problems) == 4 and all(p.startswith(original.key) for p in problems)
    for expected in ("wire_of", "3 blocks", "HTML", "evil.test"):
        assert expected in "\n".join(problems)


def test_wire_stories_are_republished_by_other_outlets(corpus):
    copies = defaultdict(set)
    for article in corpus.articles:
        if article.wire_of:
            copies[article.wire_of].add(article.outlet)
    republished = [src for src, outlets in copies.items() if len(outlets - {"civic-wire"}) >= 2]
    assert len(republished) >= 5, dict(copies)


def test_times_are_in_the_past_relative_to_now(corpus):
    for article in corpus.articles:
        assert article.published < NOW
        assert article.updated is None or article.published <= article.updated <= NOW


# --- markup rendering ---------------------------------------------------------------------


def test_markup_escapes_text_and_resolves_links(corpus):
    target = corpus.articles[0]
    blocks = (
        f"Read [the earlier report]({target.path}) and [the study](https://data.example.org/x).",
        "A <script>alert(1)</script> & [bad link](https://evil.test/phish) stays text.",
        "- first",
        "- second",
        "## Heading",
        "> Quoted",
    )
    html = render_blocks(blocks, corpus, "http://127.0.0.1:9")
    assert f'<a href="http://127.0.0.1:9{target.path}">the earlier report</a>' in html[0]
    assert 'href="https://data.example.org/x"' in html[0]
    assert "&lt;script&gt;" in html[1] and "evil.test" not in html[1] and "bad link" in html[1]
    assert html[2] == "<ul><li>first</li><li>second</li></ul>"
    assert html[3:] == ["<h2>Heading</h2>", "<blockquote><p>Quoted</p></blockquote>"]


def test_broken_corpus_files_raise_a_clear_error(tmp_path):
    (tmp_path / "articles").mkdir()
    (tmp_path / "outlets.json").write_text(json.dumps({"outlets": []}))
    (tmp_path / "articles" / "bad.json").write_text('{"event": "bad", "articles": [{"slug": 1}]}')
    with pytest.raises(CorpusError, match="outlet"):
        load_corpus(path=tmp_path)
    (tmp_path / "articles" / "bad.json").write_text("{not json")
    with pytest.raises(CorpusError, match=r"bad\.json"):
        load_corpus(path=tmp_path)


# --- feeds --------------------------------------------------------------------------------


def test_every_outlet_feed_parses_in_its_format(publisher, client):
    for info in publisher.feeds():
        response = client.get(info.url)
        assert response.status_code == 200
        items = parse_feed(response.content, info.format)
        assert items, info.url
        if info.section is None:
            assert len(items) <= 50
            assert all("utm_source=rss" in item["link"] for item in items)


def test_feed_content_types(publisher, client):
    expected = {
        "rss20": "application/rss+xml",
        "rss092": "application/rss+xml",
        "atom10": "application/atom+xml",
        "jsonfeed11": "application/feed+json",
        "rss10": "application/rdf+xml",
    }
    for info in publisher.feeds(main_only=True):
        response = client.get(info.url)
        assert response.headers["content-type"].split(";")[0] == expected[info.format]
        assert response.headers["cache-control"] == "max-age=300"


def test_feed_dates_are_in_the_past(publisher, client):
    info = next(f for f in publisher.feeds() if f.format == "atom10")
    for item in parse_feed(client.get(info.url).content, info.format):
        assert datetime.fromisoformat(item["published"]) <= NOW


def _check_article_page(response: httpx.Response, title: str, publisher) -> None:
    assert response.status_code == 200, response.url
    doc = lxml.html.fromstring(response.content)
    assert doc.findtext(".//h1") == title
    _, outlet, _, slug = urlsplit(str(response.url)).path.split("/")
    article = publisher.corpus.article(outlet, slug)
    data = json.loads(doc.xpath('//script[@type="application/ld+json"]')[0].text)
    assert data["@type"] == "NewsArticle" and data["headline"] == title
    assert doc.xpath('//link[@rel="canonical"]/@href') == [without_query(str(response.url))]
    if article.image:
        caption = doc.xpath("//figure//figcaption")[0].text_content()
        assert article.image.caption in caption
        assert article.image.credit.removeprefix("Photo:").strip() in caption
        assert doc.xpath("//figure//img/@alt") == [article.image.alt]


def test_every_feed_item_resolves_to_its_article_page(publisher, client):
    checked = 0
    for info in publisher.feeds():
        for item in parse_feed(client.get(info.url).content, info.format):
            response = client.get(item["link"], follow_redirects=True)
            assert all(r.status_code == 301 for r in response.history)
            _check_article_page(response, item["title"], publisher)
            checked += 1
    assert checked >= len(publisher.corpus.articles) * 2


def test_section_feed_and_main_feed_point_to_the_same_article(publisher, client):
    article = next(a for a in publisher.corpus.articles if len(a.sections) == 2)
    outlet = publisher.corpus.outlets[article.outlet]
    landed = set()
    for info in publisher.feeds():
        if info.outlet_slug != outlet.slug or info.section not in (None, *article.sections):
            continue
        items = parse_feed(client.get(info.url).content, info.format)
        item = next(i for i in items if i["title"] == article.title)
        landed.add(without_query(str(client.get(item["link"], follow_redirects=True).url)))
    assert landed == {publisher.article_url(article)}


def test_guids_are_shared_between_main_and_section_feeds(publisher, client):
    outlet = next(o for o in publisher.corpus.outlets.values() if o.feed_format == "atom10")
    main, *sections = [f for f in publisher.feeds() if f.outlet_slug == outlet.slug]
    main_ids = {i["title"]: i["id"] for i in parse_feed(client.get(main.url).content, "atom10")}
    for info in sections:
        for item in parse_feed(client.get(info.url).content, "atom10"):
            assert main_ids.get(item["title"], item["id"]) == item["id"]


def test_feed_pages_link_to_the_next_page(client):
    with SamplePublisher(now=NOW, feed_size=3) as pub:
        info = next(f for f in pub.feeds(main_only=True) if f.format == "jsonfeed11")
        first = client.get(info.url).json()
        second = client.get(first["next_url"]).json()
        assert len(first["items"]) == 3 and second["items"]
        assert {i["id"] for i in first["items"]}.isdisjoint(i["id"] for i in second["items"])
        assert client.get(info.url + "?page=999").status_code == 404


# --- HTTP behaviour -----------------------------------------------------------------------


def test_conditional_get_returns_304_and_is_counted(publisher, client):
    url = publisher.feeds()[0].url
    path = urlsplit(url).path
    first = client.get(url)
    before = publisher.stats.not_modified(path)
    by_tag = client.get(url, headers={"If-None-Match": first.headers["etag"]})
    by_date = client.get(url, headers={"If-Modified-Since": first.headers["last-modified"]})
    stale = client.get(url, headers={"If-None-Match": '"something-else"'})
    assert (by_tag.status_code, by_date.status_code, stale.status_code) == (304, 304, 200)
    assert by_tag.content == b"" and by_tag.headers["etag"] == first.headers["etag"]
    assert publisher.stats.not_modified(path) == before + 2
    assert publisher.stats.conditional[path]["If-None-Match"] >= 2
    assert publisher.stats.conditional[path]["If-Modified-Since"] >= 1


def test_article_pages_carry_validators(publisher, client):
    article = publisher.corpus.articles[0]
    first = client.get(publisher.article_url(article))
    assert first.headers["etag"] and first.headers["last-modified"]
    again = client.get(
        publisher.article_url(article), headers={"If-None-Match": first.headers["etag"]}
    )
    assert again.status_code == 304


def test_gzip_is_used_only_when_accepted(publisher):
    url = publisher.article_url(publisher.corpus.articles[0])
    with httpx.Client(headers={"Accept-Encoding": "identity"}) as plain:
        identity = plain.get(url)
    with (
        httpx.Client(headers={"Accept-Encoding": "gzip"}) as packed,
        packed.stream("GET", url) as r,
    ):
        raw = b"".join(r.iter_raw())
        assert r.headers["content-encoding"] == "gzip"
    assert "content-encoding" not in identity.headers
    assert gzip.decompress(raw) == identity.content
    assert len(raw) < len(identity.content) / 2


def test_accept_encoding_parsing():
    assert accepts_gzip("gzip, deflate, br")
    assert accepts_gzip("br;q=1.0, gzip;q=0.8")
    assert not accepts_gzip("gzip;q=0")
    assert not accepts_gzip(None)


def test_robots_txt_allows_all_but_private(publisher, client):
    robots = Protego.parse(client.get(publisher.base_url + "/robots.txt").text)
    assert robots.can_fetch(publisher.article_url(publisher.corpus.articles[0]), "Broadsheet")
    assert not robots.can_fetch(publisher.base_url + "/private/subscribe", "Broadsheet")


def test_redirects_and_unknown_paths(publisher, client):
    article = next(a for a in publisher.corpus.articles if len(a.sections) == 2)
    other = f"{publisher.base_url}/{article.outlet}/{article.sections[1]}/{article.slug}"
    moved = client.get(other + "?utm_source=x")
    assert moved.status_code == 301
    assert moved.headers["location"] == publisher.article_url(article) + "?utm_source=x"
    assert client.get(f"{publisher.base_url}/{article.outlet}").status_code == 301
    for path in ("/nowhere", f"/{article.outlet}/news/no-such-story", "/private/x", "/a/b/c/d"):
        response = client.get(publisher.base_url + path)
        assert response.status_code == 404 and b"Page not found" in response.content


def test_outlet_home_lists_articles_and_is_not_an_article(publisher, client):
    outlet = next(iter(publisher.corpus.outlets.values()))
    doc = lxml.html.fromstring(client.get(f"{publisher.base_url}/{outlet.slug}/").content)
    assert not doc.xpath('//meta[@property="og:type"]')
    assert not doc.xpath('//script[@type="application/ld+json"]')
    links = set(doc.xpath('//div[@class="teaser"]//a/@href'))
    assert {a.path for a in publisher.corpus.latest(outlet.slug)[:10]} <= links


def test_index_links_every_feed(publisher, client):
    doc = lxml.html.fromstring(client.get(publisher.base_url + "/").content)
    hrefs = {publisher.base_url + h for h in doc.xpath("//a/@href")}
    assert {f.url for f in publisher.feeds()} <= hrefs


def test_images_and_logos_are_svg_in_the_outlet_colour(publisher, client):
    article = next(a for a in publisher.corpus.articles if a.image)
    outlet = publisher.corpus.outlets[article.outlet]
    for path in (f"/{outlet.slug}/images/{article.slug}.svg", f"/{outlet.slug}/logo.svg"):
        response = client.get(publisher.base_url + path)
        assert response.headers["content-type"] == "image/svg+xml"
        assert outlet.accent in response.text and response.text.startswith("<svg")


def test_only_loopback_hosts_are_accepted():
    for host in ("0.0.0.0", "10.1.2.3", "example.org", ""):
        with pytest.raises(ValueError, match="loopback"):
            SamplePublisher(host, corpus=load_corpus(now=NOW))


def test_pages_are_stable_across_polls_within_a_run(publisher, client):
    url = publisher.feeds()[0].url
    assert client.get(url).content == client.get(url).content


# --- scale --------------------------------------------------------------------------------


def test_scale_yields_thousands_of_distinct_articles_quickly(corpus):
    started = time.perf_counter()
    big = load_corpus(now=NOW, scale=60)
    assert time.perf_counter() - started < 5
    assert len(big.articles) >= 5000
    assert len({a.path for a in big.articles}) == len(big.articles)
    synthetic = [a for a in big.articles if a.synthetic]
    assert len(synthetic) == len(big.articles) - len(corpus.articles)
    assert len({a.title for a in synthetic}) == len(synthetic)
    assert len({a.paragraphs for a in synthetic}) == len(synthetic)
    assert all(a.published < NOW for a in synthetic)


def test_synthetic_articles_share_little_text(corpus):
    synthetic = [a for a in load_corpus(now=NOW, scale=4).articles if a.synthetic]
    for left, right in itertools.pairwise(synthetic):
        shared = set(left.paragraphs) & set(right.paragraphs)
        assert len(shared) <= 2


def test_scaled_publisher_renders_on_demand(client):
    with SamplePublisher(now=NOW, scale=3) as pub:
        article = next(a for a in reversed(pub.corpus.articles) if a.synthetic)
        response = client.get(pub.article_url(article))
        assert response.status_code == 200
        assert lxml.html.fromstring(response.content).findtext(".//h1") == article.title


def test_command_line_serves_in_the_foreground():
    command = [sys.executable, "-m", "broadsheet.samplepub", "--port", "0"]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            base_url = process.stdout.readline().split()[3].rstrip("/")
            feed_line = process.stdout.readline()
            assert httpx.get(base_url + "/robots.txt").status_code == 200
            assert feed_line.split()[0].startswith(base_url)
        finally:
            process.terminate()
