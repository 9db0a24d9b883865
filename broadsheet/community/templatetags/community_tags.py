"""The comments section of an article page, as one inclusion tag, so front's view stays as is."""

from __future__ import annotations

from django import template
from django.conf import settings

from broadsheet.community import queries, rules, text

register = template.Library()


@register.inclusion_tag("community/_comments.html", takes_context=True)
def comments_section(context, article):
    request = context["request"]
    viewer = request.user
    threads = queries.thread_for(article, viewer)
    return {
        "article": article,
        "threads": threads,
        "shown_count": sum(
            int(c.is_public) + sum(r.is_public for r in c.shown_replies) for c in threads
        ),
        "viewer": viewer,
        "may_post": viewer.is_authenticated and not rules.is_banned(viewer),
        "reported": queries.reported_by(viewer, article),
        "max_chars": settings.BROADSHEET_COMMENT_MAX_CHARS,
        "request": request,
        "csrf_token": context.get("csrf_token"),
    }


@register.filter
def comment_html(value: str):
    return text.comment_html(value)


@register.filter
def editable_by(comment, user) -> bool:
    return rules.is_editable_by(comment, user)
