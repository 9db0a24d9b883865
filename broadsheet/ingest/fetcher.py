"""The one way the ingest pipeline talks to publishers' servers.

Every URL we fetch was chosen by someone else: a feed, an article link, a redirect. So a fetch
must never become a tool against the operator or the worker:

- No requests into the operator's own network. Each hostname is resolved here, every address is
  checked (netguard), and the socket is opened to exactly the address that was checked, so a DNS
  answer that changes between check and connect (rebinding) cannot slip through. TLS still
  verifies the certificate for the original hostname. Every redirect hop goes through the same
  gate, because a public server may redirect to 169.254.169.254.
- No stuck workers. One deadline covers the whole request, DNS and redirects included, and caps
  every socket read, so a server that drips a byte at a time is cut off on time.
- No memory blow-ups. The body is decoded in small steps and counted after decoding, so a small
  gzip bomb is stopped as soon as it passes the size cap instead of being inflated first.
- One vocabulary of failure. Whatever goes wrong comes out as a FetchError with an ErrorKind, so
  feeds and articles can store and count it; no raw httpx or socket exception leaves ``get``.
"""

from __future__ import annotations

import functools
import re
import socket
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Literal

import httpcore
import httpx

from broadsheet.ingest import netguard
from broadsheet.ingest.errors import ErrorKind, FetchError

Accept = Literal["feed", "html", "any", "robots"]

DEFAULT_USER_AGENT = "Broadsheet/0.1 (+https://github.com/broadsheet; news aggregator)"

ACCEPT_HEADERS: dict[str, str] = {
    "feed": (
        "application/rss+xml, application/atom+xml, application/feed+json, "
        "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
        "application/json;q=0.8, text/*;q=0.5, */*;q=0.1"
    ),
    "html": "text/html, application/xhtml+xml;q=0.9, */*;q=0.1",
    "robots": "text/plain, */*;q=0.1",
    "any": "*/*",
}
# Only codings we can inflate in bounded steps; brotli or zstd would need the same treatment.
ACCEPT_ENCODING = "gzip, deflate"

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
MAX_RETRY_AFTER = timedelta(days=30)

# The deadline of the request running in this thread; the network stream consults it on every
# socket operation, since httpx only knows per-operation timeouts.
# Held as (monotonic time it passes, length in seconds).
_deadline: ContextVar[tuple[float, float] | None] = ContextVar("broadsheet_deadline", default=None)


@dataclass(frozen=True, slots=True)
class FetchPolicy:
    allow_private_networks: bool = False
    allowed_networks: tuple[netguard.IPNetwork, ...] = ()
    user_agent: str = DEFAULT_USER_AGENT
    fetch_timeout: float = 20.0
    connect_timeout: float = 10.0
    max_body_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5
    obey_robots: bool = True
    host_concurrency: int = 2
    host_rate: float = 2.0
    # A CA bundle to trust instead of the default one: private publishers, and TLS tests.
    ca_file: str | None = None
    # After a site did not answer at all, its requests fail at once for this many seconds.
    down_seconds: float = 60.0

    def __post_init__(self) -> None:
        networks = netguard.parse_networks(self.allowed_networks)
        object.__setattr__(self, "allowed_networks", networks)

    @classmethod
    def from_settings(cls) -> FetchPolicy:
        from django.conf import settings

        return cls(
            allow_private_networks=settings.BROADSHEET_ALLOW_PRIVATE_NETWORKS,
            allowed_networks=settings.BROADSHEET_ALLOWED_NETWORKS,
            user_agent=settings.BROADSHEET_USER_AGENT,
            fetch_timeout=settings.BROADSHEET_FETCH_TIMEOUT,
            connect_timeout=settings.BROADSHEET_CONNECT_TIMEOUT,
            max_body_bytes=settings.BROADSHEET_MAX_BODY_BYTES,
            max_redirects=settings.BROADSHEET_MAX_REDIRECTS,
            obey_robots=settings.BROADSHEET_OBEY_ROBOTS,
            host_concurrency=settings.BROADSHEET_HOST_CONCURRENCY,
            host_rate=settings.BROADSHEET_HOST_RATE,
        )


@dataclass(frozen=True, slots=True)
class FetchResponse:
    url: str
    status: int
    headers: httpx.Headers
    content: bytes
    content_type: str | None
    charset: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool = False
    retry_after: datetime | None = None
    cache_max_age: int | None = None
    elapsed: float = 0.0  # seconds, all redirect hops included


# Failures that say a site is not answering at all, rather than answering badly.
SILENT = frozenset(
    {ErrorKind.TIMEOUT, ErrorKind.REFUSED, ErrorKind.CONNECTION, ErrorKind.DNS, ErrorKind.TLS}
)


class Fetcher:
    """A pooled HTTP client that enforces a FetchPolicy on every request.

    A site that does not answer is presumed down for ``policy.down_seconds``: its requests fail
    at once with the same kind of error instead of each waiting out a timeout. One failure
    tells when no connection could be made (refused, unreachable, timed out), DNS or TLS failed,
    or robots.txt got no reply before the deadline; requests that connected but got no reply
    need to fail twice in a row, since one slow page is no proof. A response that started and
    then stalled (a slow body) marks nothing: that is one page's problem, not the site's.
    """

    def __init__(
        self, policy: FetchPolicy | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or FetchPolicy.from_settings()
        self._down = _DownOrigins(self.policy.down_seconds, clock)
        self._client = httpx.Client(
            transport=_GuardedTransport(self.policy),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment would resolve names for us, unchecked
            headers={"User-Agent": self.policy.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
        )

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def presumed_down(self, url: str) -> FetchError | None:
        """The error a request to ``url`` would fail with at once, its site being down."""
        try:
            parsed = httpx.URL(url)
        except (httpx.InvalidURL, TypeError, ValueError):
            return None
        return self._down.failure(parsed)

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: Accept = "any",
    ) -> FetchResponse:
        """Fetch ``url`` under the policy; raise FetchError for anything short of a usable body."""
        if accept not in ACCEPT_HEADERS:
            raise ValueError(f"accept must be one of {sorted(ACCEPT_HEADERS)}, not {accept!r}")
        started = time.monotonic()
        token = _deadline.set((started + self.policy.fetch_timeout, self.policy.fetch_timeout))
        try:
            headers = _request_headers(accept, etag, last_modified)
            return self._follow(url, headers, accept, started)
        except FetchError as exc:
            exc.url = exc.url or url
            raise
        except (httpx.HTTPError, httpx.InvalidURL, httpx.StreamError, OSError) as exc:
            raise _classify(exc, url, self.policy) from exc
        finally:
            _deadline.reset(token)

    def _follow(self, url: str, headers: dict, accept: str, started: float) -> FetchResponse:
        current = _parse_url(url)
        seen = {_visit_key(current)}
        for hop in range(self.policy.max_redirects + 1):
            if (down := self._down.failure(current)) is not None:
                if hop:
                    down.message += f" (after a redirect to {current})"
                raise down
            response = self._send(current, headers, hop, accept)
            try:
                target = _redirect_target(current, response)
                if target is None:
                    return self._complete(current, response, headers, accept, started)
            finally:
                response.close()
            if _visit_key(target) in seen:
                raise FetchError(ErrorKind.REDIRECT_LOOP, f"redirected back to {target}")
            seen.add(_visit_key(target))
            current = target
        limit = self.policy.max_redirects
        raise FetchError(ErrorKind.TOO_MANY_REDIRECTS, f"more than {limit} redirects")

    def _send(self, url: httpx.URL, headers: dict, hop: int, accept: str) -> httpx.Response:
        remaining = _remaining(url.host)
        timeout = httpx.Timeout(remaining, connect=min(self.policy.connect_timeout, remaining))
        request = self._client.build_request("GET", url, headers=headers, timeout=timeout)
        try:
            response = self._client.send(request, stream=True)
        except FetchError as exc:
            self._down.note(url, exc)
            if hop:  # the stored URL is the first one; say where the redirects led
                exc.message += f" (after a redirect to {url})"
            raise
        except (httpx.TimeoutException, httpx.ConnectError) as exc:
            # Not a reset or a malformed reply: those can be one reused connection's fault.
            # Connected but no reply: one slow page, or a site that answers nobody. A static
            # robots.txt never answering, or two requests in a row, tell the second.
            waited = isinstance(exc, httpx.TimeoutException) and not isinstance(
                exc, httpx.ConnectTimeout
            )
            strike = waited and accept != "robots"
            self._down.note(url, _classify(exc, str(url), self.policy), strike=strike)
            raise
        self._down.answered(url)
        return response

    def _complete(
        self, url: httpx.URL, response: httpx.Response, sent: dict, accept: str, started: float
    ) -> FetchResponse:
        status = response.status_code
        if status == 304 and _is_conditional(sent):
            return _build_response(url, response, b"", sent, started)
        if status >= 400:
            raise _http_error(url, response)
        if not 200 <= status < 300:
            raise FetchError(ErrorKind.BAD_RESPONSE, f"unexpected status {status}", status=status)
        verdict = content_verdict(accept, _media_type(response.headers))
        if verdict == "refuse":
            raise _content_type_error(response)
        content = _read_body(response, self.policy.max_body_bytes)
        if verdict == "sniff" and not sniff_ok(accept, content):
            raise _content_type_error(response)
        return _build_response(url, response, content, sent, started)


# --- connections: pinned to checked addresses, bounded by the deadline --------------------------


class _DownOrigins:
    """Origins (scheme, host, port) that did not answer lately, with the failure they gave."""

    # Requests in a row that connected but got no reply before a site is presumed down.
    STRIKES = 2

    def __init__(self, seconds: float, clock: Callable[[], float], max_entries: int = 10_000):
        self._seconds = seconds
        self._clock = clock
        self._max_entries = max_entries
        self._lock = threading.Lock()
        self._failures: dict[tuple[str, str, int | None], tuple[float, FetchError]] = {}
        self._strikes: dict[tuple[str, str, int | None], int] = {}

    def note(self, url: httpx.URL, error: FetchError, *, strike: bool = False) -> None:
        """Remember a failure of SILENT kind: at once, or as a strike (see STRIKES)."""
        if error.kind not in SILENT or self._seconds <= 0:
            return
        origin = _origin(url)
        with self._lock:
            if strike:
                self._strikes[origin] = self._strikes.pop(origin, 0) + 1
                if self._strikes[origin] < self.STRIKES:
                    self._trim(self._strikes)
                    return
            self._strikes.pop(origin, None)
            self._failures.pop(origin, None)
            self._failures[origin] = (self._clock(), error)
            self._trim(self._failures)

    def answered(self, url: httpx.URL) -> None:
        if self._strikes:
            with self._lock:
                self._strikes.pop(_origin(url), None)

    def _trim(self, table: dict) -> None:
        while len(table) > self._max_entries:
            del table[next(iter(table))]

    def failure(self, url: httpx.URL) -> FetchError | None:
        if not self._failures:
            return None
        with self._lock:
            found = self._failures.get(_origin(url))
        if found is None:
            return None
        age = self._clock() - found[0]
        if age >= self._seconds:
            with self._lock:  # past: forget it, so that a site that came back costs no lookup
                if self._failures.get(_origin(url)) is found:
                    del self._failures[_origin(url)]
            return None
        return FetchError(
            found[1].kind,
            f"{_site(url)} did not answer {age:.0f} s ago ({found[1].message}); "
            f"not asked again before {self._seconds - age:.0f} s",
        )


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port


def _site(url: httpx.URL) -> str:
    return f"{url.host}:{url.port}" if url.port else url.host


class _GuardedTransport(httpx.HTTPTransport):
    """httpx's transport, with a connection pool whose sockets all go through the guard."""

    def __init__(self, policy: FetchPolicy) -> None:
        context = _ssl_context(policy)
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=20)
        super().__init__(verify=context, trust_env=False, limits=limits)
        self._pool = httpcore.ConnectionPool(
            ssl_context=context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedBackend(policy),
        )


class _GuardedBackend(httpcore.NetworkBackend):
    """Resolves and checks the host itself, then connects to a checked IP, never to the name."""

    def __init__(self, policy: FetchPolicy) -> None:
        self._policy = policy
        self._inner = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable | None = None,
    ) -> httpcore.NetworkStream:
        budget = _cap(timeout, httpcore.ConnectTimeout)
        addresses = netguard.checked_addresses(host, port, self._policy, budget)
        failure: Exception | None = None
        for address in addresses:
            try:
                stream = self._inner.connect_tcp(
                    str(address),
                    port,
                    _cap(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
                return _DeadlineStream(stream)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # checked_addresses never returns an empty list
        raise failure

    def connect_unix_socket(self, *args: object, **kwargs: object) -> httpcore.NetworkStream:
        raise FetchError(ErrorKind.BAD_URL, "unix sockets are never fetched")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    """Shrinks every socket timeout to what is left of the request's deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _cap(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _cap(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        budget = _cap(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, budget))

    def get_extra_info(self, info: str) -> object:
        return self._inner.get_extra_info(info)


def _cap(timeout: float | None, expired: type[Exception]) -> float | None:
    """A socket timeout no longer than what is left of the deadline; ``expired`` once it passed."""
    deadline = _deadline.get()
    if deadline is None:
        return timeout
    remaining = deadline[0] - time.monotonic()
    if remaining <= 0:
        raise expired("the request deadline has passed")
    return remaining if timeout is None else min(timeout, remaining)


def _remaining(host: str) -> float:
    """Seconds left before the deadline; a FetchError once it has passed."""
    deadline = _deadline.get()
    remaining = deadline[0] - time.monotonic() if deadline else 0.0
    if remaining <= 0:
        limit = deadline[1] if deadline else 0
        raise FetchError(ErrorKind.TIMEOUT, f"no response from {host} within {limit} s")
    return remaining


def _ssl_context(policy: FetchPolicy) -> ssl.SSLContext:
    if policy.ca_file:
        return ssl.create_default_context(cafile=policy.ca_file)
    return _default_ssl_context()


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes ~0.1 s; one verifying context serves every Fetcher.
    return httpx.create_ssl_context(trust_env=False)


# --- requests and redirects ---------------------------------------------------------------------

_HEADER_VALUE = re.compile(r"[\x20-\x7e]{1,1024}")
# Letters, digits, hyphens and underscores in dot-separated labels (IDNs arrive as punycode);
# anything else would only reach the resolver to fail there, or worse, to be interpreted.
_HOSTNAME = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?", re.IGNORECASE)


def _request_headers(accept: str, etag: str | None, last_modified: str | None) -> dict:
    headers = {"Accept": ACCEPT_HEADERS[accept]}
    # Validators come from earlier responses, i.e. from the publisher: a mangled one just means
    # an unconditional GET, never a request we cannot send.
    if etag and _HEADER_VALUE.fullmatch(etag):
        headers["If-None-Match"] = etag
    if last_modified and _HEADER_VALUE.fullmatch(last_modified):
        headers["If-Modified-Since"] = last_modified
    return headers


def _is_conditional(sent: dict) -> bool:
    return "If-None-Match" in sent or "If-Modified-Since" in sent


def _parse_url(url: str) -> httpx.URL:
    try:
        parsed = httpx.URL(str(url).strip())
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise FetchError(ErrorKind.BAD_URL, f"not a valid URL: {exc}") from None
    return _check_url(parsed)


def _check_url(url: httpx.URL) -> httpx.URL:
    if url.scheme not in ("http", "https"):
        shown = url.scheme or "no scheme"
        raise FetchError(ErrorKind.BAD_URL, f"only http and https are fetched, not {shown}")
    if not url.host:
        raise FetchError(ErrorKind.BAD_URL, "the URL has no host")
    host = url.raw_host.decode("ascii", errors="replace")
    if not (_HOSTNAME.fullmatch(host) or netguard.literal_address(host)):
        raise FetchError(ErrorKind.BAD_URL, f"not a valid host name: {host!r}")
    return url


def _visit_key(url: httpx.URL) -> str:
    return str(url.copy_with(fragment=None))


def _redirect_target(current: httpx.URL, response: httpx.Response) -> httpx.URL | None:
    if response.status_code not in REDIRECT_STATUSES:
        return None
    location = response.headers.get("location", "").strip()
    if not location:
        status = response.status_code
        raise FetchError(ErrorKind.BAD_RESPONSE, f"{status} without a Location", status=status)
    try:
        target = current.join(location)
    except (httpx.InvalidURL, ValueError) as exc:
        raise FetchError(ErrorKind.BAD_URL, f"bad redirect target {location!r}: {exc}") from None
    return _check_url(target)


def _http_error(url: httpx.URL, response: httpx.Response) -> FetchError:
    status = response.status_code
    kind = ErrorKind.HTTP_5XX if status >= 500 else ErrorKind.HTTP_4XX
    message = f"{url.host} answered {status} {response.reason_phrase}".rstrip()
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    return FetchError(kind, message, url=str(url), status=status, retry_after=retry_after)


def _build_response(
    url: httpx.URL, response: httpx.Response, content: bytes, sent: dict, started: float
) -> FetchResponse:
    headers = response.headers
    not_modified = response.status_code == 304
    return FetchResponse(
        url=str(url),
        status=response.status_code,
        headers=headers,
        content=content,
        content_type=_media_type(headers),
        charset=response.charset_encoding,
        etag=headers.get("etag") or (sent.get("If-None-Match") if not_modified else None),
        last_modified=headers.get("last-modified")
        or (sent.get("If-Modified-Since") if not_modified else None),
        not_modified=not_modified,
        retry_after=parse_retry_after(headers.get("retry-after")),
        cache_max_age=parse_cache_max_age(headers.get("cache-control")),
        elapsed=time.monotonic() - started,
    )


# --- the body: size cap on decoded bytes ---------------------------------------------------------


def _read_body(response: httpx.Response, cap: int) -> bytes:
    declared = _content_length(response.headers)
    if declared is not None and declared > cap:
        raise FetchError(ErrorKind.TOO_LARGE, f"declares {declared} bytes, over the {cap} limit")
    decoders = _decoders(response.headers.get("content-encoding", ""))
    body = bytearray()
    for raw in response.iter_raw():
        _remaining(response.request.url.host)
        for piece in _decode(decoders, raw):
            body += piece
            if len(body) > cap:
                raise FetchError(ErrorKind.TOO_LARGE, f"body passed the {cap}-byte limit")
    return bytes(body)


def _content_length(headers: httpx.Headers) -> int | None:
    value = headers.get("content-length", "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


class _Inflater:
    """gzip / deflate decoding that never produces more than STEP bytes at a time."""

    STEP = 64 * 1024

    def __init__(self, coding: str) -> None:
        self._gzip = coding in ("gzip", "x-gzip")
        self._obj = zlib.decompressobj(31 if self._gzip else 15)
        self._produced = False
        self._raw_tried = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        # Bytes after the end of the stream (padding, a second gzip member) are ignored.
        while not self._obj.eof:
            out = self._decompress(data)
            data = self._obj.unconsumed_tail
            if out:
                self._produced = True
                yield out
            if not data and len(out) < self.STEP:
                return

    def _decompress(self, data: bytes) -> bytes:
        try:
            return self._obj.decompress(data, self.STEP)
        except zlib.error as exc:
            if self._gzip or self._produced or self._raw_tried:
                raise FetchError(ErrorKind.DECODE, f"corrupt compressed body: {exc}") from None
        # "deflate" should be zlib-wrapped, but some servers send a bare deflate stream.
        self._raw_tried = True
        self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        return self._decompress(data)


def _decoders(header: str) -> list[_Inflater]:
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    decoders = []
    for coding in reversed(codings):  # the last coding listed was applied last
        if coding in ("gzip", "x-gzip", "deflate"):
            decoders.append(_Inflater(coding))
        elif coding != "identity":
            raise FetchError(ErrorKind.DECODE, f"unsupported content encoding {coding!r}")
    return decoders


def _decode(decoders: list[_Inflater], raw: bytes) -> Iterator[bytes]:
    pieces: Iterable[bytes] = [raw]
    for decoder in decoders:
        pieces = _through(decoder, pieces)
    yield from pieces


def _through(decoder: _Inflater, pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from decoder.feed(piece)


# --- content types -------------------------------------------------------------------------------

HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
BINARY_PREFIXES = ("image/", "video/", "audio/", "font/", "model/")
BINARY_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/gzip",
        "application/x-gzip",
        "application/x-tar",
        "application/x-bzip2",
        "application/x-7z-compressed",
        "application/vnd.rar",
        "application/x-rar-compressed",
        "application/java-archive",
        "application/wasm",
        "application/x-msdownload",
        "application/msword",
        "application/vnd.ms-excel",
        "application/x-shockwave-flash",
    }
)
TEXTUAL_HINTS = ("xml", "json", "rss", "atom", "rdf")
BINARY_MAGIC = (b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"%PDF", b"PK\x03\x04", b"\x1f\x8b", b"RIFF")


def content_verdict(accept: str, media_type: str | None) -> Literal["accept", "refuse", "sniff"]:
    """What to do with a declared media type: take it, refuse it, or look at the bytes."""
    if accept == "any":
        return "accept"
    if accept == "html":
        if media_type in HTML_TYPES:
            return "accept"
        return "sniff" if media_type is None else "refuse"
    if media_type is None or media_type.endswith("/octet-stream"):
        return "sniff"
    if media_type.startswith(BINARY_PREFIXES) or media_type in BINARY_TYPES:
        return "refuse"
    # Publishers label feeds text/html, text/plain and worse, so any text is given a chance.
    if media_type.startswith("text/") or any(hint in media_type for hint in TEXTUAL_HINTS):
        return "accept"
    return "sniff"


def sniff_ok(accept: str, content: bytes) -> bool:
    head = content[:1024]
    if accept == "html":
        text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
        return text.startswith((b"<!doctype html", b"<html", b"<head", b"<!--")) or b"<html" in text
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 text is full of NUL bytes
        return True
    return b"\x00" not in head and not head.startswith(BINARY_MAGIC)


def _media_type(headers: httpx.Headers) -> str | None:
    value = headers.get("content-type", "").split(";")[0].strip().lower()
    return value or None


def _content_type_error(response: httpx.Response) -> FetchError:
    shown = response.headers.get("content-type") or "no Content-Type and unrecognised bytes"
    return FetchError(ErrorKind.BAD_CONTENT_TYPE, f"unexpected content type: {shown}")


# --- header values -------------------------------------------------------------------------------


def parse_retry_after(value: str | None, now: datetime | None = None) -> datetime | None:
    """When to try again, from delta-seconds or an HTTP date; clamped to [now, now + 30 days]."""
    if not value:
        return None
    now = now or datetime.now(UTC)
    value = value.strip()
    if value.isascii() and value.isdigit():
        seconds = int(value[:12])  # longer than 12 digits is past the clamp anyway
        return now + min(timedelta(seconds=seconds), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return min(max(when, now), now + MAX_RETRY_AFTER)


def parse_cache_max_age(value: str | None) -> int | None:
    """Seconds the response may be reused; 0 for no-store / no-cache; None when unsaid."""
    if not value:
        return None
    directives = {}
    for part in value.split(","):
        name, _, argument = part.strip().partition("=")
        directives[name.strip().lower()] = argument.strip().strip('"')
    if "no-store" in directives or "no-cache" in directives:
        return 0
    age = directives.get("max-age", "")
    return int(age) if age.isascii() and age.isdigit() else None


# --- classifying transport failures --------------------------------------------------------------


def _classify(exc: BaseException, url: str, policy: FetchPolicy) -> FetchError:
    host = _host_of(url)
    chain = _causes(exc)

    def has(*types: type[BaseException]) -> bool:
        return any(isinstance(item, types) for item in chain)

    detail = str(chain[-1]) or type(chain[-1]).__name__
    if has(httpx.InvalidURL, httpx.UnsupportedProtocol):
        kind, message = ErrorKind.BAD_URL, f"not a fetchable URL: {detail}"
    elif has(httpx.ConnectTimeout):
        limit = min(policy.connect_timeout, policy.fetch_timeout)
        kind, message = ErrorKind.TIMEOUT, f"no connection to {host} within {limit} s"
    elif has(httpx.TimeoutException, TimeoutError):
        kind, message = (
            ErrorKind.TIMEOUT,
            f"no response from {host} within {policy.fetch_timeout} s",
        )
    elif has(socket.gaierror):
        kind, message = ErrorKind.DNS, f"cannot resolve {host}: {detail}"
    elif has(ConnectionRefusedError):
        kind, message = ErrorKind.REFUSED, f"{host} refused the connection"
    elif has(ssl.SSLError, ssl.CertificateError):
        kind, message = ErrorKind.TLS, f"TLS with {host} failed: {detail}"
    elif has(httpx.DecodingError):
        kind, message = ErrorKind.DECODE, f"cannot decode the body: {detail}"
    else:
        kind, message = ErrorKind.CONNECTION, f"connection to {host} failed: {detail}"
    return FetchError(kind, message, url=url)


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _host_of(url: str) -> str:
    try:
        return httpx.URL(url).host or url
    except (httpx.InvalidURL, TypeError, ValueError):
        return str(url)
