"""The fetcher against real loopback servers, good and hostile.

Every test runs under ``guard_connections``: any attempt to open a socket to anything but
127.0.0.1 fails the test, so "blocked" below means "refused before a packet left", not
"refused after the connection failed".
"""

from __future__ import annotations

import gzip
import pickle
import socket
import time
import tracemalloc
import zlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from ipaddress import ip_address

import pytest

from broadsheet.ingest import netguard
from broadsheet.ingest.errors import ErrorKind, FetchError, PipelineError
from broadsheet.ingest.fetcher import (
    Fetcher,
    FetchPolicy,
    parse_cache_max_age,
    parse_retry_after,
)
from tests.httpservers import (
    MiB,
    closed_port,
    compression_bomb,
    drip,
    endless,
    fake_dns,
    guard_connections,
    lying_length,
    redirect,
    self_signed_cert,
    send,
    serve_raw,
    serve_routes,
    silent_server,
)

LOOPBACK_ONLY = FetchPolicy(
    allowed_networks=["127.0.0.1"],
    fetch_timeout=1.5,
    connect_timeout=1.0,
    max_body_bytes=256 * 1024,
    max_redirects=3,
    user_agent="BroadsheetTest/1.0",
)
STRICT = replace(LOOPBACK_ONLY, allowed_networks=())
# Refusals happen before any I/O; anything near the timeout means something waited.
QUICK = 0.5
RSS = (200, {"Content-Type": "application/rss+xml"}, b"<rss><channel/></rss>")


@pytest.fixture(autouse=True)
def connections(monkeypatch):
    """Connection attempts so far; unexpected ones and unexpected DNS lookups fail the test."""
    fake_dns(monkeypatch, {})
    return guard_connections(monkeypatch)


@pytest.fixture
def fetcher():
    with Fetcher(LOOPBACK_ONLY) as fetcher:
        yield fetcher


@pytest.fixture
def strict_fetcher():
    with Fetcher(STRICT) as fetcher:
        yield fetcher


def fetch_error(fetcher: Fetcher, url: str, within: float, **kwargs) -> FetchError:
    """The FetchError ``get`` raises, after checking that it came within ``within`` seconds."""
    started = time.monotonic()
    with pytest.raises(FetchError) as info:
        fetcher.get(url, **kwargs)
    elapsed = time.monotonic() - started
    assert elapsed < within, f"took {elapsed:.2f} s, bound {within} s: {info.value}"
    assert info.value.url == url
    return info.value


# --- the address guard ---------------------------------------------------------------------------


def test_loopback_is_refused_without_an_allowance(strict_fetcher, connections):
    with serve_routes({"/feed": RSS}) as base:
        error = fetch_error(strict_fetcher, f"{base}/feed", QUICK)
        assert error.kind == ErrorKind.BLOCKED_ADDRESS
        assert base.requests == []
    assert connections == []


def test_loopback_is_fetched_when_allowed(fetcher, connections):
    with serve_routes({"/feed": RSS}) as base:
        response = fetcher.get(f"{base}/feed", accept="feed")
        seen = base.requests[0].headers
    assert response.status == 200
    assert response.content == b"<rss><channel/></rss>"
    assert response.content_type == "application/rss+xml"
    assert response.elapsed < LOOPBACK_ONLY.fetch_timeout
    assert seen["User-Agent"] == "BroadsheetTest/1.0"
    assert "application/rss+xml" in seen["Accept"]
    assert seen["Accept-Encoding"] == "gzip, deflate"
    assert connections == [("127.0.0.1", base.port)]


@pytest.mark.parametrize(
    "host",
    [
        "10.0.0.1",
        "172.16.5.4",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.251",
        "240.0.0.1",
        "127.0.0.2",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fd00::1]",
        "[ff02::1]",
        "[::ffff:10.0.0.1]",
        "[::ffff:169.254.169.254]",
        "[::ffff:127.0.0.1]",
        "[64:ff9b::a9fe:a9fe]",
    ],
)
def test_private_literals_are_refused_without_dns_or_connection(
    strict_fetcher, connections, monkeypatch, host
):
    lookups = fake_dns(monkeypatch, {})
    error = fetch_error(strict_fetcher, f"http://{host}/latest/meta-data/", QUICK)
    assert error.kind == ErrorKind.BLOCKED_ADDRESS
    assert lookups == []
    assert connections == []


def test_a_name_resolving_to_a_private_address_is_refused(strict_fetcher, connections, monkeypatch):
    lookups = fake_dns(monkeypatch, {"intranet.example": ["10.1.2.3"]})
    error = fetch_error(strict_fetcher, "http://intranet.example/feed", QUICK)
    assert error.kind == ErrorKind.BLOCKED_ADDRESS
    assert "10.1.2.3" in str(error)
    assert lookups == ["intranet.example"]
    assert connections == []


def test_one_private_record_among_public_ones_is_enough_to_refuse(
    strict_fetcher, connections, monkeypatch
):
    fake_dns(monkeypatch, {"mixed.example": ["93.184.215.14", "169.254.169.254"]})
    error = fetch_error(strict_fetcher, "https://mixed.example/", QUICK)
    assert error.kind == ErrorKind.BLOCKED_ADDRESS
    assert connections == []


def test_the_connection_goes_to_the_address_that_was_checked(fetcher, connections, monkeypatch):
    # A rebinding resolver: the first answer passes the check, every later one is private.
    answers = iter([["127.0.0.1"]] + [["10.0.0.1"]] * 5)
    lookups = fake_dns(monkeypatch, {"rebind.example": lambda: next(answers)})
    with serve_routes({"/feed": RSS}) as base:
        response = fetcher.get(f"http://rebind.example:{base.port}/feed")
        host_header = base.requests[0].headers["Host"]
    assert response.content == RSS[2]
    assert [name for name in lookups if name == "rebind.example"] == ["rebind.example"]
    assert connections == [("127.0.0.1", base.port)]
    assert host_header == f"rebind.example:{base.port}"


def test_each_new_connection_is_checked_again(connections, monkeypatch):
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])
    fake_dns(monkeypatch, {"rebind.example": lambda: next(answers)})
    with serve_routes({"/feed": RSS}) as base:
        url = f"http://rebind.example:{base.port}/feed"
        with Fetcher(LOOPBACK_ONLY) as first:
            assert first.get(url).status == 200
        with Fetcher(LOOPBACK_ONLY) as second:
            assert fetch_error(second, url, QUICK).kind == ErrorKind.BLOCKED_ADDRESS
    assert connections == [("127.0.0.1", base.port)]


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/admin",
        "http://169.254.169.254/latest/meta-data/iam/",
        "http://127.0.0.2:{port}/feed",
        "http://[::ffff:169.254.169.254]/",
        "http://internal.example/",
    ],
)
def test_redirects_into_private_space_are_refused(fetcher, connections, monkeypatch, target):
    fake_dns(monkeypatch, {"internal.example": ["192.168.0.10"]})
    with serve_routes({"/feed": RSS}) as base:
        routes_target = target.format(port=base.port)
        with serve_routes({"/go": redirect(routes_target)}) as start:
            error = fetch_error(fetcher, f"{start}/go", QUICK)
        assert base.requests == []
    assert error.kind == ErrorKind.BLOCKED_ADDRESS
    assert "after a redirect to" in str(error)
    assert connections == [("127.0.0.1", start.port)]


def test_dns_failure_is_classified(fetcher, monkeypatch):
    fake_dns(monkeypatch, {"gone.example": socket.gaierror(socket.EAI_NONAME, "Name unknown")})
    error = fetch_error(fetcher, "http://gone.example/feed", QUICK)
    assert error.kind == ErrorKind.DNS


def test_a_slow_resolver_is_cut_at_the_deadline(monkeypatch):
    def slow_answer():
        time.sleep(3)
        return ["127.0.0.1"]

    fake_dns(monkeypatch, {"slow.example": slow_answer})
    policy = replace(LOOPBACK_ONLY, connect_timeout=0.5)
    with Fetcher(policy) as fetcher:
        error = fetch_error(fetcher, "http://slow.example/feed", 0.5 + QUICK)
    assert error.kind == ErrorKind.TIMEOUT


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
        ("8.8.8.8", None),
        ("127.0.0.1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("100.100.1.1", "shared (carrier-grade NAT)"),
        ("10.9.8.7", "private"),
        ("fc00::5", "private"),
        ("::ffff:192.168.1.1", "private"),
        ("2002:0a00:0001::1", "private"),  # 6to4 wrapping 10.0.0.1
        ("239.1.1.1", "multicast"),
        ("::", "unspecified"),
    ],
)
def test_blocked_reason(address, reason):
    assert netguard.blocked_reason(ip_address(address), STRICT) == reason


def test_allowances():
    lan = FetchPolicy(allowed_networks=["10.1.0.0/16", "fd00::1"])
    assert netguard.blocked_reason(ip_address("10.1.200.3"), lan) is None
    assert netguard.blocked_reason(ip_address("::ffff:10.1.0.9"), lan) is None
    assert netguard.blocked_reason(ip_address("fd00::1"), lan) is None
    assert netguard.blocked_reason(ip_address("10.2.0.1"), lan) == "private"
    anything = FetchPolicy(allow_private_networks=True)
    assert netguard.blocked_reason(ip_address("169.254.169.254"), anything) is None
    with pytest.raises(ValueError, match="not-a-network"):
        FetchPolicy(allowed_networks=["not-a-network"])


# --- TLS: pinned address, original hostname ------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed_cert(tmp_path_factory.mktemp("tls"), "pub.example")


def test_https_verifies_the_original_hostname_over_the_pinned_address(
    certificate, connections, monkeypatch
):
    fake_dns(monkeypatch, {"pub.example": ["127.0.0.1"]})
    policy = replace(LOOPBACK_ONLY, ca_file=str(certificate[0]))
    with serve_routes({"/feed": RSS}, tls=certificate) as base, Fetcher(policy) as fetcher:
        response = fetcher.get(f"https://pub.example:{base.port}/feed")
        assert base.server_names == ["pub.example"]
        assert base.requests[0].headers["Host"] == f"pub.example:{base.port}"
    assert response.content == RSS[2]
    assert connections == [("127.0.0.1", base.port)]


@pytest.mark.parametrize("trusted", [True, False])
def test_tls_failures_are_classified(certificate, monkeypatch, trusted):
    fake_dns(monkeypatch, {"other.example": ["127.0.0.1"], "pub.example": ["127.0.0.1"]})
    # Trusted: a valid certificate for the wrong name. Untrusted: the right name, unknown issuer.
    host = "other.example" if trusted else "pub.example"
    policy = replace(LOOPBACK_ONLY, ca_file=str(certificate[0]) if trusted else None)
    with serve_routes({"/feed": RSS}, tls=certificate) as base, Fetcher(policy) as fetcher:
        error = fetch_error(fetcher, f"https://{host}:{base.port}/feed", QUICK)
        assert base.requests == []
    assert error.kind == ErrorKind.TLS


# --- deadlines -----------------------------------------------------------------------------------

DEADLINE = LOOPBACK_ONLY.fetch_timeout + 0.4


def test_a_server_that_never_answers_times_out(fetcher):
    with silent_server() as base:
        started = time.monotonic()
        error = fetch_error(fetcher, f"{base}/feed", DEADLINE)
    assert error.kind == ErrorKind.TIMEOUT
    assert time.monotonic() - started > LOOPBACK_ONLY.fetch_timeout - 0.1
    assert str(error) == "timeout: no response from 127.0.0.1 within 1.5 s"


@pytest.mark.parametrize("in_headers", [False, True], ids=["body", "headers"])
def test_a_slow_drip_is_cut_at_the_overall_deadline(fetcher, in_headers):
    # Every byte arrives well within any per-read timeout; only the overall deadline stops it.
    with serve_routes({"/feed": drip(b"x" * 100, 0.25, in_headers=in_headers)}) as base:
        error = fetch_error(fetcher, f"{base}/feed", DEADLINE)
    assert error.kind == ErrorKind.TIMEOUT


def test_refused_port(fetcher):
    error = fetch_error(fetcher, f"http://127.0.0.1:{closed_port()}/", QUICK)
    assert error.kind == ErrorKind.REFUSED


# --- sites that do not answer at all -------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_site_that_did_not_answer_fails_at_once_for_a_while():
    clock = Clock()
    with Fetcher(LOOPBACK_ONLY, clock=clock) as fetcher, silent_server() as base:
        # Connected, no reply: once may be one slow page; twice in a row, the site.
        assert fetch_error(fetcher, f"{base}/a", DEADLINE).kind == ErrorKind.TIMEOUT
        assert fetcher.presumed_down(f"{base}/anything") is None
        assert fetch_error(fetcher, f"{base}/a2", DEADLINE).kind == ErrorKind.TIMEOUT
        assert fetcher.presumed_down(f"{base}/anything").kind == ErrorKind.TIMEOUT
        clock.now += 59
        again = fetch_error(fetcher, f"{base}/b", QUICK)  # no second wait
        assert again.kind == ErrorKind.TIMEOUT
        port = base.rsplit(":", 1)[1]
        assert str(again) == (
            f"timeout: 127.0.0.1:{port} did not answer 59 s ago "
            "(no response from 127.0.0.1 within 1.5 s); not asked again before 1 s"
        )
        clock.now += 1  # down_seconds later the site is asked again, and waited for
        started = time.monotonic()
        assert fetch_error(fetcher, f"{base}/c", DEADLINE).kind == ErrorKind.TIMEOUT
        assert time.monotonic() - started > LOOPBACK_ONLY.fetch_timeout - 0.1


def test_only_the_silent_origin_is_presumed_down(fetcher):
    port = closed_port()
    with serve_routes({"/feed": RSS}) as good:
        assert fetch_error(fetcher, f"http://127.0.0.1:{port}/", QUICK).kind == ErrorKind.REFUSED
        again = fetch_error(fetcher, f"http://127.0.0.1:{port}/other", QUICK)
        assert again.kind == ErrorKind.REFUSED
        assert "did not answer" in again.message
        assert fetcher.get(f"{good}/feed").status == 200  # same host, other port: asked


def test_one_slow_page_among_answered_ones_does_not_mark_the_site_down(fetcher):
    def never_answers(request) -> None:
        time.sleep(LOOPBACK_ONLY.fetch_timeout + 0.5)

    with serve_routes({"/slow": never_answers, "/feed": RSS}) as base:
        for _ in range(2):  # each time an answer from the site comes in between
            assert fetch_error(fetcher, f"{base}/slow", DEADLINE).kind == ErrorKind.TIMEOUT
            assert fetcher.presumed_down(f"{base}/feed") is None
            assert fetcher.get(f"{base}/feed").status == 200


def test_a_robots_txt_without_reply_marks_the_site_down_at_once(fetcher):
    with silent_server() as base:
        error = fetch_error(fetcher, f"{base}/robots.txt", DEADLINE, accept="robots")
        assert error.kind == ErrorKind.TIMEOUT
        assert fetcher.presumed_down(f"{base}/a") is not None


def test_a_slow_body_does_not_mark_the_site_down(fetcher):
    # The site answered; one page stalled. Its other pages are still asked for.
    routes = {"/slow": drip(b"x" * 100, 0.25), "/feed": RSS}
    with serve_routes(routes) as base:
        assert fetch_error(fetcher, f"{base}/slow", DEADLINE).kind == ErrorKind.TIMEOUT
        assert fetcher.presumed_down(f"{base}/feed") is None
        assert fetcher.get(f"{base}/feed").status == 200


def test_a_garbled_reply_does_not_mark_the_site_down(fetcher):
    # The site answered, badly: a reused connection that broke would look the same.
    with serve_raw(b"SPDY/9 what is this\r\n\r\n") as base:
        fetch_error(fetcher, f"{base}/feed", QUICK)
        assert fetcher.presumed_down(f"{base}/feed") is None


def test_a_redirect_to_a_silent_site_marks_that_site_only(fetcher):
    silent = f"http://127.0.0.1:{closed_port()}"
    with serve_routes({"/go": redirect(f"{silent}/x")}) as base:
        assert fetch_error(fetcher, f"{base}/go", QUICK).kind == ErrorKind.REFUSED
        assert fetcher.presumed_down(f"{base}/go") is None
        assert fetcher.presumed_down(f"{silent}/y") is not None
        error = fetch_error(fetcher, f"{base}/go", QUICK)
        assert "did not answer" in error.message and "after a redirect" in error.message


def test_remembering_down_sites_can_be_switched_off():
    with Fetcher(replace(LOOPBACK_ONLY, down_seconds=0)) as fetcher:
        port = closed_port()
        fetch_error(fetcher, f"http://127.0.0.1:{port}/", QUICK)
        assert fetcher.presumed_down(f"http://127.0.0.1:{port}/") is None


# --- size caps -----------------------------------------------------------------------------------


def test_an_endless_body_is_cut_at_the_cap(fetcher):
    with serve_routes({"/feed": endless()}) as base:
        error = fetch_error(fetcher, f"{base}/feed", QUICK)
    assert error.kind == ErrorKind.TOO_LARGE


def test_a_huge_content_length_is_refused_before_reading(fetcher):
    with serve_routes({"/feed": lying_length(50 * 1024**3)}) as base:
        error = fetch_error(fetcher, f"{base}/feed", QUICK)
    assert error.kind == ErrorKind.TOO_LARGE
    assert "declares" in error.message


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_a_compression_bomb_is_stopped_without_inflating_it(fetcher, encoding):
    with serve_routes({"/feed": compression_bomb(encoding, decoded_bytes=1024 * MiB)}) as base:
        tracemalloc.start()
        try:
            error = fetch_error(fetcher, f"{base}/feed", QUICK)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert error.kind == ErrorKind.TOO_LARGE
    assert peak < 8 * MiB, f"peak {peak / MiB:.1f} MiB while decoding"


@pytest.mark.parametrize(
    ("coding", "encode"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),
        ("gzip, gzip", lambda data: gzip.compress(gzip.compress(data))),
        ("identity", lambda data: data),
    ],
    ids=["gzip", "zlib-deflate", "raw-deflate", "gzip-twice", "identity"],
)
def test_compressed_bodies_are_decoded(fetcher, coding, encode):
    original = b"<rss>" + b"<item>news</item>" * 20_000 + b"</rss>"  # 340 KB, over the cap
    body = encode(original[:200_000])
    route = (200, {"Content-Type": "application/rss+xml", "Content-Encoding": coding}, body)
    with serve_routes({"/feed": route}) as base:
        response = fetcher.get(f"{base}/feed", accept="feed")
    assert response.content == original[:200_000]


def test_unknown_or_corrupt_encodings_are_decode_errors(fetcher):
    routes = {
        "/br": (200, {"Content-Type": "text/xml", "Content-Encoding": "br"}, b"\x1b\x00"),
        "/bad": (200, {"Content-Type": "text/xml", "Content-Encoding": "gzip"}, b"not gzip"),
    }
    with serve_routes(routes) as base:
        assert fetch_error(fetcher, f"{base}/br", QUICK).kind == ErrorKind.DECODE
        assert fetch_error(fetcher, f"{base}/bad", QUICK).kind == ErrorKind.DECODE


# --- redirects -----------------------------------------------------------------------------------


def test_redirects_are_followed_within_the_limit(fetcher):
    routes = {"/r/0": redirect("/r/1", 301), "/r/1": redirect("/r/2", 307), "/r/2": RSS}
    with serve_routes(routes) as base:
        response = fetcher.get(f"{base}/r/0")
    assert response.url == f"{base}/r/2"
    assert response.content == RSS[2]


def test_a_redirect_loop_is_detected(fetcher):
    routes = {"/a": redirect("/b"), "/b": redirect("/a")}
    with serve_routes(routes) as base:
        error = fetch_error(fetcher, f"{base}/a", QUICK)
        assert base.hits("/a") == 1
    assert error.kind == ErrorKind.REDIRECT_LOOP


def test_too_many_redirects(fetcher):
    routes = {f"/r/{n}": redirect(f"/r/{n + 1}") for n in range(10)}
    with serve_routes(routes) as base:
        error = fetch_error(fetcher, f"{base}/r/0", QUICK)
        assert len(base.requests) == LOOPBACK_ONLY.max_redirects + 1
    assert error.kind == ErrorKind.TOO_MANY_REDIRECTS


@pytest.mark.parametrize(
    ("route", "kind"),
    [
        (redirect("file:///etc/passwd"), ErrorKind.BAD_URL),
        (redirect("gopher://127.0.0.1:70/"), ErrorKind.BAD_URL),
        ((302, {}, b""), ErrorKind.BAD_RESPONSE),
    ],
)
def test_bad_redirects(fetcher, route, kind):
    with serve_routes({"/go": route}) as base:
        assert fetch_error(fetcher, f"{base}/go", QUICK).kind == kind


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://127.0.0.1/feed",
        "javascript:alert(1)",
        "gopher://127.0.0.1:70/",
        "//127.0.0.1/feed",
        "http:///feed",
        "not a url",
        "",
        "http://exa mple.com/",
        "http://a..b/",
    ],
)
def test_non_http_urls_are_bad_urls(fetcher, connections, url):
    assert fetch_error(fetcher, url, QUICK).kind == ErrorKind.BAD_URL
    assert connections == []


# --- HTTP status and caching ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "kind"),
    [(404, ErrorKind.HTTP_4XX), (410, ErrorKind.HTTP_4XX), (500, ErrorKind.HTTP_5XX),
     (502, ErrorKind.HTTP_5XX)],
)  # fmt: skip
def test_http_errors_keep_their_status(fetcher, status, kind):
    with serve_routes({"/x": (status, {}, b"nope")}) as base:
        error = fetch_error(fetcher, f"{base}/x", QUICK)
    assert (error.kind, error.status) == (kind, status)
    assert str(error).startswith(f"{kind}: 127.0.0.1 answered {status}")


def test_429_and_503_carry_retry_after(fetcher):
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    routes = {
        "/busy": (429, {"Retry-After": "120"}, b""),
        "/down": (503, {"Retry-After": format_datetime(later, usegmt=True)}, b""),
    }
    with serve_routes(routes) as base:
        busy = fetch_error(fetcher, f"{base}/busy", QUICK)
        down = fetch_error(fetcher, f"{base}/down", QUICK)
    expected = datetime.now(UTC) + timedelta(seconds=120)
    assert busy.status == 429
    assert abs((busy.retry_after - expected).total_seconds()) < 5
    assert (down.kind, down.retry_after) == (ErrorKind.HTTP_5XX, later)


def test_conditional_get_sends_validators_and_reports_not_modified(fetcher):
    etag, stamp = '"v42"', "Wed, 01 Jan 2025 10:00:00 GMT"

    def feed(request):
        if request.headers.get("If-None-Match") == etag:
            send(request, 304, {"ETag": etag}, b"")
        else:
            headers = {"ETag": etag, "Last-Modified": stamp, "Cache-Control": "public, max-age=600"}
            send(request, 200, {"Content-Type": "application/atom+xml", **headers}, b"<feed/>")

    with serve_routes({"/feed": feed}) as base:
        first = fetcher.get(f"{base}/feed", accept="feed")
        again = fetcher.get(f"{base}/feed", etag=first.etag, last_modified=first.last_modified)
        seen = base.requests[1].headers
    assert (first.etag, first.last_modified, first.cache_max_age) == (etag, stamp, 600)
    assert (seen["If-None-Match"], seen["If-Modified-Since"]) == (etag, stamp)
    assert again.not_modified and again.status == 304 and again.content == b""
    assert (again.etag, again.last_modified) == (etag, stamp)


def test_mangled_validators_are_dropped_not_sent(fetcher):
    with serve_routes({"/feed": RSS}) as base:
        fetcher.get(f"{base}/feed", etag='"a"\r\nX-Injected: 1', last_modified="é")
        seen = base.requests[0].headers
    assert "If-None-Match" not in seen and "X-Injected" not in seen
    assert "If-Modified-Since" not in seen


def test_an_unrequested_304_is_a_bad_response(fetcher):
    with serve_routes({"/feed": (304, {}, b"")}) as base:
        assert fetch_error(fetcher, f"{base}/feed", QUICK).kind == ErrorKind.BAD_RESPONSE


# --- content types -------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
XML = b'<?xml version="1.0"?><rss/>'
PAGE = b"<!DOCTYPE html><html><body><p>Hi</p></body></html>"


@pytest.mark.parametrize(
    ("accept", "content_type", "body", "ok"),
    [
        ("feed", "application/rss+xml", XML, True),
        ("feed", "text/html; charset=utf-8", XML, True),
        ("feed", "text/plain", XML, True),
        ("feed", "application/feed+json", b"{}", True),
        ("feed", None, XML, True),
        ("feed", "application/octet-stream", XML, True),
        ("feed", "application/octet-stream", b"\x00\x01\x02binary", False),
        ("feed", "image/png", PNG, False),
        ("feed", "video/mp4", b"....", False),
        ("feed", "application/pdf", b"%PDF-1.7", False),
        ("feed", "application/zip", b"PK\x03\x04", False),
        ("feed", None, PNG, False),
        ("html", "text/html", PAGE, True),
        ("html", "application/xhtml+xml", PAGE, True),
        ("html", None, PAGE, True),
        ("html", None, PNG, False),
        ("html", "application/json", b"{}", False),
        ("html", "text/plain", PAGE, False),
        ("any", "image/png", PNG, True),
    ],
)
def test_content_type_checks(fetcher, accept, content_type, body, ok):
    headers = {"Content-Type": content_type} if content_type else {}
    with serve_routes({"/x": (200, headers, body)}) as base:
        if ok:
            assert fetcher.get(f"{base}/x", accept=accept).content == body
        else:
            error = fetch_error(fetcher, f"{base}/x", QUICK, accept=accept)
            assert error.kind == ErrorKind.BAD_CONTENT_TYPE


def test_charset_and_media_type_are_reported(fetcher):
    route = (200, {"Content-Type": "Text/HTML; Charset=ISO-8859-1"}, "café".encode("latin-1"))
    with serve_routes({"/x": route}) as base:
        response = fetcher.get(f"{base}/x", accept="html")
    assert (response.content_type, response.charset.lower()) == ("text/html", "iso-8859-1")


# --- broken servers, connection reuse ------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [b"", b"SSH-2.0-OpenSSH_9.6\r\n", b"HTTP/1.1 200 OK\r\nContent-Length: nine\r\n\r\n"],
    ids=["hang-up", "not-http", "bad-length"],
)
def test_broken_servers_give_classified_errors(fetcher, payload):
    with serve_raw(payload) as base:
        error = fetch_error(fetcher, f"{base}/feed", QUICK)
    assert error.kind == ErrorKind.CONNECTION


def test_the_connection_pool_is_reused(fetcher, connections):
    with serve_routes({"/a": RSS, "/b": RSS}) as base:
        fetcher.get(f"{base}/a")
        fetcher.get(f"{base}/b")
        fetcher.get(f"{base}/a")
        assert base.connections == 1
    assert len(connections) == 1


# --- small parts ---------------------------------------------------------------------------------


def test_retry_after_parsing():
    now = datetime(2025, 5, 1, 12, 0, tzinfo=UTC)
    assert parse_retry_after("30", now) == now + timedelta(seconds=30)
    assert parse_retry_after("Thu, 01 May 2025 13:00:00 GMT", now) == now + timedelta(hours=1)
    assert parse_retry_after("Thu, 01 May 2025 11:00:00 GMT", now) == now  # past: now
    assert parse_retry_after("9" * 40, now) == now + timedelta(days=30)  # clamped
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("-5", now) is None
    assert parse_retry_after(None, now) is None


def test_cache_control_parsing():
    assert parse_cache_max_age("public, max-age=300") == 300
    assert parse_cache_max_age('max-age="60"') == 60
    assert parse_cache_max_age("max-age=300, no-cache") == 0
    assert parse_cache_max_age("no-store") == 0
    assert parse_cache_max_age("max-age=lots") is None
    assert parse_cache_max_age(None) is None


def test_errors_read_well_and_survive_pickling():
    error = FetchError(ErrorKind.HTTP_4XX, "example.org answered 404", url="http://x/", status=404)
    assert str(error) == "http_4xx: example.org answered 404"
    assert isinstance(error, PipelineError)
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes
    assert (copy.kind, copy.message, copy.url, copy.status) == (
        ErrorKind.HTTP_4XX, "example.org answered 404", "http://x/", 404,
    )  # fmt: skip


def test_policy_from_settings(settings):
    settings.BROADSHEET_ALLOWED_NETWORKS = ["127.0.0.1", "10.0.0.0/8"]
    settings.BROADSHEET_FETCH_TIMEOUT = 7.5
    policy = FetchPolicy.from_settings()
    assert policy.fetch_timeout == 7.5
    assert [str(net) for net in policy.allowed_networks] == ["127.0.0.1/32", "10.0.0.0/8"]
    assert policy.user_agent == settings.BROADSHEET_USER_AGENT
