from __future__ import annotations

from django.contrib import admin
from django.db.models import QuerySet
from django.db.models.functions import Length
from django.template.defaultfilters import filesizeformat

from broadsheet.articles.models import Article, ArticleFeed
from broadsheet.front.links import article_url


class ArticleFeedInline(admin.TabularInline):
    model = ArticleFeed
    fields = ["feed", "guid", "first_seen_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = ["headline", "source", "state", "published_at", "attempts", "last_error_kind"]
    list_filter = ["state", "source", "last_error_kind"]
    list_select_related = ["source"]
    search_fields = ["title", "url"]
    date_hierarchy = "published_at"
    show_full_result_count = False
    autocomplete_fields = ["source"]
    # A select listing every article would load the whole table on each change page.
    raw_id_fields = ["duplicate_of"]
    # The pipeline derives these from the raw page: body_html is trusted by the reader's pages
    # only because the sanitizer wrote it, and a reprocess would overwrite any hand edit anyway.
    readonly_fields = [
        "url_key",
        "canonical_key",
        "content_hash",
        "word_count",
        "text",
        "body_html",
        "raw_html_size",
        "fetched_at",
        "discovered_at",
    ]
    inlines = [ArticleFeedInline]

    def get_queryset(self, request) -> QuerySet[Article]:
        # The raw page stays in the database; its compressed size is all the admin shows.
        return super().get_queryset(request).defer("raw_html").annotate(raw_size=Length("raw_html"))

    @admin.display(description="title", ordering="title")
    def headline(self, article: Article) -> str:
        return article.title or article.url

    @admin.display(description="raw HTML (compressed)")
    def raw_html_size(self, article: Article) -> str:
        size = getattr(article, "raw_size", None)
        return filesizeformat(size) if size else "-"

    def view_on_site(self, article: Article) -> str | None:
        return article_url(article) if article.state == Article.State.DONE else None
