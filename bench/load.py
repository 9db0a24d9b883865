"""Readers under load while a worker ingests: no errors, no "database is locked", p99 reported.

    python bench/load.py [--db sqlite|postgres|both] [--duration 60] [--connections 64]
                         [--scale 60] [--web-workers 2]

For each database, on a fresh site: the sample publisher (``SamplePublisher(scale=N)``) serves a
large corpus on 127.0.0.1, one ``broadsheet worker`` (scheduler inside) ingests it, and once the
first article is stored ``broadsheet web`` starts and wrk hits the front page and then
an article page, each with ``--connections`` connections for ``--duration`` seconds, while the
worker keeps writing. SQLite is the embedded default (web and worker on one file, as ``broadsheet
serve`` runs them); PostgreSQL uses a database this script creates and drops
(``--postgres postgres://root@127.0.0.1:5432``). Needs wrk (``apt-get install -y wrk``).

Prints ``name: value`` lines: requests/s, p50 and p99 latency, non-2xx responses, socket errors,
articles stored during each run, and "database is locked" lines in the web and worker logs.
Exits 1 on any error, lock message or process that died.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOAD_DB = "broadsheet_load"
LOCKED = re.compile(r"database is locked", re.IGNORECASE)


@dataclass
class WrkResult:
    page: str
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int
    stored_during: int


# --- processes -------------------------------------------------------------------------------


def site_env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        BROADSHEET_DATA_DIR=str(data_dir),
        BROADSHEET_ALLOWED_NETWORKS="127.0.0.1",
        BROADSHEET_HOST_RATE="200",
        BROADSHEET_HOST_CONCURRENCY="8",
        BROADSHEET_SCHEDULER_TICK="0.5",
        BROADSHEET_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="broadsheet.settings",
    )
    return env


def start(env: dict[str, str], log_path: Path, *args: str) -> subprocess.Popen:
    with log_path.open("w") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "broadsheet", *args],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
        )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"web process exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


# --- the database ------------------------------------------------------------------------------


def postgres_admin(server: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{server}/postgres", autocommit=True) as conn:
        conn.execute(sql)


def prepare_site(env: dict[str, str], publisher) -> None:
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from broadsheet.sources.subscribe import subscribe

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    for info in publisher.feeds():
        subscribe(info.url, check=False, title=info.title)


def stored() -> int:
    from broadsheet.articles.models import Article

    return Article.objects.filter(state=Article.State.DONE).count()


def first_article_path(timeout: float) -> str:
    from broadsheet.articles.models import Article
    from broadsheet.front.links import article_url

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        article = Article.objects.filter(state=Article.State.DONE).order_by("pk").first()
        if article:
            return article_url(article)
        time.sleep(0.5)
    raise RuntimeError(f"no article stored within {timeout:.0f} s")


# --- wrk ---------------------------------------------------------------------------------------


def latency_ms(output: str, percent: str) -> float:
    match = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if not match:
        return float("nan")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[match.group(2)]
    return float(match.group(1)) * scale


def count(output: str, pattern: str) -> int:
    match = re.search(pattern, output)
    return int(match.group(1)) if match else 0


def socket_errors(output: str) -> int:
    match = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    return sum(int(n) for n in match.groups()) if match else 0


def run_wrk(page: str, url: str, args: argparse.Namespace) -> WrkResult:
    before = stored()
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{args.duration}s"]
    command += ["--timeout", "10s", "--latency", url]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    return WrkResult(
        page=page,
        requests_per_s=float(rps.group(1)) if rps else 0.0,
        p50_ms=latency_ms(output, "50"),
        p99_ms=latency_ms(output, "99"),
        requests=count(output, r"(\d+) requests in"),
        non_2xx=count(output, r"Non-2xx or 3xx responses: (\d+)"),
        socket_errors=socket_errors(output),
        stored_during=stored() - before,
    )


# --- one database ----------------------------------------------------------------------------


def locked_lines(*logs: Path) -> int:
    return sum(len(LOCKED.findall(log.read_text(errors="replace"))) for log in logs)


def report(db: str, results: list[WrkResult], locks: int, died: list[str]) -> int:
    print(f"database: {db}")
    for r in results:
        print(f"{db}.{r.page}.requests_per_s: {r.requests_per_s:.1f}")
        print(f"{db}.{r.page}.p50_ms: {r.p50_ms:.2f}")
        print(f"{db}.{r.page}.p99_ms: {r.p99_ms:.2f}")
        print(f"{db}.{r.page}.requests: {r.requests}")
        print(f"{db}.{r.page}.non_2xx: {r.non_2xx}")
        print(f"{db}.{r.page}.socket_errors: {r.socket_errors}")
        print(f"{db}.{r.page}.articles_stored_during_run: {r.stored_during}")
    print(f"{db}.database_is_locked_lines: {locks}")
    for name in died:
        print(f"{db}.died: {name}")
    errors = sum(r.non_2xx + r.socket_errors for r in results)
    return 1 if errors or locks or died else 0


def load_run(args: argparse.Namespace, env: dict[str, str], logs: Path) -> int:
    from broadsheet.samplepub.server import SamplePublisher

    with SamplePublisher(scale=args.scale, feed_size=1_000_000) as publisher:
        prepare_site(env, publisher)
        print(f"{args.db}.articles_published: {len(publisher.corpus.articles)}")
        worker = start(env, logs / "worker.log", "worker", "--interval", "0.1")
        port = free_port()
        web = start(
            env, logs / "web.log", "web", "--bind", f"127.0.0.1:{port}",
            "--workers", str(args.web_workers),
        )  # fmt: skip
        try:
            article = first_article_path(timeout=120)
            base = f"http://127.0.0.1:{port}"
            wait_for_http(f"{base}/", web)
            results = [run_wrk("front", f"{base}/", args)]
            results.append(run_wrk("article", f"{base}{article}", args))
            died = [name for name, p in (("web", web), ("worker", worker)) if p.poll() is not None]
            print(f"{args.db}.articles_stored_total: {stored()}")
        finally:
            stop(web)
            stop(worker)
    return report(args.db, results, locked_lines(logs / "web.log", logs / "worker.log"), died)


def one_database(args: argparse.Namespace) -> int:
    data_dir = Path(tempfile.mkdtemp(prefix=f"broadsheet-load-{args.db}-"))
    if args.db == "sqlite":
        url = f"sqlite:///{data_dir}/broadsheet.sqlite3"
    else:
        url = f"{args.postgres}/{LOAD_DB}"
        postgres_admin(args.postgres, f"DROP DATABASE IF EXISTS {LOAD_DB} WITH (FORCE)")
        postgres_admin(args.postgres, f"CREATE DATABASE {LOAD_DB}")
    try:
        return load_run(args, site_env(url, data_dir), data_dir)
    finally:
        if args.db == "postgres":
            from django.db import connections

            connections.close_all()
            postgres_admin(args.postgres, f"DROP DATABASE IF EXISTS {LOAD_DB} WITH (FORCE)")
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
        else:
            print(f"{args.db}.logs: {data_dir}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--duration", type=int, default=60, help="seconds per page")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=4, help="wrk threads")
    parser.add_argument("--scale", type=int, default=60, help="sample publisher corpus scale")
    parser.add_argument("--web-workers", type=int, default=2, help="web server processes")
    parser.add_argument("--postgres", default="postgres://root@127.0.0.1:5432")
    parser.add_argument("--keep", action="store_true", help="keep the data folder and logs")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("bench/load.py needs wrk: apt-get install -y wrk")
    if args.db != "both":
        return one_database(args)
    # Django's settings load once per process, so each database gets a process of its own.
    codes = [
        subprocess.run([sys.executable, __file__, *sys.argv[1:], "--db", db], check=False)
        for db in ("sqlite", "postgres")
    ]
    return max(code.returncode for code in codes)


if __name__ == "__main__":
    sys.exit(main())
