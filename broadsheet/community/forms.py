from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.core.validators import MaxLengthValidator, MinLengthValidator


class SignUpForm(UserCreationForm):
    """Django's own sign-up form plus an e-mail address, which password resets need."""

    email = forms.EmailField(
        label="E-mail", help_text="Only used to reset your password.", max_length=254
    )

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"]
        if get_user_model().objects.filter(email__iexact=email).exists():
            raise forms.ValidationError("An account with this e-mail address already exists.")
        return email


class CommentForm(forms.Form):
    text = forms.CharField(
        label="Comment",
        strip=True,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": "Write something first."},
    )
    parent = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Read at use, not import, so operators and tests can change the limits.
        shortest = settings.BROADSHEET_COMMENT_MIN_CHARS
        longest = settings.BROADSHEET_COMMENT_MAX_CHARS
        text = self.fields["text"]
        text.validators += [MinLengthValidator(shortest), MaxLengthValidator(longest)]
        text.widget.attrs.update(minlength=str(shortest), maxlength=str(longest))
