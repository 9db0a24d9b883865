"""Feed parsing against real feeds, feedparser's own edge cases, and hostile bytes."""

import ast
import json
import random
import re
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from urllib.parse import urljoin

import pytest

from broadsheet.ingest.errors import ErrorKind, PipelineError
from broadsheet.ingest.feedparse import ParsedFeed, clean_text, parse_feed, usable_url
from tests.datasets import dataset
from tests.httpservers import serve_routes

FEED_URL = "https://news.example/section/feed.xml"


def rss(items: str, channel: str = "<title>Example</title><link>https://news.example/</link>"):
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>{channel}'
        f"{items}</channel></rss>"
    ).encode()


def item(link: str = "https://news.example/a", title: str = "A", extra: str = "") -> str:
    return f"<item><title>{title}</title><link>{link}</link>{extra}</item>"


def parse(content: bytes, **kwargs) -> ParsedFeed:
    return parse_feed(content, url=FEED_URL, **kwargs)


def not_a_feed(content: bytes, **kwargs) -> str:
    with pytest.raises(PipelineError) as caught:
        parse(content, **kwargs)
    assert caught.value.kind == ErrorKind.NOT_A_FEED
    return caught.value.message


# --- feedparser's edge-case suite: classification, never a crash ----------------------------

HEADER_CONTENT_TYPE = re.compile(r"^Header:\s*Content-type:\s*(.*?)\s*$", re.M | re.I)
EXPECT = re.compile(r"Expect:\s*(.*?)\s*$", re.M)


def _run_edge_file(path):
    """(outcome, parsed feed or None, Expect text) for one edge-case file."""
    data = path.read_bytes()
    head = data[:4000].decode("latin-1")
    content_type = HEADER_CONTENT_TYPE.search(head)
    expect = EXPECT.search(head)
    try:
        feed = parse_feed(data, url=FEED_URL, content_type=content_type and content_type[1])
    except PipelineError as error:
        return f"error:{error.kind}", None, expect[1] if expect else ""
    except Exception as error:  # the very thing this test hunts for
        return f"crash:{type(error).__name__}: {error}", None, ""
    return ("malformed" if feed.malformed else "clean"), feed, expect[1] if expect else ""


def _run_edge_dir(folder):
    results = {path: _run_edge_file(path) for path in sorted(folder.rglob("*.xml"))}
    counts = Counter(outcome.split(":")[0] for outcome, _, _ in results.values())
    print(f"\n{folder.name}: {len(results)} files, {dict(counts)}")
    crashes = {p.name: o for p, (o, _, _) in results.items() if o.startswith("crash")}
    assert crashes == {}
    return results


def _edge_root():
    return dataset("feeds-edge-cases") / "tests"


def test_edge_cases_wellformed_all_parse_except_channel_only_cdf():
    results = _run_edge_dir(_edge_root() / "wellformed")
    errors = {p for p, (outcome, _, _) in results.items() if outcome.startswith("error")}
    # CDF, Microsoft's 1997 channel format, has no version feedparser reports; a CDF file with
    # a channel and no items looks like any other XML document, so it is classed not_a_feed.
    assert all(path.parent.name == "cdf" for path in errors)
    assert len(results) - len(errors) >= 1742
    flagged = [
        p.name for p, (o, _, e) in results.items() if e.startswith("not bozo") and o == "malformed"
    ]
    assert flagged == []


def test_edge_cases_illformed_are_flagged_or_refused():
    results = _run_edge_dir(_edge_root() / "illformed")
    bozo = {p: o for p, (o, _, e) in results.items() if e.startswith("bozo")}
    assert len(bozo) >= 13
    assert all(o in ("malformed", f"error:{ErrorKind.NOT_A_FEED}") for o in bozo.values())
    assert results[_edge_root() / "illformed" / "always_strip_doctype.xml"][1].title == "found"


def test_edge_cases_encoding_all_decode():
    results = _run_edge_dir(_edge_root() / "encoding")
    assert not [p.name for p, (o, _, _) in results.items() if o.startswith("error")]
    flagged = [
        p.name for p, (o, _, e) in results.items() if e.startswith("not bozo") and o == "malformed"
    ]
    assert flagged == []


def test_edge_cases_entities_decode_to_the_expected_titles():
    results = _run_edge_dir(_edge_root() / "entities")
    checked = wrong = 0
    for _, feed, expect in results.values():
        match = re.fullmatch(r"feed\['title'\] == (u?'.*')", expect)
        if match and feed is not None:
            checked += 1
            # Titles are collapsed to single spaces, so a no-break space counts as one space.
            wrong += feed.title != " ".join(ast.literal_eval(match[1]).split())
    print(f"entity titles checked: {checked}, wrong: {wrong}")
    assert checked >= 251 and wrong == 0


def test_undeclared_legacy_encodings_are_detected():
    folder = _edge_root() / "illformed" / "chardet"
    for path in sorted(folder.glob("*.xml")):
        data = path.read_bytes()
        encoding = re.search(rb"encoding == '([^']+)'", data)[1].decode()
        # These files' items have no link, which parse_feed would skip; give them one.
        data = data.replace(b"<item>", b"<item><link>https://news.example/x</link>")
        data = data.replace(b"<entry>", b'<entry><link href="https://news.example/x"/>')
        feed = parse(data)
        titles = [feed.title, *(entry.title for entry in feed.entries)]
        expected = re.findall(r"<title>(.*?)</title>", data.decode(encoding), re.S)
        assert [t for t in titles if t] == [clean_text(t) for t in expected], path.name
        assert feed.malformed and "guessed" in feed.malformed


# --- real feeds compared with rss-parser's recorded output -----------------------------------


def _real_cases():
    try:
        root = dataset("feeds-real")
    except pytest.skip.Exception:
        return [pytest.param(None, marks=pytest.mark.skip(reason="feeds-real data absent"))]
    return sorted(path.name for path in (root / "input").iterdir())


def _expected_items(name):
    path = dataset("feeds-real") / "output" / f"{name.rsplit('.', 1)[0]}.json"
    if not path.exists():
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        # encoding.json was saved in ISO-8859-1, like the feed it records.
        text = raw.decode("latin-1")
    return json.loads(text)["feed"].get("items", [])


def _same_title(expected, got):
    """rss-parser keeps a title's raw markup ("1055ft<sup>2</sup>", "&#x0024;"); ours is the text
    a reader sees, so the expected title goes through the same clean_text before comparing.
    uolNoticias.json holds U+FFFD where rss-parser misread the feed's ISO-8859-1 bytes as UTF-8;
    each one stands for one non-ASCII character (or a no-break space, collapsed to a space)."""
    expected = clean_text(expected)
    if "\ufffd" not in expected:
        return expected == got
    pattern = "".join("(?:[^\\x00-\\x7f]| )" if c == "\ufffd" else re.escape(c) for c in expected)
    return re.fullmatch(pattern, got) is not None


def _expected_date(entry):
    # rss-parser keeps milliseconds that feedparser's struct_time cannot hold.
    iso = entry.get("isoDate")
    return (
        datetime.fromisoformat(iso.replace("Z", "+00:00")).replace(microsecond=0) if iso else None
    )


def _mismatches(expected_items, feed):
    kept = [x for x in expected_items if usable_url(x.get("link"), FEED_URL)]
    problems = [f"count: expected {len(kept)}, got {len(feed.entries)}"]
    if len(kept) == len(feed.entries):
        problems = []
    for index, (want, got) in enumerate(zip(kept, feed.entries, strict=False)):
        guid = want.get("guid", want.get("id", want.get("rdf:about")))
        if not _same_title(want.get("title"), got.title):
            problems.append(f"{index} title {want.get('title')!r} != {got.title!r}")
        if urljoin(FEED_URL, want["link"].strip()) != got.url:
            problems.append(f"{index} link {want['link']!r} != {got.url!r}")
        if (guid.strip() if isinstance(guid, str) else None) != got.guid:
            problems.append(f"{index} guid {guid!r} != {got.guid!r}")
        if _expected_date(want) and _expected_date(want) != got.date:
            problems.append(f"{index} date {want.get('isoDate')!r} != {got.date!r}")
    return problems, len(expected_items) - len(kept)


@pytest.mark.parametrize("name", _real_cases())
def test_real_feed_matches_recorded_items(name):
    content = (dataset("feeds-real") / "input" / name).read_bytes()
    expected = _expected_items(name)
    if expected is None:
        # Two inputs have no recorded output: an HTML "document moved" page, and a feed.
        if name == "unrecognized.rss":
            assert "HTML" in not_a_feed(content)
        else:
            assert len(parse(content).entries) == 131
        return
    feed = parse(content)
    problems, without_link = _mismatches(expected, feed)
    assert problems == []
    assert feed.skipped == without_link


def test_real_latin1_feed_decodes():
    feed = parse((dataset("feeds-real") / "input" / "encoding.rss").read_bytes())
    assert feed.title == "Jornal de Notícias - Últimas Notícias"
    assert feed.malformed is None


def test_real_undeclared_latin1_feed_decodes():
    feed = parse((dataset("feeds-real") / "input" / "uolNoticias.rss").read_bytes())
    assert feed.description == "Últimas Notícias"
    assert "simulações de 2º turno" in feed.entries[0].title


# --- formats and fields -------------------------------------------------------------------------


def test_rss_fields():
    content = rss(
        item(
            link="/world/2024/story",
            title="Summit &amp;amp; talks",
            extra="<guid isPermaLink='false'>story-42</guid>"
            "<pubDate>Tue, 02 Jan 2024 10:00:00 +0200</pubDate>"
            "<description>&lt;p&gt;First &lt;b&gt;paragraph&lt;/b&gt;&lt;/p&gt;</description>"
            "<author>desk@news.example (World desk)</author>"
            "<category>World</category><category> Politics </category><category>World</category>"
            "<enclosure url='/img/1.jpg' type='image/jpeg' length='1'/>",
        ),
        channel="<title>The  Example\n News</title><link>/</link><language>en-GB</language>"
        "<description>All the news</description>",
    )
    feed = parse(content, content_type="application/rss+xml; charset=utf-8")
    assert (feed.title, feed.link, feed.language, feed.format) == (
        "The Example News",
        "https://news.example/",
        "en-GB",
        "rss20",
    )
    assert feed.description == "All the news" and feed.malformed is None
    entry = feed.entries[0]
    assert entry.url == "https://news.example/world/2024/story"
    assert entry.guid == "story-42"
    assert entry.title == "Summit & talks"
    assert entry.summary == "<p>First <b>paragraph</b></p>"
    assert entry.published == datetime(2024, 1, 2, 8, 0, tzinfo=UTC)
    assert entry.published.tzinfo is UTC
    assert entry.tags == ["World", "Politics"]
    assert entry.image_url == "https://news.example/img/1.jpg"
    assert "World desk" in entry.author


def test_atom_picks_the_alternate_link_and_resolves_xml_base():
    content = b"""<?xml version="1.0" encoding="utf-8"?>
    <feed xmlns="http://www.w3.org/2005/Atom" xml:base="https://blog.example/posts/">
      <title type="html">A &lt;em&gt;blog&lt;/em&gt;</title>
      <link rel="alternate" href="https://blog.example/"/>
      <entry>
        <id>tag:blog.example,2024:1</id>
        <title>Hello</title>
        <link rel="edit" href="https://blog.example/api/1"/>
        <link rel="enclosure" type="audio/mpeg" href="https://cdn.example/1.mp3"/>
        <link rel="alternate" type="text/html" href="hello-world"/>
        <updated>2024-03-01T12:00:00Z</updated>
      </entry>
    </feed>"""
    feed = parse(content)
    assert feed.format == "atom10" and feed.title == "A blog"
    entry = feed.entries[0]
    assert entry.url == "https://blog.example/posts/hello-world"
    assert entry.guid == "tag:blog.example,2024:1"
    assert entry.published is None
    assert entry.updated == entry.date == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)


def test_relative_links_resolve_against_the_feed_url():
    feed = parse(rss(item(link="story-1") + item(link="../up") + item(link="//cdn.example/x")))
    assert [e.url for e in feed.entries] == [
        "https://news.example/section/story-1",
        "https://news.example/up",
        "https://cdn.example/x",
    ]


def test_permalink_guid_stands_in_for_a_missing_link():
    entries = (
        "<item><title>Permalink</title><guid>https://news.example/p/1</guid></item>"
        "<item><title>Opaque</title><guid isPermaLink='false'>https://news.example/p/2</guid></item>"
    )
    feed = parse(rss(entries))
    assert [(e.title, e.url) for e in feed.entries] == [("Permalink", "https://news.example/p/1")]
    assert feed.skipped == 1


def test_entries_without_a_usable_link_are_skipped_and_counted():
    entries = (
        item(link="https://news.example/ok")
        + "<item><title>No link at all</title></item>"
        + item(link="javascript:alert(1)")
        + item(link="mailto:desk@news.example")
        + item(link="  ")
    )
    feed = parse(rss(entries))
    assert [e.url for e in feed.entries] == ["https://news.example/ok"]
    assert feed.skipped == 4


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("<![CDATA[<b>Bold</b> move]]>", "Bold move"),
        ("Fish &amp;amp; chips", "Fish & chips"),
        ("Line<![CDATA[<br>]]>break", "Line break"),
        ("  spread \n\t over   lines ", "spread over lines"),
        ("&lt;script&gt;alert(1)&lt;/script&gt;Real", "alert(1)Real"),
        ("2 &lt; 3 and 5 &gt; 4", "2 < 3 and 5 > 4"),
        ("Caf&#233; &#x2014; open", "Café — open"),
    ],
)
def test_titles_become_plain_text(raw, expected):
    assert parse(rss(item(title=raw))).entries[0].title == expected


@pytest.mark.parametrize(
    ("date", "expected"),
    [
        ("Mon, 01 Jan 2024 00:00:00 GMT", datetime(2024, 1, 1, tzinfo=UTC)),
        ("Mon, 01 Jan 2024 00:00:00 -0500", datetime(2024, 1, 1, 5, tzinfo=UTC)),
        ("2024-01-01T00:00:00+01:00", datetime(2023, 12, 31, 23, tzinfo=UTC)),
        ("Thu, 01 Jan 1970 00:00:00 GMT", None),
        ("Sat, 31 Dec 1988 12:00:00 GMT", None),
        ("Fri, 01 Jan 2100 00:00:00 GMT", None),
        ("yesterday-ish", None),
        ("", None),
    ],
)
def test_rss_dates(date, expected):
    feed = parse(rss(item(extra=f"<pubDate>{date}</pubDate>")))
    assert feed.entries[0].published == expected


def test_near_future_dates_are_kept_but_far_ones_dropped():
    soon = datetime.now(UTC) + timedelta(hours=30)
    later = datetime.now(UTC) + timedelta(days=3)
    entries = "".join(
        item(
            link=f"https://news.example/{n}",
            extra=f"<pubDate>{d:%a, %d %b %Y %H:%M:%S} GMT</pubDate>",
        )
        for n, d in (("soon", soon), ("later", later))
    )
    soon_entry, later_entry = parse(rss(entries)).entries
    assert soon_entry.published == soon.replace(microsecond=0)
    assert later_entry.published is None


def test_valid_feed_without_entries_is_not_an_error():
    feed = parse(rss(""))
    assert feed.entries == [] and feed.skipped == 0 and feed.malformed is None
    assert feed.title == "Example"
    assert parse(b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title></feed>').entries == []


def test_broken_feed_keeps_its_good_items():
    content = rss(
        item(link="https://news.example/1", title="One")
        + item(link="https://news.example/2", title="Two &nbsp; undefined entity")
        + item(link="https://news.example/3", title="Three")
    )
    content = content.replace(b"</channel></rss>", b"<item><title>Cut off")
    feed = parse(content)
    assert feed.malformed
    assert [e.url for e in feed.entries][:3] == [f"https://news.example/{n}" for n in (1, 2, 3)]
    assert feed.entries[1].title == "Two undefined entity"


# --- encodings ------------------------------------------------------------------------------------

CHINESE = "中国新闻 经济增长"


def test_declared_gb2312_feed_decodes():
    content = rss(item(title=CHINESE)).decode().replace("utf-8", "gb2312").encode("gb2312")
    feed = parse(content)
    assert feed.entries[0].title == CHINESE and feed.malformed is None


def test_undeclared_gb2312_feed_is_guessed_and_flagged():
    content = (
        "<rss version='2.0'><channel><title>新闻</title>"
        + "".join(item(link=f"https://news.example/{n}", title=f"{CHINESE} {n}") for n in range(5))
        + "</channel></rss>"
    ).encode("gb2312")
    feed = parse(content, content_type="text/xml")
    assert [e.title for e in feed.entries] == [f"{CHINESE} {n}" for n in range(5)]
    assert "guessed" in feed.malformed


def test_undeclared_western_feed_reads_as_windows_1252():
    # The charset detector alone reads this as Central European cp1250 ("açăo").
    titles = [f"Notícia número {n} – ação em Zürich" for n in range(50)]
    entries = "".join(item(link=f"https://news.example/{n}", title=t) for n, t in enumerate(titles))
    content = f"<rss version='2.0'><channel><title>Notícias</title>{entries}</channel></rss>"
    feed = parse(content.encode("cp1252"))
    assert [e.title for e in feed.entries] == titles
    assert "windows-1252" in feed.malformed


def test_latin1_declared_in_xml():
    title = "Mãe é a nova presidente — não"
    content = rss(item(title=title)).decode().replace("utf-8", "ISO-8859-1")
    feed = parse(content.encode("latin-1", errors="replace"))
    assert feed.entries[0].title == title.replace("—", "?")


def test_charset_on_an_xml_content_type_wins_over_the_declaration():
    content = rss(item(title="Zürich")).decode().encode("latin-1")  # mislabelled as utf-8 inside
    feed = parse(content, content_type="application/rss+xml; charset=ISO-8859-1")
    assert feed.entries[0].title == "Zürich"


def test_charset_on_a_non_xml_content_type_is_ignored():
    content = rss(item(title="Zürich"))  # really UTF-8, as it declares
    feed = parse(content, content_type="text/html; charset=ISO-8859-1")
    assert feed.entries[0].title == "Zürich" and feed.malformed is None


def test_utf16_with_bom():
    content = rss(item(title="Ωmega")).decode().replace("utf-8", "utf-16").encode("utf-16")
    assert parse(content).entries[0].title == "Ωmega"


# --- JSON Feed ----------------------------------------------------------------------------------


def json_feed(items, version="https://jsonfeed.org/version/1.1", **extra):
    document = {"version": version, "title": "JSON news", "items": items, **extra}
    return json.dumps(document).encode()


def test_json_feed_1_1():
    content = json_feed(
        [
            {
                "id": "1",
                "url": "/posts/1",
                "title": "First &amp; <i>best</i>",
                "content_html": "<p>Hello</p>",
                "summary": "Short",
                "date_published": "2024-02-03T04:05:06-01:00",
                "date_modified": "2024-02-04T00:00:00Z",
                "authors": [{"name": "Night desk"}],
                "tags": ["a", "b", "a", ""],
                "image": "https://cdn.example/1.png",
            },
            {"id": 2, "external_url": "https://elsewhere.example/x", "content_text": "Plain"},
            {"id": "https://news.example/3", "title": "Id is the URL"},
            {"id": "4", "title": "Nowhere to go"},
            "not an object",
        ],
        home_page_url="https://news.example/",
        description="Desc",
        language="fr",
        authors=[{"name": "Feed desk"}],
    )
    feed = parse(content, content_type="application/feed+json")
    assert (feed.format, feed.title, feed.link, feed.language) == (
        "json11",
        "JSON news",
        "https://news.example/",
        "fr",
    )
    first, second, third = feed.entries
    assert first.url == "https://news.example/posts/1" and first.guid == "1"
    assert first.title == "First & best" and first.summary == "Short"
    assert first.published == datetime(2024, 2, 3, 5, 5, 6, tzinfo=UTC)
    assert first.updated == datetime(2024, 2, 4, tzinfo=UTC)
    assert first.author == "Night desk" and first.tags == ["a", "b"]
    assert first.image_url == "https://cdn.example/1.png"
    assert (second.url, second.guid, second.summary, second.author) == (
        "https://elsewhere.example/x",
        "2",
        "Plain",
        "Feed desk",
    )
    assert third.url == "https://news.example/3"
    assert feed.skipped == 2


def test_json_feed_summaries_are_html_like_the_xml_ones():
    items = [
        {"id": "1", "url": "/1", "summary": "1 < 2 & <b>not bold</b>"},
        {"id": "2", "url": "/2", "content_html": "<p onclick='x()'>Hi<script>bad()</script></p>"},
        {"id": "3", "url": "/3", "content_text": "Fish & chips"},
    ]
    summaries = [entry.summary for entry in parse(json_feed(items)).entries]
    assert summaries == [
        "1 &lt; 2 &amp; &lt;b&gt;not bold&lt;/b&gt;",
        "<p>Hi</p>",
        "Fish &amp; chips",
    ]


def test_json_feed_1_0_sniffed_without_content_type():
    content = b"\n  " + json_feed(
        [{"id": "a", "url": "https://news.example/a", "author": {"name": "Old style"}}],
        version="https://jsonfeed.org/version/1",
    )
    feed = parse(content, content_type="text/plain")
    assert feed.format == "json10"
    assert feed.entries[0].author == "Old style"


@pytest.mark.parametrize(
    "content",
    [
        b'{"hello": "world"}',
        b"[1, 2, 3]",
        b'{"version": "https://example.com/not-json-feed", "items": []}',
        b'{"version": "https://jsonfeed.org/version/1.1", "items": [',
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    ],
)
def test_json_that_is_not_a_json_feed(content):
    not_a_feed(content, content_type="application/json")


def test_json_feed_with_wrong_types_everywhere():
    content = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": ["not", "a", "string"],
            "home_page_url": 7,
            "items": [
                {"id": ["x"], "url": {"a": 1}, "title": None, "tags": "solo", "authors": "me"},
                {"id": True, "url": "https://news.example/ok", "date_published": 12345},
            ],
        }
    ).encode()
    feed = parse(content)
    assert feed.title == "" and feed.link is None
    assert [e.url for e in feed.entries] == ["https://news.example/ok"]
    assert feed.entries[0].guid is None and feed.entries[0].published is None


def _odd_value(generator: random.Random, depth: int = 0):
    choices = [
        None, True, 0, -1, 1.5, float("inf"), "", " ", "x", "/relative", "https://news.example/z",
        "0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "<b>&amp;</b>", "\x00\ud800",
    ]  # fmt: skip
    if depth < 2 and generator.random() < 0.3:
        if generator.random() < 0.5:
            return [_odd_value(generator, depth + 1) for _ in range(generator.randint(0, 3))]
        return {key: _odd_value(generator, depth + 1) for key in generator.sample(JSON_KEYS, 2)}
    return generator.choice(choices)


JSON_KEYS = ["id", "url", "external_url", "title", "summary", "content_html", "content_text",
             "date_published", "date_modified", "authors", "author", "name", "tags", "image",
             "banner_image"]  # fmt: skip


def test_json_items_with_odd_values_never_sink_the_feed():
    generator = random.Random(99)
    items = [
        {key: _odd_value(generator) for key in generator.sample(JSON_KEYS, 6)} for _ in range(400)
    ]
    items.append({"id": "ok", "url": "https://news.example/ok", "title": "Fine"})
    for field in ("title", "home_page_url", "language", "authors", "description"):
        feed = parse(json_feed(items, **{field: _odd_value(generator)}))
        assert feed.entries[-1].title == "Fine"
        assert all(entry.url.startswith("https://") for entry in feed.entries)
        _assert_storable(feed)


def test_json_feed_without_items_is_flagged_not_refused():
    feed = parse(b'{"version": "https://jsonfeed.org/version/1.1", "title": "t"}')
    assert feed.entries == [] and feed.malformed


# --- things that are not feeds ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b" \r\n\t ", "empty"),
        (b"<!DOCTYPE html><html><head><title>Home</title></head><body>Hi</body></html>", "HTML"),
        (b"<html><body><a href='/feed'>Subscribe</a></body></html>", "HTML"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10", ""),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", ""),
        (b"plain text that is no feed", ""),
        (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"/>',
            "XML",
        ),
        (b'<svg xmlns="http://www.w3.org/2000/svg"><title>logo</title></svg>', "XML"),
    ],
)
def test_not_a_feed(content, reason):
    assert reason in not_a_feed(content)


def test_random_bytes_never_escape_as_anything_but_pipeline_error():
    generator = random.Random(20240601)
    outcomes = Counter()
    for _ in range(300):
        content = generator.randbytes(generator.choice([1, 7, 64, 512, 4096]))
        outcomes[_classify(content)] += 1
    assert set(outcomes) <= {"parsed", "refused"}


def test_mutated_feeds_never_escape_as_anything_but_pipeline_error():
    generator = random.Random(7)
    base = rss("".join(item(link=f"/n/{n}", title=f"T{n} &amp; x") for n in range(8)))
    outcomes = Counter(_classify(_mutate(base, generator)) for _ in range(300))
    print(f"mutated feeds: {dict(outcomes)}")
    assert set(outcomes) <= {"parsed", "refused"}
    assert outcomes["parsed"] > 100


SNIPPETS = [b"<", b"&", b"]]>", b"\x00", b"\xff\xfe", b"<!--", b"<![CDATA[", b"&#xd800;", b"&#0;"]


def _mutate(content: bytes, generator: random.Random) -> bytes:
    data = bytearray(content)
    for _ in range(generator.randint(1, 8)):
        where = generator.randrange(len(data))
        action = generator.choice(("flip", "cut", "insert"))
        if action == "flip":
            data[where] = generator.randrange(256)
        elif action == "cut":
            del data[where : where + generator.randint(1, 40)]
        else:
            data[where:where] = generator.choice(SNIPPETS)
    return bytes(data)


def _classify(content: bytes) -> str:
    try:
        _assert_storable(parse(content))
    except PipelineError:
        return "refused"
    return "parsed"


def _assert_storable(feed: ParsedFeed) -> None:
    """Every text field can go into a database: valid UTF-8 and no NUL bytes."""
    texts = [feed.title, feed.description, feed.link, feed.language, feed.malformed]
    for entry in feed.entries:
        texts += [entry.guid, entry.url, entry.title, entry.summary, entry.author, *entry.tags]
        texts.append(entry.image_url)
    for text in filter(None, texts):
        assert "\x00" not in text
        text.encode("utf-8")


def test_many_entries():
    count = 3000
    started = time.perf_counter()
    feed = parse(rss("".join(item(link=f"/n/{n}", title=f"Item {n}") for n in range(count))))
    elapsed = time.perf_counter() - started
    print(f"{count} entries parsed in {elapsed:.2f}s")
    assert len(feed.entries) == count
    assert feed.entries[-1].url == f"https://news.example/n/{count - 1}"


def test_entity_bomb_is_contained():
    levels = "".join(f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 9))
    content = (
        f'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY e0 "lollollollol">{levels}]>'
        f'<rss version="2.0"><channel><title>&e8;</title>{item(title="&e8;")}</channel></rss>'
    ).encode()
    started = time.perf_counter()
    try:
        feed = parse(content)
    except PipelineError:
        feed = None
    assert time.perf_counter() - started < 10
    assert feed is None or len(feed.title) < 10_000


# --- nothing is ever fetched or opened ----------------------------------------------------------


@pytest.fixture
def counting_server():
    """A loopback server that baits any fetch with a payload and records every request."""
    with serve_routes(
        {"*": (200, {"Content-Type": "application/rss+xml"}, rss(item(title="FETCHED")))}
    ) as served:
        yield served, served.requests


def test_urls_in_content_or_arguments_are_never_fetched(counting_server, tmp_path):
    base, hits = counting_server
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    hostile = (
        f'<?xml version="1.0"?><?xml-stylesheet href="{base}/style.xsl"?>'
        f'<!DOCTYPE rss SYSTEM "{base}/rss.dtd" [<!ENTITY remote SYSTEM "{base}/entity">'
        f'<!ENTITY local SYSTEM "file://{secret}">]>'
        f'<rss version="2.0" xmlns:xi="http://www.w3.org/2001/XInclude"><channel><title>&remote;</title>'
        f'<xi:include href="{base}/xinclude"/>'
        f"{item(link=f'{base}/article', title='&local;')}</channel></rss>"
    ).encode()
    feed = parse_feed(hostile, url=f"{base}/feed.xml")
    assert "TOP-SECRET" not in feed.entries[0].title and "FETCHED" not in feed.title
    for looks_like_a_location in (f"{base}/feed.xml".encode(), b"file://" + bytes(secret)):
        not_a_feed(looks_like_a_location)
    assert hits == []


def test_bytes_naming_a_file_are_not_opened(tmp_path):
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(rss(item(title="From disk")))
    assert parse(feed_file.read_bytes()).entries[0].title == "From disk"
    not_a_feed(str(feed_file).encode())
