"""URL normalization: the same page must get the same key however a publisher spells its URL."""

import pytest

from broadsheet.ingest.errors import ErrorKind, PipelineError
from broadsheet.ingest.urls import is_tracking_param, normalize_url, url_key


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("https://example.com", "https://example.com/"),
        ("http://example.com:80/a", "http://example.com/a"),
        ("https://example.com:443/a", "https://example.com/a"),
        ("http://example.com:443/a", "http://example.com:443/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#section-2", "https://example.com/a"),
        ("https://example.com/a?#", "https://example.com/a"),
        ("https://example.com/Path/Is/Kept", "https://example.com/Path/Is/Kept"),
        ("  https://example.com/padded  ", "https://example.com/padded"),
        ("https://example.com/a/./b/../c", "https://example.com/a/c"),
        ("https://example.com/caf%c3%a9", "https://example.com/caf%C3%A9"),
        ("https://example.com/café", "https://example.com/caf%C3%A9"),
        ("https://example.com/a b", "https://example.com/a%20b"),
        ("https://bücher.example/", "https://xn--bcher-kva.example/"),
        ("https://BÜCHER.example/", "https://xn--bcher-kva.example/"),
        ("https://example.com./a", "https://example.com/a"),
        ("https://my_host.example.com/", "https://my_host.example.com/"),
        ("http://[2001:DB8::0001]:80/x", "http://[2001:db8::1]/x"),
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/x"),
        ("https://User:Secret@Example.com/feed", "https://User:Secret@example.com/feed"),
    ],
)
def test_normalize_url_canonical_forms(url, expected):
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://e.com/a?utm_source=rss&utm_medium=feed", "https://e.com/a"),
        ("https://e.com/a?id=7&utm_campaign=x&page=2", "https://e.com/a?id=7&page=2"),
        ("https://e.com/a?UTM_Source=x&id=1", "https://e.com/a?id=1"),
        ("https://e.com/a?fbclid=abc", "https://e.com/a"),
        ("https://e.com/a?gclid=1&dclid=2&msclkid=3&yclid=4", "https://e.com/a"),
        ("https://e.com/a?mc_cid=1&mc_eid=2&igshid=3&_ga=4&ref_src=twsrc", "https://e.com/a"),
        ("https://e.com/a?b=2&a=1", "https://e.com/a?b=2&a=1"),
        ("https://e.com/a?q=x+y&z=%2F", "https://e.com/a?q=x+y&z=%2F"),
        ("https://e.com/a?flag&utm_term=t", "https://e.com/a?flag"),
        ("https://e.com/a?empty=&&x=1", "https://e.com/a?empty=&x=1"),
        ("https://e.com/a?ref=homepage", "https://e.com/a?ref=homepage"),
        ("https://e.com/a?utm=keep", "https://e.com/a?utm=keep"),
        ("https://e.com/a?q=é", "https://e.com/a?q=%C3%A9"),
    ],
)
def test_normalize_url_drops_only_tracking_parameters(url, expected):
    assert normalize_url(url) == expected


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("/story/1", "https://news.example/feed.xml", "https://news.example/story/1"),
        (
            "story/1",
            "https://news.example/section/feed.xml",
            "https://news.example/section/story/1",
        ),
        ("../up", "https://news.example/a/b/feed", "https://news.example/a/up"),
        ("//cdn.example/x", "https://news.example/feed", "https://cdn.example/x"),
        ("?page=2", "https://news.example/list?page=1", "https://news.example/list?page=2"),
        ("https://other.example/x", "https://news.example/feed", "https://other.example/x"),
    ],
)
def test_normalize_url_resolves_against_base(url, base, expected):
    assert normalize_url(url, base) == expected


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        "ftp://example.com/file",
        "javascript:alert(1)",
        "mailto:someone@example.com",
        "file:///etc/passwd",
        "data:text/html,hi",
        "/relative/without/base",
        "example.com/no-scheme",
        "http://",
        "http:///path-only",
        "https://exa mple.com/",
        "http://example.com:99999/",
        "http://example.com:port/",
        "http://[not-ipv6]/",
        "http://a..b/",
        "https://example.com/\ud800",
        "https://example.com/a\x00b",
        "https://exam\x07ple.com/",
    ],
)
def test_normalize_url_rejects_what_cannot_be_fetched(url):
    with pytest.raises(PipelineError) as caught:
        normalize_url(url)
    assert caught.value.kind == ErrorKind.BAD_URL
    assert caught.value.message


def test_normalize_url_rejects_non_string_input():
    with pytest.raises(PipelineError) as caught:
        normalize_url(None)  # type: ignore[arg-type]
    assert caught.value.kind == ErrorKind.BAD_URL


def test_normalize_url_is_idempotent():
    samples = [
        "HTTP://Bücher.Example:80/a/../b/caf%c3%a9?utm_source=x&id=1#top",
        "https://e.com/a b?q=x y&fbclid=1",
        "https://[::1]:443/",
    ]
    for url in samples:
        once = normalize_url(url)
        assert normalize_url(once) == once


def test_url_key_is_stable_and_equal_for_equivalent_urls():
    key = url_key("https://news.example/story?id=1")
    assert len(key) == 32
    assert all(char in "0123456789abcdef" for char in key)
    assert url_key("HTTPS://News.Example:443/story?id=1&utm_source=rss#comments") == key
    assert url_key("https://news.example/story?id=2") != key
    assert url_key("http://news.example/story?id=1") != key


def test_url_key_rejects_bad_urls():
    with pytest.raises(PipelineError):
        url_key("mailto:x@example.com")


def test_tracking_parameter_names():
    assert is_tracking_param("utm_content")
    assert is_tracking_param("FBCLID")
    assert not is_tracking_param("id")
    assert not is_tracking_param("page")
