from django.core.management.base import BaseCommand, CommandError

from broadsheet.ingest.errors import PipelineError
from broadsheet.sources.subscribe import subscribe


class Command(BaseCommand):
    help = "Subscribe to a feed (RSS, Atom or JSON Feed) or a page that links to one."

    def add_arguments(self, parser):
        parser.add_argument("url")
        parser.add_argument(
            "--no-check",
            action="store_true",
            help="add the URL as it is, without fetching it first",
        )

    def handle(self, *args, url, no_check, **options):
        try:
            feed, created = subscribe(url, check=not no_check)
        except PipelineError as error:
            raise CommandError(f"cannot add {url}: {error.kind}: {error.message}") from error
        verb = "Added" if created else "Already subscribed to"
        self.stdout.write(f"{verb} feed {feed.pk}: {feed.title or feed.url}")
        if created:
            self.stdout.write(
                "A running worker polls it within seconds; `broadsheet poll` polls now."
            )
