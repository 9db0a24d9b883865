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
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import OrderedDict
from contextlib import contextmanager
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

VERSION_MEMO_SECONDS = 1.0
PAGE_TIMEOUT = 600  # seconds; relative times in a page are redrawn by the browser anyway
LOCAL_PAGES = 256
HEADER = "X-Broadsheet-Cache"
ARTICLES, COMMENTS, TAGS = "articles", "comments", "tags"
LISTS = (ARTICLES, COMMENTS, TAGS)

_lock = threading.Lock()
_versions: dict[str, tuple[float, str]] = {}
_pages: OrderedDict[str, tuple[bytes, str]] = OrderedDict()


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

    Done at once and again after the surrounding transaction commits: a reader who rendered the
    page in between, from the data not yet committed, would otherwise store it as current.
    """
    pending = getattr(_batch, "scopes", None)
    if pending is not None:
        pending.update(scopes)
        return
    replace_versions(scopes)
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
    return f"page:{path}:{'.'.join(versions(scopes))}"


def is_cacheable(request) -> bool:
    """Only a reader with no session gets the shared copy: theirs carries no personal content.

    A session cookie may mean a signed-in reader, a pending message or a form's state; those
    pages are rendered for the one reader and never stored.
    """
    if request.method not in ("GET", "HEAD"):
        return False
    if request.COOKIES.get(settings.SESSION_COOKIE_NAME) or request.COOKIES.get("messages"):
        return False
    return not request.user.is_authenticated


def may_store(response) -> bool:
    return (
        response.status_code == 200
        and not response.cookies
        and not getattr(response, "streaming", False)
        and "private" not in response.get("Cache-Control", "")
    )


def read(key: str) -> tuple[bytes, str] | None:
    with _lock:
        page = _pages.get(key)
        if page is not None:
            _pages.move_to_end(key)
            return page
    page = cache.get(key)
    if page is not None:
        remember(key, page)
    return page


def remember(key: str, page: tuple[bytes, str]) -> None:
    with _lock:
        _pages[key] = page
        _pages.move_to_end(key)
        while len(_pages) > LOCAL_PAGES:
            _pages.popitem(last=False)


def store(key: str, response) -> None:
    page = (response.content, response["Content-Type"])
    cache.set(key, page, timeout=PAGE_TIMEOUT)
    remember(key, page)


def replay(page: tuple[bytes, str]) -> HttpResponse:
    response = HttpResponse(page[0], content_type=page[1])
    response[HEADER] = "hit"
    patch_vary_headers(response, ("Cookie",))
    return response


def cached_page(scopes):
    """Serve the view from the cache for anonymous readers; ``scopes(**kwargs)`` names its data."""

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            if not is_cacheable(request):
                return view(request, *args, **kwargs)
            key = page_key(request, scopes(**kwargs))
            page = read(key)
            if page is not None:
                return replay(page)
            response = view(request, *args, **kwargs)
            if may_store(response):
                store(key, response)
                response[HEADER] = "miss"
            return response

        return wrapper

    return decorate


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
