import importlib.util
import multiprocessing

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from gunicorn.app.base import BaseApplication

APP = "broadsheet.wsgi:application"
SERVERS = ("gunicorn", "granian")


def unapplied_migrations() -> int:
    connection = connections["default"]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


def default_workers(server: str) -> int:
    """Measured on 2 cores (bench/serve.py): Granian did best with one process per core, since
    its HTTP side runs outside the GIL; gunicorn's gthread with two per core."""
    cores = multiprocessing.cpu_count()
    return min(4, cores if server == "granian" else 2 * cores)


class WebServer(BaseApplication):
    """Gunicorn configured from our options, serving the Django application."""

    def __init__(self, options: dict) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from broadsheet.wsgi import application

        return application


def run_gunicorn(bind: str, workers: int, threads: int, access_log: bool) -> None:
    WebServer(
        {
            "bind": bind,
            "workers": workers,
            "threads": threads,
            # gthread keeps connections alive between requests; sync would open one per request.
            "worker_class": "gthread",
            "accesslog": "-" if access_log else None,
            "errorlog": "-",
            "graceful_timeout": 10,
            "timeout": 60,
        }
    ).run()


def split_bind(bind: str) -> dict:
    """``host:port``, ``[v6]:port`` or ``unix:/path`` as Granian's keyword arguments."""
    if bind.startswith("unix:"):
        return {"uds": bind.removeprefix("unix:")}
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise CommandError(f"--bind: expected HOST:PORT or unix:PATH, got {bind!r}")
    return {"address": host.strip("[]") or "0.0.0.0", "port": int(port)}  # noqa: S104


def run_granian(bind: str, workers: int, threads: int, access_log: bool) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    Granian(
        APP,
        interface=Interfaces.WSGI,
        websockets=False,
        workers=workers,
        blocking_threads=threads,
        log_access=access_log,
        respawn_failed_workers=True,
        workers_kill_timeout=10,
        **split_bind(bind),
    ).serve()


class Command(BaseCommand):
    help = "Serve the web site with Granian (or gunicorn)."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="address:port to listen on")
        parser.add_argument(
            "--server",
            choices=SERVERS,
            default="granian",
            help="granian (default) serves HTTP from Rust and holds its tail latency under load; "
            "gunicorn's gthread workers replace a request stuck for 60 s",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="processes (default: min(4, 2 x cores) for gunicorn, min(4, cores) for granian)",
        )
        parser.add_argument("--threads", type=int, default=None, help="threads per process (4)")
        parser.add_argument("--access-log", action="store_true", help="log every request")

    def handle(self, *args, bind, server, workers, threads, access_log, **options):
        if server == "granian" and importlib.util.find_spec("granian") is None:
            raise CommandError("--server granian: Granian is not installed (pip install granian)")
        if unapplied_migrations():
            raise CommandError("the database needs migrating first: run `broadsheet migrate`")
        connections.close_all()  # never share a connection across the server's fork
        workers = workers or default_workers(server)
        self.stdout.write(f"Broadsheet web on http://{bind}/ ({server}, {workers} processes)")
        if server == "granian":
            run_granian(bind, workers, threads or 4, access_log)
        else:
            run_gunicorn(bind, workers, threads or 4, access_log)
