"""Broadsheet's settings plus one trivial view, for bench/serve.py's baseline (never deployed)."""

from broadsheet.settings import *  # noqa: F403

ROOT_URLCONF = "bench.minimal_urls"
