"""Cutting a list into runs: work into task-sized batches, ids into ``IN (...)`` lists."""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")

# Ids in one ``IN (...)``: well inside every backend's limit on query parameters.
IN_LIMIT = 500


def batches(items: list[T], size: int = IN_LIMIT) -> list[list[T]]:
    """``items`` in order, in runs of at most ``size``."""
    return [items[i : i + size] for i in range(0, len(items), size)]
