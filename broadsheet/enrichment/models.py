from __future__ import annotations

from django.db import models
from django.utils import timezone

from broadsheet.articles.models import Article


class Tag(models.Model):
    """A hashtag: one spelling per thing, with a page of its own."""

    class Kind(models.TextChoices):
        PERSON = "person", "person"
        PLACE = "place", "place"
        ORGANISATION = "organisation", "organisation"
        TOPIC = "topic", "topic"

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.TOPIC)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"#{self.name}"


class ArticleTag(models.Model):
    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="article_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="article_tags")
    rank = models.PositiveSmallIntegerField(default=0)
    score = models.FloatField(default=0.0)

    class Meta:
        ordering = ["rank"]
        constraints = [models.UniqueConstraint(fields=["article", "tag"], name="article_tag_once")]


class Enrichment(models.Model):
    """What the enrichment stage computed for one article (kept apart from the article row)."""

    article = models.OneToOneField(
        Article, primary_key=True, on_delete=models.CASCADE, related_name="enrichment"
    )
    version = models.PositiveSmallIntegerField(default=1)
    embedding_model = models.CharField(max_length=100, blank=True)
    embedding = models.BinaryField(null=True, blank=True, editable=False)  # float32 bytes
    signature = models.BinaryField(null=True, blank=True, editable=False)  # near-duplicate sketch
    # Indexed: each worker's vector index takes in the rows stamped since its last look.
    enriched_at = models.DateTimeField(default=timezone.now, db_index=True)

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        fields = kwargs.get("update_fields")
        if fields is None or "signature" in fields:
            from broadsheet.enrichment.copies import store_bands

            store_bands({self.article_id: self.signature})


class CopyBand(models.Model):
    """One band key of an article's copy signature (copies.lookup_keys): copy detection looks
    up the keys of a new signature here instead of reading every stored signature."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    key = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["key", "article"], name="copy_band_key_idx")]


class RelatedArticle(models.Model):
    """Precomputed "related coverage" for an article, so reading it costs one query."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="related_rows")
    related = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="+")
    score = models.FloatField()

    class Meta:
        ordering = ["-score"]
        constraints = [models.UniqueConstraint(fields=["article", "related"], name="related_once")]
