"""A real Broadsheet site in a real browser, built once for every test in this folder.

The sample publisher and a hostile publisher (``hostile.py``) are served on 127.0.0.1 and
ingested by a real worker process; pytest-django's ``live_server`` then serves the result to
Debian's chromium, driven by Playwright's sync API.

Building the site costs a worker run, so it is done once per package and its rows are kept in
memory. The tests are transactional (the live server must see what they write, and they must
see what it writes), so the database is emptied after each one; ``_site_rows`` puts the rows
back before the next, so every test starts from the same site whatever the one before it did.
Loading them with Django's ``serialized_rollback`` took 13 s a test; bulk inserts take well
under one.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest

from tests.browser import hostile

CHROMIUM = Path(os.environ.get("BROADSHEET_CHROMIUM", "/usr/bin/chromium"))
# Headless, and nothing that would reach the network on the browser's own initiative.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PASSWORD = "correct-horse-battery-staple-42"
WORKER_TIMEOUT = 300


def missing_browser() -> str:
    """Why the browser tests cannot run here, or "" when they can."""
    if importlib.util.find_spec("playwright") is None:
        return "Playwright is not installed (pip install playwright; .ci/run installs it)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run installs it)"
    return ""


@dataclass
class Site:
    """The running site: its URL, the publishers behind it, and the named personas."""

    url: str
    publisher: object
    hostile_url: str
    rows: list = field(repr=False)
    personas: dict[str, str] = field(default_factory=dict)

    def article(self, url: str):
        from broadsheet.articles.models import Article
        from broadsheet.ingest.urls import normalize_url

        return Article.objects.get(canonical_url=normalize_url(url), state="done")

    def article_path(self, article) -> str:
        from broadsheet.front.links import article_url

        return article_url(article)

    def sample_article(self):
        """A sample-publisher article with a photo and the longest body: every element shows."""
        written = [a for a in self.publisher.corpus.articles if a.image and not a.wire_of]
        written.sort(key=lambda a: len(a.paragraphs), reverse=True)
        return self.article(self.publisher.article_url(written[0]))


def run_worker() -> None:
    from tests.conftest import worker_environment

    env = worker_environment()
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    done = subprocess.run(
        [sys.executable, "-m", "broadsheet", "worker", "--until-idle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def subscribe_publishers(publisher, hostile_url: str) -> None:
    from broadsheet.sources.subscribe import subscribe

    for info in publisher.feeds(main_only=True):
        subscribe(info.url, check=False, title=info.title)
    subscribe(hostile.feed_url(hostile_url), check=False)


def make_personas() -> dict[str, str]:
    """A moderator, and a reader whose account is old enough to be trusted with comments."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    users = get_user_model()
    users.objects.create_superuser("moderator", "moderator@example.org", PASSWORD)
    regular = users.objects.create_user("regular", "regular@example.org", PASSWORD)
    regular.date_joined = timezone.now() - timedelta(days=90)
    regular.save(update_fields=["date_joined"])
    return {"moderator": PASSWORD, "regular": PASSWORD}


def empty_everything() -> None:
    from django.core.cache import cache
    from django.core.management import call_command

    call_command("flush", interactive=False, verbosity=0)
    cache.clear()


@pytest.fixture(scope="package")
def chromium() -> Iterator[object]:
    reason = missing_browser()
    if reason:
        pytest.skip(f"browser tests skipped: {reason}")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an asyncio loop running in this thread, which makes Django
    # refuse ORM calls here; the calls are in fact synchronous, so the guard can stand down.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        # launch() gives every run a fresh, throw-away profile (user-data dir).
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()
    os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


# Rebuilt by the post_migrate signal after every flush, with new ids; nothing in the site
# points at them.
REBUILT_AFTER_FLUSH = frozenset({"contenttypes.contenttype", "auth.permission"})


def site_models() -> list:
    from django.apps import apps

    return [
        model
        for model in apps.get_models(include_auto_created=True)
        if model._meta.managed
        and not model._meta.proxy
        and model._meta.label_lower not in REBUILT_AFTER_FLUSH
    ]


def take_rows() -> list[tuple[type, list]]:
    taken = [(model, list(model._base_manager.all())) for model in site_models()]
    return [(model, rows) for model, rows in taken if rows]


def put_rows(taken: list[tuple[type, list]]) -> None:
    """Foreign keys are checked at commit on both databases, so the order does not matter."""
    from django.core.cache import cache
    from django.core.management.color import no_style
    from django.db import connection, transaction

    cache.clear()  # cached pages and rate-limit counters belong to the test before
    with transaction.atomic():
        for model, rows in taken:
            model._base_manager.bulk_create(rows, batch_size=200)
        # Rows went in with their ids; PostgreSQL's sequences must move past them, as loaddata's do.
        with connection.cursor() as cursor:
            for sql in connection.ops.sequence_reset_sql(no_style(), [m for m, _ in taken]):
                cursor.execute(sql)


@pytest.fixture(scope="package")
def site(chromium, live_server, django_db_setup, django_db_blocker) -> Iterator[Site]:
    from broadsheet.samplepub.server import SamplePublisher

    with ExitStack() as stack:
        publisher = stack.enter_context(SamplePublisher(port=0))
        hostile_url = stack.enter_context(hostile.serve())
        with django_db_blocker.unblock():
            empty_everything()
            subscribe_publishers(publisher, hostile_url)
            run_worker()
            personas = make_personas()
            rows = take_rows()
            empty_everything()
        yield Site(live_server.url, publisher, hostile_url, rows, personas)
    with django_db_blocker.unblock():
        empty_everything()


@pytest.fixture(autouse=True)
def _site_rows(site, transactional_db) -> None:
    put_rows(site.rows)


@dataclass
class Watched:
    """A page plus everything it did that a test may want to fail on."""

    page: object
    dialogs: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def watch(page) -> Watched:
    watched = Watched(page)

    def on_dialog(dialog) -> None:
        watched.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("dialog", on_dialog)
    page.on("pageerror", lambda error: watched.errors.append(str(error)))
    return watched


@pytest.fixture
def new_page(chromium, site):
    """Open pages in fresh contexts (no cookies): ``new_page(timezone_id=...)``."""
    contexts = []

    def open_page(**options) -> Watched:
        context = chromium.new_context(base_url=site.url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return watch(context.new_page())

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page) -> Watched:
    return new_page()


def log_in(watched: Watched, username: str, password: str = PASSWORD) -> None:
    page = watched.page
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector(f"text=Signed in as {username}")
