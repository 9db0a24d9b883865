"""Who may do what with comments. Every ``check_*`` returns quietly or raises a CommunityError.

Views call these before any ``do_*`` in ``actions``; nothing here writes to the database except
the rate-limit counters.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.shortcuts import get_object_or_404
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.community.errors import BadInput, NotAllowed, RateLimited
from broadsheet.community.models import Comment, Member
from broadsheet.core.ratelimit import hit

HOUR = 3600
HEAVY_COLUMNS = ("raw_html", "text", "body_html")


def public_article(pk: int) -> Article:
    """Only stored articles take comments; anything else is as absent as a missing one."""
    public = Article.objects.filter(state=Article.State.DONE).defer(*HEAVY_COLUMNS)
    return get_object_or_404(public, pk=pk)


def comment_on_public_article(pk: int) -> Comment:
    queryset = (
        Comment.objects.select_related("article", "author")
        .defer(*(f"article__{name}" for name in HEAVY_COLUMNS))
        .filter(article__state=Article.State.DONE)
    )
    return get_object_or_404(queryset, pk=pk)


def is_banned(user) -> bool:
    return Member.objects.filter(user_id=user.pk, is_banned=True).exists()


def check_signed_in(user) -> None:
    if not user.is_authenticated:
        raise NotAllowed("Log in to take part in the comments.")


def check_can_post(user) -> None:
    check_signed_in(user)
    if not user.is_active or is_banned(user):
        raise NotAllowed("This account may not post comments.")


def check_comment_rate(user, ip: str) -> None:
    """Both limits count every attempt, so a flood from one address or account stops early."""
    window = settings.BROADSHEET_COMMENT_RATE_WINDOW
    user_ok = hit("comment-user", str(user.pk), settings.BROADSHEET_COMMENT_RATE_PER_USER, window)
    ip_ok = hit("comment-ip", ip, settings.BROADSHEET_COMMENT_RATE_PER_IP, window)
    if not (user_ok and ip_ok):
        raise RateLimited("You are commenting too fast. Wait a few minutes and try again.")


def check_signup_rate(ip: str) -> None:
    if not hit("signup-ip", ip, settings.BROADSHEET_SIGNUP_RATE_PER_IP, HOUR):
        raise RateLimited("Too many new accounts from your network. Try again later.")


def check_form(form) -> dict:
    if not form.is_valid():
        raise BadInput(first_error(form))
    return form.cleaned_data


def first_error(form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else errors[0]
    return "The form was not filled in correctly."


def check_parent(article: Article, parent_pk: int | None) -> Comment | None:
    if parent_pk is None:
        return None
    parent = Comment.objects.filter(pk=parent_pk, article=article).first()
    if parent is None:
        raise BadInput("The comment you are replying to is not on this article.")
    if not parent.is_public:
        raise BadInput("That comment cannot be replied to.")
    return parent.parent or parent


def edit_deadline(comment: Comment) -> datetime:
    return comment.created_at + timedelta(minutes=settings.BROADSHEET_COMMENT_EDIT_MINUTES)


def is_editable_by(comment: Comment, user) -> bool:
    return (
        user.is_authenticated
        and comment.author_id == user.pk
        and comment.deleted_at is None
        and timezone.now() <= edit_deadline(comment)
    )


def check_own(comment: Comment, user) -> None:
    check_signed_in(user)
    if comment.author_id != user.pk:
        raise NotAllowed("Only its author can change this comment.")
    if comment.deleted_at is not None:
        raise NotAllowed("This comment was deleted.")


def check_can_edit(comment: Comment, user) -> None:
    check_own(comment, user)
    check_can_post(user)
    if timezone.now() > edit_deadline(comment):
        minutes = settings.BROADSHEET_COMMENT_EDIT_MINUTES
        raise NotAllowed(f"Comments can be edited for {minutes} minutes after posting.")


def check_can_report(comment: Comment, user) -> None:
    check_signed_in(user)
    if comment.author_id == user.pk:
        raise NotAllowed("You cannot report your own comment.")
    if not comment.is_public:
        raise BadInput("This comment is not shown, so there is nothing to report.")
    if comment.reports.filter(reporter_id=user.pk).exists():
        raise BadInput("You have already reported this comment.")


def is_new_account(user) -> bool:
    """New until old enough or until moderators have let enough of its comments through."""
    if user.is_staff:
        return False
    young = timezone.now() - user.date_joined < timedelta(
        hours=settings.BROADSHEET_COMMENT_NEW_ACCOUNT_HOURS
    )
    trusted_after = settings.BROADSHEET_COMMENT_TRUSTED_AFTER
    approved = Comment.objects.filter(
        author=user, status=Comment.Status.SHOWN, deleted_at__isnull=True
    )[:trusted_after].count()
    return young and approved < trusted_after
