from __future__ import annotations

import zlib

from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from broadsheet.sources.models import Feed, Source


class Article(models.Model):
    """One article, stored once however many feeds or tracking-laden URLs lead to it."""

    class State(models.TextChoices):
        PENDING = "pending", "pending"
        DONE = "done", "stored"
        FAILED = "failed", "failed"
        DUPLICATE = "duplicate", "duplicate of another article"

    url = models.URLField(max_length=2000)
    url_key = models.CharField(max_length=64, unique=True)
    canonical_url = models.URLField(max_length=2000, blank=True)
    canonical_key = models.CharField(max_length=64, blank=True, db_index=True)
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="articles")
    feeds = models.ManyToManyField(Feed, through="ArticleFeed", related_name="articles")
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="copies"
    )

    title = models.CharField(max_length=500, blank=True)
    teaser = models.TextField(blank=True, help_text="the feed's summary, plain text")
    byline = models.CharField(max_length=300, blank=True)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(null=True, blank=True)
    language = models.CharField(max_length=16, blank=True)
    lead_image_url = models.URLField(max_length=2000, blank=True)
    lead_image_alt = models.CharField(max_length=500, blank=True)
    caption = models.TextField(blank=True)
    credit = models.CharField(max_length=300, blank=True)

    word_count = models.PositiveIntegerField(default=0)
    content_hash = models.CharField(max_length=64, blank=True, db_index=True)

    state = models.CharField(max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error_kind = models.CharField(max_length=40, blank=True)
    last_error = models.TextField(blank=True)
    discovered_at = models.DateTimeField(default=timezone.now, db_index=True)
    # When lists place it: the publisher's date, unless that is later than our first sighting
    # (clock skew or a lie would otherwise pin an article to the top of every list).
    listed_at = models.DateTimeField(default=timezone.now, editable=False)
    fetched_at = models.DateTimeField(null=True, blank=True)
    # Due for the enrichment stage (null once enriched); moved forward by a lease when claimed.
    enrich_due_at = models.DateTimeField(null=True, blank=True, db_index=True)

    # The large columns come last: SQLite stores columns in declaration order, and a scan that
    # filters on the small ones above then never reads the overflow pages these spill into.
    raw_html = models.BinaryField(null=True, blank=True, editable=False)
    text = models.TextField(blank=True)
    body_html = models.TextField(blank=True)

    class Meta:
        ordering = ["-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "canonical_key"],
                condition=Q(state="done") & ~Q(canonical_key=""),
                name="article_stored_once_per_source",
            )
        ]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="article_due_idx"),
            models.Index(
                F("listed_at").desc(),
                name="article_listed_idx",
                condition=Q(state="done", duplicate_of__isnull=True),
            ),
            models.Index(fields=["source", "state", "-listed_at"], name="article_source_idx"),
        ]

    def __str__(self) -> str:
        return self.title or self.url

    @property
    def shown_at(self):
        return self.published_at or self.discovered_at

    def save(self, *args, **kwargs) -> None:
        self.update_listed_at()
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = {*kwargs["update_fields"], "listed_at"}
        super().save(*args, **kwargs)

    def update_listed_at(self) -> None:
        self.listed_at = min(self.published_at or self.discovered_at, self.discovered_at)

    def set_raw_html(self, content: bytes) -> None:
        # Level 1: measured on AEB pages, 2.5 ms instead of 5.7 ms a page, 24 % of the size
        # instead of 20 %; compression runs once per stored article, in the worker's hot path.
        self.raw_html = zlib.compress(content, 1)

    def get_raw_html(self) -> bytes:
        return zlib.decompress(bytes(self.raw_html)) if self.raw_html else b""


class ArticleFeed(models.Model):
    """Which feed announced an article, under which entry id."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE)
    feed = models.ForeignKey(Feed, on_delete=models.CASCADE)
    guid = models.CharField(max_length=2000, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["article", "feed"], name="article_feed_once")
        ]
