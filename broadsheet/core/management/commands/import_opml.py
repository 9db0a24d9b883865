from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from broadsheet.ingest.errors import PipelineError
from broadsheet.ingest.opml import parse_opml
from broadsheet.sources.subscribe import import_opml


class Command(BaseCommand):
    help = "Subscribe to every feed listed in an OPML file."

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)

    def handle(self, *args, file, **options):
        try:
            feeds = parse_opml(file.read_bytes())
        except OSError as error:
            raise CommandError(f"cannot read {file}: {error.strerror}") from error
        except PipelineError as error:
            raise CommandError(f"{file} is not usable OPML: {error.message}") from error
        added, known, errors = import_opml(feeds)
        for line in errors:
            self.stderr.write(line)
        self.stdout.write(f"{added} feeds added, {known} already subscribed, {len(errors)} refused")
        if errors:
            raise CommandError(f"{len(errors)} feed URL(s) refused; see above")
