"""A small, explainable spam score: links, the author repeating themselves, known-bad words.

Each signal adds points; a comment at or above ``BROADSHEET_COMMENT_SPAM_THRESHOLD`` waits for a
moderator instead of appearing. The weights are constants on purpose: operators tune the
threshold and the word list, not the arithmetic.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from broadsheet.community.text import link_count

POINTS_PER_LINK = 1
POINTS_PER_REPEAT = 3
POINTS_PER_BAD_WORD = 5
REPEAT_LOOKBACK = timedelta(days=7)


def normalized(text: str) -> str:
    return " ".join(text.casefold().split())


def bad_words_in(text: str) -> set[str]:
    words = {w.casefold() for w in settings.BROADSHEET_COMMENT_BAD_WORDS if w.strip()}
    if not words:
        return set()
    found = set(re.findall(r"\w+", text.casefold()))
    phrases = {w for w in words if " " in w and w in normalized(text)}
    return (words & found) | phrases


def repeats_by(author, text: str, exclude_pk: int | None = None) -> int:
    """How many of the author's recent comments say the same thing, spacing and case aside."""
    from broadsheet.community.models import Comment

    recent = Comment.objects.filter(
        author=author, created_at__gte=timezone.now() - REPEAT_LOOKBACK
    ).exclude(pk=exclude_pk)
    wanted = normalized(text)
    return sum(
        1 for earlier in recent.values_list("text", flat=True) if normalized(earlier) == wanted
    )


def spam_score(author, text: str, exclude_pk: int | None = None) -> int:
    return (
        POINTS_PER_LINK * link_count(text)
        + POINTS_PER_REPEAT * repeats_by(author, text, exclude_pk)
        + POINTS_PER_BAD_WORD * len(bad_words_in(text))
    )


def is_spam(score: int) -> bool:
    return score >= settings.BROADSHEET_COMMENT_SPAM_THRESHOLD
