"""Loaded with ``-p`` before Django's settings, so test runs never touch a user's data dir."""

import os
import tempfile

os.environ.setdefault("BROADSHEET_DATA_DIR", tempfile.mkdtemp(prefix="broadsheet-test-"))
