from __future__ import annotations

from django.db import models
from django.utils import timezone


class Source(models.Model):
    """A publisher. Several feeds (sections) may belong to one source."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=120, unique=True)
    homepage = models.URLField(max_length=2000, unique=True)
    icon_url = models.URLField(max_length=2000, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class BodyMode(models.TextChoices):
        FULL = "full", "full text"
        TEASER = "teaser", "teaser, then a link to the original"

    # The operator's choice per publisher: show the whole article, or its opening paragraphs
    # and a clear "Continue reading" link to the original.
    body_mode = models.CharField(max_length=10, choices=BodyMode.choices, default=BodyMode.FULL)
    teaser_paragraphs = models.PositiveSmallIntegerField(default=3)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Feed(models.Model):
    """A feed URL and the state of its polling.

    ``next_poll_at`` doubles as the claim: the scheduler moves it forward by a lease when it
    enqueues a poll, so a crashed worker's feed is simply due again once the lease runs out.
    """

    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="feeds"
    )
    url = models.URLField(max_length=2000, unique=True)
    title = models.CharField(max_length=300, blank=True)
    site_url = models.URLField(max_length=2000, blank=True)
    format = models.CharField(max_length=20, blank=True)
    is_active = models.BooleanField(default=True)

    etag = models.CharField(max_length=500, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    poll_interval = models.PositiveIntegerField(default=900, help_text="seconds")
    next_poll_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)

    error_count = models.PositiveIntegerField(default=0)
    last_error_kind = models.CharField(max_length=40, blank=True)
    last_error = models.TextField(blank=True)
    malformed = models.TextField(blank=True, help_text="parser warning for a partly broken feed")
    entries_seen = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["url"]

    def __str__(self) -> str:
        return self.title or self.url
