"""Forms for logging in and for issuing API tokens."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.utils import timezone

from radflow.localtime import local_midnight


class LoginForm(AuthenticationForm):
    """Django's login form with one plain message for either a wrong name or a wrong password."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Username or password is incorrect.",
    }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs.update({"autocomplete": "username"})
        self.fields["password"].widget.attrs.update({"autocomplete": "current-password"})


class ApiTokenCreateForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.filter(is_active=True).order_by("username"),
        help_text="The account the interface engine or script acts as; it gets that user's rights.",
    )
    name = forms.CharField(
        max_length=80, help_text="What uses the token, e.g. “EHR interface engine”."
    )
    expires_on = forms.DateField(
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="The token stops working at the end of this day. Leave empty for no expiry.",
    )

    def clean_expires_on(self) -> date | None:
        value: date | None = self.cleaned_data.get("expires_on")
        if value is not None and value < timezone.localdate():
            raise forms.ValidationError("The expiry date must be today or later.")
        return value

    def expires_at(self) -> datetime | None:
        """End of the chosen day in the department's zone (midnight starting the next day)."""
        value: date | None = self.cleaned_data.get("expires_on")
        if value is None:
            return None
        return local_midnight(value + timedelta(days=1))
