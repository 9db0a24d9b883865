"""Whole-page caching for anonymous readers, in Django's shared cache, with version keys.

A cached page is stored under a key that includes the current "version" of everything it shows.
Changing an article, its comments or its enrichment replaces those versions (see ``signals``),
so stale pages are never read again and simply expire. Versions are random tokens rather than
counters: if the cache evicts one, the next reader gets a fresh token and a fresh page, never an
old page stored under a reused number.

Each process also keeps the last pages it served, by versioned key, and the versions it read
for ``VERSION_MEMO_SECONDS``: a hit then costs no query and no rendering. A change made in this
process is seen at once; one made by another process at most that long after it committed.
Inside a transaction the memo is not used, since the transaction may see other data than the
memo's readers did (tests run that way, and then pay one ``get_many`` per page).

Views say which pages may be shared with ``cached_page``; ``PageCacheMiddleware`` serves and
stores them. It runs early, so a hit skips sessions, CSRF, auth and the view, but stays below
the security middleware so a hit carries the same security headers as a fresh page.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpResponse
from django.middleware.common import CommonMiddleware
from django.urls import Resolver404, get_urlconf, resolve
from django.utils.cache import cc_delim_re, patch_vary_headers

VERSION_MEMO_SECONDS = 1.0
PAGE_TIMEOUT = 600  # seconds; relative times in a page are redrawn by the browser anyway
LOCAL_PAGES = 256
HEADER = "X-Broadsheet-Cache"
NOT_STORED = {"content-length", HEADER.lower()}
PAGE_PREFIX = "page2"  # a new name whenever what ``store`` keeps changes shape
ARTICLES, COMMENTS, TAGS = "articles", "comments", "tags"
LISTS = (ARTICLES, COMMENTS, TAGS)

_lock = threading.Lock()
_versions: dict[str, tuple[float, str]] = {}
_pages: OrderedDict[str, tuple] = OrderedDict()  # page key -> (body, headers, csp settings)


def article_scope(pk: int) -> str:
    return f"article:{pk}"


def version_key(scope: str) -> str:
    return f"pagever:{scope}"


_batch = threading.local()


@contextmanager
def batched():
    """Collect the bumps of a bulk job (the enrichment stage writes hundreds of rows) and make
    them once at the end: one cache write instead of one per saved row."""
    if getattr(_batch, "scopes", None) is not None:
        yield
        return
    _batch.scopes = set()
    try:
        yield
    finally:
        scopes, _batch.scopes = _batch.scopes, None
        if scopes:
            bump(*scopes)


def bump(*scopes: str) -> None:
    """Make every page that depends on ``scopes`` stale, here and in every other process.

    Done at once and, inside a transaction, again after it commits: a reader who rendered the
    page in between, from the data not yet committed, would otherwise store it as current.
    """
    pending = getattr(_batch, "scopes", None)
    if pending is not None:
        pending.update(scopes)
        return
    replace_versions(scopes)
    if connection.in_atomic_block:
        transaction.on_commit(lambda: replace_versions(scopes))


def comments_changed(article_ids) -> None:
    """For changes that bypass model signals (``QuerySet.update``)."""
    bump(COMMENTS, *(article_scope(pk) for pk in set(article_ids)))


def enrichment_changed(article_ids) -> None:
    """For tags or related rows written with ``bulk_create``, which sends no signal."""
    bump(TAGS, *(article_scope(pk) for pk in set(article_ids)))


def replace_versions(scopes) -> None:
    fresh = {version_key(scope): secrets.token_hex(6) for scope in scopes}
    cache.set_many(fresh, timeout=None)
    with _lock:
        for scope in scopes:
            _versions.pop(scope, None)


def remembered(scopes: tuple[str, ...], now: float) -> dict[str, str]:
    if connection.in_atomic_block:
        return {}
    with _lock:
        memo = {s: _versions.get(s) for s in scopes}
    return {s: v[1] for s, v in memo.items() if v and now - v[0] < VERSION_MEMO_SECONDS}


def versions(scopes: tuple[str, ...]) -> list[str]:
    now = time.monotonic()
    known = remembered(scopes, now)
    missing = [s for s in scopes if s not in known]
    if missing:
        known.update(fetch_versions(missing))
        if not connection.in_atomic_block:
            with _lock:
                _versions.update({s: (now, known[s]) for s in missing})
    return [known[s] for s in scopes]


def fetch_versions(scopes: list[str]) -> dict[str, str]:
    stored = cache.get_many([version_key(s) for s in scopes])
    found = {}
    for scope in scopes:
        token = stored.get(version_key(scope))
        if token is None:
            cache.add(version_key(scope), secrets.token_hex(6), timeout=None)
            token = cache.get(version_key(scope), "")
        found[scope] = token
    return found


def page_key(request, scopes: tuple[str, ...]) -> str:
    path = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
    return f"{PAGE_PREFIX}:{path}:{'.'.join(versions(scopes))}"


def is_cacheable(request) -> bool:
    """Only a reader with no session gets the shared copy: theirs carries no personal content.

    A session cookie may mean a signed-in reader, a pending message or a form's state; those
    pages are rendered for the one reader and never stored. Decided from the request alone, so
    that it can be asked before the session and auth middleware have run.
    """
    if request.method not in ("GET", "HEAD"):
        return False
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    cookies = request.COOKIES
    return not (cookies.get(settings.SESSION_COOKIE_NAME) or cookies.get("messages"))


def may_store(request, response) -> bool:
    user = getattr(request, "user", None)
    control = {
        part.split("=")[0].strip().lower()
        for part in cc_delim_re.split(response.get("Cache-Control", ""))
    }
    return (
        request.method == "GET"
        and response.status_code == 200
        and not response.cookies
        and not response.streaming
        and not (user is not None and user.is_authenticated)
        and not control & {"private", "no-store"}
    )


def read(key: str) -> tuple | None:
    with _lock:
        page = _pages.get(key)
        if page is not None:
            _pages.move_to_end(key)
            return page
    page = cache.get(key)
    if page is not None:
        remember(key, page)
    return page


def remember(key: str, page: tuple) -> None:
    with _lock:
        _pages[key] = page
        _pages.move_to_end(key)
        while len(_pages) > LOCAL_PAGES:
            _pages.popitem(last=False)


def store(key: str, response) -> None:
    """Keep the body, the headers the view and the inner middleware set (X-Frame-Options, Vary,
    Content-Type...) and django-csp's per-view settings. The headers of the middleware above
    this one (CSP, HSTS, nosniff) are not kept: they are added afresh to every response."""
    patch_vary_headers(response, ("Cookie",))
    headers = tuple((k, v) for k, v in response.items() if k.lower() not in NOT_STORED)
    csp = {k: v for k, v in vars(response).items() if k.startswith("_csp_")}
    page = (response.content, headers, csp)
    cache.set(key, page, timeout=PAGE_TIMEOUT)
    remember(key, page)


def replay(page: tuple) -> HttpResponse:
    content, headers, csp = page
    response = HttpResponse(content)
    for name, value in headers:
        response.headers[name] = value
    response.headers["Content-Length"] = str(len(content))
    response.headers[HEADER] = "hit"
    for name, value in csp.items():
        setattr(response, name, value)
    return response


def cached_page(scopes):
    """Let ``PageCacheMiddleware`` share the view's page among anonymous readers.

    ``scopes(**kwargs)`` names the data the page shows, from the URL's arguments alone.
    """

    def decorate(view):
        view.page_scopes = scopes
        return view

    return decorate


@lru_cache(maxsize=4096)
def route_scopes(urlconf: str, path: str) -> tuple[str, ...] | None:
    """The scopes of the cached view that ``path`` leads to, or None for any other view."""
    try:
        match = resolve(path, urlconf)
    except Resolver404:
        return None
    scopes = getattr(match.func, "page_scopes", None)
    return tuple(scopes(*match.args, **match.kwargs)) if scopes else None


class PageCacheMiddleware:
    """Answers anonymous readers from the page cache before sessions, CSRF, auth and URL
    dispatch run; stores what the full stack rendered on a miss.

    Sits below SecurityMiddleware and the CSP middleware, so a hit gets their headers like any
    other response. The checks of CommonMiddleware (allowed host, user agents, www) run before
    a hit is served; anything it would redirect goes through the whole stack instead.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.common = CommonMiddleware(get_response)

    def __call__(self, request):
        scopes = self.scopes(request)
        if scopes is None:
            return self.get_response(request)
        key = page_key(request, scopes)  # versions read before rendering, never after
        page = read(key)
        if page is not None and self.common.process_request(request) is None:
            return replay(page)
        response = self.get_response(request)
        if page is None and may_store(request, response):
            store(key, response)
            response.headers[HEADER] = "miss"
        return response

    @staticmethod
    def scopes(request) -> tuple[str, ...] | None:
        if not is_cacheable(request):
            return None
        return route_scopes(get_urlconf() or settings.ROOT_URLCONF, request.path_info)


def list_scopes(**kwargs) -> tuple[str, ...]:
    return LISTS


def article_scopes(pk: int, **kwargs) -> tuple[str, ...]:
    # Related articles show other articles' titles, so any article change counts too.
    return (ARTICLES, article_scope(pk))


def clear_local() -> None:
    """Forget this process's copies (tests use it to stand in for another process)."""
    with _lock:
        _versions.clear()
        _pages.clear()
    route_scopes.cache_clear()
