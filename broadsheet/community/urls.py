from django.conf import settings
from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from broadsheet.community import views

ACCOUNT_TEMPLATES = "community/accounts"

urlpatterns = [
    path("accounts/signup/", views.sign_up, name="signup"),
    path("accounts/login/", views.LogInView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "accounts/password-reset/",
        auth_views.PasswordResetView.as_view(
            template_name=f"{ACCOUNT_TEMPLATES}/password_reset_form.html",
            email_template_name=f"{ACCOUNT_TEMPLATES}/password_reset_email.txt",
            subject_template_name=f"{ACCOUNT_TEMPLATES}/password_reset_subject.txt",
            success_url=reverse_lazy("password_reset_done"),
            # Without it the message would name the request's host rather than the site.
            extra_email_context={"site_name": settings.SITE_NAME},
        ),
        name="password_reset",
    ),
    path(
        "accounts/password-reset/sent/",
        auth_views.PasswordResetDoneView.as_view(
            template_name=f"{ACCOUNT_TEMPLATES}/password_reset_done.html"
        ),
        name="password_reset_done",
    ),
    path(
        "accounts/reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(
            template_name=f"{ACCOUNT_TEMPLATES}/password_reset_confirm.html",
            success_url=reverse_lazy("password_reset_complete"),
        ),
        name="password_reset_confirm",
    ),
    path(
        "accounts/reset/done/",
        auth_views.PasswordResetCompleteView.as_view(
            template_name=f"{ACCOUNT_TEMPLATES}/password_reset_complete.html"
        ),
        name="password_reset_complete",
    ),
    # Not under article/: the front app's article/<pk>/<slug>/ would take "comments" as a slug.
    path("comments/article/<int:pk>/", views.post_comment, name="comment-post"),
    path("comments/<int:pk>/edit/", views.edit_comment, name="comment-edit"),
    path("comments/<int:pk>/delete/", views.delete_comment, name="comment-delete"),
    path("comments/<int:pk>/report/", views.report_comment, name="comment-report"),
]
