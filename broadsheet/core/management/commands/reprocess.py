from datetime import datetime, time

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from broadsheet.articles.models import Article
from broadsheet.core.management.commands.poll import enrich_in_batches
from broadsheet.core.progress import Progress
from broadsheet.ingest.pipeline import reprocess_article
from broadsheet.ingest.scheduler import lease_end


def parse_since(value: str) -> datetime:
    moment = parse_datetime(value)
    if moment is None and (day := parse_date(value)) is not None:
        moment = datetime.combine(day, time.min)
    if moment is None:
        raise CommandError(f"--since {value!r}: expected a date (2026-11-01) or a date-time")
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


class Command(BaseCommand):
    help = (
        "Re-run extraction over stored raw HTML, then enrichment (language, hashtags, "
        "embedding, copies, related articles), without fetching anything again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--since", help="only articles fetched on or after this date")
        parser.add_argument(
            "--enrichment-only",
            action="store_true",
            help="keep the extracted text and re-run enrichment only (after an upgrade that "
            "changes the tagger or the embedder)",
        )

    def handle(self, *args, since, enrichment_only, **options):
        articles = Article.objects.filter(state=Article.State.DONE)
        if since:
            articles = articles.filter(fetched_at__gte=parse_since(since))
        if enrichment_only:
            ids = list(articles.values_list("id", flat=True))
            # Claimed as the scheduler claims them, so no worker takes them meanwhile.
            articles.update(enrich_due_at=lease_end(timezone.now()))
            elapsed = enrich_in_batches(ids)
            self.stdout.write(f"re-enriched {len(ids)} articles in {elapsed:.1f} s")
            return
        ids = list(articles.filter(raw_html__isnull=False).values_list("id", flat=True))
        progress, failed = Progress(len(ids), "reprocess"), 0
        for article_id in ids:
            failed += not reprocess_article(article_id)
            progress.step()
        elapsed = progress.finish()
        enrich_in_batches(ids)
        self.stdout.write(
            f"reprocessed {len(ids) - failed} articles in {elapsed:.1f} s; {failed} failed"
        )
        if failed:
            raise CommandError(f"{failed} article(s) could not be re-extracted; see the admin")
