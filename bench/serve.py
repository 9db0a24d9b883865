"""How fast the article page is served, against a trivial Django view and a static file.

    python bench/serve.py [--duration 30] [--connections 64] [--workers N]

Builds a fresh SQLite site in a temporary folder, fills it through the real pipeline from the
bundled sample publisher, serves it with ``broadsheet web`` (gunicorn), and runs wrk against
(a) an article page, (b) a view that only returns "ok" through the same server and middleware,
(c) Debian's nginx serving a saved copy of that article page. Needs ``wrk`` and ``nginx``:
``apt-get install -y wrk nginx``. Target: article >= 0.5x the minimal view, p99 <= 50 ms, no errors.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
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
NGINX_CONF = """\
worker_processes 1;
daemon off;
pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path {root}/tmp;
    proxy_temp_path {root}/tmp;
    fastcgi_temp_path {root}/tmp;
    uwsgi_temp_path {root}/tmp;
    scgi_temp_path {root}/tmp;
    default_type text/html;
    server {{
        listen 127.0.0.1:{port};
        root {root}/www;
    }}
}}
"""


@dataclass
class Result:
    name: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def require_tools() -> None:
    missing = [tool for tool in ("wrk", "nginx") if not find_tool(tool)]
    if missing:
        sys.exit(f"missing: {', '.join(missing)}. Install with: apt-get install -y wrk nginx")


def find_tool(name: str) -> str | None:
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def environment(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("DATABASE_URL", None)
    env.update(
        BROADSHEET_DATA_DIR=str(data_dir),
        DJANGO_SETTINGS_MODULE="bench.minimal_settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH", "")])),
        SECRET_KEY=secrets.token_urlsafe(50),
        BROADSHEET_ALLOWED_NETWORKS="127.0.0.1",
        BROADSHEET_HOST_RATE="1000",
        BROADSHEET_HOST_CONCURRENCY="8",
        BROADSHEET_LOG_LEVEL="WARNING",
    )
    return env


def broadsheet(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "broadsheet", *args], env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"broadsheet {' '.join(args)} failed:\n{done.stdout}{done.stderr}")


def fill_site(env: dict[str, str]) -> None:
    """Migrate, subscribe to the sample publisher, and run the real pipeline until idle."""
    from broadsheet.samplepub.server import SamplePublisher

    broadsheet(env, "migrate", "--no-input")
    with SamplePublisher(port=0) as publisher:
        for feed in publisher.feeds(main_only=True):
            broadsheet(env, "add-feed", feed.url)
        broadsheet(env, "worker", "--until-idle")


def wait_for(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    sys.exit(f"nothing answered at {url}")


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read().decode()


def first_article(base: str) -> str:
    match = re.search(r'href="(/article/\d+/[^"]+/)"', get(base + "/"))
    if not match:
        sys.exit("the front page lists no article: did the pipeline store any?")
    return base + match.group(1)


def start_web(env, port: int, workers: int, log) -> subprocess.Popen:
    command = [sys.executable, "-m", "broadsheet", "web", "--bind", f"127.0.0.1:{port}"]
    command += ["--workers", str(workers)]
    return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)


def start_nginx(root: Path, page: str) -> tuple[subprocess.Popen, str]:
    (root / "www").mkdir(parents=True)
    (root / "tmp").mkdir()
    (root / "www" / "article.html").write_text(page)
    port = free_port()
    (root / "nginx.conf").write_text(NGINX_CONF.format(root=root, port=port))
    process = subprocess.Popen(
        [find_tool("nginx"), "-c", str(root / "nginx.conf"), "-p", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/article.html"
    wait_for(url)
    return process, url


def milliseconds(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def parse_wrk(name: str, output: str) -> Result:
    def latency(percent: str) -> float:
        found = re.search(rf"^\s*{percent}%\s+([\d.]+)(us|ms|s|m)\s*$", output, re.M)
        return milliseconds(*found.groups()) if found else float("nan")

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    errors = int(non_2xx.group(1)) if non_2xx else 0
    errors += sum(int(n) for n in sockets.groups()) if sockets else 0
    return Result(name, float(rps.group(1)) if rps else 0.0, latency("50"), latency("99"), errors)


def run_wrk(name: str, url: str, args) -> Result:
    get(url)  # warm: fills the page cache and starts the workers' connections
    command = [find_tool("wrk"), f"-t{args.threads}", f"-c{args.connections}"]
    command += [f"-d{args.duration}s", "--latency", url]
    done = subprocess.run(command, capture_output=True, text=True)
    if args.verbose:
        print(done.stdout, done.stderr, sep="\n")
    return parse_wrk(name, done.stdout)


def report(results: list[Result], args) -> bool:
    print(f"\nwrk: {args.connections} connections, {args.threads} threads, {args.duration} s each")
    print(f"{'target':<16}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>9}")
    for r in results:
        print(f"{r.name:<16}{r.rps:>10.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{r.errors:>9}")
    article, minimal, static = results
    vs_minimal = article.rps / minimal.rps if minimal.rps else 0.0
    vs_static = article.rps / static.rps if static.rps else 0.0
    print(f"\narticle / minimal view: {vs_minimal:.2f}x   article / nginx static: {vs_static:.2f}x")
    met = vs_minimal >= 0.5 and article.p99_ms <= 50 and article.errors == 0
    print("target (>= 0.5x minimal, p99 <= 50 ms, no errors):", "met" if met else "NOT met")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--verbose", action="store_true", help="print wrk's own output")
    args = parser.parse_args()
    require_tools()
    sys.path.insert(0, str(REPO))
    root = Path(tempfile.mkdtemp(prefix="broadsheet-bench-"))
    root.chmod(0o755)  # nginx's workers run as an unprivileged user when started by root
    env = environment(root / "data")
    os.environ.update({k: env[k] for k in ("BROADSHEET_DATA_DIR", "DJANGO_SETTINGS_MODULE")})
    processes = []
    try:
        print(f"filling a fresh site in {root} through the pipeline ...")
        fill_site(env)
        port = free_port()
        processes.append(start_web(env, port, args.workers, (root / "web.log").open("w")))
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/bench/minimal/")
        article = first_article(base)
        nginx, static = start_nginx(root / "nginx", get(article))
        processes.append(nginx)
        print(f"article page: {article}")
        results = [
            run_wrk("article page", article, args),
            run_wrk("minimal view", base + "/bench/minimal/", args),
            run_wrk("nginx static", static, args),
        ]
        met = report(results, args)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
