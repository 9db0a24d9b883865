import sys

from django.conf import settings
from django.core.management.base import BaseCommand

from broadsheet.ingest.opml import OpmlFeed, build_opml
from broadsheet.sources.models import Feed


class Command(BaseCommand):
    help = "Write every subscribed feed as OPML to standard output (or --output FILE)."

    def add_arguments(self, parser):
        parser.add_argument("--output", "-o", help="a file to write instead of standard output")

    def handle(self, *args, output, **options):
        feeds = [
            OpmlFeed(
                xml_url=feed.url,
                title=feed.title or feed.url,
                html_url=feed.site_url or "",
                category=feed.source.name if feed.source else "",
            )
            for feed in Feed.objects.select_related("source").order_by("source__name", "url")
        ]
        data = build_opml(feeds, title=f"{settings.SITE_NAME} subscriptions")
        if output:
            with open(output, "wb") as handle:
                handle.write(data)
        else:
            sys.stdout.buffer.write(data)
