from django.core.management.base import BaseCommand, CommandError

from broadsheet.core.batching import batches
from broadsheet.core.progress import Progress
from broadsheet.ingest import pipeline
from broadsheet.sources.models import Feed


def find_feeds(spec: str | None):
    feeds = Feed.objects.filter(is_active=True)
    if spec is None:
        return list(feeds)
    match = feeds.filter(pk=int(spec)) if spec.isdigit() else feeds.filter(url=spec)
    if not match:
        raise CommandError(f"no active feed {spec!r} (give its id or URL; see the admin)")
    return list(match)


def enrich_in_batches(ids: list[int], size: int = 32) -> float:
    """Enrich these stored articles in the foreground; returns the seconds it took."""
    from broadsheet.enrichment.stage import enrich_articles

    progress = Progress(len(ids), "enrichment")
    for batch in batches(ids, size):
        enrich_articles(batch)
        progress.step(len(batch))
    return progress.finish()


class Command(BaseCommand):
    help = "Poll feeds now, in the foreground, and fetch their new articles."

    def add_arguments(self, parser):
        parser.add_argument("feed", nargs="?", help="a feed id or URL (default: every feed)")

    def handle(self, *args, feed, **options):
        failures, new_ids = 0, []
        for item in find_feeds(feed):
            result = pipeline.refresh_feed(item.pk)
            new_ids += result.new_article_ids
            if result.ok:
                note = (
                    "not modified" if result.not_modified else f"{len(result.new_article_ids)} new"
                )
                self.stdout.write(f"{item.url}: {note}")
            else:
                failures += 1
                self.stderr.write(f"{item.url}: {result.error_kind}: {result.error}")
        counts = self.fetch_articles(new_ids)
        stored, failed = counts["stored"], counts["failed"]
        self.stdout.write(f"articles: {stored} stored, {failed} failed; feeds failed: {failures}")
        if failures:
            raise CommandError(f"{failures} feed(s) failed; see above")

    def fetch_articles(self, ids: list[int]) -> dict[str, int]:
        counts = {"stored": 0, "failed": 0, "skipped": 0}
        stored = []
        progress = Progress(len(ids), "articles")
        for article_id in ids:
            outcome = pipeline.process_article(article_id, pipeline.toolkit())
            counts[outcome] += 1
            stored += [article_id] if outcome == "stored" else []
            progress.step()
        progress.finish()
        enrich_in_batches(stored)
        return counts
