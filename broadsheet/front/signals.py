"""Which changes make cached pages stale: connected in ``FrontConfig.ready``."""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from broadsheet.front import pagecache


def loaded(instance, name: str):
    """A field's value only if it was loaded: reading a deferred field of a deleted row would
    query for a row that no longer exists."""
    return instance.__dict__.get(name)


def article_scopes(*ids) -> list[str]:
    return [pagecache.article_scope(pk) for pk in ids if pk]


def article_changed(sender, instance, **kwargs) -> None:
    # The original's page names its copies, so a copy's change makes it stale too.
    scopes = article_scopes(instance.pk, loaded(instance, "duplicate_of_id"))
    pagecache.bump(pagecache.ARTICLES, *scopes)


def comment_changed(sender, instance, **kwargs) -> None:
    pagecache.bump(pagecache.COMMENTS, *article_scopes(loaded(instance, "article_id")))


def enrichment_changed(sender, instance, **kwargs) -> None:
    # Tags and related rows also feed the front page's "most covered" strip and tag pages.
    pagecache.bump(pagecache.TAGS, *article_scopes(loaded(instance, "article_id")))


def ads_changed(sender, instance, **kwargs) -> None:
    pagecache.bump(pagecache.ARTICLES)


def connect() -> None:
    from broadsheet.articles.models import Article
    from broadsheet.community.models import Comment
    from broadsheet.enrichment.models import ArticleTag, Enrichment, RelatedArticle
    from broadsheet.front.models import AdSlot

    handlers = {
        Article: article_changed,
        Comment: comment_changed,
        ArticleTag: enrichment_changed,
        RelatedArticle: enrichment_changed,
        Enrichment: enrichment_changed,
        AdSlot: ads_changed,
    }
    for model, handler in handlers.items():
        uid = f"front-pagecache-{model.__name__}"
        post_save.connect(handler, sender=model, dispatch_uid=uid + "-save")
        post_delete.connect(handler, sender=model, dispatch_uid=uid + "-delete")
