"""The sample publisher: the fictional corpus served over HTTP on loopback.

It behaves like a well-run news site: validators (ETag, Last-Modified) and 304s, gzip,
Cache-Control on feeds, robots.txt, redirects to canonical URLs, and 404s. Every response is
rendered once and kept as bytes, so a benchmark measures the client, not this server.
"""

from __future__ import annotations

import gzip
import hashlib
import ipaddress
import socket
import threading
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from broadsheet.samplepub import pages
from broadsheet.samplepub.corpus import Corpus, CorpusArticle, Outlet, load_corpus
from broadsheet.samplepub.feeds import CONTENT_TYPES, FeedSpec, render_feed

HTML = "text/html; charset=utf-8"
SVG = "image/svg+xml"
FEED_CACHE_CONTROL = "max-age=300"
PAGE_CACHE_CONTROL = "max-age=60"
ROBOTS_TXT = b"User-agent: *\nDisallow: /private/\n"
GZIP_MIN_BYTES = 256
# Above this many articles, pages are rendered on first request to keep start-up fast.
PRERENDER_LIMIT = 500


@dataclass(frozen=True)
class FeedInfo:
    outlet_slug: str
    outlet_name: str
    url: str
    title: str
    format: str
    section: str | None = None


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str
    etag: str | None = None
    last_modified: datetime | None = None
    cache_control: str | None = None
    location: str | None = None
    gzip_body: bytes | None = None


def make_response(
    body: str | bytes,
    content_type: str,
    last_modified: datetime | None = None,
    cache_control: str | None = PAGE_CACHE_CONTROL,
) -> Response:
    """A 200 with validators derived from the bytes, and a gzip copy made once."""
    data = body.encode("utf-8") if isinstance(body, str) else body
    etag = f'W/"{hashlib.sha256(data).hexdigest()[:24]}"'
    # Level 1 (nginx's default) costs a third of level 6 for 8% larger pages.
    packed = gzip.compress(data, compresslevel=1, mtime=0) if len(data) >= GZIP_MIN_BYTES else None
    return Response(200, data, content_type, etag, last_modified, cache_control, None, packed)


class RequestStats:
    """What clients asked for: counts per path, conditional headers seen, statuses sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        self.conditional: defaultdict[str, Counter[str]] = defaultdict(Counter)
        self.statuses: defaultdict[str, Counter[int]] = defaultdict(Counter)

    def record(self, path: str, conditional_headers: list[str], status: int) -> None:
        with self._lock:
            self.requests[path] += 1
            self.conditional[path].update(conditional_headers)
            self.statuses[path][status] += 1

    def not_modified(self, path: str) -> int:
        return self.statuses[path][304]

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.conditional.clear()
            self.statuses.clear()


def is_not_modified(response: Response, if_none_match: str | None, if_modified_since: str | None):
    """RFC 9110: If-None-Match wins when present; If-Modified-Since is only a fallback."""
    if if_none_match is not None:
        tags = {t.strip().removeprefix("W/") for t in if_none_match.split(",")}
        return "*" in tags or (response.etag or "").removeprefix("W/") in tags
    if if_modified_since is None or response.last_modified is None:
        return False
    try:
        since = parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError, IndexError):
        return False
    return since.tzinfo is not None and response.last_modified <= since


def accepts_gzip(header: str | None) -> bool:
    for part in (header or "").lower().split(","):
        name, _, params = part.strip().partition(";")
        if name.strip() in ("gzip", "*"):
            return params.replace(" ", "") not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def check_loopback(host: str, allowed: str | None = None) -> str:
    """Refuse anything but loopback: the publisher must never be reachable from outside.

    ``allowed`` names the one other address a caller vouches for: the bridge address of
    network namespaces a benchmark created itself, which only those namespaces can reach.
    """
    if host == "localhost":
        return "127.0.0.1"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"host must be a loopback address, not {host!r}") from None
    if not address.is_loopback and host != allowed:
        raise ValueError(f"host must be a loopback address, not {host!r}")
    return host


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128
    publisher: SamplePublisher


class _Server6(_Server):
    address_family = socket.AF_INET6


class SamplePublisher:
    """Serve the corpus on loopback in a background thread.

    ``now`` fixes the clock the articles' ages are counted from, so that every poll in one run
    sees identical bytes and validators. ``scale`` > 1 adds synthetic articles for benchmarks;
    a corpus that large is rendered on first request instead of at start. ``feed_size`` is the
    number of items per feed page; later pages are linked with ``rel="next"`` (``next_url``).
    ``allow_address`` lets ``host`` be that one non-loopback address (see ``check_loopback``).
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        now: datetime | None = None,
        scale: int = 1,
        corpus: Corpus | None = None,
        feed_size: int = 50,
        allow_address: str | None = None,
    ) -> None:
        self.host = check_loopback(host, allow_address)
        self.port = port
        self.corpus = corpus or load_corpus(now=now, scale=scale)
        self.feed_size = feed_size
        self.stats = RequestStats()
        self._cache: dict[str, Response] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.site: pages.Site | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> SamplePublisher:
        if self._server is not None:
            return self
        server_class = _Server6 if ":" in self.host else _Server
        self._server = server_class((self.host, self.port), _Handler)
        self._server.publisher = self
        self.port = self._server.server_address[1]
        self.site = pages.Site(self.corpus, self.base_url)
        self._cache.clear()  # pages embed the base URL, which a restart may change
        if len(self.corpus.articles) <= PRERENDER_LIMIT:
            self.prerender()
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.2,), name="samplepub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    def __enter__(self) -> SamplePublisher:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    # --- what is published ----------------------------------------------------------------

    def feeds(self, *, main_only: bool = False) -> list[FeedInfo]:
        """Every outlet's main feed, then (unless ``main_only``) one feed per section."""
        found = [self._feed_info(o, None) for o in self.corpus.outlets.values()]
        if not main_only:
            found += [
                self._feed_info(o, s.slug) for o in self.corpus.outlets.values() for s in o.sections
            ]
        return found

    def _feed_info(self, outlet: Outlet, section: str | None) -> FeedInfo:
        path = f"/{outlet.slug}/{section}/feed" if section else f"/{outlet.slug}/feed"
        return FeedInfo(
            outlet.slug,
            outlet.name,
            self.base_url + path,
            self._feed_title(outlet, section),
            outlet.feed_format,
            section,
        )

    def _feed_title(self, outlet: Outlet, section: str | None) -> str:
        found = outlet.section(section) if section else None
        return f"{outlet.name}: {found.name}" if found else outlet.name

    def article_url(self, article: CorpusArticle) -> str:
        return self.base_url + article.path

    def prerender(self) -> None:
        """Render every page, feed and image now, so no request waits on rendering."""
        paths = ["/", "/robots.txt"]
        for outlet in self.corpus.outlets.values():
            paths += [f"/{outlet.slug}/", f"/{outlet.slug}/feed", f"/{outlet.slug}/logo.svg"]
            for section in outlet.sections:
                paths += [f"/{outlet.slug}/{section.slug}/", f"/{outlet.slug}/{section.slug}/feed"]
        for article in self.corpus.articles:
            paths += [article.path, f"/{article.outlet}/images/{article.slug}.svg"]
        for path in paths:
            self.resolve(path, "")

    # --- routing --------------------------------------------------------------------------

    def resolve(self, path: str, query: str) -> Response:
        """The response for one GET; successful ones are cached by path (and feed page)."""
        # Only feeds are paged; other pages ignore their query, as tracking parameters show.
        page = _page_number(query) if path.endswith("/feed") else 1
        key = path if page == 1 else f"{path}?page={page}"
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        response = self._route(path, page, query)
        if response.status == 200:
            self._cache[key] = response
        return response

    def _route(self, path: str, page: int | None, query: str) -> Response:
        parts = [p for p in path.split("/") if p]
        handler = _ROUTES.get(len(parts))
        found = handler(self, parts, page, path, query) if handler and page else None
        return found or self._not_found(path)

    def _not_found(self, path: str) -> Response:
        body = pages.render_not_found(path).encode("utf-8")
        return Response(404, body, HTML)

    def _redirect(self, path: str, query: str) -> Response:
        location = self.base_url + path + (f"?{query}" if query else "")
        return Response(301, b"", HTML, location=location)

    def _route_root(self, parts, page, path, query) -> Response | None:
        return make_response(pages.render_index(self._site()), HTML, self.corpus.now)

    def _route_one(self, parts, page, path, query) -> Response | None:
        if parts == ["robots.txt"]:
            return make_response(ROBOTS_TXT, "text/plain; charset=utf-8", cache_control=None)
        outlet = self.corpus.outlets.get(parts[0])
        if outlet is None:
            return None
        if not path.endswith("/"):
            return self._redirect(path + "/", query)
        html = pages.render_outlet_home(self._site(), outlet)
        return make_response(html, HTML, _newest(self.corpus.latest(outlet.slug)))

    def _route_two(self, parts, page, path, query) -> Response | None:
        outlet = self.corpus.outlets.get(parts[0])
        if outlet is None:
            return None
        if parts[1] == "feed":
            return self._feed(outlet, None, page)
        if parts[1] == "logo.svg":
            return make_response(pages.render_logo_svg(outlet), SVG, None)
        return self._section_home(outlet, parts[1], path, query)

    def _section_home(self, outlet: Outlet, section: str, path: str, query: str):
        if outlet.section(section) is None:
            return None
        if not path.endswith("/"):
            return self._redirect(path + "/", query)
        html = pages.render_outlet_home(self._site(), outlet, section)
        return make_response(html, HTML, _newest(self.corpus.latest(outlet.slug, section)))

    def _route_three(self, parts, page, path, query) -> Response | None:
        outlet = self.corpus.outlets.get(parts[0])
        if outlet is None:
            return None
        if parts[2] == "feed" and outlet.section(parts[1]):
            return self._feed(outlet, parts[1], page)
        if parts[1] == "images":
            return self._image(outlet, parts[2])
        return self._article(parts[0], parts[1], parts[2], query)

    def _article(self, outlet: str, section: str, slug: str, query: str) -> Response | None:
        article = self.corpus.article(outlet, slug)
        if article is None or section not in article.sections:
            return None
        if section != article.sections[0]:
            return self._redirect(article.path, query)
        html = pages.render_article(self._site(), article)
        return make_response(html, HTML, article.modified)

    def _image(self, outlet: Outlet, name: str) -> Response | None:
        article = self.corpus.article(outlet.slug, name.removesuffix(".svg"))
        if article is None or not name.endswith(".svg"):
            return None
        svg = pages.render_image_svg(outlet, article)
        return make_response(svg, SVG, article.published, "max-age=86400")

    def _feed(self, outlet: Outlet, section: str | None, page: int) -> Response | None:
        items = self.corpus.latest(outlet.slug, section)
        chunk = items[(page - 1) * self.feed_size : page * self.feed_size]
        if page > 1 and not chunk:
            return None
        updated = _newest(chunk) or self.corpus.now
        more = len(items) > page * self.feed_size
        body = render_feed(self._feed_spec(outlet, section, page, more, updated), chunk)
        content_type = CONTENT_TYPES[outlet.feed_format]
        return make_response(body, content_type, updated, FEED_CACHE_CONTROL)

    def _feed_spec(self, outlet, section, page: int, more: bool, updated: datetime) -> FeedSpec:
        info = self._feed_info(outlet, section)
        self_url = info.url if page == 1 else f"{info.url}?page={page}"
        home = self.base_url + (f"/{outlet.slug}/{section}/" if section else f"/{outlet.slug}/")
        return FeedSpec(
            outlet=outlet,
            title=info.title,
            base_url=self.base_url,
            self_url=self_url,
            home_url=home,
            section=section,
            updated=updated,
            next_url=f"{info.url}?page={page + 1}" if more else None,
        )

    def _site(self) -> pages.Site:
        if self.site is None:
            raise RuntimeError("start() the publisher before asking it for pages")
        return self.site


RouteHandler = Callable[..., Response | None]
_ROUTES: dict[int, RouteHandler] = {
    0: SamplePublisher._route_root,
    1: SamplePublisher._route_one,
    2: SamplePublisher._route_two,
    3: SamplePublisher._route_three,
}


def _page_number(query: str) -> int | None:
    """1 when absent; None (no such page) when malformed."""
    values = parse_qs(query).get("page")
    if not values:
        return 1
    return int(values[0]) if values[0].isdigit() and int(values[0]) >= 1 else None


def _newest(articles: list[CorpusArticle]) -> datetime | None:
    return max((a.modified for a in articles), default=None)


CONDITIONAL_HEADERS = ("If-None-Match", "If-Modified-Since")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SamplePublisher/1.0"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle's algorithm meets the
        # client's delayed ACK and every keep-alive response waits ~40 ms.
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve(send_body=True)

    def do_HEAD(self) -> None:
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        split = urlsplit(self.path)
        response = self.server.publisher.resolve(split.path or "/", split.query)
        inm, ims = self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")
        status = response.status
        if status == 200 and is_not_modified(response, inm, ims):
            status = 304
        received = [h for h in CONDITIONAL_HEADERS if self.headers.get(h) is not None]
        self.server.publisher.stats.record(split.path or "/", received, status)
        self._send(response, status, send_body)

    def _send(self, response: Response, status: int, send_body: bool) -> None:
        body = response.body
        packed = response.gzip_body is not None and accepts_gzip(
            self.headers.get("Accept-Encoding")
        )
        self.send_response(status)
        for name, value in _headers(response, packed and status != 304):
            self.send_header(name, value)
        if status == 304:
            self.end_headers()
            return
        body = response.gzip_body if packed and response.gzip_body else body
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: tests and benchmarks make thousands of requests."""


def _headers(response: Response, packed: bool) -> list[tuple[str, str]]:
    headers = [("Content-Type", response.content_type)]
    if response.gzip_body is not None:
        headers.append(("Vary", "Accept-Encoding"))
    if packed:
        headers.append(("Content-Encoding", "gzip"))
    if response.etag:
        headers.append(("ETag", response.etag))
    if response.last_modified:
        headers.append(("Last-Modified", format_datetime(response.last_modified, usegmt=True)))
    if response.cache_control:
        headers.append(("Cache-Control", response.cache_control))
    if response.location:
        headers.append(("Location", response.location))
    return headers
