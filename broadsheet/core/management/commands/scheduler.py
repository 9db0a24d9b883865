import signal

from django.core.management.base import BaseCommand

from broadsheet.ingest.scheduler import SchedulerThread


class Command(BaseCommand):
    help = "Enqueue due feed polls and article retries (when workers run with --no-scheduler)."

    def handle(self, *args, **options):
        thread = SchedulerThread()
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: thread.stop())
        thread.start()
        while thread.is_alive():
            thread.join(0.5)
