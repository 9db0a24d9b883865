"""The front page's most-covered strip: how long `queries.most_covered` takes on a busy day.

    python bench/covered.py [--db sqlite|postgres] [--articles 3000]

A fresh database holds ``--articles`` originals listed in the last 24 hours across 20 outlets,
each with 8 related rows at random scores (the shape the enrichment stage writes). Prints the
mean wall time of `most_covered` over 5 calls after 2 warm-up calls, beside the anchor: the
strip's earlier rule in the same run, which ranked by every related row another outlet listed
that day (`anchor_most_covered` below, kept here only as the measure). The strip is worked out
when the front page's cache entry is stale, so this is paid once per new article at most.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, too

from bench.scratchdb import POSTGRES, scratch

BENCH_DB = "broadsheet_covered"
OUTLETS = 20
ROWS = 8


def setup(db: str, data_dir: str) -> None:
    url = f"{POSTGRES}/{BENCH_DB}" if db == "postgres" else f"sqlite:///{data_dir}/bench.sqlite3"
    os.environ.update(
        DATABASE_URL=url,
        BROADSHEET_DATA_DIR=data_dir,
        BROADSHEET_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="broadsheet.settings",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def fill(count: int) -> int:
    from django.utils import timezone

    from broadsheet.articles.models import Article
    from broadsheet.enrichment.models import RelatedArticle
    from broadsheet.sources.models import Source

    now = timezone.now()
    sources = [
        Source.objects.create(
            name=f"Outlet {i}", slug=f"outlet-{i}", homepage=f"https://o{i}.test/"
        )
        for i in range(OUTLETS)
    ]
    Article.objects.bulk_create(
        [
            Article(
                source=sources[i % OUTLETS],
                url=f"https://o{i % OUTLETS}.test/a{i}",
                url_key=f"o{i % OUTLETS}.test/a{i}",
                title=f"Story {i}",
                text="Words of a story. " * 20,
                state=Article.State.DONE,
                published_at=now - timedelta(minutes=i % 1400),
                listed_at=now - timedelta(minutes=i % 1400),
            )
            for i in range(count)
        ],
        batch_size=1000,
    )
    ids = list(Article.objects.values_list("id", flat=True))
    rng = random.Random(1)
    rows = [
        RelatedArticle(article_id=pk, related_id=other, score=rng.random())
        for pk in ids
        for other in rng.sample(ids, ROWS)
        if other != pk
    ]
    RelatedArticle.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def anchor_most_covered():
    """The strip's earlier ranking: coverage = copies + every related row another outlet listed
    in the last 24 hours, in one aggregate query."""
    from django.db.models import Count, F, Q
    from django.utils import timezone

    from broadsheet.articles.models import Article
    from broadsheet.front import queries

    since = timezone.now() - queries.COVERAGE_WINDOW
    copies = Count("copies", filter=Q(copies__state=Article.State.DONE), distinct=True)
    related = Count(
        "related_rows",
        filter=Q(related_rows__related__listed_at__gte=since)
        & ~Q(related_rows__related__source=F("source")),
        distinct=True,
    )
    recent = queries.public_articles().filter(duplicate_of__isnull=True, listed_at__gte=since)
    ranked = (
        queries.light(recent)
        .annotate(coverage=copies + related)
        .filter(coverage__gte=queries.MIN_COVERAGE)
        .order_by("-coverage", "-shown_time", "-id")
    )
    keep = queries.MOST_COVERED * (queries.RELATED_SHOWN + 1)
    candidates = list(queries.with_copies(ranked)[:keep])
    queries.stories_among([article.id for article in candidates])
    return candidates


def timed(call, repeat: int = 5) -> float:
    for _ in range(2):
        call()
    started = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - started) / repeat * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--articles", type=int, default=3000)
    args = parser.parse_args()
    with scratch(args.db, BENCH_DB, prefix="broadsheet-covered-") as data_dir:
        setup(args.db, data_dir)
        rows = fill(args.articles)
        from broadsheet.front.queries import most_covered

        ours, anchor = timed(most_covered), timed(anchor_most_covered)
        print(f"db: {args.db}")
        print(f"articles: {args.articles}")
        print(f"related_rows: {rows}")
        print(f"ms.most_covered: {ours:.1f}")
        print(f"ms.anchor_earlier_rule: {anchor:.1f}")
        print(f"ratio.most_covered_vs_earlier_rule: {ours / anchor:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
