"""Crash safety with real processes (bench/crash.py, reduced): SIGKILL a worker mid-ingestion.

A worker (scheduler included) with a two-second claim lease is killed at random moments once
it is at work, and restarted, several times; then a last worker finishes. Every published
article must be stored exactly once and enriched, no row half-written, no feed held by a stale
lease, and the work each killed worker held under a lease done by a later one. Runs on SQLite
or PostgreSQL, whichever ``DATABASE_URL`` selects.
"""

import pytest

from bench.crash import audit, crash_run
from broadsheet.samplepub.server import SamplePublisher
from broadsheet.sources.subscribe import subscribe
from tests.conftest import worker_environment

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_killed_workers_lose_nothing_and_duplicate_nothing(tmp_path):
    env = worker_environment(
        BROADSHEET_CLAIM_LEASE="2",
        BROADSHEET_SCHEDULER_TICK="0.2",
        BROADSHEET_DATA_DIR=str(tmp_path),
    )
    with SamplePublisher(scale=2, feed_size=1_000_000) as publisher:
        for info in publisher.feeds():
            subscribe(info.url, check=False, title=info.title)
        run = crash_run(env, kills=6, span=(0.0, 1.5), seed=5)
        problems, figures = audit(publisher, run)
    assert problems == []
    assert figures["kills"] == 6
    # Without a kill that caught claimed work, nothing above tested the leases.
    assert figures["kills_with_work_in_flight"] >= 1
    assert figures["claimed_articles_redone"] + figures["claimed_enrichments_redone"] > 0
