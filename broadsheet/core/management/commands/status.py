"""``broadsheet status``: the few numbers an operator watches, as ``name: value`` lines.

Exits 1 when a threshold given on the command line is exceeded, so that a cron job, a systemd
timer or a monitoring agent can alert on it without parsing the output.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from django.core.management.base import BaseCommand
from django.db.models import Count, Min, Q
from django.utils import timezone
from django_tasks_db.models import DBTaskResult, get_date_max

from broadsheet.articles.models import Article
from broadsheet.sources.models import Feed


@dataclass(frozen=True)
class Status:
    feeds: int
    feeds_failing: int
    articles: dict[str, int]
    queue_ready: int
    queue_running: int
    oldest_ready_age: float  # seconds; 0 when nothing waits
    enrichment_outdated: int = 0  # stored articles enriched by an older tagger or embedder


def articles_by_state() -> dict[str, int]:
    counts = dict.fromkeys(Article.State.values, 0)
    for row in Article.objects.values("state").annotate(n=Count("id")).order_by():
        counts[row["state"]] = row["n"]
    return counts


def oldest_ready_age() -> float:
    """Seconds since the longest-waiting ready task became runnable."""
    ready = DBTaskResult.objects.ready()
    # A task with no run_after carries the far-future sentinel; it is runnable once enqueued.
    now_runnable = ready.filter(run_after=get_date_max()).aggregate(t=Min("enqueued_at"))["t"]
    delayed = ready.exclude(run_after=get_date_max()).aggregate(t=Min("run_after"))["t"]
    since = min((t for t in (now_runnable, delayed) if t), default=None)
    return max(0.0, (timezone.now() - since).total_seconds()) if since else 0.0


def enrichment_outdated() -> int:
    """Articles whose enrichment an older release made: another stage version or embedder.
    After an upgrade that changes either, ``broadsheet reprocess --enrichment-only`` brings
    them up to date."""
    from broadsheet.enrichment.current import DEFAULT_EMBEDDER, STAGE_VERSION
    from broadsheet.enrichment.models import Enrichment

    current = Q(version=STAGE_VERSION, embedding_model=DEFAULT_EMBEDDER)
    return Enrichment.objects.filter(article__state=Article.State.DONE).exclude(current).count()


def collect() -> Status:
    active = Feed.objects.filter(is_active=True)
    return Status(
        feeds=active.count(),
        feeds_failing=active.filter(error_count__gt=0).count(),
        articles=articles_by_state(),
        queue_ready=DBTaskResult.objects.ready().count(),
        queue_running=DBTaskResult.objects.running().count(),
        oldest_ready_age=oldest_ready_age(),
        enrichment_outdated=enrichment_outdated(),
    )


def lines(status: Status) -> list[str]:
    out = [f"feeds: {status.feeds}", f"feeds_failing: {status.feeds_failing}"]
    out += [f"articles_{state}: {n}" for state, n in status.articles.items()]
    out += [
        f"queue_ready: {status.queue_ready}",
        f"queue_running: {status.queue_running}",
        f"oldest_ready_task_age_s: {status.oldest_ready_age:.0f}",
        f"articles_enrichment_outdated: {status.enrichment_outdated}",
    ]
    return out


def breaches(status: Status, limits: dict[str, float | None]) -> list[str]:
    measured = {
        "max_failing_feeds": status.feeds_failing,
        "max_queue": status.queue_ready,
        "max_task_age": status.oldest_ready_age,
    }
    return [
        f"{name.replace('_', '-')} exceeded: {measured[name]:.0f} > {limit:g}"
        for name, limit in limits.items()
        if limit is not None and measured[name] > limit
    ]


class Command(BaseCommand):
    help = "Print feed, article and queue figures; exit 1 when a given threshold is exceeded."

    def add_arguments(self, parser):
        parser.add_argument("--max-failing-feeds", type=int, help="alert above this many")
        parser.add_argument("--max-queue", type=int, help="alert above this many ready tasks")
        parser.add_argument(
            "--max-task-age", type=float, help="alert when a ready task waits longer (seconds)"
        )

    def handle(self, *args, max_failing_feeds, max_queue, max_task_age, **options):
        status = collect()
        self.stdout.write("\n".join(lines(status)))
        limits = {
            "max_failing_feeds": max_failing_feeds,
            "max_queue": max_queue,
            "max_task_age": max_task_age,
        }
        problems = breaches(status, limits)
        for problem in problems:
            self.stderr.write(f"status: {problem}")
        if problems:
            sys.exit(1)
