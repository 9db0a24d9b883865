from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from broadsheet.articles.models import Article
from broadsheet.sources.models import Feed, Source


def count_of(model, field: str) -> Coalesce:
    """Rows of ``model`` pointing at the outer row.

    A subquery per counter, because two joined Counts would multiply feeds by articles.
    """
    rows = (
        model.objects.filter(**{field: OuterRef("pk")})
        .order_by()
        .values(field)
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


@admin.register(Source)
class SourceAdmin(admin.ModelAdmin):
    list_display = ["name", "homepage", "feed_count", "article_count"]
    search_fields = ["name", "slug", "homepage"]
    prepopulated_fields = {"slug": ["name"]}

    def get_queryset(self, request) -> QuerySet[Source]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                feed_count=count_of(Feed, "source"), article_count=count_of(Article, "source")
            )
        )

    @admin.display(description="feeds", ordering="feed_count")
    def feed_count(self, source: Source) -> int:
        return source.feed_count

    @admin.display(description="articles", ordering="article_count")
    def article_count(self, source: Source) -> int:
        return source.article_count


@admin.register(Feed)
class FeedAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "title",
        "source",
        "is_active",
        "last_polled_at",
        "next_poll_at",
        "error_count",
        "last_error_kind",
    ]
    list_filter = ["last_error_kind", "is_active"]
    list_select_related = ["source"]
    search_fields = ["url", "title", "source__name"]
    autocomplete_fields = ["source"]
    actions = ["poll_now", "reset_errors"]
    readonly_fields = [
        "format",
        "etag",
        "last_modified",
        "last_polled_at",
        "last_success_at",
        "error_count",
        "last_error_kind",
        "last_error_text",
        "malformed",
        "entries_seen",
        "created_at",
    ]
    fieldsets = [
        (None, {"fields": ["url", "title", "source", "site_url", "is_active"]}),
        (
            "Polling",
            {
                "fields": [
                    "poll_interval",
                    "next_poll_at",
                    "last_polled_at",
                    "last_success_at",
                    "etag",
                    "last_modified",
                    "format",
                    "entries_seen",
                    "created_at",
                ]
            },
        ),
        ("Errors", {"fields": ["error_count", "last_error_kind", "last_error_text", "malformed"]}),
    ]

    @admin.display(description="last error")
    def last_error_text(self, feed: Feed) -> str:
        # One escaped line per line of the message; no inline style (the CSP forbids it).
        if not feed.last_error:
            return "-"
        return format_html_join(
            mark_safe("<br>"), "{}", ((line,) for line in feed.last_error.splitlines())
        )

    @admin.action(description="Poll now")
    def poll_now(self, request, queryset: QuerySet[Feed]) -> None:
        count = queryset.update(next_poll_at=timezone.now())
        self.message_user(
            request, f"{count} feed(s) will be polled at the next tick.", messages.SUCCESS
        )

    @admin.action(description="Reset errors")
    def reset_errors(self, request, queryset: QuerySet[Feed]) -> None:
        count = queryset.update(error_count=0, last_error_kind="", last_error="")
        self.message_user(request, f"Errors cleared on {count} feed(s).", messages.SUCCESS)
