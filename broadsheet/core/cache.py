"""Django's database cache, with ``set_many`` written as one statement.

Django's ``DatabaseCache`` sets many keys one at a time: a ``COUNT(*)`` over the whole table, a
read and a write for each key, each key in its own transaction. The page cache replaces the
versions of dozens of pages at once (every article of an enrichment batch and the articles whose
related lists it changed), so that came to three statements and a commit per key, with the
count scanning up to ``MAX_ENTRIES`` rows every time. Here the whole batch is one transaction:
one count (and cull) and one upsert. Values are stored exactly as Django stores them, so
``get`` and everything else are Django's own.
"""

from __future__ import annotations

import base64
import logging
import pickle
from datetime import UTC, datetime

from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.db import DatabaseCache
from django.db import DatabaseError, connections, router, transaction
from django.utils.timezone import now as tz_now

log = logging.getLogger(__name__)

# INSERT ... ON CONFLICT ... DO UPDATE: SQLite 3.24 and later, PostgreSQL 9.5 and later.
UPSERT_VENDORS = ("sqlite", "postgresql")


class BatchedDatabaseCache(DatabaseCache):
    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        db = router.db_for_write(self.cache_model_class)
        connection = connections[db]
        if len(data) < 2 or connection.vendor not in UPSERT_VENDORS:
            return super().set_many(data, timeout=timeout, version=version)
        timeout = self.get_backend_timeout(timeout)
        if timeout is None:
            expires = datetime.max
        else:
            expires = datetime.fromtimestamp(timeout, tz=UTC if settings.USE_TZ else None)
        expires = connection.ops.adapt_datetimefield_value(expires.replace(microsecond=0))
        # Sorted, so two processes writing overlapping batches lock rows in the same order.
        rows = sorted(
            (self.make_and_validate_key(key, version=version), self._encode(value), expires)
            for key, value in data.items()
        )
        quote = connection.ops.quote_name
        table = quote(self._table)
        key, value, expiry = quote("cache_key"), quote("value"), quote("expires")
        try:
            with transaction.atomic(using=db), connection.cursor() as cursor:
                cursor.execute(f"SELECT COUNT(*) FROM {table}")  # noqa: S608
                count = cursor.fetchone()[0]
                if count > self._max_entries:
                    self._cull(db, cursor, tz_now().replace(microsecond=0), count)
                cursor.executemany(
                    f"INSERT INTO {table} ({key}, {value}, {expiry}) "  # noqa: S608
                    f"VALUES (%s, %s, %s) ON CONFLICT ({key}) DO UPDATE SET "
                    f"{value} = excluded.{value}, {expiry} = excluded.{expiry}",
                    rows,
                )
        except DatabaseError:
            # As Django's own writes: a cache that cannot be written fails quietly (the
            # transaction, or the caller's savepoint, is rolled back) and says which keys.
            log.warning("cache: %d keys not written", len(rows), exc_info=True)
            return list(data)
        return []

    def _encode(self, value) -> str:
        # As DatabaseCache._base_set stores it: the column expects a string.
        return base64.b64encode(pickle.dumps(value, self.pickle_protocol)).decode("latin1")
