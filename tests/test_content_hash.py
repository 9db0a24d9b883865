"""The text digest that finds one article stored under two addresses."""

from __future__ import annotations

import hashlib
import re

from broadsheet.articles.store import content_hash


def test_the_digest_ignores_spacing_and_case_and_never_changes():
    # Every stored row carries one: the form below is what the first version hashed.
    text = "  Floods\u00a0hit the\tcity.\n\nThe River\u2003rose\u3000overnight\x1c  "
    first = re.sub(r"\s+", " ", text).strip().lower()
    assert content_hash(text) == hashlib.sha256(first.encode()).hexdigest()
    assert content_hash("floods hit the city. the river rose overnight") == content_hash(text)
    assert content_hash("Floods hit the town.") != content_hash(text)
