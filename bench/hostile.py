"""Hostile input, end to end: a publisher that sends garbage, a real worker, and every page read.

``broadsheet.testing.hostile`` serves feeds and pages on 127.0.0.1 that carry script in every
field, broken encodings, huge attribute lists, 100,000-level nesting, entity bombs, external
entities, empty and binary bodies, wrong content types, a mistyped JSON Feed and bad gzip.
Every feed is subscribed and a real ``broadsheet worker --until-idle`` process ingests them.
Then the audit demands: the worker exited cleanly with no traceback; every feed and article row
ends stored or with a classified error (``internal`` is our bug); no external entity was read;
and no page of the site (front page, sources, each source, each stored article, its tags)
carries a script other than the site's own, an ``on*`` attribute, or a script URL.

    python bench/hostile.py --db sqlite
    python bench/hostile.py --db postgres

Prints ``name: value`` lines and one ``case:`` line per feed and article; exits non-zero on
any violation.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from lxml import html as lxml_html

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, too

from bench.scratchdb import POSTGRES, scratch

BENCH_DB = "broadsheet_hostile"
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "srcset", "poster", "data", "background"}
SCRIPT_URL = re.compile(r"^\s*(javascript|vbscript|data:text|data:application)", re.IGNORECASE)
FORBIDDEN_TAGS = {"iframe", "object", "embed", "base", "frame", "frameset", "applet"}
LEAKED_FILE_TEXT = "root:x:0:0"


def worker_env(database_url: str, data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        BROADSHEET_DATA_DIR=data_dir,
        BROADSHEET_ALLOWED_NETWORKS="127.0.0.1",
        BROADSHEET_HOST_RATE="1000",
        BROADSHEET_HOST_CONCURRENCY="8",
        BROADSHEET_FETCH_TIMEOUT="10",
        # One attempt each: every failure is final, so the audit sees its classification.
        BROADSHEET_MAX_ATTEMPTS="1",
        BROADSHEET_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="broadsheet.settings",
    )
    return env


def ingest(env: dict[str, str], timeout: float = 300) -> tuple[list[str], float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "broadsheet", "worker", "--until-idle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    problems = []
    if done.returncode != 0:
        problems.append(f"worker exited {done.returncode}: {done.stderr[-2000:]}")
    if "Traceback" in done.stdout + done.stderr:
        problems.append(f"worker logged a traceback: {done.stderr[-4000:]}")
    return problems, time.perf_counter() - started


# --- rows --------------------------------------------------------------------------------


def feed_cases() -> tuple[list[str], list[str]]:
    from broadsheet.sources.models import Feed

    cases, problems = [], []
    for feed in Feed.objects.order_by("url"):
        outcome = "stored" if feed.last_success_at and not feed.error_count else ""
        outcome = outcome or feed.last_error_kind or "unrecorded"
        cases.append(f"feed {feed.url} {outcome}")
        if outcome in ("unrecorded", "internal"):
            problems.append(f"feed {feed.url} ended {outcome}: {feed.last_error[:300]}")
    return cases, problems


def article_outcome(article) -> str:
    if article.state == "done":
        return "stored"
    if article.state == "duplicate":
        return "duplicate"
    return article.last_error_kind or f"{article.state} unrecorded"


def article_cases() -> tuple[list[str], list[str]]:
    from broadsheet.articles.models import Article

    cases, problems = [], []
    for article in Article.objects.order_by("url"):
        outcome = article_outcome(article)
        cases.append(f"article {article.url} {outcome}")
        if "unrecorded" in outcome or outcome == "internal" or article.state == "pending":
            problems.append(f"article {article.url} ended {outcome}: {article.last_error[:300]}")
    return cases, problems


def leaked_secrets(publisher) -> list[str]:
    from django.db.models import Q

    from broadsheet.articles.models import Article
    from broadsheet.sources.models import Feed

    problems = []
    if "/secret" in publisher.seen:
        problems.append("an external entity made the worker fetch /secret")
    where = (
        Q(title__contains=LEAKED_FILE_TEXT)
        | Q(text__contains=LEAKED_FILE_TEXT)
        | Q(teaser__contains=LEAKED_FILE_TEXT)
    )
    feeds = Feed.objects.filter(title__contains=LEAKED_FILE_TEXT)
    if Article.objects.filter(where).exists() or feeds.exists():
        problems.append("/etc/passwd reached a stored row through an external entity")
    return problems


# --- pages -------------------------------------------------------------------------------


def allowed_scripts() -> set[str]:
    """The site's own scripts, as its templates include them."""
    from django.templatetags.static import static

    return {static("front/broadsheet.js")}


def element_violations(element, allowed: set[str]) -> list[str]:
    tag = element.tag if isinstance(element.tag, str) else ""
    found = []
    if tag == "script" and (element.get("src") not in allowed or (element.text or "").strip()):
        found.append(f"script element {lxml_html.tostring(element)[:120]!r}")
    if tag in FORBIDDEN_TAGS:
        found.append(f"<{tag}> element")
    for name, value in element.attrib.items():
        if name.lower().startswith("on"):
            found.append(f"{name}= attribute on <{tag}>")
        if name.lower() in URL_ATTRIBUTES and SCRIPT_URL.match(value or ""):
            found.append(f"{name}={value[:80]!r} on <{tag}>")
    return found


def page_violations(body: str, allowed: set[str]) -> list[str]:
    """Script that would run: checked on the parsed tree and, against parser tricks, the text."""
    if not body.strip():
        return []
    document = lxml_html.document_fromstring(body)
    found = [v for element in document.iter() for v in element_violations(element, allowed)]
    own = sum(body.count(f'src="{src}"') for src in allowed)
    if len(re.findall(r"<script", body, re.IGNORECASE)) > own:
        found.append("more <script in the text than the site's own script tags")
    if re.search(r"<[^>]*\son[a-z]+\s*=", body, re.IGNORECASE):
        found.append("an on*= attribute in the text")
    return found


def site_paths() -> list[str]:
    from broadsheet.articles.models import Article
    from broadsheet.enrichment.models import Tag
    from broadsheet.front import links
    from broadsheet.sources.models import Source

    paths = ["/", "/sources/", "/search/?q=harbour", "/search/?q=PWNED"]
    paths += [links.source_url(source) for source in Source.objects.all()]
    stored = Article.objects.filter(state=Article.State.DONE)
    paths += [links.article_url(article) for article in stored]
    paths += [f"/tag/{slug}/" for slug in Tag.objects.values_list("slug", flat=True)[:200]]
    return paths


def render_all() -> tuple[int, list[str]]:
    from django.test import Client

    client, allowed, problems = Client(), allowed_scripts(), []
    paths = site_paths()
    for path in paths:
        response = client.get(path)
        if response.status_code != 200:
            problems.append(f"{path} answered {response.status_code}")
            continue
        body = response.content.decode(response.charset or "utf-8")
        problems += [f"{path}: {v}" for v in page_violations(body, allowed)]
    return len(paths), problems


# --- the command -------------------------------------------------------------------------


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)


def subscribe_all(publisher) -> None:
    from broadsheet.sources.subscribe import subscribe

    for url in publisher.feed_urls():
        subscribe(url, check=False)


def audit(publisher, env: dict[str, str]) -> tuple[list[str], list[str], dict[str, object]]:
    problems, seconds = ingest(env)
    feeds, feed_problems = feed_cases()
    articles, article_problems = article_cases()
    pages, page_problems = render_all()
    problems += feed_problems + article_problems + leaked_secrets(publisher) + page_problems
    figures = {
        "feeds": len(feeds),
        "articles": len(articles),
        "articles_stored": sum(c.endswith(" stored") for c in articles),
        "pages_rendered": pages,
        "ingest_seconds": round(seconds, 1),
    }
    return feeds + articles, problems, figures


def run(db: str, data_dir: str) -> int:
    from broadsheet.testing.hostile import HostilePublisher

    url = f"sqlite:///{data_dir}/hostile.sqlite3" if db == "sqlite" else f"{POSTGRES}/{BENCH_DB}"
    env = worker_env(url, data_dir)
    setup_django(env)
    with HostilePublisher() as publisher:
        subscribe_all(publisher)
        cases, problems, figures = audit(publisher, env)
    print(f"database: {db}")
    for case in cases:
        print(f"case: {case}")
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(f"violations: {len(problems)}")
    for problem in problems:
        print(f"violation: {problem}")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    with scratch(args.db, BENCH_DB, prefix="broadsheet-hostile-") as data_dir:
        return run(args.db, data_dir)


if __name__ == "__main__":
    sys.exit(main())
