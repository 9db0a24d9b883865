import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings


@pytest.fixture
def loopback(settings):
    """Let the pipeline fetch from 127.0.0.1 quickly: the only real servers in tests live there."""
    from broadsheet.ingest.pipeline import reset_toolkit

    settings.BROADSHEET_ALLOWED_NETWORKS = ["127.0.0.1"]
    settings.BROADSHEET_HOST_RATE = 1000.0
    settings.BROADSHEET_HOST_CONCURRENCY = 8
    settings.BROADSHEET_FETCH_TIMEOUT = 5.0
    reset_toolkit()
    yield settings
    reset_toolkit()


@pytest.fixture
def fresh_indexes(settings, tmp_path):
    """Vector indexes of this process start empty, and persist under a temporary folder."""
    from broadsheet.enrichment import related

    settings.DATA_DIR = tmp_path
    related._SHARED.clear()
    related._EXACT.clear()
    yield
    related._SHARED.clear()
    related._EXACT.clear()


@pytest.fixture
def publisher():
    from broadsheet.samplepub.server import SamplePublisher

    with SamplePublisher(port=0) as server:
        yield server


def database_url() -> str:
    db = django_settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user = db.get("USER") or ""
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


def worker_environment(**extra: str) -> dict[str, str]:
    # The browser tests let the ORM run beside Playwright's event loop; no subprocess should.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env.update(
        DATABASE_URL=database_url(),
        BROADSHEET_ALLOWED_NETWORKS="127.0.0.1",
        BROADSHEET_HOST_RATE="1000",
        BROADSHEET_HOST_CONCURRENCY="8",
        BROADSHEET_FETCH_TIMEOUT="5",
        BROADSHEET_LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


@pytest.fixture
def run_worker():
    """Run a real worker process (scheduler included) against the test database until idle."""

    def run(timeout: float = 180, **extra: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "broadsheet", "worker", "--until-idle"],
            env=worker_environment(**extra),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Traceback" not in done.stderr, done.stderr
        return done

    return run
