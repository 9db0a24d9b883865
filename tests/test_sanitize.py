"""The sanitizer is the last gate: hostile markup must not survive it, good markup must."""

import pytest
from lxml import html as lxml_html

from broadsheet.extraction.sanitize import TAGS, sanitize_html

BASE = "https://news.example/world/story.html"
ALLOWED_ATTRIBUTES = {
    "a": {"href", "rel"},
    "img": {"src", "alt", "width", "height", "loading"},
    "th": {"colspan", "rowspan"},
    "td": {"colspan", "rowspan"},
}

XSS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=https://evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="https://ok.example/a.png" onload="alert(1)">',
    '<a href="javascript:alert(1)">x</a>',
    '<a href="JaVaScRiPt:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">x</a>',
    '<a href="  javascript:alert(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    '<a href="vbscript:msgbox(1)">x</a>',
    "<svg onload=alert(1)><script>alert(1)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<p style="width: expression(alert(1))">styled</p>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<iframe src="https://evil.example/"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<form action="https://evil.example/steal"><input name=q><button>go</button></form>',
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x">',
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    '<div><p>unclosed <b>bold <i>italic <a href="javascript:alert(1)">link',
    "<<script>script>alert(1)<</script>/script>",
    '<a href="https://ok.example/" onclick="alert(1)" onmouseover="alert(1)">ok</a>',
    '<base href="javascript:alert(1)//"><a href="x">relative</a>',
    '<p id="x" class="y" data-x="z" onfocus="alert(1)" tabindex=1 autofocus>attrs</p>',
    "<details open ontoggle=alert(1)><summary>s</summary></details>",
    '<img src="https://ok.example/a.png" srcset="javascript:alert(1) 1x">',
    "<!--<img src=x onerror=alert(1)>-->comment",
    "<template><img src=x onerror=alert(1)></template>",
    "<textarea><img src=x onerror=alert(1)></textarea>",
]


def assert_inert(markup: str) -> None:
    """Every element and attribute is allow-listed, and every URL is a web or mail address."""
    if not markup.strip():
        return
    root = lxml_html.fragment_fromstring(markup, create_parent="div")
    for element in root.iterdescendants():
        assert element.tag in TAGS, element.tag
        assert set(element.attrib) <= ALLOWED_ATTRIBUTES.get(element.tag, set()), element.attrib
        for name in ("href", "src"):
            if value := element.get(name):
                assert value.startswith(("https://", "http://", "mailto:")), value


@pytest.mark.parametrize("markup", XSS)
def test_hostile_markup_is_inert(markup):
    cleaned = sanitize_html(markup, BASE)
    assert_inert(cleaned)
    lowered = cleaned.lower()
    for needle in (
        "javascript",
        "vbscript",
        "data:",
        "onerror",
        "onload",
        "<script",
        "expression(",
    ):
        assert needle not in lowered


@pytest.mark.parametrize(
    "markup, leaked",
    [
        ("<script>var secret = 1;</script>after", "secret"),
        ("<style>.ad { color: red }</style>after", "color"),
        ('<iframe src="https://ok.example/">frame text</iframe>after', "frame text"),
        ("<svg><text>vector words</text></svg>after", "vector words"),
        ("<math><mi>mathvar</mi></math>after", "mathvar"),
        ("<form><label>Your e-mail</label></form>after", "e-mail"),
    ],
)
def test_dropped_elements_take_their_text_along(markup, leaked):
    cleaned = sanitize_html(markup, BASE)
    assert "after" in cleaned
    assert leaked not in cleaned


def test_good_article_markup_survives():
    markup = (
        "<h2>Section</h2><p>Text with <a href='/other' target='_blank'>a link</a>, "
        "<strong>bold</strong> and <em>italic</em>.</p>"
        "<ul><li>one</li><li>two</li></ul><ol><li>first</li></ol>"
        "<blockquote><p>Quoted words</p></blockquote>"
        "<figure><img src='img/photo.jpg' alt='A photo' width='640' height='480'>"
        "<figcaption>Caption <cite>Agency</cite></figcaption></figure>"
        "<table><tr><th colspan='2'>Head</th></tr><tr><td rowspan='1'>Cell</td></tr></table>"
        "<p><a href='mailto:desk@news.example'>Write to us</a></p>"
    )
    cleaned = sanitize_html(markup, BASE)
    assert_inert(cleaned)
    assert '<a href="https://news.example/other" rel="noopener nofollow ugc">a link</a>' in cleaned
    assert "target" not in cleaned
    assert "<strong>bold</strong>" in cleaned and "<em>italic</em>" in cleaned
    assert "<li>two</li>" in cleaned and "<ol><li>first</li></ol>" in cleaned
    assert "<blockquote><p>Quoted words</p></blockquote>" in cleaned
    assert 'src="https://news.example/world/img/photo.jpg"' in cleaned
    assert 'alt="A photo"' in cleaned and 'width="640"' in cleaned and 'loading="lazy"' in cleaned
    assert "<figcaption>Caption <cite>Agency</cite></figcaption>" in cleaned
    assert '<th colspan="2">Head</th>' in cleaned
    assert 'href="mailto:desk@news.example"' in cleaned


def test_forced_link_rel_replaces_the_publishers():
    cleaned = sanitize_html('<a href="https://ok.example/" rel="opener">x</a>', BASE)
    assert 'rel="noopener nofollow ugc"' in cleaned
    assert cleaned.count("rel=") == 1


def test_relative_urls_are_dropped_without_a_web_base():
    cleaned = sanitize_html('<a href="/x">x</a><img src="y.png">', "javascript:alert(1)//")
    assert "href" not in cleaned and "src" not in cleaned


def test_images_load_only_over_the_web():
    cleaned = sanitize_html('<img src="mailto:a@b.example"><img src="ftp://f.example/a.png">', BASE)
    assert "src" not in cleaned


def test_non_numeric_dimensions_are_dropped():
    cleaned = sanitize_html(
        '<img src="https://ok.example/a.png" width="100%" height="9e9px">', BASE
    )
    assert "width" not in cleaned and "height" not in cleaned


def test_empty_input():
    assert sanitize_html("", BASE) == ""
