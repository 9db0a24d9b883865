"""The ``broadsheet`` command: Broadsheet's own commands plus every Django command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

# Broadsheet's commands are spelled with hyphens on the command line.
ALIASES = {
    "add-feed": "add_feed",
    "import-opml": "import_opml",
    "export-opml": "export_opml",
}

USAGE = """\
usage: broadsheet COMMAND [options]

Run everything on one machine:
  demo               the site with a bundled sample publisher, on http://127.0.0.1:8000
  serve              web + worker + scheduler in one command (the embedded default)

Run the parts separately (several hosts, PostgreSQL):
  web                the web site (Granian; --server gunicorn)
  worker             runs queued pipeline tasks; includes the scheduler unless --no-scheduler
  scheduler          enqueues due feed polls (for workers started with --no-scheduler)

Feeds and articles:
  add-feed URL       subscribe to a feed, or to a page that links to one
  import-opml FILE   subscribe to every feed in an OPML file
  export-opml        write the subscriptions as OPML
  poll [FEED]        poll feeds now, in the foreground
  reprocess          re-extract and re-enrich stored articles [--since DATE]
  status             feeds failing, articles by state, queue depth; exit 1 past thresholds

Django's commands work too (migrate, createsuperuser, check, ...): broadsheet help --commands
Each command explains its options: broadsheet COMMAND --help
"""


def prepare_demo_environment() -> None:
    """The demo keeps its own data and may fetch its sample publisher on loopback."""
    default = Path.home() / ".local" / "share" / "broadsheet-demo"
    os.environ.setdefault("BROADSHEET_DATA_DIR", str(default))
    allowed = os.environ.get("BROADSHEET_ALLOWED_NETWORKS", "")
    os.environ["BROADSHEET_ALLOWED_NETWORKS"] = ",".join(filter(None, [allowed, "127.0.0.1"]))
    os.environ.setdefault("BROADSHEET_HOST_RATE", "50")
    os.environ.setdefault("BROADSHEET_HOST_CONCURRENCY", "4")
    os.environ.setdefault("BROADSHEET_SCHEDULER_TICK", "1")
    os.environ.setdefault("BROADSHEET_EMAIL", "console")


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    command = argv[1] if len(argv) > 1 else "help"
    if command in {"help", "-h", "--help"} and len(argv) <= 2:
        sys.stdout.write(USAGE)
        return
    if command == "demo":
        prepare_demo_environment()
    argv[1] = ALIASES.get(command, command)
    # Each process does one piece of work at a time and hosts run one per core: BLAS threads
    # inside numpy would only fight the other processes for the same cores.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "broadsheet.settings")
    from django.core.management import execute_from_command_line
    from django.db import DatabaseError

    try:
        execute_from_command_line(argv)
    except DatabaseError as error:
        sys.stderr.write(f"broadsheet: database error: {error}\n")
        sys.stderr.write("Check DATABASE_URL, and run `broadsheet migrate` after upgrades.\n")
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
