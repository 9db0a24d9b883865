"""Several worker hosts, one PostgreSQL: ingest the sample publisher with 1, 2 and 3 workers.

Each worker runs in its own network namespace (``bs-w1``..``bs-w3``), joined to the root
namespace by a veth pair on a bridge in a private test range that only this script uses
(10.213.0.0/24; the root side is 10.213.0.1). The workers reach PostgreSQL and Redis, which
listen on 127.0.0.1 only, through socat forwarders on the bridge address, and the sample
publisher, bound to that bridge address, directly. One web process serves the site from the
root namespace meanwhile. Every run gets a fresh database; afterwards every article must be
stored exactly once, none missing, nothing left pending or queued. The same runs then go
through the Redis-backed task backend (django-tasks-rq).

    sudo python bench/multihost.py [--scale 60] [--workers 1,2,3] [--backends db,rq]

Needs root (namespaces), ``ip``, ``socat``, PostgreSQL at 127.0.0.1:5432 and, for the rq runs,
Redis at 127.0.0.1:6379. Prints ``name: value`` lines; exits 1 on any lost, duplicated or stuck
article, 2 when it cannot run at all. Namespaces, links, forwarders and databases are removed
on exit, also after an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

BRIDGE = "bs-br0"
BRIDGE_ADDRESS = "10.213.0.1"
PREFIX = 24
PG_PORT, REDIS_PORT = 15432, 16379  # forwarder ports on the bridge address
REDIS_DB = 12
WEB_PORT = 18213
SETTLE_TIMEOUT = 3600.0
SECRET = secrets.token_urlsafe(32)  # one per benchmark run; nothing outlives it


def namespace(n: int) -> str:
    return f"bs-w{n}"


def sh(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(args, check=check, capture_output=True, text=True)


# --- the network: bridge, namespaces, forwarders -------------------------------------------


@dataclass
class Network:
    count: int
    forwarders: list[subprocess.Popen] = field(default_factory=list)

    def up(self) -> None:
        self.down()  # leftovers of a run that was killed before it could clean up
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{BRIDGE_ADDRESS}/{PREFIX}", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        for n in range(1, self.count + 1):
            self.add_namespace(n)
        self.forward(PG_PORT, 5432)
        self.forward(REDIS_PORT, 6379)

    def add_namespace(self, n: int) -> None:
        ns, outside, inside = namespace(n), f"bs-h{n}", f"bs-n{n}"
        sh("ip", "netns", "add", ns)
        sh("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        sh("ip", "link", "set", inside, "netns", ns)
        sh("ip", "link", "set", outside, "master", BRIDGE, "up")
        address = f"10.213.0.{10 + n}/{PREFIX}"
        sh("ip", "netns", "exec", ns, "ip", "addr", "add", address, "dev", inside)
        sh("ip", "netns", "exec", ns, "ip", "link", "set", inside, "up")
        sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")

    def forward(self, port: int, target: int) -> None:
        listen = f"TCP-LISTEN:{port},bind={BRIDGE_ADDRESS},reuseaddr,fork"
        proc = subprocess.Popen(["socat", listen, f"TCP:127.0.0.1:{target},nodelay"])
        self.forwarders.append(proc)
        wait_for_port(BRIDGE_ADDRESS, port)

    def down(self) -> None:
        for proc in self.forwarders:
            stop(proc)
        self.forwarders.clear()
        for n in range(1, 4):
            sh("ip", "netns", "del", namespace(n), check=False)  # takes its veth end along
            sh("ip", "link", "del", f"bs-h{n}", check=False)
        sh("ip", "link", "del", BRIDGE, check=False)


def wait_for_port(host: str, port: int, timeout: float = 10.0) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {host}:{port}")


def stop(proc: subprocess.Popen, timeout: float = 20.0) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- the database and the queue ------------------------------------------------------------


def admin_sql(statement: str) -> None:
    import psycopg

    with psycopg.connect("postgresql://root@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute(statement)


def fresh_database(name: str) -> None:
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_sql(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with contextlib.suppress(Exception):
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def query(dbname: str, sql: str) -> list[tuple]:
    import psycopg

    with psycopg.connect(f"postgresql://root@127.0.0.1:5432/{dbname}") as conn:
        return conn.execute(sql).fetchall()


def redis_client():
    import redis

    return redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB, socket_connect_timeout=2)


def redis_backlog() -> int:
    """Jobs waiting or started on our queues; zero once the rq run has drained."""
    client = redis_client()
    names = ["default", "feeds", "articles", "enrich"]
    waiting = sum(client.llen(f"rq:queue:{q}") for q in names)
    started = sum(client.zcard(f"rq:wip:{q}") + client.zcard(f"rq:started:{q}") for q in names)
    return waiting + started


# --- one run ---------------------------------------------------------------------------


@dataclass
class Run:
    backend: str
    workers: int
    dbname: str
    publisher_url: str
    data_dir: Path

    def environment(self, inside: bool) -> dict[str, str]:
        host, port = (BRIDGE_ADDRESS, PG_PORT) if inside else ("127.0.0.1", 5432)
        env = dict(os.environ)
        env.update(
            DATABASE_URL=f"postgres://root@{host}:{port}/{self.dbname}",
            BROADSHEET_DATA_DIR=str(self.data_dir),
            SECRET_KEY=SECRET,
            BROADSHEET_ALLOWED_NETWORKS=BRIDGE_ADDRESS,
            BROADSHEET_HOST_RATE="10000",
            BROADSHEET_HOST_CONCURRENCY="16",
            BROADSHEET_FETCH_TIMEOUT="20",
            BROADSHEET_SCHEDULER_TICK="0.5",
            BROADSHEET_LOG_LEVEL="WARNING",
            BROADSHEET_TASK_BACKEND=self.backend,
            REDIS_URL=f"redis://{BRIDGE_ADDRESS if inside else '127.0.0.1'}:"
            f"{REDIS_PORT if inside else 6379}/{REDIS_DB}",
        )
        return env

    def broadsheet(self, *args: str) -> None:
        cmd = [sys.executable, "-m", "broadsheet", *args]
        done = subprocess.run(cmd, env=self.environment(False), capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"broadsheet {' '.join(args)} failed:\n{done.stderr[-3000:]}")

    def start_worker(self, n: int, log: Path) -> subprocess.Popen:
        cmd = ["ip", "netns", "exec", namespace(n), sys.executable, "-m", "broadsheet", "worker"]
        out = log.open("w")
        return subprocess.Popen(cmd, env=self.environment(True), stdout=out, stderr=out)

    def start_web(self, log: Path) -> subprocess.Popen:
        cmd = [sys.executable, "-m", "broadsheet", "web", "--bind", f"127.0.0.1:{WEB_PORT}"]
        cmd += ["--workers", "1", "--threads", "2"]
        out = log.open("w")
        return subprocess.Popen(cmd, env=self.environment(False), stdout=out, stderr=out)


def write_opml(path: Path, feed_urls: list[str]) -> None:
    from xml.sax.saxutils import quoteattr

    outlines = "".join(f'<outline type="rss" xmlUrl={quoteattr(u)}/>' for u in feed_urls)
    path.write_text(f'<?xml version="1.0"?><opml version="2.0"><body>{outlines}</body></opml>')


def progress(dbname: str, backend: str) -> dict[str, int]:
    rows = dict(query(dbname, "SELECT state, count(*) FROM articles_article GROUP BY state"))
    unenriched = query(
        dbname, "SELECT count(*) FROM articles_article WHERE enrich_due_at IS NOT NULL"
    )[0][0]
    if backend == "db":
        queued = query(
            dbname,
            "SELECT count(*) FROM django_tasks_database_dbtaskresult "
            "WHERE status IN ('READY', 'RUNNING')",
        )[0][0]
    else:
        queued = redis_backlog()
    return {**rows, "unenriched": unenriched, "queued": queued}


def settled(state: dict[str, int], expected: int) -> bool:
    finished = state.get("done", 0) + state.get("failed", 0) + state.get("duplicate", 0)
    return (
        finished >= expected
        and not state.get("pending")
        and not state["unenriched"]
        and not state["queued"]
    )


def wait_until_settled(run: Run, expected: int, workers: list[subprocess.Popen]) -> float:
    started = time.monotonic()
    stable = 0
    while time.monotonic() - started < SETTLE_TIMEOUT:
        if any(w.poll() is not None for w in workers):
            raise RuntimeError("a worker exited during the run; see its log")
        # Twice in a row: a task may sit between its commit and the next enqueue.
        stable = stable + 1 if settled(progress(run.dbname, run.backend), expected) else 0
        if stable == 2:
            return time.monotonic() - started
        time.sleep(0.5)
    raise RuntimeError(
        f"not settled after {SETTLE_TIMEOUT:.0f} s: {progress(run.dbname, run.backend)}"
    )


def verify(run: Run, expected_urls: set[str]) -> list[str]:
    """What is wrong with the stored result; empty when every article is there exactly once."""
    rows = query(run.dbname, "SELECT canonical_url FROM articles_article WHERE state = 'done'")
    stored = [url for (url,) in rows]
    problems = []
    duplicated = len(stored) - len(set(stored))
    missing = expected_urls - set(stored)
    extra = set(stored) - expected_urls
    state = progress(run.dbname, run.backend)
    if duplicated:
        problems.append(f"{duplicated} articles stored more than once")
    if missing:
        problems.append(f"{len(missing)} articles missing, e.g. {sorted(missing)[:3]}")
    if extra:
        problems.append(f"{len(extra)} unexpected stored URLs, e.g. {sorted(extra)[:3]}")
    for name in ("pending", "failed", "unenriched", "queued"):
        if state.get(name):
            problems.append(f"{state[name]} {name} left")
    return problems


def web_answers() -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{WEB_PORT}/", timeout=10) as reply:
            return reply.status == 200
    except OSError:
        return False


def one_run(run: Run, feed_urls: list[str], expected_urls: set[str], logs: Path) -> dict:
    fresh_database(run.dbname)
    if run.backend == "rq":
        redis_client().flushdb()
    run.broadsheet("migrate", "--verbosity", "0")
    opml = logs / "feeds.opml"
    write_opml(opml, feed_urls)
    web = run.start_web(logs / f"{run.backend}-{run.workers}-web.log")
    workers: list[subprocess.Popen] = []
    try:
        wait_for_port("127.0.0.1", WEB_PORT, timeout=30)
        run.broadsheet("import_opml", str(opml))  # feeds are due at once
        for n in range(1, run.workers + 1):
            workers.append(run.start_worker(n, logs / f"{run.backend}-{run.workers}-w{n}.log"))
        seconds = wait_until_settled(run, len(expected_urls), workers)
        web_ok = web_answers()
    finally:
        for proc in [*workers, web]:
            stop(proc)
    problems = verify(run, expected_urls) + ([] if web_ok else ["web front page did not answer"])
    problems += [
        f"worker {i + 1} exited with {w.returncode}" for i, w in enumerate(workers) if w.returncode
    ]
    return {"seconds": seconds, "problems": problems}


# --- main ---------------------------------------------------------------------------------


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=int, default=60, help="corpus scale (60: 5,280 articles)")
    parser.add_argument("--workers", default="1,2,3", help="worker counts to run, e.g. 1,3")
    parser.add_argument("--backends", default="db,rq", help="task backends: db, rq or both")
    parser.add_argument("--keep-logs", type=Path, help="copy the processes' logs here")
    args = parser.parse_args()
    args.workers = [int(n) for n in args.workers.split(",")]
    args.backends = args.backends.split(",")
    if not all(1 <= n <= 3 for n in args.workers) or not set(args.backends) <= {"db", "rq"}:
        parser.error("workers are 1 to 3; backends are db and rq")
    return args


def preflight() -> None:
    if os.geteuid() != 0:
        sys.exit("multihost: needs root to create network namespaces (run it with sudo)")
    missing = [tool for tool in ("ip", "socat") if shutil.which(tool) is None]
    if missing:
        sys.exit(f"multihost: missing {', '.join(missing)} (apt-get install iproute2 socat)")


def corpus_urls(publisher) -> set[str]:
    from broadsheet.ingest.urls import normalize_url

    return {normalize_url(publisher.article_url(a)) for a in publisher.corpus.articles}


def report(backend: str, workers: int, articles: int, outcome: dict) -> None:
    rate = articles / outcome["seconds"]
    print(f"{backend}.workers_{workers}.seconds: {outcome['seconds']:.1f}")
    print(f"{backend}.workers_{workers}.articles_per_s: {rate:.2f}")
    print(f"{backend}.workers_{workers}.ok: {not outcome['problems']}")
    for problem in outcome["problems"]:
        print(f"{backend}.workers_{workers}.problem: {problem}")
    sys.stdout.flush()


def run_all(args, logs: Path) -> int:
    from broadsheet.samplepub.corpus import load_corpus
    from broadsheet.samplepub.server import SamplePublisher

    corpus = load_corpus(scale=args.scale)
    # One feed page lists everything: this measures ingestion, not the feed paging.
    size = len(corpus.articles)
    publisher = SamplePublisher(
        BRIDGE_ADDRESS, 0, corpus=corpus, feed_size=size, allow_address=BRIDGE_ADDRESS
    )
    failures = 0
    with publisher:
        feeds = [info.url for info in publisher.feeds()]
        expected = corpus_urls(publisher)
        print(f"articles: {len(expected)}\nfeeds: {len(feeds)}\ncores: {os.cpu_count()}")
        for backend in args.backends:
            for workers in args.workers:
                dbname = f"bs_multihost_{backend}_{workers}"
                run = Run(backend, workers, dbname, publisher.base_url, logs / dbname)
                run.data_dir.mkdir()
                try:
                    outcome = one_run(run, feeds, expected, logs)
                finally:
                    drop_database(dbname)
                report(backend, workers, len(expected), outcome)
                failures += bool(outcome["problems"])
    return failures


def main() -> int:
    args = parse_args()
    preflight()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    network = Network(max(args.workers))
    # SIGTERM would skip the finally blocks; turning it into an exception runs them.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(2))
    with tempfile.TemporaryDirectory(prefix="bs-multihost-") as tmp:
        try:
            network.up()
            failures = run_all(args, Path(tmp))
        except Exception as exc:  # report, clean up, and say so in the exit status
            print(f"error: {exc}", file=sys.stderr)
            failures = -1
        finally:
            network.down()
            if args.keep_logs:
                shutil.copytree(tmp, args.keep_logs, dirs_exist_ok=True)
    if failures:
        print("result: FAILED (lost, duplicated or stuck articles; see problems above)")
        return 1 if failures > 0 else 2
    print("result: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
