"""Crash safety: SIGKILL a real worker at random moments during ingestion, then audit the rows.

The sample publisher serves a scaled corpus on loopback (every article listed in its feeds).
A real ``broadsheet worker`` process, scheduler included, runs with a short claim lease and is
killed ``--kills`` times at random moments, restarted after each kill; then a last worker runs
until nothing is left. The audit then demands: every published article stored exactly once,
none missing, no half-written row, every stored article enriched, no feed held by a stale
lease, and every row a killed worker had claimed but not finished done by a later worker.
Tasks a killed worker left "RUNNING" in the database queue stay so forever; the audit checks
that the work they carried was redone through the leases anyway.

    python bench/crash.py --db sqlite --kills 10 --scale 40
    python bench/crash.py --db postgres --kills 10 --scale 40

Prints ``name: value`` lines and exits non-zero on any violation.
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script, too

from bench.scratchdb import POSTGRES, scratch

BENCH_DB = "broadsheet_crash"


@dataclass
class Claims:
    """Rows a killed worker held under a lease at the moment it died."""

    articles: set[int] = field(default_factory=set)
    enrichments: set[int] = field(default_factory=set)
    feeds: set[int] = field(default_factory=set)


@dataclass
class Run:
    kills: int = 0
    killed_mid_work: int = 0
    claims: Claims = field(default_factory=Claims)
    logs: list[str] = field(default_factory=list)
    seconds: float = 0.0


def worker_env(database_url: str, data_dir: str, lease: int, rate: float) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        BROADSHEET_DATA_DIR=data_dir,
        BROADSHEET_ALLOWED_NETWORKS="127.0.0.1",
        BROADSHEET_HOST_RATE=str(rate),
        BROADSHEET_HOST_CONCURRENCY="8",
        BROADSHEET_FETCH_TIMEOUT="5",
        BROADSHEET_CLAIM_LEASE=str(lease),
        BROADSHEET_SCHEDULER_TICK="0.2",
        BROADSHEET_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="broadsheet.settings",
    )
    return env


def start_worker(env: dict[str, str], log_path: Path, *extra: str) -> subprocess.Popen:
    command = [sys.executable, "-m", "broadsheet", "worker", "--interval", "0.1", *extra]
    with log_path.open("w") as log:
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def leased_now() -> Claims:
    """What is claimed right now: a due time in the future on unfinished work."""
    from django.utils import timezone

    from broadsheet.articles.models import Article
    from broadsheet.sources.models import Feed

    now = timezone.now()
    pending = Article.objects.filter(state=Article.State.PENDING, next_attempt_at__gt=now)
    enrich = Article.objects.filter(state=Article.State.DONE, enrich_due_at__gt=now)
    fresh_feeds = Feed.objects.filter(last_polled_at__isnull=True, next_poll_at__gt=now)
    return Claims(
        set(pending.values_list("id", flat=True)),
        set(enrich.values_list("id", flat=True)),
        set(fresh_feeds.values_list("id", flat=True)),
    )


def activity() -> tuple[int, int]:
    """Tasks started and articles stored so far: either moving means a worker is at work."""
    from django_tasks_db.models import DBTaskResult

    from broadsheet.articles.models import Article

    started = DBTaskResult.objects.filter(started_at__isnull=False).count()
    return started, Article.objects.filter(state=Article.State.DONE).count()


def wait_for_work(proc: subprocess.Popen, limit: float = 60) -> None:
    """Start-up (imports, connecting) is not the interesting moment to die: wait past it."""
    before, deadline = activity(), time.monotonic() + limit
    while activity() == before and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)


def kill_cycle(env: dict[str, str], run: Run, logs: Path, rng: random.Random, span) -> None:
    """Start a worker, let it work for a random while, SIGKILL it, note what it held."""
    proc = start_worker(env, logs / f"killed-{run.kills}.log")
    wait_for_work(proc)
    time.sleep(rng.uniform(*span))
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    run.kills += 1
    claims = leased_now()
    if claims.articles or claims.enrichments or claims.feeds:
        run.killed_mid_work += 1
    run.claims.articles |= claims.articles
    run.claims.enrichments |= claims.enrichments
    run.claims.feeds |= claims.feeds


def unfinished() -> int:
    from broadsheet.articles.models import Article
    from broadsheet.sources.models import Feed

    pending = Article.objects.filter(state=Article.State.PENDING).count()
    unenriched = Article.objects.filter(state=Article.State.DONE, enrich_due_at__isnull=False)
    unpolled = Feed.objects.filter(last_success_at__isnull=True, error_count=0).count()
    return pending + unenriched.count() + unpolled


def finish(env: dict[str, str], logs: Path, timeout: float) -> bool:
    """A last worker runs until nothing is pending; then a ``--until-idle`` run must exit clean."""
    proc = start_worker(env, logs / "final.log")
    deadline = time.monotonic() + timeout
    try:
        while (left := unfinished()) and time.monotonic() < deadline:
            print(f"waiting for {left} unfinished rows", file=sys.stderr, flush=True)
            time.sleep(2)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    idle = subprocess.run(
        [sys.executable, "-m", "broadsheet", "worker", "--until-idle"],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    (logs / "until-idle.log").write_text(idle.stdout + idle.stderr)
    return idle.returncode == 0


def crash_run(env: dict[str, str], kills: int, span=(0.0, 3.0), seed: int = 0) -> Run:
    """Kill ``kills`` workers at random moments, then let one finish; the caller audits."""
    rng = random.Random(seed)
    logs = Path(env["BROADSHEET_DATA_DIR"]) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    run = Run()
    started = time.perf_counter()
    for _ in range(kills):
        kill_cycle(env, run, logs, rng, span)
    if not finish(env, logs, timeout=300):
        run.logs.append("the final `worker --until-idle` exited non-zero")
    run.seconds = time.perf_counter() - started
    run.logs += [
        f"{p.name}: {p.read_text()[-3000:]}"
        for p in logs.glob("*.log")
        if "Traceback" in p.read_text()
    ]
    return run


# --- the audit ---------------------------------------------------------------------------


def expected_urls(publisher) -> set[str]:
    from broadsheet.ingest.urls import normalize_url

    return {normalize_url(publisher.article_url(a)) for a in publisher.corpus.articles}


def audit_once(expected: set[str]) -> list[str]:
    from django.db.models import Count

    from broadsheet.articles.models import Article

    done = Article.objects.filter(state=Article.State.DONE)
    stored = list(done.values_list("canonical_url", flat=True))
    problems = []
    if len(stored) != len(expected):
        problems.append(f"{len(stored)} stored articles for {len(expected)} published")
    if missing := expected - set(stored):
        problems.append(f"{len(missing)} published articles missing, e.g. {sorted(missing)[0]}")
    twice = done.values("source_id", "canonical_key").annotate(n=Count("id")).filter(n__gt=1)
    if twice.exists():
        problems.append(f"{twice.count()} canonical URLs stored more than once in one source")
    return problems


def audit_rows() -> list[str]:
    from django.db.models import Q

    from broadsheet.articles.models import Article

    done = Article.objects.filter(state=Article.State.DONE)
    checks = {
        "stored without text, body, raw HTML or fetch time": done.filter(
            Q(text="") | Q(body_html="") | Q(raw_html__isnull=True) | Q(fetched_at__isnull=True)
        ),
        "marked enriched without an Enrichment row": done.filter(
            enrich_due_at__isnull=True, enrichment__isnull=True
        ),
        "stored but never enriched": done.filter(enrich_due_at__isnull=False),
        "still pending": Article.objects.filter(state=Article.State.PENDING),
        "failed": Article.objects.filter(state=Article.State.FAILED),
    }
    return [f"{qs.count()} articles {label}" for label, qs in checks.items() if qs.exists()]


def audit_feeds() -> list[str]:
    from datetime import timedelta

    from django.conf import settings

    from broadsheet.sources.models import Feed

    problems = []
    slack = timedelta(seconds=settings.BROADSHEET_CLAIM_LEASE + 60)
    for feed in Feed.objects.all():
        if feed.last_success_at is None or feed.error_count:
            problems.append(f"feed {feed.url} never polled cleanly ({feed.last_error_kind})")
        elif (
            feed.next_poll_at > feed.last_polled_at + timedelta(seconds=feed.poll_interval) + slack
        ):
            problems.append(f"feed {feed.url} held until {feed.next_poll_at}, past its interval")
    return problems


def finished_articles(articles):
    """Stored and enriched, or folded into the row it duplicates (another URL of one article)."""
    from django.db.models import Q

    from broadsheet.articles.models import Article

    return articles.filter(
        Q(state=Article.State.DONE, enrich_due_at__isnull=True) | Q(state=Article.State.DUPLICATE)
    )


def audit_claims(claims: Claims) -> list[str]:
    from broadsheet.articles.models import Article
    from broadsheet.sources.models import Feed

    held = claims.articles | claims.enrichments
    redone = finished_articles(Article.objects.filter(pk__in=held))
    problems = []
    if redone.count() != len(held):
        problems.append(f"{len(held) - redone.count()} claimed articles never finished")
    polled = Feed.objects.filter(pk__in=claims.feeds, last_success_at__isnull=False).count()
    if polled != len(claims.feeds):
        problems.append(f"{len(claims.feeds) - polled} claimed feeds never polled")
    return problems


def stranded_tasks() -> tuple[int, list[str]]:
    """Tasks left RUNNING by a killed worker, and whether the work they carried got done."""
    from django_tasks_db.models import DBTaskResult

    from broadsheet.articles.models import Article

    running = list(DBTaskResult.objects.running())
    problems = []
    for task in running:
        ids = task.args_kwargs["args"][0] if task.args_kwargs["args"] else []
        ids = ids if isinstance(ids, list) else []
        chosen = Article.objects.filter(pk__in=ids)
        left = chosen.exclude(pk__in=finished_articles(chosen).values("pk"))
        if left.exists():
            problems.append(f"task {task.id} ({task.task_path}) left {left.count()} undone")
    ready = DBTaskResult.objects.ready().count()
    if ready:
        problems.append(f"{ready} tasks still waiting in the queue")
    return len(running), problems


def audit(publisher, run: Run) -> tuple[list[str], dict[str, object]]:
    problems = list(run.logs)
    problems += audit_once(expected_urls(publisher))
    problems += audit_rows() + audit_feeds() + audit_claims(run.claims)
    stranded, task_problems = stranded_tasks()
    problems += task_problems
    figures = {
        "kills": run.kills,
        "kills_with_work_in_flight": run.killed_mid_work,
        "claimed_articles_redone": len(run.claims.articles),
        "claimed_enrichments_redone": len(run.claims.enrichments),
        "claimed_feeds_redone": len(run.claims.feeds),
        "tasks_left_running": stranded,
        "seconds": round(run.seconds, 1),
    }
    return problems, figures


# --- the command -------------------------------------------------------------------------


def database_url(kind: str, data_dir: str) -> str:
    if kind == "sqlite":
        return f"sqlite:///{data_dir}/crash.sqlite3"
    return f"{POSTGRES}/{BENCH_DB}"


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def subscribe_all(publisher) -> None:
    from broadsheet.sources.subscribe import subscribe

    for info in publisher.feeds():
        subscribe(info.url, check=False, title=info.title)


def bench(args: argparse.Namespace, data_dir: str) -> int:
    from broadsheet.samplepub.server import SamplePublisher

    env = worker_env(database_url(args.db, data_dir), data_dir, args.lease, args.rate)
    setup_django(env)
    with SamplePublisher(scale=args.scale, feed_size=1_000_000) as publisher:
        subscribe_all(publisher)
        run = crash_run(env, args.kills, span=(args.min_s, args.max_s), seed=args.seed)
        problems, figures = audit(publisher, run)
    print(f"database: {args.db}")
    print(f"articles_published: {len(publisher.corpus.articles)}")
    for name, value in figures.items():
        print(f"{name}: {value}")
    print(f"violations: {len(problems)}")
    for problem in problems:
        print(f"violation: {problem}")
    return 1 if problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--scale", type=int, default=40, help="corpus multiplier (88 per unit)")
    parser.add_argument("--lease", type=int, default=2, help="BROADSHEET_CLAIM_LEASE, seconds")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s per host")
    parser.add_argument("--min-s", type=float, default=0.0, help="least work before a kill")
    parser.add_argument("--max-s", type=float, default=3.0, help="most work before a kill")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with scratch(args.db, BENCH_DB, prefix="broadsheet-crash-") as data_dir:
        return bench(args, data_dir)


if __name__ == "__main__":
    sys.exit(main())
