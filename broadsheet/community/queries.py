"""What the pages show of comments, as named queries."""

from __future__ import annotations

from collections import defaultdict

from django.db.models import Count, IntegerField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from broadsheet.community.models import Comment, Report


def public_comments():
    return Comment.objects.filter(status=Comment.Status.SHOWN, deleted_at__isnull=True)


def comment_count():
    """An expression for article lists: one correlated count, so a list stays one query."""
    counted = (
        public_comments()
        .filter(article=OuterRef("pk"))
        .order_by()
        .values("article")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def needs_review() -> Q:
    return Q(status=Comment.Status.HELD) | Q(report_count__gt=0)


def visible_to(comment: Comment, viewer) -> bool:
    """Shown comments for all; a held comment also for its author, who should know it waits."""
    if comment.deleted_at is not None:
        return False
    if comment.status == Comment.Status.SHOWN:
        return True
    return comment.status == Comment.Status.HELD and comment.author_id == viewer.pk


def thread_for(article, viewer) -> list[Comment]:
    """Top-level comments, oldest first, each with ``shown_replies`` and a ``visible`` flag.

    A top-level comment that is gone but has visible replies stays as a placeholder, so the
    replies keep their context.
    """
    everything = (
        Comment.objects.filter(article=article)
        .select_related("author")
        .order_by("created_at", "id")
    )
    roots, replies = [], defaultdict(list)
    for comment in everything:
        (replies[comment.parent_id] if comment.parent_id else roots).append(comment)
    threads = []
    for root in roots:
        root.visible = visible_to(root, viewer)
        root.shown_replies = [r for r in replies[root.pk] if visible_to(r, viewer)]
        for reply in root.shown_replies:
            reply.visible = True
        if root.visible or root.shown_replies:
            threads.append(root)
    return threads


def reported_by(viewer, article) -> set[int]:
    if not viewer.is_authenticated:
        return set()
    mine = Report.objects.filter(reporter=viewer, comment__article=article)
    return set(mine.values_list("comment_id", flat=True))
