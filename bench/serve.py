"""How fast the article page is served, against a trivial Django view and a static file.

    python bench/serve.py [--duration 30] [--rounds 3] [--server gunicorn|granian] [--workers N]

Builds a fresh SQLite site in a temporary folder, fills it through the real pipeline from the
bundled sample publisher, serves it with ``broadsheet web`` exactly as deployed (same server,
settings and middleware), and runs wrk against (a) an article page, (b) a view that only returns
"ok" through the same server and middleware, (c) Debian's nginx serving a saved copy of that
article page. With ``--rounds`` the three take turns, so that a busy machine weighs on each alike;
the summary gives the median and the range. Needs ``wrk`` and ``nginx``:
``apt-get install -y wrk nginx``. Target: article >= 0.5x the minimal view, p99 <= 50 ms, no errors.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import socket
import statistics
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


def cache_state(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers.get("X-Broadsheet-Cache", "none")


def first_article(base: str) -> str:
    match = re.search(r'href="(/article/\d+/[^"]+/)"', get(base + "/"))
    if not match:
        sys.exit("the front page lists no article: did the pipeline store any?")
    return base + match.group(1)


def start_web(env, port: int, args, log) -> subprocess.Popen:
    command = [sys.executable, "-m", "broadsheet", "web", "--bind", f"127.0.0.1:{port}"]
    for option in ("server", "workers", "web_threads"):
        value = getattr(args, option)
        if value is not None:
            command += [f"--{option.removeprefix('web_')}", str(value)]
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


def spread(values: list[float], digits: int = 0) -> str:
    middle = f"{statistics.median(values):.{digits}f}"
    if len(values) == 1:
        return middle
    return f"{middle} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def report(rounds: list[list[Result]], args) -> bool:
    """Medians over the rounds, with the range; ratios are taken within each round."""
    print(f"\nwrk: {args.connections} connections, {args.threads} threads, {args.duration} s each,")
    print(f"{len(rounds)} round(s); median (min-max) over the rounds")
    print(f"{'target':<14}{'req/s':>22}{'p50 ms':>22}{'p99 ms':>24}{'errors':>8}")
    for column in zip(*rounds, strict=True):
        rps = spread([r.rps for r in column])
        p50 = spread([r.p50_ms for r in column], 2)
        p99 = spread([r.p99_ms for r in column], 1)
        errors = sum(r.errors for r in column)
        print(f"{column[0].name:<14}{rps:>22}{p50:>22}{p99:>24}{errors:>8}")
    vs_minimal = [a.rps / m.rps if m.rps else 0.0 for a, m, _ in rounds]
    vs_static = [a.rps / n.rps if n.rps else 0.0 for a, _, n in rounds]
    print(f"\narticle / minimal view: {spread(vs_minimal, 2)}x")
    print(f"article / nginx static: {spread(vs_static, 3)}x")
    article_p99 = statistics.median(r[0].p99_ms for r in rounds)
    errors = sum(r[0].errors for r in rounds)
    met = statistics.median(vs_minimal) >= 0.5 and article_p99 <= 50 and errors == 0
    print("target (>= 0.5x minimal, p99 <= 50 ms, no errors):", "met" if met else "NOT met")
    return met


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=30, help="seconds per target")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--rounds", type=int, default=1, help="times each target is measured")
    parser.add_argument(
        "--server", choices=("gunicorn", "granian"), help="`broadsheet web --server`"
    )
    parser.add_argument("--workers", type=int, help="web processes (default: broadsheet web's)")
    parser.add_argument("--web-threads", type=int, help="threads per web process")
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
        processes.append(start_web(env, port, args, (root / "web.log").open("w")))
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/bench/minimal/")
        article = first_article(base)
        nginx, static = start_nginx(root / "nginx", get(article))
        processes.append(nginx)
        get(article)
        print(f"article page: {article} (page cache: {cache_state(article)})")
        targets = [
            ("article page", article),
            ("minimal view", base + "/bench/minimal/"),
            ("nginx static", static),
        ]
        rounds = []
        for number in range(1, args.rounds + 1):
            rounds.append([run_wrk(name, url, args) for name, url in targets])
            line = "  ".join(f"{r.name} {r.rps:.0f}/s p99 {r.p99_ms:.1f}" for r in rounds[-1])
            print(f"round {number}: {line}", flush=True)
        met = report(rounds, args)
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=15)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    sys.exit(0 if met else 1)


if __name__ == "__main__":
    main()
