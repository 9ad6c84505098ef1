"""Shell pages: home (widgets), profile, language switch, notifications, lookups, job progress."""

from __future__ import annotations

import zoneinfo
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from huoban.platform.access import registry
from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.notifications.models import Notification
from huoban.platform.notifications.services import mark_read, unread_count

from .widgets import get_widget, widgets_for

if TYPE_CHECKING:
    from huoban.platform.identity.models import User

LANGUAGE_CODES = {code for code, _name in settings.LANGUAGES}


def safe_next(request: HttpRequest, fallback: str = "/") -> str:
    nxt = request.POST.get("next") or request.GET.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}, require_https=False):
        return nxt
    return fallback


# --- home ----------------------------------------------------------------------------------------


@login_required
def home(request: HttpRequest) -> HttpResponse:
    widgets = []
    for w in widgets_for(request.user):
        widgets.append({"widget": w, "html": None if w.lazy else w.render(request)})
    return render(request, "ui/home.html", {"widgets": widgets})


@login_required
@require_GET
def widget(request: HttpRequest, key: str) -> HttpResponse:
    w = get_widget(key)
    if w is None or not w.allowed(request.user):
        raise Http404
    return HttpResponse(w.render(request))


# --- language and profile ------------------------------------------------------------------------


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    """Switch language: stored in the session (``huoban_language``) and, when signed in, on the
    user's profile so it follows them to other devices."""
    lang = request.POST.get("language", "")
    if lang not in LANGUAGE_CODES:
        return redirect(safe_next(request))
    request.session["huoban_language"] = lang
    user = request.user
    if user.is_authenticated and user.language != lang:
        from huoban.platform.identity.services import user_update

        user_update(actor=user, user=user, language=lang)
    response = redirect(safe_next(request))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, lang, samesite="Lax", secure=settings.SESSION_COOKIE_SECURE
    )
    return response


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    zones = sorted(
        z for z in zoneinfo.available_timezones() if "/" in z and not z.startswith(("Etc/", "SystemV/"))
    )
    return ["Asia/Shanghai", *[z for z in zones if z != "Asia/Shanghai"]]


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The user's own profile: display name, language, time zone. Security (password, 2FA,
    API tokens) lives at /profile/security/."""
    user = cast("User", request.user)
    errors: dict[str, str] = {}
    values = {
        "display_name": user.display_name,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "phone": user.phone,
        "language": user.language,
        "time_zone": user.time_zone,
    }
    if request.method == "POST":
        for k in values:
            values[k] = request.POST.get(k, "").strip()
        if len(values["display_name"]) > 120:
            errors["display_name"] = _("At most %(n)d characters.") % {"n": 120}
        if values["language"] and values["language"] not in LANGUAGE_CODES:
            errors["language"] = _("Choose a language from the list.")
        if values["time_zone"] and values["time_zone"] not in zoneinfo.available_timezones():
            errors["time_zone"] = _("Choose a time zone from the list.")
        if not errors:
            from huoban.platform.errors import ValidationError
            from huoban.platform.identity.services import user_update

            try:
                user_update(actor=user, user=user, **values)
            except ValidationError as exc:
                errors = {k: " ".join(map(str, v)) for k, v in exc.errors.items()}
            else:
                if values["language"]:
                    request.session["huoban_language"] = values["language"]
                else:
                    request.session.pop("huoban_language", None)
                messages.success(request, _("Your profile was saved."))
                return redirect("ui:profile")
    return render(
        request,
        "ui/profile.html",
        {"values": values, "errors": errors, "time_zones": time_zones(), "languages": settings.LANGUAGES},
    )


# --- notifications -------------------------------------------------------------------------------


@login_required
def notifications_menu(request: HttpRequest) -> HttpResponse:
    items = list(
        Notification.objects.filter(recipient=cast("User", request.user)).order_by("-created_at", "-id")[:8]
    )
    return render(
        request, "ui/notifications/menu.html", {"items": items, "unread": unread_count(request.user)}
    )


@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    qs = Notification.objects.filter(recipient=cast("User", request.user)).order_by("-created_at", "-id")
    only_unread = request.GET.get("unread") == "1"
    if only_unread:
        qs = qs.filter(read_at__isnull=True)
    from django.core.paginator import Paginator

    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "ui/notifications/list.html", {"page": page, "only_unread": only_unread})


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    n = Notification.objects.filter(recipient=cast("User", request.user), pk=pk).first()
    if n is None:
        raise Http404
    mark_read(user=request.user, ids=[n.pk])
    target = (
        n.url if n.url and url_has_allowed_host_and_scheme(n.url, allowed_hosts={request.get_host()}) else ""
    )
    return redirect(target or reverse("ui:notifications"))


@login_required
@require_POST
def notifications_read(request: HttpRequest) -> HttpResponse:
    ids = [int(i) for i in request.POST.getlist("id") if i.isdigit()] or None
    mark_read(user=request.user, ids=ids)
    if request.headers.get("HX-Request"):
        me = cast("User", request.user)
        items = list(Notification.objects.filter(recipient=me).order_by("-created_at", "-id")[:8])
        return render(
            request,
            "ui/notifications/menu.html",
            {"items": items, "unread": unread_count(request.user), "cleared": True},
        )
    messages.success(request, _("Notifications marked as read."))
    return redirect(safe_next(request, reverse("ui:notifications")))


# --- lookups (Tom Select type-ahead) -------------------------------------------------------------


def _user_label(u: Any) -> str:
    return str(u)


@login_required
@require_GET
def lookup(request: HttpRequest, object_type: str) -> JsonResponse:
    """Type-ahead for forms and filters: ``/lookup/<object_type>/?q=`` (or ``?id=1&id=2`` for
    labels of chosen values) → ``{"results": [{"value", "text", "sub"}]}``, through ``scoped()``.
    Special types: ``user`` (active people), ``unit`` (org units), ``tag``."""
    q = request.GET.get("q", "").strip()[:100]
    ids = [i for i in request.GET.getlist("id") if i.isdigit()][:50]
    limit = 20
    results: list[dict[str, Any]] = []
    if object_type == "user":
        from huoban.platform.identity.models import User

        users = User.objects.filter(is_active=True, is_system=False).select_related("primary_unit")
        if ids:
            users = users.filter(pk__in=ids)
        elif q:
            users = users.filter(
                Q(username__icontains=q)
                | Q(display_name__icontains=q)
                | Q(first_name__icontains=q)
                | Q(last_name__icontains=q)
                | Q(email__icontains=q)
            )
        results = [
            {
                "value": u.pk,
                "text": str(u),
                "sub": str(u.primary_unit or ""),
                # what the server matched on, so the type-ahead does not filter it out again
                "search": f"{u.username} {u.email} {u.first_name} {u.last_name}",
            }
            for u in users.order_by("username")[:limit]
        ]
    elif object_type == "unit":
        from huoban.platform.identity.models import OrgUnit

        units = OrgUnit.objects.filter(active=True)
        if ids:
            units = units.filter(pk__in=ids)
        elif q:
            units = units.filter(Q(name__icontains=q) | Q(code__icontains=q))
        results = [{"value": u.pk, "text": u.name, "sub": u.get_kind_display()} for u in units[:limit]]
    elif object_type == "tag":
        from huoban.platform.records.models import Tag

        tags = Tag.objects.all()
        if q:
            tags = tags.filter(name__icontains=q)
        results = [{"value": t.name, "text": t.name} for t in tags[:limit]]
    else:
        ot = registry.find(object_type)
        if ot is None or not has_perm(request.user, object_type, "view"):
            raise Http404
        qs = scoped(request.user, ot.model)
        if ids:
            qs = qs.filter(pk__in=ids)
        elif q:
            cond = Q()
            for f in ot.search_fields or ("name",):
                cond |= Q(**{f"{f}__icontains": q})
            if q.isdigit():
                cond |= Q(pk=int(q))
            qs = qs.filter(cond)
        number_field = "number" if any(f.name == "number" for f in ot.model._meta.fields) else ""
        fields = [f for f in (ot.search_fields or ()) if "__" not in f]
        for obj in qs.order_by("-id")[:limit]:
            results.append(
                {
                    "value": obj.pk,
                    "text": str(obj),
                    "sub": getattr(obj, number_field, "") if number_field else "",
                    "search": " ".join(str(getattr(obj, f, "") or "") for f in fields),
                }
            )
    return JsonResponse({"results": results})


# --- jobs ----------------------------------------------------------------------------------------


@login_required
def job_progress(request: HttpRequest, job_id: Any) -> HttpResponse:
    """A page (or HTMX partial) showing one background job's progress bar."""
    from huoban.platform.access.scoping import grants_for
    from huoban.platform.jobs.models import Job

    qs = Job.objects.filter(pk=job_id)
    if not grants_for(request.user).is_admin:
        qs = qs.filter(actor=cast("User", request.user))
    job = qs.first()
    if job is None:
        raise Http404
    template = "ui/partials/job_progress.html" if request.headers.get("HX-Request") else "ui/job.html"
    return render(request, template, {"job": job})
