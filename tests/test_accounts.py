"""Accounts: sign up, log in, log out and password reset, with a reader and a stranger.

Passwords are hashed for real here (argon2), so only these tests pay for it; the comment tests
log their personas in without a password.
"""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

PASSWORD = "correct horse battery staple 7"
NEW_PASSWORD = "a different tide table 42"


@pytest.fixture(autouse=True)
def fresh_counters():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def stranger() -> Client:
    return Client()


@pytest.fixture
def reader_account() -> User:
    return User.objects.create_user("reader", "reader@example.invalid", PASSWORD)


def sign_up(browser: Client, name="newreader", email="new@example.invalid", **overrides):
    data = {"username": name, "email": email, "password1": PASSWORD, "password2": PASSWORD}
    data.update(overrides)
    return browser.post(reverse("signup"), data)


def log_in(browser: Client, name="reader", password=PASSWORD):
    return browser.post(reverse("login"), {"username": name, "password": password})


@pytest.mark.django_db
def test_stranger_signs_up_is_signed_in_and_the_password_is_argon2(stranger):
    response = sign_up(stranger)

    assert response.status_code == 302
    assert response["Location"] == "/"
    user = User.objects.get(username="newreader")
    assert user.email == "new@example.invalid"
    assert user.password.startswith("argon2$argon2id$")
    assert PASSWORD not in user.password
    assert get_user(stranger).pk == user.pk


@pytest.mark.django_db
def test_sign_up_returns_to_the_page_it_came_from_but_never_off_site(stranger):
    back = stranger.post(
        reverse("signup") + "?next=/article/1/x/%23comments",
        {
            "username": "a1",
            "email": "a1@example.invalid",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    away = Client().post(
        reverse("signup"),
        {
            "username": "a2",
            "email": "a2@example.invalid",
            "password1": PASSWORD,
            "password2": PASSWORD,
            "next": "https://elsewhere.example/",
        },
    )

    assert back["Location"] == "/article/1/x/#comments"
    assert away["Location"] == "/"


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"password2": "something else entirely"}, "didn’t match"),
        ({"email": "not-an-address"}, "valid email address"),
        ({"password1": "12345678", "password2": "12345678"}, "too common"),
        ({"username": "bad name!"}, "Enter a valid username"),
    ],
)
def test_bad_sign_up_is_400_and_creates_nobody(stranger, overrides, message):
    response = sign_up(stranger, **overrides)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert not User.objects.exists()


@pytest.mark.django_db
def test_one_address_per_account(stranger, reader_account):
    response = sign_up(stranger, email="READER@example.invalid")

    assert response.status_code == 400
    assert "already exists" in response.content.decode()


@pytest.mark.django_db
def test_sign_ups_are_rate_limited_per_address(settings):
    settings.BROADSHEET_SIGNUP_RATE_PER_IP = 1
    first = sign_up(Client(REMOTE_ADDR="203.0.113.5"), "first", "first@example.invalid")
    second = sign_up(Client(REMOTE_ADDR="203.0.113.5"), "second", "second@example.invalid")

    assert (first.status_code, second.status_code) == (302, 429)
    assert list(User.objects.values_list("username", flat=True)) == ["first"]


@pytest.mark.django_db
def test_reader_logs_in_and_out(stranger, reader_account):
    assert log_in(stranger).status_code == 302
    assert get_user(stranger).is_authenticated
    header = stranger.get("/").content.decode()
    assert "Signed in as reader" in header
    assert 'action="/accounts/logout/"' in header

    assert stranger.get(reverse("logout")).status_code == 405  # log out only by form
    assert stranger.post(reverse("logout")).status_code == 302
    assert not get_user(stranger).is_authenticated


@pytest.mark.django_db
def test_wrong_password_is_400(stranger, reader_account):
    response = log_in(stranger, password="guess")

    assert response.status_code == 400
    assert not get_user(stranger).is_authenticated


@pytest.mark.django_db
def test_stranger_sees_log_in_and_sign_up_in_the_header(stranger):
    html = stranger.get("/").content.decode()

    assert 'href="/accounts/login/"' in html
    assert 'href="/accounts/signup/"' in html
    assert "Log out" not in html


@pytest.mark.django_db
def test_password_reset_by_email_works_once(stranger, reader_account):
    response = stranger.post(reverse("password_reset"), {"email": "reader@example.invalid"})

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reader@example.invalid"]
    link = re.search(r"http://testserver(/accounts/reset/\S+/)", message.body).group(1)

    form_page = stranger.get(link, follow=True)
    assert "Choose a new password" in form_page.content.decode()
    done = stranger.post(
        form_page.redirect_chain[-1][0],
        {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert done.status_code == 302
    assert done["Location"] == reverse("password_reset_complete")

    assert log_in(Client(), password=PASSWORD).status_code == 400
    assert log_in(Client(), password=NEW_PASSWORD).status_code == 302
    reused = Client().get(link, follow=True).content.decode()
    assert "no longer works" in reused


@pytest.mark.django_db
def test_password_reset_for_an_unknown_address_sends_nothing_and_says_the_same(stranger):
    response = stranger.post(reverse("password_reset"), {"email": "nobody@example.invalid"})

    assert response.status_code == 302
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []
