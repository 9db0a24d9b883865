"""Accounts and comments over HTTP. Thin: rules.check_* decide, actions.do_* change.

Every refusal is a CommunityError carrying its status (400, 403, 429); ``answers_problems``
turns it into a page, or into ``{"error": ...}`` for a client that asked for JSON.
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from broadsheet.community import actions, rules
from broadsheet.community.errors import CommunityError
from broadsheet.community.forms import CommentForm, SignUpForm
from broadsheet.core.ratelimit import client_ip
from broadsheet.front.links import article_url


def same_site(request, url: str) -> str:
    return url if url_has_allowed_host_and_scheme(url, {request.get_host()}) else ""


def problem(request, error: CommunityError):
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({"error": error.message}, status=error.status)
    context = {
        "message": error.message,
        "back": same_site(request, request.headers.get("Referer", "")),
    }
    return render(request, "community/problem.html", context, status=error.status)


def answers_problems(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except CommunityError as error:
            return problem(request, error)

    return wrapper


def back_to(comment) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{article_url(comment.article)}#comment-{comment.pk}")


@require_POST
@answers_problems
def post_comment(request, pk: int):
    article = rules.public_article(pk)
    rules.check_can_post(request.user)
    rules.check_comment_rate(request.user, client_ip(request))
    data = rules.check_form(CommentForm(request.POST))
    parent = rules.check_parent(article, data["parent"])
    comment = actions.do_post_comment(article, request.user, data["text"], parent)
    return back_to(comment)


@require_http_methods(["GET", "POST"])
@answers_problems
def edit_comment(request, pk: int):
    comment = rules.comment_on_public_article(pk)
    rules.check_can_edit(comment, request.user)
    if request.method == "GET":
        form = CommentForm(initial={"text": comment.text})
        return render(request, "community/edit.html", {"comment": comment, "form": form})
    data = rules.check_form(CommentForm(request.POST))
    actions.do_edit_comment(comment, data["text"])
    return back_to(comment)


@require_POST
@answers_problems
def delete_comment(request, pk: int):
    comment = rules.comment_on_public_article(pk)
    rules.check_own(comment, request.user)
    actions.do_delete_comment(comment)
    return back_to(comment)


@require_POST
@answers_problems
def report_comment(request, pk: int):
    comment = rules.comment_on_public_article(pk)
    rules.check_can_report(comment, request.user)
    actions.do_report_comment(comment, request.user)
    return back_to(comment)


def safe_next(request) -> str:
    wanted = request.POST.get("next") or request.GET.get("next") or ""
    return same_site(request, wanted) or reverse(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
@answers_problems
def sign_up(request):
    form = SignUpForm(request.POST or None)
    if request.method == "POST":
        rules.check_signup_rate(client_ip(request))
        if form.is_valid():
            user = actions.do_sign_up(form)
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return HttpResponseRedirect(safe_next(request))
    status = 400 if form.is_bound else 200
    context = {"form": form, "next": safe_next(request)}
    return render(request, "community/accounts/signup.html", context, status=status)


class LogInView(auth_views.LoginView):
    """Django's login view; a wrong password is a 400, like any other bad form."""

    template_name = "community/accounts/login.html"
    redirect_authenticated_user = True

    def form_invalid(self, form):
        return self.render_to_response(self.get_context_data(form=form), status=400)
