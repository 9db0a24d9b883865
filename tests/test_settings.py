"""Settings come from the environment; bad values are system check errors with ids."""

import os
import subprocess
import sys

from django.conf import settings


def broadsheet(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "broadsheet", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_tests_never_use_the_users_data_dir():
    assert "broadsheet-test-" in str(settings.DATA_DIR)


def test_sqlite_is_tuned_for_a_web_process_and_a_worker():
    db = settings.DATABASES["default"]
    if not db["ENGINE"].endswith("sqlite3"):
        return
    assert "journal_mode=WAL" in db["OPTIONS"]["init_command"]
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert db["OPTIONS"]["timeout"] >= 5


def test_bad_values_are_check_errors_with_ids():
    done = broadsheet(
        "check",
        DEBUG="maybe",
        BROADSHEET_FETCH_TIMEOUT="soon",
        BROADSHEET_MAX_BODY_BYTES="12",
        BROADSHEET_ALLOWED_NETWORKS="10.0.0.0/8,nonsense",
        DATABASE_URL="nosuchdb://x",
    )
    assert done.returncode != 0
    for expected in (
        "broadsheet.E001",
        "broadsheet.E003",
        "broadsheet.E002",
        "broadsheet.E007",
        "broadsheet.E004",
        "DEBUG='maybe'",
        "BROADSHEET_FETCH_TIMEOUT",
    ):
        assert expected in done.stderr
    assert "Traceback" not in done.stderr


def test_good_values_pass_the_checks():
    done = broadsheet("check", DEBUG="false", BROADSHEET_ALLOWED_NETWORKS="127.0.0.1")
    assert done.returncode == 0, done.stderr


def test_database_url_selects_postgresql():
    done = broadsheet(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.DATABASES['default']['ENGINE'])",
        DATABASE_URL="postgres://someone@db.invalid:5432/news",
    )
    assert done.stdout.strip().endswith("django.db.backends.postgresql"), done.stderr


def test_usage_lists_the_commands():
    done = broadsheet()
    assert done.returncode == 0
    for command in (
        "demo",
        "serve",
        "web",
        "worker",
        "add-feed",
        "import-opml",
        "export-opml",
        "poll",
        "reprocess",
    ):
        assert command in done.stdout
