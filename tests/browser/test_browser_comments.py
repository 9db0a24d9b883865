"""Accounts and comments, clicked through in a browser by three personas.

A new reader signs up, logs out and back in, and comments; a new account's first comment waits
for moderation (``rules.is_new_account``), so the reader sees it marked as waiting and a
stranger does not see it at all; the moderator approves it in the admin; then a long-standing
reader replies to it and reports it.
"""

from __future__ import annotations

import pytest

from tests.browser.conftest import PASSWORD, log_in

pytestmark = pytest.mark.slow

NEW_READER = "harbourwatcher"
FIRST_COMMENT = "The ferry timetable changes are the part that matters most to islanders."
REPLY = "Agreed, and the winter timetable is already thin."


def sign_up(watched, article_path: str) -> None:
    page = watched.page
    page.goto(article_path)
    page.click("#comments >> text=sign up")
    page.fill("input[name=username]", NEW_READER)
    page.fill("input[name=email]", f"{NEW_READER}@example.org")
    page.fill("input[name=password1]", PASSWORD)
    page.fill("input[name=password2]", PASSWORD)
    page.click("form.account-form button[type=submit]")
    page.wait_for_selector(f"text=Signed in as {NEW_READER}")


def log_out(watched) -> None:
    watched.page.click(".account-nav >> text=Log out")
    watched.page.wait_for_selector(".account-nav >> text=Log in")


def post(watched, text: str) -> None:
    watched.page.fill("#new-comment", text)
    watched.page.click("form.comment-form >> text=Post comment")
    watched.page.wait_for_selector(f".comment-text >> text={text}")


def approve_in_admin(watched, text: str) -> None:
    page = watched.page
    log_in(watched, "moderator")
    page.goto("/admin/community/comment/")
    row = page.locator("#result_list tbody tr", has_text=text[:30])
    row.locator("input.action-select").check()
    page.select_option("select[name=action]", "approve")
    page.click("button[name=index]")
    page.wait_for_selector(".messagelist")


def comment_block(watched, text: str):
    return watched.page.locator("article.comment", has_text=text)


def test_sign_up_log_in_comment_wait_for_moderation_then_reply_and_report(site, new_page):
    from broadsheet.community.models import Comment, Report

    article = site.sample_article()
    path = site.article_path(article)

    reader = new_page()
    sign_up(reader, path)
    assert reader.page.url.endswith(path + "#comments")
    log_out(reader)
    log_in(reader, NEW_READER)
    reader.page.goto(path)
    post(reader, FIRST_COMMENT)
    assert "waiting for moderation" in comment_block(reader, FIRST_COMMENT).inner_text()

    stranger = new_page()
    stranger.page.goto(path)
    assert stranger.page.locator(".comment-text", has_text=FIRST_COMMENT).count() == 0

    approve_in_admin(new_page(), FIRST_COMMENT)
    stranger.page.reload()
    shown = comment_block(stranger, FIRST_COMMENT)
    assert shown.count() == 1
    assert "waiting for moderation" not in shown.inner_text()

    regular = new_page()
    log_in(regular, "regular")
    regular.page.goto(path)
    thread = regular.page.locator("li.thread", has_text=FIRST_COMMENT)
    thread.locator("summary", has_text="Reply").click()
    thread.locator("textarea[name=text]").fill(REPLY)
    thread.locator("text=Post reply").click()
    reply = regular.page.locator("li.thread", has_text=FIRST_COMMENT).locator(".replies")
    reply.locator(f"text={REPLY}").wait_for()

    comment_block(regular, FIRST_COMMENT).locator("text=Report").click()
    comment_block(regular, FIRST_COMMENT).locator("text=Reported").wait_for()

    first = Comment.objects.get(text=FIRST_COMMENT)
    assert first.author.username == NEW_READER
    assert Comment.objects.get(text=REPLY).parent_id == first.pk
    assert Report.objects.filter(comment=first, reporter__username="regular").count() == 1
    for watched in (reader, stranger, regular):
        assert watched.dialogs == [] and watched.errors == []
