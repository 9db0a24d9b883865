"""Pipeline stages as tasks for Django's Tasks API (django-tasks, database backend by default).

A task gets a batch of work, not one item: a database-backed queue runs tens of tasks per
second, so one task per article would cap ingestion long before fetching or extraction does.
"""

from __future__ import annotations

from django.db import transaction
from django_tasks import task

from broadsheet.core.batching import batches
from broadsheet.ingest import pipeline


@task(queue_name="feeds")
def poll_feed(feed_id: int) -> dict:
    result = pipeline.refresh_feed(feed_id)
    enqueue_articles(result.new_article_ids)
    return {"new": len(result.new_article_ids), "error": result.error_kind}


@task(queue_name="articles")
def process_articles(article_ids: list[int]) -> dict:
    counts, stored = pipeline.process_articles(article_ids)
    enqueue_enrichment(stored)
    return counts


@task(queue_name="enrich")
def enrich_articles(article_ids: list[int]) -> int:
    from broadsheet.enrichment.stage import enrich_articles as enrich

    return enrich(article_ids)


def enqueue_articles(ids: list[int]) -> None:
    from django.conf import settings

    for batch in batches(list(ids), settings.BROADSHEET_ARTICLE_BATCH):
        transaction.on_commit(lambda batch=batch: process_articles.enqueue(batch))


def after_fetching(task):
    """Enrichment waits behind fetching where the backend orders by priority: readers see a
    stored article first, its hashtags and related coverage a moment later."""
    if task.get_backend().supports_priority:
        return task.using(priority=-10)
    return task


def enqueue_enrichment(ids: list[int]) -> None:
    from django.conf import settings

    task = after_fetching(enrich_articles)
    for batch in batches(list(ids), settings.BROADSHEET_ARTICLE_BATCH):
        transaction.on_commit(lambda batch=batch: task.enqueue(batch))


def enqueue_feed(feed_id: int) -> None:
    transaction.on_commit(lambda: poll_feed.enqueue(feed_id))
