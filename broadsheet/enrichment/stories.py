"""What a related list says, read from the list alone: which of its articles tell the same
story, and which are close enough to show a reader at all.

Kept apart from `related` (numpy, the vector index) so that the web processes, which only read
the stored lists, never load those.
"""

from __future__ import annotations

# In a related list, an article scoring at least this share of the list's best is the same
# story told by another outlet: on ECB+ (`python bench/related.py`, same_story_*) 98.1% of such
# rows report the same event as the list's article, and they are 77% of the rows that do.
SAME_STORY = 0.8
# And at least this score: a story no other outlet carries has a list of other stories, whose
# best row is no report of it. On ECB+ 99% of the rows reporting a list's event score 0.55 or
# more, while in the demo, rows that only share a place name reach about 0.5.
SAME_STORY_MIN = 0.5
# A list holds up to 8 articles, the best there are; where a story has few other reports the
# rest can be chance (shared place names, a common word or two). A row is shown when it scores
# at least SHOWN_SHARE of the list's best and at least MIN_SHOWN. On ECB+ lists of stories with
# at most two other reports (`python bench/related.py`, shown_*) this hides 48% of the rows
# from other topics, 12% of those about the topic's other event and 0.2% of the story's own
# reports; a list then shows 6 articles on average instead of 8.
SHOWN_SHARE = 0.4
MIN_SHOWN = 0.25


def same_story(ranked: list[tuple[int, float]]) -> list[int]:
    """The ids in a related list ([(id, score)], as `related.related_for` ranks it) close
    enough to its best to be the same story (see SAME_STORY and SAME_STORY_MIN)."""
    return _near_best(ranked, SAME_STORY, SAME_STORY_MIN)


def worth_showing(ranked: list[tuple[int, float]]) -> list[int]:
    """The ids in a related list close enough to the article to show (see SHOWN_SHARE)."""
    return _near_best(ranked, SHOWN_SHARE, MIN_SHOWN)


def _near_best(ranked: list[tuple[int, float]], share: float, least: float) -> list[int]:
    """The ids scoring at least ``share`` of the list's best and at least ``least``."""
    if not ranked:
        return []
    floor = max(least, share * max(score for _, score in ranked))
    return [key for key, score in ranked if score >= floor]
