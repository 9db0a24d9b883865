import signal
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError


def start(*args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "broadsheet", *args])


def supervise(children: list[subprocess.Popen]) -> int:
    """Wait until a child exits or we are told to stop; then stop them all."""
    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: stopping.append(signum))
    code = 0
    while not stopping:
        exited = [child for child in children if child.poll() is not None]
        if exited:
            code = exited[0].returncode or 1
            break
        time.sleep(0.2)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()
    return code


def run_all(bind: str, workers: int) -> int:
    call_command("migrate", interactive=False, verbosity=0)
    children = [start("web", "--bind", bind, "--workers", str(workers))]
    children.append(start("worker"))
    return supervise(children)


class Command(BaseCommand):
    help = "Run the web site, a worker and the scheduler together (the embedded default)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--web-workers", type=int, default=2)

    def handle(self, *args, bind, web_workers, **options):
        code = run_all(bind, web_workers)
        if code:
            raise CommandError(f"a Broadsheet process stopped with exit code {code}")
