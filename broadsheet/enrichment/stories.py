"""Which articles of a related list tell the same story, read from the list alone.

Kept apart from `related` (numpy, the vector index) so that the web processes, which only read
the stored lists, never load those.
"""

from __future__ import annotations

# In a related list, an article scoring at least this share of the list's best is the same
# story told by another outlet: on ECB+ (`python bench/related.py`, same_story_*) 98.1% of such
# rows report the same event as the list's article, and they are 77% of the rows that do.
SAME_STORY = 0.8


def same_story(ranked: list[tuple[int, float]]) -> list[int]:
    """The ids in a related list ([(id, score)], as `related.related_for` ranks it) close
    enough to its best to be the same story (see SAME_STORY)."""
    if not ranked:
        return []
    best = max(score for _, score in ranked)
    return [key for key, score in ranked if score >= SAME_STORY * best]
