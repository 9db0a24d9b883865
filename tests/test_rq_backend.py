"""The pipeline's tasks on the Redis-backed backend (django-tasks-rq) with a real Redis.

Needs Redis at 127.0.0.1:6379; the tests skip, saying so, when it does not answer. They use
Redis database 13 as their own and empty it before and after each test.
"""

import signal
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.ingest.urls import normalize_url
from broadsheet.sources.models import Feed
from broadsheet.sources.subscribe import subscribe
from tests.conftest import worker_environment

pytest.importorskip("django_tasks_rq", reason="django-tasks-rq is not installed")
redis = pytest.importorskip("redis", reason="the redis client is not installed")

REDIS_URL = "redis://127.0.0.1:6379/13"
QUEUES = ["default", "feeds", "articles", "enrich"]

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def redis_db():
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        pytest.skip(f"Redis is not reachable at {REDIS_URL} ({exc}); start redis-server")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def on_rq(settings, redis_db, loopback):
    """This process enqueues to Redis, as a site with BROADSHEET_TASK_BACKEND=rq does."""
    settings.BROADSHEET_TASK_BACKEND = "rq"
    settings.RQ_QUEUES = {name: {"URL": REDIS_URL, "DEFAULT_TIMEOUT": 300} for name in QUEUES}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": QUEUES}}
    return redis_db


def rq_environment(**extra: str) -> dict[str, str]:
    return worker_environment(BROADSHEET_TASK_BACKEND="rq", REDIS_URL=REDIS_URL, **extra)


def subscribe_all(publisher) -> list[Feed]:
    return [subscribe(info.url, check=False, title=info.title)[0] for info in publisher.feeds()]


def assert_stored_once(publisher) -> None:
    expected = {normalize_url(publisher.article_url(a)) for a in publisher.corpus.articles}
    stored = Article.objects.filter(state=Article.State.DONE)
    assert set(stored.values_list("canonical_url", flat=True)) == expected
    assert stored.count() == len(expected)
    assert not Article.objects.exclude(state__in=["done", "duplicate"]).exists()


def queue_lengths(client) -> dict[str, int]:
    return {name: client.llen(f"rq:queue:{name}") for name in QUEUES}


def test_enqueued_tasks_wait_in_redis_and_an_rq_worker_runs_them(on_rq, publisher):
    from broadsheet.ingest import rq_backend
    from broadsheet.ingest.tasks import poll_feed

    feed = subscribe_all(publisher)[0]
    result = poll_feed.enqueue(feed.pk)
    assert queue_lengths(on_rq)["feeds"] == 1
    assert rq_backend.queued_jobs() == 1
    rq_backend.work(burst=True)
    result.refresh()
    assert result.status == "SUCCESSFUL", result.errors
    assert result.return_value["new"] > 0 and not result.return_value["error"]
    stored = Article.objects.filter(state=Article.State.DONE).count()
    assert stored == result.return_value["new"]
    assert rq_backend.queued_jobs() == 0


def test_a_failing_task_is_recorded_as_failed_with_its_error(on_rq):
    from broadsheet.ingest import rq_backend
    from broadsheet.ingest.tasks import poll_feed

    result = poll_feed.enqueue(987654)  # no such feed
    rq_backend.work(burst=True)
    result.refresh()
    assert result.status == "FAILED"
    assert result.errors and result.errors[-1].traceback


def test_worker_command_until_idle_ingests_everything_through_redis(redis_db, publisher):
    subscribe_all(publisher)
    done = subprocess.run(
        [sys.executable, "-m", "broadsheet", "worker", "--until-idle"],
        env=rq_environment(),
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert_stored_once(publisher)
    assert sum(queue_lengths(redis_db).values()) == 0
    assert redis_db.keys("rq:job:*"), "the tasks should have gone through Redis"


def wait_until(predicate, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.5)
    return False


def all_settled(publisher) -> bool:
    done = Article.objects.filter(state=Article.State.DONE).count()
    waiting = Article.objects.filter(state=Article.State.PENDING).exists()
    return done == len(publisher.corpus.articles) and not waiting


def test_long_running_worker_with_scheduler_ingests_and_stops_on_sigterm(redis_db, publisher):
    subscribe_all(publisher)
    Feed.objects.update(next_poll_at=timezone.now() - timedelta(seconds=1))
    env = rq_environment(BROADSHEET_SCHEDULER_TICK="0.2")
    worker = subprocess.Popen(
        [sys.executable, "-m", "broadsheet", "worker"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        settled = wait_until(lambda: all_settled(publisher), timeout=180)
    finally:
        worker.send_signal(signal.SIGTERM)
        _out, err = worker.communicate(timeout=60)
    assert settled, err[-3000:]
    assert worker.returncode == 0, err[-3000:]
    assert "Traceback" not in err, err[-3000:]
    assert_stored_once(publisher)


def test_an_unknown_task_backend_is_a_check_error():
    done = subprocess.run(
        [sys.executable, "-m", "broadsheet", "check"],
        env=worker_environment(BROADSHEET_TASK_BACKEND="carrier-pigeon"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "broadsheet.E015" in done.stdout + done.stderr
    assert "BROADSHEET_TASK_BACKEND" in done.stdout + done.stderr
