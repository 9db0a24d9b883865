"""Every change to accounts and comments. Each ``do_*`` assumes its ``check_*`` has passed."""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.community import rules, spam
from broadsheet.community.errors import BadInput
from broadsheet.community.models import Comment, Member, Report
from broadsheet.front.pagecache import comments_changed


def do_sign_up(form):
    return form.save()


def moderation_verdict(author, text: str, exclude_pk: int | None = None) -> tuple[str, str, int]:
    """(status, held_for, spam score) for a comment about to be shown."""
    score = spam.spam_score(author, text, exclude_pk)
    if spam.is_spam(score):
        return Comment.Status.HELD, Comment.HeldFor.SPAM, score
    if rules.is_new_account(author):
        return Comment.Status.HELD, Comment.HeldFor.NEW_ACCOUNT, score
    return Comment.Status.SHOWN, Comment.HeldFor.NOTHING, score


def do_post_comment(article: Article, author, text: str, parent: Comment | None) -> Comment:
    status, held_for, score = moderation_verdict(author, text)
    return Comment.objects.create(
        article=article,
        author=author,
        parent=parent,
        text=text,
        status=status,
        held_for=held_for,
        spam_score=score,
    )


def do_edit_comment(comment: Comment, text: str) -> Comment:
    """An edit is scored again: a comment approved as harmless must not turn into an advert."""
    score = spam.spam_score(comment.author, text, exclude_pk=comment.pk)
    comment.text = text
    comment.spam_score = score
    comment.edited_at = timezone.now()
    if spam.is_spam(score) and comment.status == Comment.Status.SHOWN:
        comment.status, comment.held_for = Comment.Status.HELD, Comment.HeldFor.SPAM
    comment.save(update_fields=["text", "spam_score", "edited_at", "status", "held_for"])
    return comment


def do_delete_comment(comment: Comment) -> None:
    Comment.objects.filter(pk=comment.pk, deleted_at__isnull=True).update(deleted_at=timezone.now())
    comments_changed([comment.article_id])


def do_report_comment(comment: Comment, reporter) -> None:
    """Count the report and hide the comment for review once enough readers have objected."""
    try:
        with transaction.atomic():
            Report.objects.create(comment=comment, reporter=reporter)
    except IntegrityError as exc:
        # Two clicks raced past check_can_report; the constraint has the last word.
        raise BadInput("You have already reported this comment.") from exc
    Comment.objects.filter(pk=comment.pk).update(report_count=F("report_count") + 1)
    Comment.objects.filter(
        pk=comment.pk,
        status=Comment.Status.SHOWN,
        report_count__gte=settings.BROADSHEET_COMMENT_REPORTS_TO_HIDE,
    ).update(status=Comment.Status.HELD, held_for=Comment.HeldFor.REPORTS)
    comments_changed([comment.article_id])


def do_approve_comments(comments, moderator) -> int:
    """Approval clears the report counter, so it takes fresh reports to hide the comment again."""
    comments_changed(comments.values_list("article_id", flat=True))
    return comments.update(
        status=Comment.Status.SHOWN,
        held_for=Comment.HeldFor.NOTHING,
        report_count=0,
        reviewed_at=timezone.now(),
        reviewed_by=moderator,
    )


def do_hide_comments(comments, moderator) -> int:
    comments_changed(comments.values_list("article_id", flat=True))
    return comments.update(
        status=Comment.Status.HIDDEN, reviewed_at=timezone.now(), reviewed_by=moderator
    )


def do_ban_users(user_ids, moderator) -> int:
    """Ban the accounts and hide whatever of theirs is still waiting for review."""
    now = timezone.now()
    for user_id in set(user_ids):
        Member.objects.update_or_create(
            user_id=user_id,
            defaults={"is_banned": True, "banned_at": now, "banned_by": moderator},
        )
    waiting = Comment.objects.filter(author_id__in=user_ids, status=Comment.Status.HELD)
    do_hide_comments(waiting, moderator)
    return len(set(user_ids))


def do_unban_users(user_ids) -> int:
    return Member.objects.filter(user_id__in=user_ids).update(is_banned=False, banned_at=None)
