"""Server-rendered sign-in and security pages. Thin: parse a form, call a service, render.

/login/ (+ /login/otp/ when 2FA is on) · /logout/ · /password-reset/… · /step-up/ ·
/profile/security/ (2FA, API tokens, sessions, password) · /profile/security/2fa/ (enrolment)
"""

from __future__ import annotations

import time
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from huoban.platform.errors import PermissionDeniedError, ValidationError

from . import services
from .forms import (
    LoginForm,
    OtpForm,
    PasswordChangeForm,
    PasswordResetForm,
    SetPasswordForm,
    TokenCreateForm,
    apply_errors,
)
from .lockout import STATUS as LOCKOUT_STATUS
from .lockout import is_allowed, is_locked_out, lockout_message, mark_handled, record_failure
from .middleware import ENROLMENT_PAGE
from .models import ApiToken, User, UserSession
from .stepup import step_up_fresh, step_up_until, step_up_verify
from .twofactor import (
    enrolment_for,
    enrolment_required,
    pending_device,
    two_factor_confirm,
    two_factor_disable,
    two_factor_required,
    two_factor_start,
    user_has_2fa,
    verify_otp,
)

PENDING = "huoban_pending_login"  # session key: password checked, waiting for the OTP code
PENDING_TTL = 300  # seconds


def safe_next(request: HttpRequest, default: str = "/") -> str:
    """The ?next= (or posted next) target when it stays on this site, else ``default``."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if (
        candidate
        and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
        )
        and not candidate.startswith(("/logout/", "/login/"))
    ):
        return candidate
    return default


def _with_next(url: str, next_url: str) -> str:
    return f"{url}?{urlencode({'next': next_url})}" if next_url and next_url != "/" else url


def _locked_out_page(request: HttpRequest) -> HttpResponse:
    response = render(
        request, "identity/locked_out.html", {"message": lockout_message()}, status=LOCKOUT_STATUS
    )
    return mark_handled(response)


def _complete_login(request: HttpRequest, user: Any, device: Any = None) -> None:
    if device is not None:
        user.otp_device = device  # django-otp marks the session as verified on login
    auth_login(request, user)


def _after_login(user: Any, next_url: str) -> HttpResponse:
    if enrolment_required(user):
        return redirect(_with_next(ENROLMENT_PAGE, next_url))
    return redirect(next_url)


# --- sign in / out ------------------------------------------------------------------------------


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, settings.LOGIN_REDIRECT_URL)
    if request.method == "GET" and request.user.is_authenticated:
        return redirect(next_url)
    form = LoginForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.user
        if user_has_2fa(user):
            request.session[PENDING] = {
                "user": user.pk,
                "backend": user.backend,
                "at": time.time(),
                "next": next_url,
            }
            return redirect("/login/otp/")
        _complete_login(request, user)
        return _after_login(user, next_url)
    response = render(
        request,
        "identity/login.html",
        {"form": form, "next": next_url},
        status=LOCKOUT_STATUS if form.locked_out else 200,
    )
    return mark_handled(response) if form.locked_out else response


def _pending_user(request: HttpRequest) -> tuple[Any, dict[str, Any]] | None:
    pending = request.session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) > PENDING_TTL:
        request.session.pop(PENDING, None)
        return None
    pk = pending.get("user")
    user = User.objects.filter(pk=int(pk), is_active=True).first() if isinstance(pk, int) else None
    if user is None:
        request.session.pop(PENDING, None)
        return None
    return user, pending


@sensitive_post_parameters("otp")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def login_otp_view(request: HttpRequest) -> HttpResponse:
    found = _pending_user(request)
    if found is None:
        messages.info(request, _("Your login took too long. Please log in again."))
        return redirect("/login/")
    user, pending = found
    if not is_allowed(request, user.get_username()):
        request.session.pop(PENDING, None)
        return _locked_out_page(request)
    form = OtpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        device = verify_otp(user, form.cleaned_data["otp"])
        if device is not None:
            request.session.pop(PENDING, None)
            user.backend = pending.get("backend") or settings.AUTHENTICATION_BACKENDS[-1]
            _complete_login(request, user, device)
            return _after_login(user, pending.get("next") or "/")
        record_failure(request, user.get_username(), stage="otp")
        if is_locked_out(request):
            request.session.pop(PENDING, None)
            return _locked_out_page(request)
        form.add_error("otp", _("That code is not valid. Check the time on your phone and try again."))
        form._style()
    return render(request, "identity/login_otp.html", {"form": form, "pending_user": user})


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def logout_view(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        auth_logout(request)
        return redirect(settings.LOGOUT_REDIRECT_URL)
    if not request.user.is_authenticated:
        return redirect(settings.LOGIN_URL)
    return render(request, "identity/logout.html")


# --- password reset -----------------------------------------------------------------------------


@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_view(request: HttpRequest) -> HttpResponse:
    form = PasswordResetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        services.password_reset_request(
            email=form.cleaned_data["email"], base_url=request.build_absolute_uri("/").rstrip("/")
        )
        return redirect("/password-reset/sent/")
    return render(request, "identity/password_reset.html", {"form": form})


def password_reset_sent_view(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/password_reset_sent.html")


@sensitive_post_parameters("new_password", "new_password_again")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def password_reset_confirm_view(request: HttpRequest, uidb64: str, token: str) -> HttpResponse:
    user = services.password_reset_user(uidb64, token)
    if user is None:
        return render(request, "identity/password_reset_confirm.html", {"invalid": True}, status=400)
    form = SetPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_confirm(
                uid=uidb64, token=token, new_password=form.cleaned_data["new_password"]
            )
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            return redirect("/password-reset/done/")
    return render(
        request,
        "identity/password_reset_confirm.html",
        {"form": form, "reset_user": user},
        status=400 if form.is_bound and form.errors else 200,
    )


def password_reset_done_view(request: HttpRequest) -> HttpResponse:
    return render(request, "identity/password_reset_done.html")


# --- step-up --------------------------------------------------------------------------------------


@login_required
@sensitive_post_parameters("otp")
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def step_up_view(request: HttpRequest) -> HttpResponse:
    next_url = safe_next(request, "/profile/security/")
    user = request.user
    if not user_has_2fa(user):
        return redirect(next_url)
    form = OtpForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            step_up_verify(actor=user, user=user, code=form.cleaned_data["otp"])
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            return redirect(next_url)
    return render(
        request,
        "identity/step_up.html",
        {"form": form, "next": next_url, "fresh": step_up_fresh(user)},
        status=400 if form.is_bound and form.errors else 200,
    )


# --- profile: security ------------------------------------------------------------------------------


def _security_context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    user = cast(User, request.user)
    current = request.session.session_key
    sessions = list(UserSession.objects.filter(user=user))
    for s in sessions:
        s.is_current = s.session_key == current  # type: ignore[attr-defined]
    enabled = user_has_2fa(user)
    context: dict[str, Any] = {
        "two_factor_enabled": enabled,
        "two_factor_required": two_factor_required(user),
        "step_up_until": step_up_until(user) if enabled and step_up_fresh(user) else None,
        "tokens": list(ApiToken.objects.filter(user=user)),
        "sessions": sessions,
        "token_form": TokenCreateForm(),
        "password_form": PasswordChangeForm(),
        "disable_form": OtpForm(),
        "token_default_days": settings.API_TOKEN_DEFAULT_DAYS,
    }
    context.update(extra)
    return context


def _security_page(request: HttpRequest, status: int = 200, **extra: Any) -> HttpResponse:
    return render(
        request, "identity/profile_security.html", _security_context(request, **extra), status=status
    )


@login_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def security_view(request: HttpRequest) -> HttpResponse:
    return _security_page(request)


@login_required
@csrf_protect
@never_cache
@require_POST
def token_create_view(request: HttpRequest) -> HttpResponse:
    form = TokenCreateForm(request.POST)
    if not form.is_valid():
        return _security_page(request, status=400, token_form=form)
    token, raw = services.token_create(
        actor=request.user,
        user=cast(User, request.user),
        name=form.cleaned_data["name"],
        days=form.cleaned_data.get("expires_in_days"),
    )
    # The secret is shown in this response only; it is never stored and cannot be shown again.
    return _security_page(request, status=201, new_token=raw, new_token_obj=token)


@login_required
@csrf_protect
@require_POST
def token_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    services.token_revoke(actor=request.user, token=token)
    messages.success(request, _("The API token “%(name)s” was revoked.") % {"name": token.name})
    return redirect("/profile/security/#tokens")


@login_required
@csrf_protect
@require_POST
def session_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(UserSession, pk=pk, user=request.user)
    current = session.session_key == request.session.session_key
    services.session_revoke(actor=request.user, session=session)
    if current:
        auth_logout(request)
        return redirect(settings.LOGIN_URL)
    messages.success(request, _("The session was ended."))
    return redirect("/profile/security/#sessions")


@login_required
@sensitive_post_parameters("old_password", "new_password", "new_password_again")
@csrf_protect
@require_POST
def password_change_view(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST)
    if form.is_valid():
        try:
            services.password_change(
                actor=request.user,
                user=cast(User, request.user),
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
                keep_session=request.session.session_key,
            )
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            update_session_auth_hash(request, cast(User, request.user))
            messages.success(request, _("Your password was changed. Your other sessions were ended."))
            return redirect("/profile/security/#password")
    return _security_page(request, status=400, password_form=form)


# --- profile: two-factor enrolment ------------------------------------------------------------------


@login_required
@csrf_protect
@never_cache
@require_http_methods(["GET", "POST"])
def two_factor_enrol_view(request: HttpRequest) -> HttpResponse:
    """GET: explain (or show the pending QR code); POST: start enrolment and show the QR code."""
    user = request.user
    next_url = safe_next(request, "/profile/security/")
    if user_has_2fa(user):
        return redirect(next_url)
    device = two_factor_start(actor=user, user=user).device if request.method == "POST" else None
    return _enrol_page(request, OtpForm(), next_url, device=device)


def _enrol_page(
    request: HttpRequest, form: OtpForm, next_url: str, *, device: Any = None, status: int = 200
) -> HttpResponse:
    """The enrolment page: the QR code of ``device`` (default: the pending one) and the code form."""
    device = device or pending_device(request.user)
    context = {
        "enrolment": enrolment_for(device) if device is not None else None,
        "form": form,
        "next": next_url,
        "required": two_factor_required(request.user),
    }
    return render(request, "identity/two_factor_enrol.html", context, status=status)


@login_required
@sensitive_post_parameters("otp")
@csrf_protect
@require_POST
def two_factor_confirm_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    next_url = safe_next(request, "/profile/security/")
    form = OtpForm(request.POST)
    if form.is_valid():
        try:
            device = two_factor_confirm(actor=user, user=user, code=form.cleaned_data["otp"])
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            import django_otp

            django_otp.login(request, device)
            messages.success(request, _("Two-factor authentication is on."))
            return redirect(next_url)
    return _enrol_page(request, form, next_url, status=400)


@login_required
@sensitive_post_parameters("otp")
@csrf_protect
@require_POST
def two_factor_disable_view(request: HttpRequest) -> HttpResponse:
    form = OtpForm(request.POST)
    if form.is_valid():
        try:
            two_factor_disable(actor=request.user, user=request.user, code=form.cleaned_data["otp"])
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        except PermissionDeniedError as exc:
            apply_errors(form, {"otp": [exc.message]})
        else:
            messages.success(request, _("Two-factor authentication is off."))
            return redirect("/profile/security/#two-factor")
    return _security_page(request, status=400, disable_form=form)
