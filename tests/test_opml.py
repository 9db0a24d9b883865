"""OPML import and export, including the hostile uploads an import form will receive."""

import time

import pytest
from lxml import etree

from broadsheet.ingest.errors import ErrorKind, PipelineError
from broadsheet.ingest.opml import OpmlFeed, build_opml, parse_opml
from tests.httpservers import serve_routes

NESTED = b"""<?xml version="1.0" encoding="UTF-8"?>
<opml version="1.0">
  <head><title>Subscriptions</title></head>
  <body>
    <outline text="Loose feed" type="rss" xmlUrl="https://loose.example/feed.xml"/>
    <outline text="World news" title="World news">
      <outline text="Daily Planet" type="rss" xmlUrl="https://planet.example/rss"
               htmlUrl="https://planet.example/"/>
      <outline text="Regional">
        <outline title="Valley Gazette" xmlurl="http://gazette.example/atom"/>
      </outline>
    </outline>
    <outline text="Tech">
      <outline text="Byte Weekly" XMLURL="feed://bytes.example/index.xml"/>
      <outline text="Duplicate of planet" xmlUrl="https://PLANET.example/rss#dup"/>
      <outline text="Not a web feed" xmlUrl="javascript:alert(1)"/>
      <outline text="Empty URL" xmlUrl=""/>
    </outline>
  </body>
</opml>
"""


PLANET_HOME = "https://planet.example/"


def test_parse_nested_categories_take_the_enclosing_outline_text():
    feeds = parse_opml(NESTED)
    assert feeds == [
        OpmlFeed("https://loose.example/feed.xml", "Loose feed", None, None),
        OpmlFeed(
            "https://planet.example/rss", "Daily Planet", "https://planet.example/", "World news"
        ),
        OpmlFeed("http://gazette.example/atom", "Valley Gazette", None, "Regional"),
        OpmlFeed("http://bytes.example/index.xml", "Byte Weekly", None, "Tech"),
    ]


def test_round_trip_keeps_every_field():
    feeds = [
        OpmlFeed("https://a.example/feed", "Alpha & Omega <News>", "https://a.example/", None),
        OpmlFeed("https://b.example/rss?x=1&y=2", "Bravo", None, "Sport"),
        OpmlFeed("https://c.example/atom", "Charlie “quoted”", "https://c.example/", "Sport"),
        OpmlFeed("https://d.example/feed", "Délta", None, "Culture & Arts"),
    ]
    document = build_opml(feeds, title="My subscriptions")
    assert parse_opml(document) == feeds


def test_build_produces_opml_2_with_head_and_grouped_categories():
    document = build_opml(
        [
            OpmlFeed("https://a.example/f", "A", category="News"),
            OpmlFeed("https://b.example/f", "B"),
        ],
        title="Export",
    )
    root = etree.fromstring(document)
    assert document.startswith(b"<?xml")
    assert root.tag == "opml" and root.get("version") == "2.0"
    assert root.findtext("head/title") == "Export"
    assert root.findtext("head/dateCreated").endswith("GMT")
    folder = root.find("body/outline[@text='News']")
    assert folder.find("outline").get("xmlUrl") == "https://a.example/f"
    assert folder.find("outline").get("type") == "rss"
    assert root.find("body/outline[@xmlUrl='https://b.example/f']").get("text") == "B"


def test_build_drops_characters_xml_cannot_hold():
    document = build_opml([OpmlFeed("https://a.example/f", "Bell\x07 and \ud800 gone")], "T\x00")
    assert parse_opml(document) == [OpmlFeed("https://a.example/f", "Bell and gone")]


def test_deep_nesting_is_refused_not_recursed():
    depth = 5000
    data = (
        b"<opml><body>"
        + b'<outline text="f">' * depth
        + b'<outline text="x" xmlUrl="https://a.example/f"/>'
        + b"</outline>" * depth
        + b"</body></opml>"
    )
    with pytest.raises(PipelineError) as caught:
        parse_opml(data)
    assert caught.value.kind == ErrorKind.NOT_A_FEED


def test_build_of_nothing_is_a_valid_empty_list():
    assert parse_opml(build_opml([], title="Empty")) == []


def test_bare_ampersands_from_sloppy_exporters_keep_whole_urls():
    data = b'<opml><body><outline text="Q & A" xmlUrl="https://q.example/f?a=1&b=2"/></body></opml>'
    assert parse_opml(data) == [OpmlFeed("https://q.example/f?a=1&b=2", "Q & A")]


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"   \n",
        b"this is not xml at all",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        bytes(range(256)) * 4,
        b"<html><head><title>Hi</title></head><body><p>A page</p></body></html>",
        b"<opml version='2.0'><head><title>No body</title></head></opml>",
        b'<?xml version="1.0"?><rss version="2.0"><channel><title>x</title></channel></rss>',
        b"<opml><body><outline",
    ],
)
def test_garbage_is_a_classified_error(data):
    with pytest.raises(PipelineError) as caught:
        parse_opml(data)
    assert caught.value.kind == ErrorKind.NOT_A_FEED
    assert "OPML" in caught.value.message


def _entity_bomb(levels: int) -> bytes:
    entities = [b'<!ENTITY e0 "lollollollollollollollollollol">']
    for level in range(1, levels + 1):
        entities.append(b'<!ENTITY e%d "%s">' % (level, b"&e%d;" % (level - 1) * 10))
    top = b"&e%d;" % levels
    return (
        b'<?xml version="1.0"?><!DOCTYPE opml [' + b"".join(entities) + b"]>"
        b'<opml version="2.0"><head><title>' + top + b"</title></head><body>"
        b'<outline text="' + top + b'" xmlUrl="https://bomb.example/' + top + b'"/>'
        b"</body></opml>"
    )


def test_billion_laughs_is_refused_quickly_without_expanding():
    started = time.perf_counter()
    with pytest.raises(PipelineError) as caught:
        parse_opml(_entity_bomb(levels=9))
    assert caught.value.kind == ErrorKind.NOT_A_FEED
    assert time.perf_counter() - started < 2.0


def test_entity_declarations_are_refused_even_when_small():
    # libxml2 would expand these inside attributes; OPML never needs them.
    data = (
        b'<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY name "Expanded">]>'
        b'<opml><body><outline text="&name;" xmlUrl="https://e.example/f"/></body></opml>'
    )
    with pytest.raises(PipelineError) as caught:
        parse_opml(data)
    assert caught.value.kind == ErrorKind.NOT_A_FEED
    assert "entities" in caught.value.message


@pytest.fixture
def counting_server():
    """A loopback server that baits any fetch with a payload and records every request."""
    with serve_routes({"*": (200, {}, b'<!ENTITY leak "LEAKED">')}) as served:
        yield served, served.requests


def test_external_entities_are_neither_fetched_nor_read(counting_server, tmp_path):
    base, hits = counting_server
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml ['
        f'<!ENTITY remote SYSTEM "{base}/remote">'
        f'<!ENTITY local SYSTEM "file://{secret}">]>'
        '<opml><body><outline text="&remote;&local;" xmlUrl="https://x.example/f"/></body></opml>'
    ).encode()
    with pytest.raises(PipelineError) as caught:
        parse_opml(data)
    assert "TOP-SECRET" not in caught.value.message
    assert "LEAKED" not in caught.value.message
    assert hits == []


def test_external_dtd_is_not_fetched(counting_server):
    base, hits = counting_server
    data = (
        f'<?xml version="1.0"?><!DOCTYPE opml SYSTEM "{base}/opml.dtd">'
        '<opml><body><outline text="Plain" xmlUrl="https://x.example/f"/></body></opml>'
    ).encode()
    assert parse_opml(data) == [OpmlFeed("https://x.example/f", "Plain")]
    assert hits == []
