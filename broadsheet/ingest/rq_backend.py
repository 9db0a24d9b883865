"""Running the pipeline's tasks from Redis (``BROADSHEET_TASK_BACKEND=rq``, django-tasks-rq).

The tasks and the scheduler are the same as with the database queue; only the place the
queue lives and the loop that pops it change. Imports of rq and django_rq stay inside the
functions so that a site on the database queue does not need them installed.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import close_old_connections

log = logging.getLogger("broadsheet.worker")

JOB_CLASS = "django_tasks_rq.Job"


def enabled() -> bool:
    return settings.BROADSHEET_TASK_BACKEND == "rq"


def worker_class() -> type:
    """An RQ worker that runs each job in its own process, without forking.

    RQ's default worker forks a child per job. Here the scheduler thread shares the process,
    and a fork taken while that thread holds a lock or a database socket can hang or corrupt
    the child; a fork per small batch also costs more than the batch. Django's connections
    are checked around every job, as a request would, so a database restart heals itself.
    """
    from rq import SimpleWorker

    class BroadsheetWorker(SimpleWorker):
        def execute_job(self, job, queue):
            close_old_connections()
            try:
                return super().execute_job(job, queue)
            finally:
                close_old_connections()

    return BroadsheetWorker


def make_worker(name: str | None = None):
    from django_rq import get_worker

    return get_worker(
        *settings.TASK_QUEUES, job_class=JOB_CLASS, worker_class=worker_class(), name=name
    )


def queued_jobs() -> int:
    """Jobs waiting on our queues (the Redis side of "is anything left?")."""
    from django_rq import get_queue

    return sum(get_queue(name).count for name in settings.TASK_QUEUES)


def log_level() -> str:
    return logging.getLevelName(logging.getLogger("rq.worker").getEffectiveLevel())


def work(name: str | None = None, *, burst: bool = False) -> None:
    """Pop and run jobs until stopped (SIGINT/SIGTERM finish the current job first)."""
    # Closed before the loop so that no connection opened during start-up lingers unused.
    close_old_connections()
    # RQ's own scheduler moves deferred tasks (run_after) onto their queue when due; one
    # worker at a time takes its lock, so running it in every worker is safe.
    make_worker(name).work(burst=burst, with_scheduler=True, logging_level=log_level())


def run_until_idle(tick) -> None:
    """Schedule and run until nothing is due and our queues are empty (tests, `poll`)."""
    while True:
        ticked = tick()
        if ticked.idle and not queued_jobs():
            return
        work(burst=True)
