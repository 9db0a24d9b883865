"""The scheduler: claims due work atomically and enqueues it.

A claim is a conditional UPDATE that moves the row's due time forward by a lease; only the
process whose UPDATE changed exactly one row enqueues the work. Work whose task never ran to
the end (a killed worker, a lost queue entry) is simply due again when the lease runs out.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import close_old_connections, transaction
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.ingest.tasks import enqueue_articles, enqueue_enrichment, enqueue_feed
from broadsheet.sources.models import Feed

log = logging.getLogger(__name__)


@dataclass
class TickResult:
    feeds: int = 0
    articles: int = 0
    enrichments: int = 0

    @property
    def idle(self) -> bool:
        return not (self.feeds or self.articles or self.enrichments)


def lease_end(now: datetime) -> datetime:
    return now + timedelta(seconds=settings.BROADSHEET_CLAIM_LEASE)


def claim_feeds(now: datetime, limit: int) -> list[int]:
    due = Feed.objects.filter(is_active=True, next_poll_at__lte=now).order_by("next_poll_at")
    claimed = []
    for feed_id in due.values_list("id", flat=True)[:limit]:
        changed = Feed.objects.filter(pk=feed_id, next_poll_at__lte=now).update(
            next_poll_at=lease_end(now)
        )
        if changed == 1:
            claimed.append(feed_id)
    return claimed


def claim_articles(now: datetime, limit: int) -> list[int]:
    due = Article.objects.filter(state=Article.State.PENDING, next_attempt_at__lte=now)
    claimed = []
    for article_id in due.order_by("next_attempt_at").values_list("id", flat=True)[:limit]:
        changed = Article.objects.filter(
            pk=article_id, state=Article.State.PENDING, next_attempt_at__lte=now
        ).update(next_attempt_at=lease_end(now))
        if changed == 1:
            claimed.append(article_id)
    return claimed


def claim_enrichment(now: datetime, limit: int) -> list[int]:
    due = Article.objects.filter(state=Article.State.DONE, enrich_due_at__lte=now)
    claimed = []
    for article_id in due.order_by("enrich_due_at").values_list("id", flat=True)[:limit]:
        changed = Article.objects.filter(pk=article_id, enrich_due_at__lte=now).update(
            enrich_due_at=lease_end(now)
        )
        if changed == 1:
            claimed.append(article_id)
    return claimed


def queue_depth() -> int:
    """Tasks waiting to run, on whichever backend carries them."""
    from broadsheet.ingest import rq_backend

    if rq_backend.enabled():
        return rq_backend.queued_jobs()
    from django_tasks_db.models import DBTaskResult

    return DBTaskResult.objects.ready().count()


def tick(limit: int = 200) -> TickResult:
    """Claim and enqueue due work, unless the queue already holds plenty.

    A claim's lease runs from the moment it is enqueued. Without this back-pressure a backlog
    that takes longer than a lease to drain would be claimed again and again, flooding the queue
    with copies of the same work (each harmless, all together a storm).
    """
    if queue_depth() >= settings.BROADSHEET_QUEUE_HIGH_WATER:
        log.info(
            "queue holds %d tasks or more: claiming nothing this tick",
            settings.BROADSHEET_QUEUE_HIGH_WATER,
        )
        return TickResult()
    now = timezone.now()
    with transaction.atomic():
        feeds = claim_feeds(now, limit)
        for feed_id in feeds:
            enqueue_feed(feed_id)
        articles = claim_articles(now, limit * 4)
        enqueue_articles(articles)
        enrich = claim_enrichment(now, limit * 4)
        enqueue_enrichment(enrich)
    if feeds or articles or enrich:
        log.info(
            "scheduled %d feed polls, %d articles, %d enrichments",
            len(feeds),
            len(articles),
            len(enrich),
        )
    return TickResult(len(feeds), len(articles), len(enrich))


def prune_task_results(now: datetime, keep: timedelta = timedelta(days=1)) -> int:
    """Finished task rows are only history; without pruning the queue table grows forever."""
    from django_tasks_db.models import DBTaskResult

    old = DBTaskResult.objects.finished().filter(finished_at__lt=now - keep)
    deleted, _ = old.delete()
    return deleted


class SchedulerThread(threading.Thread):
    """Runs ``tick`` every few seconds beside a worker, until stopped."""

    def __init__(self, interval: float | None = None) -> None:
        super().__init__(name="broadsheet-scheduler", daemon=True)
        self.interval = interval or settings.BROADSHEET_SCHEDULER_TICK
        self.stopping = threading.Event()
        self.next_prune = timezone.now()

    def maintain(self) -> None:
        now = timezone.now()
        if now >= self.next_prune:
            prune_task_results(now)
            self.next_prune = now + timedelta(hours=1)

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                close_old_connections()
                tick()
                self.maintain()
            except Exception:
                # A failed tick (database restarting, lock held too long) must not kill the
                # thread: the next tick claims the same due rows.
                log.exception("scheduler tick failed")
            self.stopping.wait(self.interval)
        close_old_connections()

    def stop(self) -> None:
        self.stopping.set()
