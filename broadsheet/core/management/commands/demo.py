import secrets
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from broadsheet.core.management.commands.serve import run_all
from broadsheet.samplepub.server import SamplePublisher
from broadsheet.sources.subscribe import subscribe


def reset_database() -> None:
    database = Path(settings.DATABASES["default"]["NAME"])
    if settings.DATABASES["default"]["ENGINE"].endswith("sqlite3"):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{database}{suffix}").unlink(missing_ok=True)


def create_admin() -> str:
    password = secrets.token_urlsafe(12)
    user_model = get_user_model()
    user_model.objects.filter(username="admin").delete()
    user_model.objects.create_superuser("admin", "admin@localhost", password)
    return password


class Command(BaseCommand):
    help = "Run the site with a bundled sample publisher on loopback: a full site, offline."

    def add_arguments(self, parser):
        parser.add_argument("--bind", default="127.0.0.1:8000")
        parser.add_argument("--publisher-port", type=int, default=8001)
        parser.add_argument("--keep", action="store_true", help="keep the previous demo's data")

    def handle(self, *args, bind, publisher_port, keep, **options):
        if not keep:
            reset_database()
        call_command("migrate", interactive=False, verbosity=0)
        try:
            publisher = SamplePublisher(port=publisher_port)
            publisher.start()
        except OSError as error:
            raise CommandError(
                f"cannot start the sample publisher on port {publisher_port}: {error.strerror}; "
                "choose another with --publisher-port"
            ) from error
        for feed in publisher.feeds():
            subscribe(feed.url, check=False, title=feed.title)
        password = create_admin()
        self.stdout.write(
            f"Sample publisher: {publisher.base_url}\n"
            f"Broadsheet demo:  http://{bind}/  (admin: http://{bind}/admin/ "
            f"user admin, password {password})\n"
            f"Data: {settings.DATA_DIR}\nPress Ctrl+C to stop.\n"
        )
        self.stdout.flush()
        try:
            code = run_all(bind, 2)
        finally:
            publisher.stop()
        if code:
            raise CommandError(f"a Broadsheet process stopped with exit code {code}")
