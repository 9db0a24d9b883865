"""The ``broadsheet`` command line, run as a real process against the test database."""

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from broadsheet.articles.models import Article
from broadsheet.sources.models import Feed
from tests.conftest import worker_environment

pytestmark = pytest.mark.django_db(transaction=True)


def broadsheet(*args: str, **env: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "broadsheet", *args],
        env=worker_environment(**env),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def test_add_feed_checks_the_feed_and_is_idempotent(publisher):
    url = publisher.feeds(main_only=True)[0].url
    first = broadsheet("add-feed", url)
    assert first.returncode == 0, first.stderr
    assert "Added feed" in first.stdout
    again = broadsheet("add-feed", url)
    assert again.returncode == 0
    assert "Already subscribed" in again.stdout
    assert Feed.objects.filter(url=url).count() == 1


def test_add_feed_discovers_the_feed_of_a_web_page(publisher):
    info = publisher.feeds(main_only=True)[1]
    homepage = f"{publisher.base_url}/{info.outlet_slug}/"
    done = broadsheet("add-feed", homepage)
    assert done.returncode == 0, done.stderr
    assert Feed.objects.get().url == info.url


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("ftp://example.org/feed", "bad_url"),
        ("http://10.0.0.1/feed", "blocked_address"),
        ("http://169.254.169.254/latest/meta-data/", "blocked_address"),
    ],
)
def test_add_feed_refuses_with_a_classified_message(url, kind):
    done = broadsheet("add-feed", url)
    assert done.returncode == 1
    assert kind in done.stderr
    assert not Feed.objects.exists()


def test_loopback_is_refused_unless_the_operator_allows_it(publisher):
    url = publisher.feeds(main_only=True)[0].url
    done = broadsheet("add-feed", url, BROADSHEET_ALLOWED_NETWORKS="")
    assert done.returncode == 1
    assert "blocked_address" in done.stderr


def test_opml_round_trip(publisher, tmp_path):
    feeds = publisher.feeds(main_only=True)
    outlines = "".join(f'<outline type="rss" text="{f.title}" xmlUrl="{f.url}"/>' for f in feeds)
    opml = tmp_path / "in.opml"
    opml.write_text(f'<opml version="2.0"><head/><body>{outlines}</body></opml>')
    imported = broadsheet("import-opml", str(opml))
    assert imported.returncode == 0, imported.stderr
    assert f"{len(feeds)} feeds added" in imported.stdout
    exported = broadsheet("export-opml")
    assert exported.returncode == 0
    for feed in feeds:
        assert feed.url in exported.stdout


def test_import_opml_reports_unreadable_files(tmp_path):
    garbage = tmp_path / "garbage.opml"
    garbage.write_bytes(b"\x89PNG not opml at all")
    assert "not usable OPML" in broadsheet("import-opml", str(garbage)).stderr
    missing = broadsheet("import-opml", str(tmp_path / "missing.opml"))
    assert missing.returncode == 1
    assert "cannot read" in missing.stderr


def test_poll_fetches_articles_and_reprocess_reextracts_them(publisher):
    info = publisher.feeds(main_only=True)[2]
    assert broadsheet("add-feed", "--no-check", info.url).returncode == 0
    polled = broadsheet("poll", info.url)
    assert polled.returncode == 0, polled.stderr
    stored = Article.objects.filter(state=Article.State.DONE).count()
    assert stored > 0
    assert f"articles: {stored} stored, 0 failed" in polled.stdout
    Article.objects.update(text="stale")
    again = broadsheet("reprocess", "--since", "2000-01-01")
    assert again.returncode == 0, again.stderr
    assert f"reprocessed {stored} articles" in again.stdout
    assert not Article.objects.filter(text="stale").exists()


def test_reprocess_enrichment_only_keeps_the_text_and_enriches_again(publisher):
    from broadsheet.enrichment.models import ArticleTag

    info = publisher.feeds(main_only=True)[2]
    assert broadsheet("add-feed", "--no-check", info.url).returncode == 0
    assert broadsheet("poll", info.url).returncode == 0
    stored = Article.objects.filter(state=Article.State.DONE).count()
    assert stored > 0 and ArticleTag.objects.exists()
    Article.objects.update(language="xx")
    ArticleTag.objects.all().delete()
    texts = dict(Article.objects.values_list("id", "text"))

    again = broadsheet("reprocess", "--enrichment-only")

    assert again.returncode == 0, again.stderr
    assert f"re-enriched {stored} articles" in again.stdout
    assert dict(Article.objects.values_list("id", "text")) == texts
    assert not Article.objects.filter(language="xx").exists()
    assert not Article.objects.filter(enrich_due_at__isnull=False).exists()
    assert ArticleTag.objects.values("article").distinct().count() == stored


def test_poll_and_reprocess_report_bad_arguments():
    unknown = broadsheet("poll", "12345")
    assert unknown.returncode == 1
    assert "no active feed" in unknown.stderr
    bad_date = broadsheet("reprocess", "--since", "yesterday-ish")
    assert bad_date.returncode == 1
    assert "expected a date" in bad_date.stderr


def test_a_failing_feed_gives_a_non_zero_exit(publisher):
    broadsheet("add-feed", "--no-check", f"{publisher.base_url}/no-such-outlet/feed")
    done = broadsheet("poll")
    assert done.returncode == 1
    assert "http_4xx" in done.stderr


def test_web_refuses_an_unmigrated_database(tmp_path):
    done = broadsheet("web", DATABASE_URL=f"sqlite:///{tmp_path}/empty.sqlite3")
    assert done.returncode == 1
    assert "broadsheet migrate" in done.stderr


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("server", ["granian", "gunicorn"])
def test_web_serves_the_site_with_either_server(server):
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "broadsheet",
            "web",
            "--server",
            server,
            "--workers",
            "1",
            "--bind",
            f"127.0.0.1:{port}",
        ],
        env=worker_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    assert response.status == 200
                    assert "Content-Security-Policy" in response.headers
                    assert b"<main" in response.read()
                    break
            except (ConnectionError, urllib.error.URLError):
                assert process.poll() is None, process.stderr.read()
                assert time.monotonic() < deadline, "the web server never answered"
                time.sleep(0.3)
    finally:
        process.terminate()
        process.communicate(timeout=30)
