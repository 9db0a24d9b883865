"""Readers' comments, their reports, and the one fact about a reader that moderation needs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from broadsheet.articles.models import Article


class Member(models.Model):
    """What the community knows about an account beyond Django's user: whether it was banned.

    A row exists only for accounts a moderator has acted on; no row means "in good standing".
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, primary_key=True, related_name="member"
    )
    is_banned = models.BooleanField(default=False)
    banned_at = models.DateTimeField(null=True, blank=True)
    banned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    def __str__(self) -> str:
        return f"{self.user} ({'banned' if self.is_banned else 'in good standing'})"


class Comment(models.Model):
    class Status(models.TextChoices):
        SHOWN = "shown", "shown"
        HELD = "held", "held for review"
        HIDDEN = "hidden", "hidden by a moderator"

    class HeldFor(models.TextChoices):
        NOTHING = "", "—"
        NEW_ACCOUNT = "new-account", "new account"
        SPAM = "spam", "spam score"
        REPORTS = "reports", "reports"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comments"
    )
    # One level of replies: a reply to a reply joins the thread of the comment that started it.
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies"
    )
    text = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SHOWN)
    held_for = models.CharField(max_length=12, choices=HeldFor.choices, blank=True)
    spam_score = models.PositiveIntegerField(default=0)
    report_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    edited_at = models.DateTimeField(null=True, blank=True)
    # Soft delete: the row stays so that replies keep their thread and moderators their record.
    deleted_at = models.DateTimeField(null=True, blank=True)
    reviewed_at = models.DateTimeField(null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["article", "created_at"], name="comment_article_idx"),
            models.Index(fields=["author", "-created_at"], name="comment_author_idx"),
            models.Index(
                fields=["-created_at"],
                name="comment_review_idx",
                condition=Q(status="held") | Q(report_count__gt=0),
            ),
        ]
        permissions = [
            ("moderate_comment", "Can approve and hide comments and ban their authors"),
        ]

    def __str__(self) -> str:
        return f"{self.author} on {self.article_id}: {self.text[:60]}"

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.SHOWN and self.deleted_at is None


class Report(models.Model):
    """One reader's report of one comment; the unique constraint makes it once per reader."""

    comment = models.ForeignKey(Comment, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="comment_reports"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["comment", "reporter"], name="report_once_per_reader")
        ]

    def __str__(self) -> str:
        return f"{self.reporter} reported comment {self.comment_id}"
