import multiprocessing

from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from gunicorn.app.base import BaseApplication


def unapplied_migrations() -> int:
    connection = connections["default"]
    executor = MigrationExecutor(connection)
    return len(executor.migration_plan(executor.loader.graph.leaf_nodes()))


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


class Command(BaseCommand):
    help = "Serve the web site with gunicorn."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000", help="address:port to listen on")
        parser.add_argument("--workers", type=int, default=min(4, multiprocessing.cpu_count()))
        parser.add_argument("--threads", type=int, default=4)
        parser.add_argument("--access-log", action="store_true", help="log every request")

    def handle(self, *args, bind, workers, threads, access_log, **options):
        if unapplied_migrations():
            raise CommandError("the database needs migrating first: run `broadsheet migrate`")
        connections.close_all()  # never share a connection across gunicorn's fork
        self.stdout.write(f"Broadsheet web on http://{bind}/")
        WebServer(
            {
                "bind": bind,
                "workers": workers,
                "threads": threads,
                "worker_class": "gthread",
                "accesslog": "-" if access_log else None,
                "errorlog": "-",
                "graceful_timeout": 10,
                "timeout": 60,
            }
        ).run()
