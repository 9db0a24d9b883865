"""A hostile publisher on loopback: every response built in code, nothing stored on disk.

Each feed and page here attacks one thing: script in every field a feed or an article page can
carry, broken or lying encodings, enormous attribute lists, markup nested 100,000 levels deep,
entity expansion and external entities in XML, empty and binary bodies, wrong content types,
a JSON Feed whose members have the wrong types, and gzip that does not inflate. Payloads carry
the marker ``PWNED`` so that a page that lets one through is easy to point at.

    with HostilePublisher() as publisher:
        for url in publisher.feed_urls(): ...
"""

from __future__ import annotations

import gzip
import json
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MARKER = "PWNED"
HTML = "text/html; charset=utf-8"
RSS = "application/rss+xml"

# Script in the shapes a sanitizer most often misses.
PAYLOADS = (
    f"<script>alert('{MARKER}')</script>",
    f"<img src=x onerror=\"alert('{MARKER}')\">",
    f"<svg onload=alert('{MARKER}')></svg>",
    f"<a href=\"javascript:alert('{MARKER}')\">click</a>",
    f"<iframe src=\"javascript:alert('{MARKER}')\"></iframe>",
    f'"><script>alert("{MARKER}")</script>',
    f"</title><script>alert('{MARKER}')</script>",
    f'<a href="JaVaScRiPt:alert(1)" onmouseover="{MARKER}">x</a>',
    f'<body onload="{MARKER}"><style>*{{background:url("javascript:{MARKER}")}}</style>',
    f'<form action="javascript:{MARKER}"><button formaction="javascript:{MARKER}">go</button>',
)
XSS = " ".join(PAYLOADS)


@dataclass(frozen=True)
class Reply:
    status: int
    content_type: str | None
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()


Route = Reply | Callable[[str], Reply]


def paragraphs(n: int = 6) -> str:
    sentence = (
        "The council met on Tuesday to weigh the harbour plan, and residents filled the hall "
        "to hear what the change would mean for rents, ferries and the fish market. "
    )
    return "".join(f"<p>{sentence * 3} Paragraph {i}.</p>" for i in range(n))


# --- article pages -----------------------------------------------------------------------


def mutation_page() -> Reply:
    """Markup that parsers disagree on: what a sanitizer sees is not what a browser builds."""
    tricks = (
        f"<math><mtext><table><mglyph><style><img src=x onerror=alert('{MARKER}')>"
        f"</style></mglyph></table></mtext></math>"
        f"<noscript><p title=\"</noscript><img src=x onerror=alert('{MARKER}')>\"></p></noscript>"
        f"<svg><style><img src=x onerror=alert('{MARKER}')></style></svg>"
        f"<a href=\"java&#x09;script:alert('{MARKER}')\">tab</a>"
        f"<a href=\"&#106;avascript:alert('{MARKER}')\">entity</a>"
    )
    return Reply(200, HTML, article_html("Mutations", tricks + paragraphs(2)).encode())


def xss_page(base: str) -> Reply:
    json_ld = json.dumps(
        {
            "@type": "NewsArticle",
            "headline": f"</script><script>alert('{MARKER}')</script>",
            "author": {"name": XSS},
            "image": f"javascript:alert('{MARKER}')",
            "url": f"javascript:alert('{MARKER}')",
        }
    ).replace("<\\/", "</")
    body = "".join(f"{paragraphs(1)}<p>Payload {i}: {p}</p>" for i, p in enumerate(PAYLOADS))
    html = f"""<!DOCTYPE html><html><head>
<title>Harbour plan {PAYLOADS[0]}</title>
<meta property="og:title" content="Harbour plan &lt;script&gt;alert('{MARKER}')&lt;/script&gt;">
<meta property="og:image" content="javascript:alert('{MARKER}')">
<meta name="author" content="{XSS.replace('"', "&quot;")}">
<link rel="canonical" href="javascript:alert('{MARKER}')">
<script type="application/ld+json">{json_ld}</script>
<script>alert('{MARKER}')</script>
</head><body><article>
<h1>Harbour plan {PAYLOADS[1]}</h1><p class="byline">By {PAYLOADS[2]}</p>
<figure><img src="{base}/photo.jpg" alt="{XSS.replace('"', "&quot;")}" onerror="alert('{MARKER}')">
<figcaption>Caption {PAYLOADS[0]} <span class="credit">Photo: {PAYLOADS[1]}</span></figcaption>
</figure>{body}
<p><a href="javascript:alert('{MARKER}')">a link</a> <a href="data:text/html,x">data</a>
<img srcset="javascript:alert('{MARKER}') 1x" src="{base}/img.png"></p>{paragraphs(2)}
</article></body></html>"""
    return Reply(200, HTML, html.encode())


def article_html(title: str, extra: str = "") -> str:
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body><article>"
        f"<h1>{title}</h1><p>Reported as: {title}.</p>{paragraphs()}{extra}</article></body></html>"
    )


def encoding_pages() -> dict[str, Reply]:
    latin = article_html("Café crème à la française", XSS).encode("latin-1")
    valid = article_html("Naïve résumé — “quotes”", XSS).encode()
    return {
        "/enc/invalid-utf8": Reply(200, HTML, valid[:300] + b"\xff\xfe\xc3\x28\xa0\xa1" + valid),
        "/enc/wrong-charset": Reply(200, HTML, latin),
        "/enc/declared-sjis": Reply(200, "text/html; charset=shift_jis", valid),
        "/enc/bogus-charset": Reply(200, "text/html; charset=x-no-such-thing", valid),
        "/enc/utf16-no-bom": Reply(
            200, "text/html", article_html("Sixteen", XSS).encode("utf-16-le")
        ),
        "/enc/mixed": Reply(200, HTML, valid[:2000] + latin[2000:] + "漢字".encode("gb18030")),
    }


def huge_pages() -> dict[str, Reply]:
    attrs = " ".join(f'a{i}="{i}"' for i in range(100_000))
    deep = "<div>" * 100_000 + "deep" + "</div>" * 100_000
    return {
        "/big/attributes": Reply(
            200, HTML, article_html("Attributes", f"<p {attrs}>x</p>").encode()
        ),
        "/big/nested": Reply(200, HTML, article_html("Nested", deep).encode()),
        "/big/nested-unclosed": Reply(200, HTML, ("<div><span>" * 100_000).encode()),
    }


def binary_pages() -> dict[str, Reply]:
    noise = random.Random(7).randbytes(200_000)
    page = article_html("Wrong type", XSS).encode()
    return {
        "/bin/empty": Reply(200, HTML, b""),
        "/bin/noise": Reply(200, HTML, noise),
        "/bin/nul": Reply(200, HTML, b"\x00" * 50_000),
        "/type/png": Reply(200, "image/png", page),
        "/type/plain": Reply(200, "text/plain", page),
        "/type/octet": Reply(200, "application/octet-stream", page),
        "/type/none": Reply(200, None, page),
        "/gzip/page": Reply(200, HTML, noise[:5000], (("Content-Encoding", "gzip"),)),
        "/gzip/truncated": Reply(
            200, HTML, gzip.compress(page)[:-40], (("Content-Encoding", "gzip"),)
        ),
    }


def pages(base: str) -> dict[str, Reply]:
    found = {"/xss/page": xss_page(base), "/xss/mutation": mutation_page()}
    for group in (encoding_pages(), huge_pages(), binary_pages()):
        found.update(group)
    return found


# --- feeds -------------------------------------------------------------------------------


def rss(title: str, items: list[tuple[str, str]], base: str, prolog: str = "") -> str:
    entries = "".join(
        f"<item><title><![CDATA[{t}]]></title><link>{link}</link><guid>{link}</guid>"
        f"<author><![CDATA[{XSS}]]></author><description><![CDATA[{XSS}]]></description>"
        f"<pubDate>Tue, 03 Nov 2026 10:00:00 GMT</pubDate></item>"
        for t, link in items
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?>{prolog}<rss version="2.0"><channel>'
        f"<title><![CDATA[{title}]]></title><link>{base}/</link>"
        f"<description><![CDATA[{XSS}]]></description>{entries}</channel></rss>"
    )


def xss_feed(base: str) -> Reply:
    items = [(f"Item {i} {XSS}", f"{base}{path}") for i, path in enumerate(pages(base))]
    items += [
        (f"Script link {XSS}", f"javascript:alert('{MARKER}')"),
        ("Data link", "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="),
        ("Vbscript link", "vbscript:msgbox(1)"),
        ("File link", "file:///etc/passwd"),
    ]
    return Reply(200, RSS, rss(f"Hostile Herald {XSS}", items, base).encode())


def billion_laughs(base: str) -> Reply:
    levels = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    ]
    prolog = f"<!DOCTYPE rss [{''.join(levels)}]>"
    body = rss("Laughs &lol9;", [("Laugh &lol9;", f"{base}/xss/page")], base, prolog)
    return Reply(200, RSS, body.encode())


def external_entities(base: str) -> Reply:
    prolog = (
        f'<!DOCTYPE rss [<!ENTITY file SYSTEM "file:///etc/passwd">'
        f'<!ENTITY remote SYSTEM "{base}/secret">]>'
    )
    body = rss("Entities &file; &remote;", [("Entity &file;", f"{base}/xss/page")], base, prolog)
    return Reply(200, RSS, body.encode())


def json_feed(base: str) -> Reply:
    document = {
        "version": "https://jsonfeed.org/version/1.1",
        "title": ["not", "a", "string"],
        "home_page_url": {"href": f"javascript:alert('{MARKER}')"},
        "authors": "nobody",
        "items": [
            {"id": 1, "url": 42, "title": None},
            {"id": {"x": 1}, "url": ["list"], "content_html": 3.5, "date_published": 7},
            "a string item",
            None,
            {
                "id": "ok",
                "url": f"{base}/xss/page",
                "title": XSS,
                "content_html": XSS,
                "summary": XSS,
                "image": f"javascript:alert('{MARKER}')",
                "authors": [{"name": XSS, "url": f"javascript:alert('{MARKER}')"}],
                "date_published": "not a date",
                "tags": {"a": 1},
            },
        ],
    }
    return Reply(200, "application/feed+json", json.dumps(document).encode())


def misc_feeds(base: str) -> dict[str, Reply]:
    plain = rss("Plain feed", [("Plain item", f"{base}/type/plain")], base).encode()
    nested = "<rss><channel>" + "<x>" * 100_000 + "</x>" * 100_000 + "</channel></rss>"
    latin = rss("Wrong charset é", [("Item é", f"{base}/enc/wrong-charset")], base)
    big_attrs = " ".join(f'a{i}="{i}"' for i in range(100_000))
    return {
        "/feed/png": Reply(200, "image/png", plain),
        "/feed/octet": Reply(200, "application/octet-stream", plain),
        "/feed/html": Reply(200, HTML, xss_page(base).body),
        "/feed/empty": Reply(200, RSS, b""),
        "/feed/noise": Reply(200, RSS, random.Random(3).randbytes(100_000)),
        "/feed/gzip": Reply(
            200, RSS, b"\x1f\x8b" + b"garbage" * 100, (("Content-Encoding", "gzip"),)
        ),
        "/feed/nested": Reply(200, RSS, nested.encode()),
        "/feed/attributes": Reply(
            200, RSS, plain.replace(b"<channel>", f"<channel {big_attrs}>".encode())
        ),
        "/feed/wrong-charset": Reply(200, RSS, latin.encode("latin-1")),
        "/feed/utf16-no-bom": Reply(
            200, RSS, plain.replace(b"utf-8", b"utf-16").decode().encode("utf-16-le")
        ),
        "/feed/json-wrong-types": json_feed(base),
        "/feed/json-broken": Reply(
            200,
            "application/feed+json",
            b'{"version": "https://jsonfeed.org/version/1.1", "items": [{',
        ),
    }


def feeds(base: str) -> dict[str, Reply]:
    found = {
        "/feed/xss": xss_feed(base),
        "/feed/laughs": billion_laughs(base),
        "/feed/entities": external_entities(base),
    }
    found.update(misc_feeds(base))
    return found


# --- the server --------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        publisher: HostilePublisher = self.server.publisher  # type: ignore[attr-defined]
        path = self.path.split("?", 1)[0]
        publisher.seen.append(path)
        reply = publisher.routes.get(path, Reply(404, "text/plain", b"not here"))
        self.send_response(reply.status)
        if reply.content_type:
            self.send_header("Content-Type", reply.content_type)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


class HostilePublisher:
    """Serve the hostile corpus on 127.0.0.1 in a background thread."""

    def __init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.publisher = self  # type: ignore[attr-defined]
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.seen: list[str] = []
        self.feed_paths = list(feeds(self.base_url))
        self.routes: dict[str, Reply] = {**feeds(self.base_url), **pages(self.base_url)}
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def feed_urls(self) -> list[str]:
        return [self.base_url + path for path in self.feed_paths]

    def __enter__(self) -> HostilePublisher:
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.server.shutdown()
        self.server.server_close()
