"""The scheduler claims due work atomically, once, and reclaims work whose lease ran out."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from broadsheet.articles.models import Article
from broadsheet.ingest import scheduler
from broadsheet.sources.models import Feed, Source

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def source():
    return Source.objects.create(name="Gazette", slug="gazette", homepage="https://gazette.test/")


def due_feed(n: int, **fields) -> Feed:
    fields.setdefault("next_poll_at", timezone.now() - timedelta(seconds=1))
    return Feed.objects.create(url=f"https://gazette.test/feed/{n}", **fields)


def pending_article(source, n: int, **fields) -> Article:
    fields.setdefault("next_attempt_at", timezone.now() - timedelta(seconds=1))
    return Article.objects.create(
        source=source, url=f"https://gazette.test/a/{n}", url_key=f"key{n}", **fields
    )


def queued(task_name: str) -> list[list]:
    rows = DBTaskResult.objects.filter(task_path__endswith=task_name)
    return [row.args_kwargs["args"][0] for row in rows]


def test_due_feeds_are_claimed_once_and_enqueued(settings):
    settings.BROADSHEET_CLAIM_LEASE = 300
    feeds = [due_feed(n) for n in range(3)]
    due_feed(9, next_poll_at=timezone.now() + timedelta(hours=1))
    due_feed(10, is_active=False)
    first, second = scheduler.tick(), scheduler.tick()
    assert (first.feeds, second.feeds) == (3, 0)
    assert sorted(queued("poll_feed")) == sorted(f.pk for f in feeds)
    leased = Feed.objects.filter(pk__in=[f.pk for f in feeds])
    assert all(f.next_poll_at > timezone.now() + timedelta(seconds=250) for f in leased)


def test_a_claim_changes_exactly_one_row_or_nothing():
    feed = due_feed(1)
    now = timezone.now()
    assert scheduler.claim_feeds(now, 10) == [feed.pk]
    assert scheduler.claim_feeds(now, 10) == []


def test_articles_are_batched_and_only_pending_due_ones(settings, source):
    settings.BROADSHEET_ARTICLE_BATCH = 2
    due = [pending_article(source, n) for n in range(5)]
    pending_article(source, 10, next_attempt_at=timezone.now() + timedelta(hours=1))
    pending_article(source, 11, state=Article.State.DONE)
    pending_article(source, 12, state=Article.State.FAILED)
    assert scheduler.tick().articles == 5
    batches = queued("process_articles")
    assert sorted(len(batch) for batch in batches) == [1, 2, 2]
    assert sorted(i for batch in batches for i in batch) == sorted(a.pk for a in due)


def test_work_whose_lease_ran_out_is_claimed_again(settings, source):
    settings.BROADSHEET_CLAIM_LEASE = 300
    article = pending_article(source, 1)
    feed = due_feed(1)
    assert scheduler.tick().articles == 1
    assert scheduler.tick().idle
    # The worker that took them died: nothing finished, and the lease runs out.
    expired = timezone.now() - timedelta(seconds=1)
    Article.objects.filter(pk=article.pk).update(next_attempt_at=expired)
    Feed.objects.filter(pk=feed.pk).update(next_poll_at=expired)
    again = scheduler.tick()
    assert (again.feeds, again.articles) == (1, 1)


def test_finished_task_rows_are_pruned_after_a_day():
    from broadsheet.ingest.tasks import poll_feed

    poll_feed.enqueue(123)
    DBTaskResult.objects.update(status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=2))
    poll_feed.enqueue(456)
    assert scheduler.prune_task_results(timezone.now()) == 1
    assert queued("poll_feed") == [456]
