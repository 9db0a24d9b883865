"""A throw-away data folder, and a throw-away PostgreSQL database, for one benchmark run."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

POSTGRES = "postgres://root@127.0.0.1:5432"


def postgres_admin(sql: str) -> None:
    import psycopg

    with psycopg.connect(f"{POSTGRES}/postgres", autocommit=True) as conn:
        conn.execute(sql)


@contextmanager
def scratch(db: str, name: str, prefix: str) -> Iterator[str]:
    """A temporary data dir; with ``db == "postgres"`` also database ``name``, made afresh and
    dropped at the end, even when the run fails."""
    with tempfile.TemporaryDirectory(prefix=prefix) as data_dir:
        if db == "postgres":
            postgres_admin(f"DROP DATABASE IF EXISTS {name}")
            postgres_admin(f"CREATE DATABASE {name}")
        try:
            yield data_dir
        finally:
            if db == "postgres":
                from django.db import connections

                connections.close_all()
                postgres_admin(f"DROP DATABASE IF EXISTS {name}")
