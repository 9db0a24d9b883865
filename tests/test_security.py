"""Production settings and the headers every response carries.

Settings that depend on BROADSHEET_HTTPS are decided when settings load, so those tests start a
fresh interpreter with an operator's production environment instead of patching settings.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta

import lxml.html
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from broadsheet.front.links import article_url
from broadsheet.ingest.tasks import poll_feed
from broadsheet.sources.models import Feed
from tests.test_front import make_article, make_source

EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' https: http: data:",
    "frame-ancestors": "'none'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
}
DATA_SCRIPT_TYPES = {"application/json", "application/ld+json"}


def production_env(tmp_path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    env.update(
        BROADSHEET_DATA_DIR=str(tmp_path),
        BROADSHEET_HTTPS="true",
        SECRET_KEY=secrets.token_urlsafe(60),
        ALLOWED_HOSTS="news.example.org",
        DEBUG="false",
        DJANGO_SETTINGS_MODULE="broadsheet.settings",
    )
    env.update(extra)
    return env


def broadsheet(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "broadsheet", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


# A request made in a fresh interpreter, so that settings load from the given environment.
PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
client = Client(HTTP_HOST="news.example.org")
page = client.get("/accounts/login/", secure=True)
plain = client.get("/accounts/login/")
csrf = page.cookies["csrftoken"]
print(json.dumps({
    "hsts": page.get("Strict-Transport-Security", ""),
    "plain_status": plain.status_code,
    "plain_location": plain.get("Location", ""),
    "csrf_secure": bool(csrf["secure"]),
    "csrf_httponly": bool(csrf["httponly"]),
    "session_secure": settings.SESSION_COOKIE_SECURE,
    "session_httponly": settings.SESSION_COOKIE_HTTPONLY,
}))
"""


def probe(env: dict[str, str]) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def csp_directives(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {name: value for name, value in parts}


def inline_code(html: str) -> list[str]:
    """Everything in a page that a script-src/style-src 'self' policy would block."""
    tree = lxml.html.fromstring(html)
    found = [
        "inline <script>"
        for script in tree.iter("script")
        if not script.get("src") and script.get("type", "").lower() not in DATA_SCRIPT_TYPES
    ]
    found += ["<style> block" for _ in tree.iter("style")]
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        found += [f"{element.tag} {name}=" for name in element.attrib if name.startswith("on")]
        found += [f"{element.tag} style=" for name in element.attrib if name == "style"]
        href = (element.get("href") or "").strip().lower()
        if href.startswith("javascript:"):
            found.append(f"{element.tag} javascript: link")
    return found


# --- check --deploy --------------------------------------------------------------------------


def test_check_deploy_is_clean_with_production_variables(tmp_path):
    done = broadsheet(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout
    assert "WARNINGS" not in done.stdout + done.stderr


def test_check_deploy_warns_without_https(tmp_path):
    env = production_env(tmp_path, BROADSHEET_HTTPS="false")
    done = broadsheet(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    for check_id in ("security.W004", "security.W012", "security.W016"):
        assert check_id in done.stderr


def test_check_deploy_reports_a_weak_secret_key(tmp_path):
    env = production_env(tmp_path, SECRET_KEY="short")
    done = broadsheet(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0
    assert "security.W009" in done.stderr


# --- behind https ------------------------------------------------------------------------------


def test_https_sends_hsts_redirects_and_secures_cookies(tmp_path):
    seen = probe(production_env(tmp_path))
    assert seen["hsts"].startswith("max-age=31536000")
    assert "includeSubDomains" in seen["hsts"]
    assert "preload" not in seen["hsts"]
    assert seen["plain_status"] == 301
    assert seen["plain_location"].startswith("https://news.example.org/")
    assert seen["csrf_secure"] and seen["session_secure"] and seen["session_httponly"]
    # The AI box's fetch() reads csrftoken from document.cookie.
    assert seen["csrf_httponly"] is False


def test_hsts_preload_is_opt_in(tmp_path):
    seen = probe(production_env(tmp_path, BROADSHEET_HSTS_PRELOAD="true"))
    assert seen["hsts"].endswith("preload")


def test_plain_http_sends_no_hsts(tmp_path):
    seen = probe(production_env(tmp_path, BROADSHEET_HTTPS="false"))
    assert seen["hsts"] == ""
    assert seen["plain_status"] == 200
    assert seen["csrf_secure"] is False


# --- headers on every response -----------------------------------------------------------------


@pytest.fixture
def article():
    source = make_source()
    return make_article(source, body_html="<p>The tide turned.</p>", text="The tide turned.")


def assert_security_headers(response, *, page: bool = True) -> None:
    assert csp_directives(response) == EXPECTED_CSP | {
        "connect-src": "'self'",
        "font-src": "'self'",
    }
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    if page:  # whitenoise answers before XFrameOptionsMiddleware; frame-ancestors covers it
        assert response["X-Frame-Options"] == "DENY"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_front_page_carries_every_header(client, article):
    assert_security_headers(client.get(reverse("front")))


@pytest.mark.django_db
def test_article_page_carries_every_header(client, article):
    response = client.get(article_url(article))
    assert response.status_code == 200
    assert_security_headers(response)


@pytest.mark.django_db
def test_a_page_from_the_cache_carries_every_header(settings, article):
    settings.SECURE_HSTS_SECONDS = 3600  # read when the middleware loads: a fresh client below
    client = Client()
    client.get(article_url(article), secure=True)

    hit = client.get(article_url(article), secure=True)

    assert hit["X-Broadsheet-Cache"] == "hit"
    assert_security_headers(hit)
    assert hit["Strict-Transport-Security"].startswith("max-age=3600")


@pytest.mark.django_db
def test_a_changed_policy_setting_reaches_the_next_response(client, settings, article):
    client.get(reverse("front"))  # the site's policy is built and kept
    settings.CONTENT_SECURITY_POLICY = {"DIRECTIVES": {"default-src": ["'none'"]}}

    assert client.get(reverse("front"))["Content-Security-Policy"] == "default-src 'none'"


@pytest.mark.django_db
def test_not_found_and_json_carry_every_header(client):
    missing = client.get("/no-such-page/")
    assert missing.status_code == 404
    assert_security_headers(missing)


def test_static_files_carry_every_header(client):
    response = client.get("/static/front/broadsheet.js")
    assert response.status_code == 200
    assert_security_headers(response, page=False)


@pytest.mark.django_db
def test_login_page_csrf_cookie_stays_readable_by_script(client):
    response = client.get(reverse("login"))
    cookie = response.cookies["csrftoken"]
    assert not cookie["httponly"]
    assert cookie["samesite"] == "Lax"


@pytest.mark.django_db
def test_public_pages_need_no_inline_code(client, article):
    for url in (reverse("front"), article_url(article), reverse("login"), reverse("signup")):
        response = client.get(url)
        assert response.status_code == 200, url
        assert inline_code(response.content.decode()) == [], url


def test_inline_code_finder_sees_what_csp_blocks():
    page = (
        '<html><head><script>x()</script><script type="application/json">{}</script>'
        '<style>p{}</style></head><body><p style="color:red" onclick="x()">a</p>'
        '<a href="javascript:x()">b</a><script src="/static/a.js"></script></body></html>'
    )
    assert sorted(inline_code(page)) == sorted(
        ["inline <script>", "<style> block", "p style=", "p onclick=", "a javascript: link"]
    )


# --- the admin under the same policy -----------------------------------------------------------


@pytest.fixture
def operator(client):
    client.force_login(User.objects.create_superuser("operator", "op@example.invalid", None))
    return client


def admin_urls(article) -> list[str]:
    feed = Feed.objects.create(source=article.source, url="https://harbour.example/feed.xml")
    urls = [reverse("admin:index"), reverse("admin:auth_user_changelist")]
    for name, obj in (
        ("sources_source", article.source),
        ("sources_feed", feed),
        ("articles_article", article),
    ):
        urls += [reverse(f"admin:{name}_changelist"), reverse(f"admin:{name}_add")]
        urls.append(reverse(f"admin:{name}_change", args=[obj.pk]))
    return urls


@pytest.mark.django_db
def test_admin_works_without_inline_script(operator, article):
    for url in admin_urls(article):
        response = operator.get(url)
        assert response.status_code == 200, url
        assert csp_directives(response)["script-src"] == "'self'", url
        assert inline_code(response.content.decode()) == [], url


@pytest.mark.django_db
def test_admin_login_page_needs_no_inline_code(client):
    response = client.get(reverse("admin:login"))
    assert response.status_code == 200
    assert inline_code(response.content.decode()) == []


# --- broadsheet status ---------------------------------------------------------------------


def run_status(capsys, *args: str) -> tuple[int, dict[str, str]]:
    code = 0
    try:
        call_command("status", *args)
    except SystemExit as exit_:
        code = exit_.code
    out = capsys.readouterr().out
    return code, dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)


@pytest.mark.django_db
def test_status_reports_figures_and_passes_within_limits(capsys, article):
    code, figures = run_status(capsys, "--max-failing-feeds", "0", "--max-queue", "0")
    assert code == 0
    assert figures["feeds_failing"] == "0"
    assert figures["articles_done"] == "1"
    assert figures["articles_pending"] == "0"
    assert figures["queue_ready"] == "0"
    assert figures["oldest_ready_task_age_s"] == "0"


@pytest.mark.django_db
def test_status_counts_articles_an_older_release_enriched(capsys, article):
    from broadsheet.enrichment.embeddings import DEFAULT_EMBEDDER
    from broadsheet.enrichment.models import Enrichment
    from broadsheet.enrichment.stage import VERSION

    Enrichment.objects.create(article=article, version=VERSION, embedding_model=DEFAULT_EMBEDDER)
    assert run_status(capsys)[1]["articles_enrichment_outdated"] == "0"
    Enrichment.objects.filter(article=article).update(version=VERSION - 1)
    assert run_status(capsys)[1]["articles_enrichment_outdated"] == "1"
    Enrichment.objects.filter(article=article).update(version=VERSION, embedding_model="old")
    assert run_status(capsys)[1]["articles_enrichment_outdated"] == "1"


@pytest.mark.django_db
def test_status_fails_on_failing_feeds(capsys, article):
    Feed.objects.create(source=article.source, url="https://a.example/f", error_count=3)
    Feed.objects.create(source=article.source, url="https://b.example/f")
    code, figures = run_status(capsys, "--max-failing-feeds", "0")
    assert (figures["feeds"], figures["feeds_failing"]) == ("2", "1")
    assert code == 1


@pytest.mark.django_db
def test_status_fails_on_queue_depth_and_task_age(capsys, article):
    feed = Feed.objects.create(source=article.source, url="https://a.example/f")
    poll_feed.enqueue(feed.pk)
    poll_feed.enqueue(feed.pk)
    DBTaskResult.objects.update(enqueued_at=timezone.now() - timedelta(minutes=10))
    assert run_status(capsys, "--max-queue", "5", "--max-task-age", "900")[0] == 0
    code, figures = run_status(capsys, "--max-queue", "1")
    assert figures["queue_ready"] == "2" and code == 1
    code, figures = run_status(capsys, "--max-task-age", "300")
    assert 590 <= int(figures["oldest_ready_task_age_s"]) <= 700
    assert code == 1
