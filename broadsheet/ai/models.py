from __future__ import annotations

from django.db import models
from django.utils import timezone

from broadsheet.articles.models import Article


class AIResult(models.Model):
    """A cached AI output for one article, keyed by what produced it.

    ``payload`` holds the sentences with their citations (indexes of the article's sentences),
    so the page can highlight the text each one came from.
    """

    class Kind(models.TextChoices):
        SUMMARY = "summary", "summary"
        KEY_POINTS = "key_points", "key points"
        ANSWER = "answer", "answer"

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="ai_results")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    backend = models.CharField(max_length=120)  # "offline" or "llm:<model>"
    prompt_version = models.CharField(max_length=20, default="1")
    question_key = models.CharField(max_length=64, blank=True)  # sha256 of a normalized question
    question = models.TextField(blank=True)
    payload = models.JSONField(default=dict)
    dropped = models.PositiveIntegerField(default=0, help_text="generated sentences refused")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["article", "kind", "backend", "prompt_version", "question_key"],
                name="ai_result_once",
            )
        ]
