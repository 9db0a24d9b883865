"""Comments, replies, reports, moderation and limits, told through personas.

A reader (an established account), a neighbour (another established reader), a newcomer (an
account made today), a moderator (staff with the moderation permission) and a stranger (not
signed in) meet on one published article.
"""

from __future__ import annotations

import re
from datetime import timedelta
from itertools import count

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from broadsheet.articles.models import Article
from broadsheet.community.models import Comment, Member
from broadsheet.front.links import article_url
from broadsheet.sources.models import Source

_serial = count(1)


@pytest.fixture(autouse=True)
def fresh_counters():
    """Rate-limit counters live in the cache, which outlives a test's database transaction."""
    cache.clear()
    yield
    cache.clear()


def make_user(name: str, *, days_old: int = 30, **fields) -> User:
    user = User.objects.create_user(name, f"{name}@example.invalid", None, **fields)
    User.objects.filter(pk=user.pk).update(date_joined=timezone.now() - timedelta(days=days_old))
    user.refresh_from_db()
    return user


def signed_in(user: User, **client_options) -> Client:
    browser = Client(**client_options)
    browser.force_login(user)
    return browser


def make_article(title="Harbour bridge reopens", state=Article.State.DONE) -> Article:
    n = next(_serial)
    source, _ = Source.objects.get_or_create(
        slug="harbour-gazette",
        defaults={"name": "Harbour Gazette", "homepage": "https://harbour.example/"},
    )
    return Article.objects.create(
        source=source,
        title=title,
        url=f"https://harbour.example/news/{n}",
        url_key=f"comments-key-{n}",
        state=state,
        published_at=timezone.now() - timedelta(hours=1),
        text="The bridge reopened this morning.",
    )


@pytest.fixture
def article() -> Article:
    return make_article()


@pytest.fixture
def reader() -> Client:
    return signed_in(make_user("reader"))


@pytest.fixture
def neighbour() -> Client:
    return signed_in(make_user("neighbour"))


@pytest.fixture
def newcomer() -> Client:
    return signed_in(make_user("newcomer", days_old=0))


@pytest.fixture
def stranger() -> Client:
    return Client()


@pytest.fixture
def moderator() -> Client:
    user = make_user("moderator", is_staff=True)
    wanted = ["view_comment", "change_comment", "moderate_comment", "view_member"]
    user.user_permissions.set(Permission.objects.filter(codename__in=wanted))
    return signed_in(user)


def user_of(browser: Client) -> User:
    return User.objects.get(pk=browser.session["_auth_user_id"])


def post_comment(browser: Client, article: Article, text: str, **extra):
    url = reverse("comment-post", args=[article.pk])
    return browser.post(url, {"text": text, **extra.pop("data", {})}, **extra)


def page(browser: Client, article: Article) -> str:
    response = browser.get(article_url(article))
    assert response.status_code == 200
    return response.content.decode()


def comments_section(html: str) -> str:
    return html[html.index('id="comments"') :]


# --- Reading ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_stranger_sees_no_comments_yet_and_an_invitation_to_log_in(stranger, article):
    html = comments_section(page(stranger, article))

    assert "No comments yet." in html
    assert "<textarea" not in html
    assert f'href="/accounts/login/?next={article_url(article)}%23comments"' in html
    assert "csrfmiddlewaretoken" not in page(stranger, article)


@pytest.mark.django_db
def test_stranger_cannot_post(stranger, article):
    response = post_comment(stranger, article, "Hello from nowhere")

    assert response.status_code == 403
    assert b"Log in" in response.content
    assert not Comment.objects.exists()


# --- Posting and replying -----------------------------------------------------------------


@pytest.mark.django_db
def test_reader_comments_and_everyone_sees_it(reader, stranger, article):
    response = post_comment(reader, article, "Good to have the bridge back.")

    comment = Comment.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{article_url(article)}#comment-{comment.pk}"
    assert comment.status == Comment.Status.SHOWN
    html = comments_section(page(stranger, article))
    assert "Good to have the bridge back." in html
    assert "No comments yet." not in html
    assert "reader" in html


@pytest.mark.django_db
def test_article_lists_show_the_comment_count(reader, neighbour, stranger, article):
    post_comment(reader, article, "First thought.")
    post_comment(neighbour, article, "Second thought.")

    html = stranger.get("/").content.decode()

    assert f'href="{article_url(article)}#comments">2 comments</a>' in html


@pytest.mark.django_db
def test_reader_replies_and_a_reply_to_a_reply_joins_the_thread(reader, neighbour, article):
    post_comment(reader, article, "Opening remark.")
    root = Comment.objects.get()
    post_comment(neighbour, article, "A reply.", data={"parent": root.pk})
    reply = Comment.objects.get(text="A reply.")
    post_comment(reader, article, "A reply to the reply.", data={"parent": reply.pk})

    assert reply.parent == root
    assert Comment.objects.get(text="A reply to the reply.").parent == root
    html = comments_section(page(reader, article))
    replies = html[html.index('class="replies"') :]
    assert replies.index("A reply.") < replies.index("A reply to the reply.")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"text": ""}, "Write something first."),
        ({"text": "   "}, "Write something first."),
        ({"text": "x" * 4001}, "at most 4000 characters"),
        ({"text": "fine words", "parent": "abc"}, "whole number"),
        ({"text": "nul\x00byte"}, "Null characters"),
    ],
)
def test_bad_comments_are_400_with_a_message(reader, article, data, message):
    response = reader.post(reverse("comment-post", args=[article.pk]), data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_replying_across_articles_is_refused(reader, article):
    elsewhere = make_article("Ferry timetable")
    post_comment(reader, elsewhere, "Over there.")

    response = post_comment(reader, article, "Here.", data={"parent": Comment.objects.get().pk})

    assert response.status_code == 400
    assert Comment.objects.count() == 1


@pytest.mark.django_db
def test_errors_come_as_json_when_asked(stranger, article):
    response = post_comment(stranger, article, "Hi", HTTP_ACCEPT="application/json")

    assert response.status_code == 403
    assert response.json() == {"error": "Log in to take part in the comments."}


@pytest.mark.django_db
def test_unpublished_or_missing_articles_take_no_comments(reader):
    pending = make_article("Not ready", state=Article.State.PENDING)

    assert post_comment(reader, pending, "Early bird.").status_code == 404
    assert reader.post(reverse("comment-post", args=[999999]), {"text": "?"}).status_code == 404
    assert reader.get(reverse("comment-post", args=[pending.pk])).status_code == 405
    assert not Comment.objects.exists()


@pytest.mark.django_db
def test_forms_without_a_csrf_token_are_refused(article):
    careful = signed_in(make_user("careful"), enforce_csrf_checks=True)

    assert post_comment(careful, article, "No token here.").status_code == 403
    assert not Comment.objects.exists()


# --- Editing and deleting -----------------------------------------------------------------


@pytest.mark.django_db
def test_reader_edits_within_the_window(reader, article):
    post_comment(reader, article, "Teh bridge.")
    comment = Comment.objects.get()
    edit = reverse("comment-edit", args=[comment.pk])

    assert "Teh bridge." in reader.get(edit).content.decode()
    assert reader.post(edit, {"text": "The bridge."}).status_code == 302
    comment.refresh_from_db()
    assert comment.text == "The bridge."
    assert comment.edited_at is not None
    assert "edited" in comments_section(page(reader, article))


@pytest.mark.django_db
def test_edits_after_the_window_are_refused(reader, article, settings):
    settings.BROADSHEET_COMMENT_EDIT_MINUTES = 10
    post_comment(reader, article, "Too late to fix.")
    comment = Comment.objects.get()
    Comment.objects.filter(pk=comment.pk).update(created_at=timezone.now() - timedelta(minutes=11))

    response = reader.post(reverse("comment-edit", args=[comment.pk]), {"text": "Fixed."})

    assert response.status_code == 403
    assert "10 minutes" in response.content.decode()
    comment.refresh_from_db()
    assert comment.text == "Too late to fix."
    assert ">Edit<" not in comments_section(page(reader, article))


@pytest.mark.django_db
def test_nobody_edits_or_deletes_another_readers_comment(reader, neighbour, stranger, article):
    post_comment(reader, article, "Mine.")
    comment = Comment.objects.get()

    for browser, status in [(neighbour, 403), (stranger, 403)]:
        edit = browser.post(reverse("comment-edit", args=[comment.pk]), {"text": "Yours now."})
        delete = browser.post(reverse("comment-delete", args=[comment.pk]))
        assert (edit.status_code, delete.status_code) == (status, status)
    comment.refresh_from_db()
    assert (comment.text, comment.deleted_at) == ("Mine.", None)


@pytest.mark.django_db
def test_deleting_leaves_a_placeholder_that_keeps_the_replies(reader, neighbour, stranger, article):
    post_comment(reader, article, "Regrettable opinion.")
    root = Comment.objects.get()
    post_comment(neighbour, article, "A fair reply.", data={"parent": root.pk})

    response = reader.post(reverse("comment-delete", args=[root.pk]))

    assert response.status_code == 302
    html = comments_section(page(stranger, article))
    assert "Regrettable opinion." not in html
    assert "Comment deleted" in html
    assert "A fair reply." in html
    assert "Comments <span" in html and "(1)" in html
    # Deleting twice is refused rather than silently repeated.
    assert reader.post(reverse("comment-delete", args=[root.pk])).status_code == 403


# --- Reports ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_reader_reports_once_and_enough_reports_hide_the_comment(
    reader, neighbour, newcomer, stranger, article, settings
):
    settings.BROADSHEET_COMMENT_REPORTS_TO_HIDE = 2
    post_comment(reader, article, "Provocative claim.")
    comment = Comment.objects.get()
    report = reverse("comment-report", args=[comment.pk])

    assert reader.post(report).status_code == 403  # one's own
    assert stranger.post(report).status_code == 403
    assert neighbour.post(report).status_code == 302
    assert neighbour.post(report).status_code == 400  # twice
    assert "Reported" in comments_section(page(neighbour, article))
    comment.refresh_from_db()
    assert (comment.report_count, comment.status) == (1, Comment.Status.SHOWN)

    assert newcomer.post(report).status_code == 302

    comment.refresh_from_db()
    assert (comment.report_count, comment.status) == (2, Comment.Status.HELD)
    assert comment.held_for == Comment.HeldFor.REPORTS
    assert "Provocative claim." not in page(stranger, article)


# --- Holding for moderation ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_newcomers_first_comments_wait_for_a_moderator(newcomer, stranger, article, settings):
    settings.BROADSHEET_COMMENT_TRUSTED_AFTER = 1
    post_comment(newcomer, article, "Hello, first time here.")
    first = Comment.objects.get()

    assert (first.status, first.held_for) == (Comment.Status.HELD, Comment.HeldFor.NEW_ACCOUNT)
    assert "Hello, first time here." not in page(stranger, article)
    own_view = comments_section(page(newcomer, article))
    assert "Hello, first time here." in own_view
    assert "waiting for moderation" in own_view

    Comment.objects.filter(pk=first.pk).update(status=Comment.Status.SHOWN)
    post_comment(newcomer, article, "Second time, now trusted.")

    assert Comment.objects.get(text__startswith="Second").status == Comment.Status.SHOWN


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text",
    [
        "Deals: https://a.example https://b.example https://c.example "
        "https://d.example https://e.example",
        "Buy cheapwatches today",
    ],
)
def test_spammy_comments_are_held(reader, stranger, article, settings, text):
    settings.BROADSHEET_COMMENT_BAD_WORDS = ["CheapWatches"]

    post_comment(reader, article, text)

    comment = Comment.objects.get()
    assert (comment.status, comment.held_for) == (Comment.Status.HELD, Comment.HeldFor.SPAM)
    assert comment.spam_score >= settings.BROADSHEET_COMMENT_SPAM_THRESHOLD
    assert "No comments yet." in page(stranger, article)


@pytest.mark.django_db
def test_saying_the_same_thing_again_and_again_is_held(reader, article):
    other = make_article("Ferry timetable")
    for target in (article, other, article):
        post_comment(reader, target, "Visit my page  for more!")

    statuses = list(Comment.objects.order_by("id").values_list("status", flat=True))

    assert statuses == [Comment.Status.SHOWN, Comment.Status.SHOWN, Comment.Status.HELD]


@pytest.mark.django_db
def test_an_edit_that_turns_into_spam_is_held(reader, article, settings):
    settings.BROADSHEET_COMMENT_BAD_WORDS = ["cheapwatches"]
    post_comment(reader, article, "Innocent words.")
    comment = Comment.objects.get()

    reader.post(reverse("comment-edit", args=[comment.pk]), {"text": "cheapwatches!"})

    comment.refresh_from_db()
    assert comment.status == Comment.Status.HELD


# --- Rate limits --------------------------------------------------------------------------


@pytest.mark.django_db
def test_rate_limit_per_account_across_addresses(reader, article, settings):
    settings.BROADSHEET_COMMENT_RATE_PER_USER = 2
    addresses = ["192.0.2.1", "192.0.2.2", "192.0.2.3"]

    codes = [
        post_comment(reader, article, f"Note {i}", REMOTE_ADDR=ip).status_code
        for i, ip in enumerate(addresses)
    ]

    assert codes == [302, 302, 429]
    assert Comment.objects.count() == 2


@pytest.mark.django_db
def test_rate_limit_per_address_across_accounts(reader, neighbour, article, settings):
    settings.BROADSHEET_COMMENT_RATE_PER_IP = 2
    shared = {"REMOTE_ADDR": "198.51.100.7"}

    first = post_comment(reader, article, "One", **shared)
    second = post_comment(neighbour, article, "Two", **shared)
    third = post_comment(neighbour, article, "Three", **shared)
    elsewhere = post_comment(neighbour, article, "Four", REMOTE_ADDR="198.51.100.8")

    assert [first.status_code, second.status_code, third.status_code] == [302, 302, 429]
    assert b"too fast" in third.content
    assert elsewhere.status_code == 302


# --- Escaping and links -------------------------------------------------------------------


@pytest.mark.django_db
def test_hostile_text_is_escaped_and_only_web_links_are_linked(reader, stranger, article):
    hostile = (
        "<script>alert('x')</script> "
        "javascript:alert(1) "
        '"><img src=x onerror=alert(1)> '
        "see https://harbour.example/tides?a=1&b=2 now"
    )
    post_comment(reader, article, hostile)

    html = comments_section(page(stranger, article))
    text = html[
        html.index('class="comment-text"') : html.index("</div>", html.index("comment-text"))
    ]

    assert "<script" not in text
    assert "&lt;script&gt;" in text
    assert "<img" not in text
    assert 'href="javascript' not in text
    links = re.findall(r"<a [^>]*>", text)
    assert links == [
        '<a href="https://harbour.example/tides?a=1&amp;b=2" rel="nofollow ugc noopener">'
    ]


# --- Bans ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_banned_reader_is_refused(reader, article):
    Member.objects.create(user=user_of(reader), is_banned=True)

    response = post_comment(reader, article, "Let me back in.")

    assert response.status_code == 403
    assert not Comment.objects.exists()
    assert "may not post comments" in comments_section(page(reader, article))


# --- Moderation in the admin --------------------------------------------------------------


def run_action(browser: Client, action: str, comments) -> None:
    url = reverse("admin:community_comment_changelist")
    data = {"action": action, "_selected_action": [c.pk for c in comments]}
    response = browser.post(url, data)
    assert response.status_code == 302, response.content[:500]


@pytest.mark.django_db
def test_moderation_queue_lists_held_and_reported_comments(moderator, reader, newcomer, article):
    post_comment(reader, article, "Ordinary remark.")
    post_comment(reader, article, "Reported remark.")
    post_comment(newcomer, article, "Held remark.")
    Comment.objects.filter(text="Reported remark.").update(report_count=1)

    url = reverse("admin:community_comment_changelist") + "?review=waiting"
    html = moderator.get(url).content.decode()

    assert "Held remark." in html
    assert "Reported remark." in html
    assert "Ordinary remark." not in html


@pytest.mark.django_db
def test_moderator_approves_and_hides(moderator, newcomer, reader, stranger, article):
    post_comment(newcomer, article, "Waiting patiently.")
    post_comment(reader, article, "Over the line.")
    held, rude = Comment.objects.order_by("id")

    run_action(moderator, "approve", [held])
    run_action(moderator, "hide", [rude])

    html = comments_section(page(stranger, article))
    assert "Waiting patiently." in html
    assert "Over the line." not in html
    held.refresh_from_db()
    assert held.reviewed_by == user_of(moderator)


@pytest.mark.django_db
def test_moderator_bans_an_author_who_then_cannot_post(moderator, newcomer, article):
    post_comment(newcomer, article, "Spam, spam, spam.")

    run_action(moderator, "ban_authors", Comment.objects.all())

    assert Member.objects.get(user=user_of(newcomer)).is_banned
    assert Comment.objects.get().status == Comment.Status.HIDDEN
    assert post_comment(newcomer, article, "Another go.").status_code == 403


@pytest.mark.django_db
def test_staff_without_the_permission_cannot_moderate(newcomer, article):
    staffer = make_user("staffer", is_staff=True)
    staffer.user_permissions.set(
        Permission.objects.filter(codename__in=["view_comment", "change_comment"])
    )
    browser = signed_in(staffer)
    post_comment(newcomer, article, "Still held.")

    url = reverse("admin:community_comment_changelist")
    browser.post(url, {"action": "approve", "_selected_action": [Comment.objects.get().pk]})

    assert Comment.objects.get().status == Comment.Status.HELD
    assert "Approve" not in browser.get(url).content.decode()
