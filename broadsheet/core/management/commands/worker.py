import logging
import os
import socket

from django.core.management.base import BaseCommand
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from broadsheet.enrichment import stage
from broadsheet.ingest import rq_backend, scheduler

log = logging.getLogger("broadsheet.worker")


def worker_id() -> str:
    return f"{socket.gethostname()[:40]}-{os.getpid()}"


def make_worker(*, batch: bool, interval: float) -> Worker:
    return Worker(
        queue_names=["*"],
        interval=interval,
        batch=batch,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id(),
        excluded_queue_names=[],
    )


def ready_tasks() -> int:
    return DBTaskResult.objects.ready().count()


def run_until_idle() -> None:
    """Schedule and run until no feed is due and no task is waiting (tests, `poll`)."""
    while True:
        ticked = scheduler.tick()
        if ticked.idle and not ready_tasks():
            return
        make_worker(batch=True, interval=0).run()


class Command(BaseCommand):
    help = "Run queued pipeline tasks, with the scheduler in the same process by default."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-scheduler",
            action="store_true",
            help="only run tasks; run `broadsheet scheduler` elsewhere",
        )
        parser.add_argument(
            "--until-idle",
            action="store_true",
            help="exit once nothing is due and the queue is empty",
        )
        parser.add_argument(
            "--interval",
            type=float,
            default=0.5,
            help="seconds to wait when the database queue is empty (default 0.5; RQ blocks)",
        )

    def handle(self, *args, no_scheduler, until_idle, interval, **options):
        if until_idle:
            if rq_backend.enabled():
                rq_backend.run_until_idle(scheduler.tick)
            else:
                run_until_idle()
            return
        stage.warm_up()  # models and word lists load now, not inside the first batch
        thread = None
        if not no_scheduler:
            thread = scheduler.SchedulerThread()
            thread.start()
        log.info("worker %s started (scheduler %s)", worker_id(), "on" if thread else "off")
        try:
            if rq_backend.enabled():
                rq_backend.work(worker_id())
            else:
                worker = make_worker(batch=False, interval=interval)
                worker.configure_signals()
                worker.run()
        finally:
            if thread:
                thread.stop()
