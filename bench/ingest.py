"""End-to-end ingestion speed: feeds in, stored articles out, against bare trafilatura.

The Article Extraction Benchmark's pages are served as feeds from a loopback HTTP server in its
own process (``--copies`` sites, each listing every page, so the run lasts long enough to
measure). Broadsheet runs every stage — scheduler, feed poll, page fetch, extraction,
sanitizing, storage — with ``--workers`` worker processes on a fresh database (SQLite in a
temporary folder unless ``DATABASE_URL`` is set). The anchor, measured in the same run over the
same pages, is ``trafilatura.bare_extraction(html, with_metadata=True)`` on one core, once
before the pipeline and once after; the ratios use the mean of the two.

    python bench/extraction.py            # extraction quality
    python bench/ingest.py [--data PATH] [--workers 2] [--copies 3]

Prints ``name: value`` lines; the target is ``ratio.ingest_vs_bare_trafilatura >= 1.5``.
On a shared machine the rates follow whatever else runs; the CPU time the workers spend per
article against the anchor's per page (read from /proc) is steadier, and the ``by_cpu_time``
ratio is what the enriched ratio would be with a core per worker and nothing else running.
"""

from __future__ import annotations

import argparse
import gzip
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "aeb"


def load_pages(data: Path) -> dict[str, bytes]:
    return {
        path.name.removesuffix(".html.gz"): gzip.decompress(path.read_bytes())
        for path in sorted((data / "html").glob("*.html.gz"))
    }


def feed_xml(base: str, site: str, ids: list[str]) -> bytes:
    now = datetime.now(UTC)
    items = "".join(
        f"<item><title>Page {i}</title><link>{base}/{site}/page/{page_id}</link>"
        f"<guid>{base}/{site}/page/{page_id}</guid>"
        f"<pubDate>{format_datetime(now - timedelta(minutes=i))}</pubDate></item>"
        for i, page_id in enumerate(ids)
    )
    return (
        f'<?xml version="1.0"?><rss version="2.0"><channel><title>Site {escape(site)}</title>'
        f"<link>{base}/{site}/</link>{items}</channel></rss>"
    ).encode()


def serve(data: str, copies: int, port_queue) -> None:
    pages = load_pages(Path(data))
    ids = list(pages)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            parts = self.path.strip("/").split("/")
            base = f"http://127.0.0.1:{self.server.server_port}"
            if len(parts) == 2 and parts[1] == "feed":
                self.reply(200, "application/rss+xml", feed_xml(base, parts[0], ids))
            elif len(parts) == 3 and parts[1] == "page" and parts[2] in pages:
                self.reply(200, "text/html; charset=utf-8", pages[parts[2]])
            else:
                self.reply(404, "text/plain", b"not found")

        def reply(self, status: int, kind: str, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    port_queue.put(server.server_port)
    server.serve_forever()


def bare_trafilatura(pages: list[bytes]) -> tuple[float, float]:
    """Pages per second of wall time and of CPU time."""
    import trafilatura

    started, cpu = time.perf_counter(), time.process_time()
    for html in pages:
        trafilatura.bare_extraction(html, with_metadata=True)
    return (
        len(pages) / (time.perf_counter() - started),
        len(pages) / (time.process_time() - cpu),
    )


def environment(data_dir: str) -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", f"sqlite:///{data_dir}/bench.sqlite3")
    env.update(
        BROADSHEET_DATA_DIR=data_dir,
        BROADSHEET_ALLOWED_NETWORKS="127.0.0.1",
        BROADSHEET_HOST_RATE="100000",
        BROADSHEET_HOST_CONCURRENCY="64",
        BROADSHEET_SCHEDULER_TICK="0.2",
        BROADSHEET_LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="broadsheet.settings",
    )
    return env


def count_finished() -> tuple[int, int, int]:
    """Articles past the store stage, stored ones, and stored ones also enriched."""
    from broadsheet.articles.models import Article

    finished = Article.objects.exclude(state=Article.State.PENDING).count()
    stored = Article.objects.filter(state=Article.State.DONE)
    return finished, stored.count(), stored.filter(enrich_due_at__isnull=True).count()


def start_workers(env: dict[str, str], workers: int) -> list[subprocess.Popen]:
    command = [sys.executable, "-m", "broadsheet", "worker", "--interval", "0.05"]
    return [
        subprocess.Popen(command + ([] if i == 0 else ["--no-scheduler"]), env=env)
        for i in range(workers)
    ]


def run_pipeline(env: dict[str, str], base: str, copies: int, workers: int, total: int) -> tuple:
    """Time from subscribing until every article is stored or failed, workers already warm."""
    os.environ.update(env)
    import django

    django.setup()
    from django.core.management import call_command

    from broadsheet.sources.subscribe import subscribe

    call_command("migrate", verbosity=0)
    procs = start_workers(env, workers)
    try:
        wait_until_started([proc.pid for proc in procs])
        cpu_before = cpu_seconds(proc.pid for proc in procs)
        started = time.perf_counter()
        for site in range(copies):
            subscribe(f"{base}/s{site}/feed", check=False)
        finished = stored = enriched = 0
        stored_at = None
        while enriched < total and time.perf_counter() - started < 900:
            time.sleep(0.2)
            finished, stored, enriched = count_finished()
            if finished >= total and stored_at is None:
                stored_at = time.perf_counter() - started
            if stored_at is not None and enriched >= stored:
                break
        elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds(proc.pid for proc in procs)
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)
    cpu = None if None in (cpu_before, cpu_after) else cpu_after - cpu_before
    return finished, stored, enriched, stored_at or elapsed, elapsed, cpu


def wait_until_started(pids: list[int], timeout: float = 120.0) -> None:
    """Let the workers import Django and reach their loop: wait until each uses less than a
    tenth of a core (an idle worker only polls the queue), however slow a busy machine is."""
    last = cpu_seconds(pids)
    if last is None:
        time.sleep(3)
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(1.0)
        now = cpu_seconds(pids)
        if now is None or now - last < 0.1 * len(pids):
            return
        last = now


def cpu_seconds(pids) -> float | None:
    """CPU time (user and system, all threads) these processes have used so far, read from
    /proc; None where there is no /proc."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--copies", type=int, default=3)
    args = parser.parse_args()
    if not (args.data / "html").is_dir():
        print(f"skipped: AEB data not found at {args.data} (pass --data PATH)")
        return 0
    pages = load_pages(args.data)
    total = len(pages) * args.copies

    ports = multiprocessing.Queue()
    server = multiprocessing.Process(
        target=serve, args=(str(args.data), args.copies, ports), daemon=True
    )
    server.start()
    base = f"http://127.0.0.1:{ports.get(timeout=30)}"
    try:
        # The anchor before and after the pipeline: on a shared machine whose speed drifts, the
        # mean of the two brackets the run; both are printed.
        before = bare_trafilatura(list(pages.values()))
        with tempfile.TemporaryDirectory(prefix="broadsheet-bench-") as data_dir:
            finished, stored, enriched, stored_s, elapsed, cpu = run_pipeline(
                environment(data_dir), base, args.copies, args.workers, total
            )
        after = bare_trafilatura(list(pages.values()))
    finally:
        server.terminate()
    bare_rate, bare_cpu_rate = ((x + y) / 2 for x, y in zip(before, after, strict=True))
    rate = finished / stored_s
    enriched_rate = enriched / elapsed
    print(f"pages: {total}")
    print(f"workers: {args.workers}")
    print(f"articles_finished: {finished}")
    print(f"articles_stored: {stored}")
    print(f"articles_enriched: {enriched}")
    print(f"seconds.to_stored: {stored_s:.2f}")
    print(f"seconds.to_enriched: {elapsed:.2f}")
    print(f"articles_per_s.stored: {rate:.1f}")
    print(f"articles_per_s.stored_and_enriched: {enriched_rate:.1f}")
    # CPU time is steadier than the rates on a shared machine: the workers' (all of them,
    # while measured) per article against the anchor's per page.
    print(f"cpu_ms_per_page.bare_trafilatura_with_metadata: {1000 / bare_cpu_rate:.1f}")
    print(
        "cpu_ms_per_page.bare_trafilatura_with_metadata.before_after: "
        f"{1000 / before[1]:.1f} / {1000 / after[1]:.1f}"
    )
    if cpu is not None:
        per_article = 1000 * cpu / max(finished, 1)
        print(f"cpu_ms_per_article.workers: {per_article:.1f}")
        # The enriched ratio were each worker given a core of its own and nothing else running.
        projected = args.workers * 1000 / bare_cpu_rate / per_article
        print(f"ratio.enriched_vs_bare_trafilatura_by_cpu_time: {projected:.2f}")
    print(f"pages_per_s.bare_trafilatura_with_metadata_1core: {bare_rate:.1f}")
    print(f"ratio.stored_vs_bare_trafilatura: {rate / bare_rate:.2f}")
    print(f"ratio.enriched_vs_bare_trafilatura: {enriched_rate / bare_rate:.2f}")
    return 0 if finished == total and enriched == stored else 1


if __name__ == "__main__":
    sys.exit(main())
