"""The moderation queue: comments held or reported, with approve, hide and ban actions.

Moderators are staff with the ``community.moderate_comment`` permission (plus view/change on
comments to reach the list); the actions refuse anyone without it.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.defaultfilters import truncatechars

from broadsheet.community import actions, queries
from broadsheet.community.models import Comment, Member, Report


class ReviewFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("waiting", "Waiting for review (held or reported)")]

    def queryset(self, request, queryset):
        if self.value() == "waiting":
            return queryset.filter(queries.needs_review())
        return queryset


class ReportInline(admin.TabularInline):
    model = Report
    extra = 0
    can_delete = False
    fields = ("reporter", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    list_display = (
        "short_text",
        "author",
        "article",
        "status",
        "held_for",
        "report_count",
        "spam_score",
        "created_at",
    )
    list_filter = (ReviewFilter, "status", "held_for")
    list_select_related = ("author", "article")
    search_fields = ("text", "author__username")
    date_hierarchy = "created_at"
    actions = ("approve", "hide", "ban_authors")
    inlines = (ReportInline,)
    readonly_fields = (
        "article",
        "author",
        "parent",
        "text",
        "spam_score",
        "report_count",
        "created_at",
        "edited_at",
        "deleted_at",
        "reviewed_at",
        "reviewed_by",
    )
    fields = ("status", "held_for", *readonly_fields)

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .defer("article__raw_html", "article__text", "article__body_html")
        )

    def has_add_permission(self, request):
        return False

    def has_moderate_permission(self, request):
        return request.user.has_perm("community.moderate_comment")

    @admin.display(description="comment")
    def short_text(self, comment: Comment) -> str:
        return truncatechars(comment.text, 80)

    @admin.action(description="Approve: show the selected comments", permissions=["moderate"])
    def approve(self, request, queryset):
        count = actions.do_approve_comments(queryset, request.user)
        self.message_user(request, f"{count} comment(s) shown.", messages.SUCCESS)

    @admin.action(description="Hide the selected comments", permissions=["moderate"])
    def hide(self, request, queryset):
        count = actions.do_hide_comments(queryset, request.user)
        self.message_user(request, f"{count} comment(s) hidden.", messages.SUCCESS)

    @admin.action(
        description="Ban the authors and hide the selected comments", permissions=["moderate"]
    )
    def ban_authors(self, request, queryset):
        authors = list(queryset.values_list("author_id", flat=True).distinct())
        actions.do_hide_comments(queryset, request.user)
        count = actions.do_ban_users(authors, request.user)
        self.message_user(request, f"{count} account(s) banned.", messages.SUCCESS)


@admin.register(Member)
class MemberAdmin(admin.ModelAdmin):
    list_display = ("user", "is_banned", "banned_at", "banned_by")
    list_filter = ("is_banned",)
    search_fields = ("user__username",)
    readonly_fields = ("user", "banned_at", "banned_by")
    actions = ("unban",)

    def has_add_permission(self, request):
        return False

    def has_moderate_permission(self, request):
        return request.user.has_perm("community.moderate_comment")

    @admin.action(description="Lift the ban", permissions=["moderate"])
    def unban(self, request, queryset):
        count = actions.do_unban_users(queryset.values_list("user_id", flat=True))
        self.message_user(request, f"{count} ban(s) lifted.", messages.SUCCESS)
