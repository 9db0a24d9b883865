"""Where the shared, labelled evaluation data lives; tests skip clearly when it is absent."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("BROADSHEET_SHARED_DATA", ROOT.parent / "shared" / "data"))


def dataset(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.is_dir():
        pytest.skip(f"evaluation data {name!r} not found at {path} (set BROADSHEET_SHARED_DATA)")
    return path
