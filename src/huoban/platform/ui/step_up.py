"""The step-up message of the pages, always with its way out: a link to ``/step-up/?next=<page>``.

A sensitive action (role change, 2FA reset, bulk delete, export, reveal …) refused with
``StepUpRequired`` tells the user what to do *and* links to the page where they do it, then brings
them back to the page they were on:

    except StepUpRequired:
        messages.error(request, step_up_message(request))      # toast, with the link
        form.add_error(None, step_up_message(request))         # form error summary, with the link
    hx_toast(response, step_up_text(), link=step_up_link(request))   # HTMX: toast with the link
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from huoban.platform.errors import StepUpRequired, error_text


def is_step_up(exc: BaseException) -> bool:
    return isinstance(exc, StepUpRequired) or getattr(exc, "code", "") == "step_up_required"


def back_to(request: Any) -> str:
    """The page to come back to after the check: this page for a GET; for a POST (a form or a
    button that posted somewhere else) its ``next`` field or the page it was posted from."""
    if request.method in ("GET", "HEAD") and not request.headers.get("HX-Request"):
        return str(request.get_full_path())
    for candidate in (
        request.POST.get("next", "") if request.method == "POST" else "",
        request.headers.get("HX-Current-URL", ""),
        request.META.get("HTTP_REFERER", ""),
    ):
        if candidate and url_has_allowed_host_and_scheme(
            candidate, allowed_hosts={request.get_host()}, require_https=False
        ):
            parts = urlsplit(candidate)
            return parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    return str(request.get_full_path())


def step_up_link(request: Any, next_url: str | None = None) -> str:
    from huoban.platform.identity.stepup import step_up_url

    return step_up_url(next_url or back_to(request))


def step_up_text() -> str:
    return str(StepUpRequired().message)


def step_up_message(request: Any, next_url: str | None = None) -> SafeString:
    """“Confirm with your two-factor code to continue. Confirm now →” as safe HTML."""
    return format_html(
        '{} <a href="{}" class="alert-link hb-step-up-link">{}</a>',
        step_up_text(),
        step_up_link(request, next_url),
        _("Confirm now"),
    )


def refusal_message(request: Any, exc: BaseException) -> Any:
    """A domain refusal as one message (toast, form error): a missing step-up with its link."""
    if is_step_up(exc):
        return step_up_message(request)
    return error_text(exc)  # a ValidationError's messages, not its dict
