"""Forms of the sign-in and security pages. They parse input; the services do the work."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import authenticate
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from .lockout import is_locked_out, lockout_message


class BootstrapMixin:
    """Bootstrap 5 classes on every widget; ``is-invalid`` on fields with errors."""

    def _style(self) -> None:
        for name, field in self.fields.items():  # type: ignore[attr-defined]
            css = "form-check-input" if isinstance(field.widget, forms.CheckboxInput) else "form-control"
            if self.is_bound and name in self.errors:  # type: ignore[attr-defined]
                css += " is-invalid"
            field.widget.attrs["class"] = css

    def full_clean(self) -> None:
        super().full_clean()  # type: ignore[misc]
        self._style()


class StyledForm(BootstrapMixin, forms.Form):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._style()


class LoginForm(StyledForm):
    username = forms.CharField(
        label=_("Username"), max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def __init__(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        self.request = request
        self.user: Any = None
        self.locked_out = False
        super().__init__(*args, **kwargs)
        self.fields["username"].widget.attrs["autofocus"] = True

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        username, password = data.get("username"), data.get("password")
        if username and password:
            # authenticate() with the request: django-axes counts failures and locks out.
            self.user = authenticate(self.request, username=username, password=password)
            if self.user is None:
                if is_locked_out(self.request):
                    self.locked_out = True
                    raise forms.ValidationError(lockout_message(), code="locked_out")
                raise forms.ValidationError(
                    _("Please enter a correct username and password. Both are case-sensitive."),
                    code="invalid_login",
                )
        return data


class OtpForm(StyledForm):
    otp = forms.CharField(
        label=_("Authentication code"),
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["otp"].widget.attrs["autofocus"] = True


class PasswordResetForm(StyledForm):
    email = forms.EmailField(
        label=_("Email"), max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"})
    )


class SetPasswordForm(StyledForm):
    new_password = forms.CharField(
        label=_("New password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=_("At least 12 characters; not a common password and not similar to your name or email."),
    )
    new_password_again = forms.CharField(
        label=_("New password again"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        a, b = data.get("new_password"), data.get("new_password_again")
        if a and b and a != b:
            self.add_error("new_password_again", _("The two passwords do not match."))
        return data


class PasswordChangeForm(SetPasswordForm):
    old_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    field_order = ["old_password", "new_password", "new_password_again"]


class TokenCreateForm(StyledForm):
    name = forms.CharField(label=_("Name"), max_length=120, initial="API")
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"),
        min_value=0,
        max_value=3650,
        required=False,
        help_text=_("Leave empty for the default; 0 means the token never expires."),
    )


def flat_messages(messages: Any) -> list[str]:
    """A service error's messages as text: a list as it is, a nested dict (custom fields, rule
    conditions) as "key: message"."""
    if isinstance(messages, dict):
        return [f"{k}: {m}" for k, v in messages.items() for m in flat_messages(v)]
    if isinstance(messages, list | tuple):
        return [str(m) for m in messages]
    return [str(messages)]


def apply_errors(form: forms.Form, errors: dict[str, Any], rename: dict[str, str] | None = None) -> None:
    """Put a service's ValidationError({field: [messages]}) onto the form's fields (``rename``:
    service key → form field, where the form calls it otherwise; unknown keys: form-wide)."""
    rename = rename or {}
    for key, messages in errors.items():
        field = rename.get(key, key)
        target = field if field in form.fields else None
        for message in flat_messages(messages):
            form.add_error(target, message)
    if isinstance(form, BootstrapMixin):
        form._style()
