"""The database cache's batched ``set_many``: Django's format, one transaction, the same limits."""

from __future__ import annotations

import pytest
from django.core.cache import cache, caches
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from broadsheet.core.cache import BatchedDatabaseCache

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


def test_the_site_uses_the_batched_backend():
    assert isinstance(caches["default"], BatchedDatabaseCache)


def test_values_round_trip_through_djangos_own_reads():
    values = {"a": "token", "b": {"nested": [1, 2.5, None]}, "c": b"\x00bytes"}
    assert cache.set_many(values, timeout=None) == []
    assert cache.get_many(["a", "b", "c", "missing"]) == values
    assert cache.get("b") == {"nested": [1, 2.5, None]}
    assert cache.has_key("c")


def test_existing_keys_are_replaced_and_others_kept():
    cache.set("a", "old")
    cache.set("kept", "untouched")
    cache.set_many({"a": "new", "b": "added"})
    assert cache.get_many(["a", "b", "kept"]) == {"a": "new", "b": "added", "kept": "untouched"}


def test_a_batch_is_one_count_and_one_upsert():
    with CaptureQueriesContext(connection) as queries:
        cache.set_many({f"key{i}": i for i in range(40)}, timeout=None)
    statements = [q["sql"] for q in queries if q["sql"] not in ("BEGIN", "BEGIN IMMEDIATE")]
    assert statements[0].startswith("SELECT COUNT")
    # executemany is recorded once, with every row ("40 times: INSERT ...").
    assert statements[1].startswith("40 times: INSERT")
    assert statements[2:] in ([], ["COMMIT"])
    assert cache.get("key39") == 39


def test_timeouts_and_versions_are_djangos():
    cache.set_many({"short": 1, "long": 2}, timeout=-1)  # already expired
    assert cache.get_many(["short", "long"]) == {}
    cache.set_many({"x": "v2", "y": "v2"}, version=2)
    assert cache.get("x") is None
    assert cache.get("x", version=2) == "v2"


def test_a_full_table_is_culled(settings):
    limits = {"MAX_ENTRIES": 10, "CULL_FREQUENCY": 2}
    settings.CACHES = {
        "default": settings.CACHES["default"],
        "small": {**settings.CACHES["default"], "OPTIONS": limits},
    }
    small = caches["small"]
    small.set_many({f"first{i}": i for i in range(15)})
    small.set_many({f"second{i}": i for i in range(5)})
    # Over the limit before the second batch, so half the table went first.
    stored = small.get_many([f"first{i}" for i in range(15)] + [f"second{i}" for i in range(5)])
    assert len(stored) < 20
    assert all(small.get(f"second{i}") == i for i in range(5))


def test_a_cache_that_cannot_be_written_fails_quietly_like_djangos(settings):
    settings.CACHES = {
        "default": settings.CACHES["default"],
        "missing": {**settings.CACHES["default"], "LOCATION": "broadsheet_no_such_table"},
    }
    broken = caches["missing"]
    assert sorted(broken.set_many({"a": 1, "b": 2})) == ["a", "b"]
    # The connection is still usable afterwards, and so is a transaction it failed inside.
    cache.set_many({"a": 1, "b": 2})
    assert cache.get_many(["a", "b"]) == {"a": 1, "b": 2}
    with transaction.atomic():
        assert broken.set_many({"c": 3, "d": 4}) == ["c", "d"]
        cache.set_many({"c": 3, "d": 4})
    assert cache.get_many(["c", "d"]) == {"c": 3, "d": 4}
