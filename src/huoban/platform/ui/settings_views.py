"""The settings area (administrators): users, org units, roles, custom fields, picklists,
numbering rules, module switches and the audit log.

Every page checks a function permission (``manage`` on the settings object type; ``view`` for
the audit log), so a role may be given one part of the settings only; the preset administrator
role has all of them. Every write goes through a service (``identity.services``,
``identity.twofactor``, ``records.definitions``, ``ui.settings_services``) and is audited there.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huoban.platform.access import registry
from huoban.platform.access.scoping import has_perm
from huoban.platform.audit.models import AuditAction, AuditEvent
from huoban.platform.errors import ConflictError, PermissionDeniedError, ValidationError
from huoban.platform.identity import services as identity
from huoban.platform.identity.forms import apply_errors
from huoban.platform.identity.models import Action, OrgUnit, Role, Scope, User
from huoban.platform.identity.presets import ALL_ACTIONS, PRESET_ROLES
from huoban.platform.identity.twofactor import two_factor_reset
from huoban.platform.records import definitions
from huoban.platform.records.models import (
    CustomField,
    CustomFieldType,
    NumberingRule,
    Picklist,
    PicklistValue,
)

from . import settings_services as svc
from .formatting import localized_name

# --- access --------------------------------------------------------------------------------------

SECTIONS: list[dict[str, Any]] = [
    # key, url name, object type, action, icon, label, description
    {
        "key": "users",
        "url": "ui:settings-users",
        "object_type": "user",
        "icon": "users",
        "label": gettext_lazy("Users"),
        "help": gettext_lazy("Create users, assign units and roles, deactivate, reset two-factor."),
    },
    {
        "key": "units",
        "url": "ui:settings-units",
        "object_type": "org_unit",
        "icon": "sitemap",
        "label": gettext_lazy("Organisation"),
        "help": gettext_lazy("The unit tree: drag a unit to move it under another one."),
    },
    {
        "key": "roles",
        "url": "ui:settings-roles",
        "object_type": "role",
        "icon": "shield-check",
        "label": gettext_lazy("Roles"),
        "help": gettext_lazy("Function permissions and data scope per object type."),
    },
    {
        "key": "fields",
        "url": "ui:settings-fields",
        "object_type": "custom_field",
        "icon": "forms",
        "label": gettext_lazy("Custom fields"),
        "help": gettext_lazy("Extra fields per object: create, reorder, deactivate."),
    },
    {
        "key": "picklists",
        "url": "ui:settings-picklists",
        "object_type": "picklist",
        "icon": "list-details",
        "label": gettext_lazy("Picklists"),
        "help": gettext_lazy("Industries, regions, sources … with English and Chinese labels."),
    },
    {
        "key": "numbering",
        "url": "ui:settings-numbering",
        "object_type": "numbering_rule",
        "icon": "number",
        "label": gettext_lazy("Numbering rules"),
        "help": gettext_lazy("Prefix, date pattern and serial length of record numbers."),
    },
    {
        "key": "modules",
        "url": "ui:settings-modules",
        "object_type": "settings",
        "icon": "toggle-right",
        "label": gettext_lazy("Modules"),
        "help": gettext_lazy("Hide modules your company does not use."),
    },
    {
        "key": "audit",
        "url": "ui:settings-audit",
        "object_type": "audit_event",
        "action": "view",
        "icon": "history",
        "label": gettext_lazy("Audit log"),
        "help": gettext_lazy("Who changed what and when, with field-level changes."),
    },
]
_SECTION = {s["key"]: s for s in SECTIONS}


def register_section(entry: dict[str, Any], *, before: str = "audit") -> None:
    """A domain app adds a settings page of its own (same keys as ``SECTIONS``; ``url`` is a URL
    name) to the overview and the settings side navigation, in front of ``before``. Idempotent."""
    SECTIONS[:] = [s for s in SECTIONS if s["key"] != entry["key"]]
    at = next((i for i, s in enumerate(SECTIONS) if s["key"] == before), len(SECTIONS))
    SECTIONS.insert(at, entry)
    _SECTION[entry["key"]] = entry


def can_section(user: Any, key: str) -> bool:
    s = _SECTION[key]
    return bool(
        user and user.is_authenticated and has_perm(user, s["object_type"], s.get("action", "manage"))
    )


def sections_for(user: Any) -> list[dict[str, Any]]:
    return [s for s in SECTIONS if can_section(user, s["key"])]


def any_section(user: Any) -> bool:
    return bool(sections_for(user))


def section(key: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """View decorator: login required, then the section's function permission (else 403)."""

    def deco(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not can_section(request.user, key):
                raise PermissionDenied
            request.settings_section = key  # type: ignore[attr-defined]
            try:
                return view(request, *args, **kwargs)
            except PermissionDeniedError as exc:
                from .step_up import back_to, refusal_message

                messages.error(request, refusal_message(request, exc))
                return redirect(back_to(request))  # a POST-only address would answer 405

        return wrapper

    return deco


def render_settings_page(
    request: HttpRequest, template: str, ctx: dict[str, Any], status: int = 200
) -> HttpResponse:
    """Render a page of the settings area (its side navigation: the sections the user may open).
    Domain apps' pages (``register_section``) use it too."""
    ctx.setdefault("settings_sections", sections_for(request.user))
    ctx.setdefault("settings_active", getattr(request, "settings_section", ""))
    return render(request, template, ctx, status=status)


def recent_changes(object_type: str, object_id: Any = None, limit: int = 10) -> list[AuditEvent]:
    """The last audit events of a settings object (all of ``object_type`` without an id), for the
    "Recent changes" card (``ui/settings/_history.html``)."""
    qs = AuditEvent.objects.filter(object_type=object_type)
    if object_id is not None:
        qs = qs.filter(object_id=str(object_id))
    return list(qs.order_by("-seq")[:limit])


class StyledForm(forms.Form):
    """Bootstrap classes on every widget; ``aria-invalid`` on fields with errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, f in self.fields.items():
            w = f.widget
            if isinstance(w, forms.CheckboxInput):
                w.attrs.setdefault("class", "form-check-input")
            elif isinstance(w, forms.CheckboxSelectMultiple):
                w.attrs.setdefault("class", "form-check-input")
            elif isinstance(w, forms.Select | forms.SelectMultiple):
                w.attrs.setdefault("class", "form-select")
            else:
                w.attrs.setdefault("class", "form-control")
            w.attrs.setdefault("id", f"id_{name}")

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                css = self.fields[name].widget.attrs.get("class", "")
                if "is-invalid" not in css:
                    self.fields[name].widget.attrs["class"] = f"{css} is-invalid".strip()
                self.fields[name].widget.attrs["aria-invalid"] = "true"


# --- index ---------------------------------------------------------------------------------------


def settings_index(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    sections = sections_for(request.user)
    if not sections:
        raise PermissionDenied
    return render_settings_page(request, "ui/settings/index.html", {"sections": sections})


# --- users ---------------------------------------------------------------------------------------


def _language_choices() -> list[tuple[str, str]]:
    return [("", _("Browser default")), *[(c, str(n)) for c, n in settings.LANGUAGES]]


def _unit_choices() -> list[tuple[Any, str]]:
    units = list(OrgUnit.objects.filter(active=True).order_by("path"))
    return [("", "—")] + [(u.pk, "\u2003" * (u.path.count("/") - 2) + u.name) for u in units]


def _role_choices() -> list[tuple[Any, str]]:
    return [(r.pk, role_label(r)) for r in Role.objects.order_by("id")]


def role_label(role: Role) -> str:
    return localized_name(role)


class UserForm(StyledForm):
    username = forms.CharField(label=gettext_lazy("Username"), max_length=150)
    display_name = forms.CharField(label=gettext_lazy("Display name"), max_length=120, required=False)
    email = forms.EmailField(label=gettext_lazy("Email"), required=False)
    phone = forms.CharField(label=gettext_lazy("Phone"), max_length=32, required=False)
    primary_unit = forms.TypedChoiceField(
        label=gettext_lazy("Unit"), required=False, coerce=int, empty_value=None
    )
    roles = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Roles"), required=False, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    language = forms.ChoiceField(label=gettext_lazy("Language"), required=False)
    time_zone = forms.CharField(
        label=gettext_lazy("Time zone"),
        max_length=64,
        required=False,
        help_text=gettext_lazy("Empty: the company time zone (Asia/Shanghai)."),
    )
    password = forms.CharField(
        label=gettext_lazy("Initial password"),
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=gettext_lazy(
            "At least 12 characters. Leave empty to let the user set one by password reset."
        ),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["primary_unit"]).choices = _unit_choices()
        cast(forms.ChoiceField, self.fields["roles"]).choices = _role_choices()
        cast(forms.ChoiceField, self.fields["language"]).choices = _language_choices()
        if editing:
            self.fields["username"].disabled = True
            del self.fields["password"]

    def clean_time_zone(self) -> str:
        import zoneinfo

        tz = self.cleaned_data.get("time_zone", "").strip()
        if tz:
            try:
                zoneinfo.ZoneInfo(tz)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise forms.ValidationError(_("Unknown time zone."))
        return tz


def _users_with_2fa() -> Any:
    from django_otp.plugins.otp_totp.models import TOTPDevice

    return Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True))


@section("users")
def users_list(request: HttpRequest) -> HttpResponse:
    qs = (
        User.objects.filter(is_system=False)
        .select_related("primary_unit")
        .prefetch_related("roles")
        .annotate(has_2fa=_users_with_2fa())
        .order_by("username")
    )
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(username__icontains=q) | Q(display_name__icontains=q) | Q(email__icontains=q))
    status = request.GET.get("status", "")
    if status == "active":
        qs = qs.filter(is_active=True)
    elif status == "inactive":
        qs = qs.filter(is_active=False)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render_settings_page(
        request, "ui/settings/users.html", {"page": page, "q": q, "status": status, "role_label": role_label}
    )


@section("users")
def user_new(request: HttpRequest) -> HttpResponse:
    form = UserForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            user = identity.user_create(
                actor=request.user,
                username=d["username"],
                password=d.get("password") or None,
                roles=list(Role.objects.filter(pk__in=d["roles"])),
                display_name=d["display_name"],
                email=d["email"],
                phone=d["phone"],
                language=d["language"],
                time_zone=d["time_zone"],
                primary_unit=OrgUnit.objects.filter(pk=d["primary_unit"]).first()
                if d["primary_unit"]
                else None,
            )
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            messages.success(request, _("User %(name)s created.") % {"name": user.username})
            return redirect("ui:settings-user", pk=user.pk)
    return render_settings_page(
        request, "ui/settings/user_form.html", {"form": form, "creating": True}, 400 if form.errors else 200
    )


@section("users")
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User.objects.annotate(has_2fa=_users_with_2fa()), pk=pk, is_system=False)
    initial: dict[str, Any] = {
        "username": user.username,
        "display_name": user.display_name,
        "email": user.email,
        "phone": user.phone,
        "primary_unit": user.primary_unit_id,
        "roles": list(user.roles.values_list("pk", flat=True)),
        "language": user.language,
        "time_zone": user.time_zone,
    }
    form = UserForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            new_roles = list(Role.objects.filter(pk__in=d["roles"]))
            if sorted(r.pk for r in new_roles) != sorted(initial["roles"]):
                _step_up(request)
            identity.user_update(
                actor=request.user,
                user=user,
                display_name=d["display_name"],
                email=d["email"],
                phone=d["phone"],
                language=d["language"],
                time_zone=d["time_zone"],
                primary_unit=OrgUnit.objects.filter(pk=d["primary_unit"]).first()
                if d["primary_unit"]
                else None,
            )
            identity.user_set_roles(actor=request.user, user=user, roles=new_roles)
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        except PermissionDeniedError as exc:
            form.add_error(None, _denied(request, exc))
        else:
            messages.success(request, _("User %(name)s saved.") % {"name": user.username})
            return redirect("ui:settings-user", pk=user.pk)
    history = recent_changes("user", user.pk)
    return render_settings_page(
        request,
        "ui/settings/user_form.html",
        {"form": form, "creating": False, "subject": user, "history": history},
        400 if form.errors else 200,
    )


def _denied(request: HttpRequest, exc: PermissionDeniedError) -> str:
    """The form message of a refusal; a missing step-up links to /step-up/ and back here."""
    from .step_up import refusal_message

    return refusal_message(request, exc)


def _step_up(request: HttpRequest) -> None:
    from huoban.platform.identity.stepup import require_step_up

    require_step_up(request)


@require_POST
@section("users")
def user_toggle_active(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk, is_system=False)
    if user.pk == request.user.pk:
        messages.error(request, _("You cannot deactivate yourself."))
    else:
        identity.user_update(actor=request.user, user=user, is_active=not user.is_active)
        if user.is_active:
            messages.success(request, _("User %(name)s activated.") % {"name": user.username})
        else:
            messages.success(
                request,
                _("User %(name)s deactivated; their sessions and API tokens ended.")
                % {"name": user.username},
            )
    return redirect("ui:settings-user", pk=user.pk)


@require_POST
@section("users")
def user_reset_2fa(request: HttpRequest, pk: int) -> HttpResponse:
    user = get_object_or_404(User, pk=pk, is_system=False)
    _step_up(request)
    two_factor_reset(actor=request.user, user=user)
    messages.success(request, _("Two-factor authentication of %(name)s was reset.") % {"name": user.username})
    return redirect("ui:settings-user", pk=user.pk)


# --- org units -----------------------------------------------------------------------------------


class UnitForm(StyledForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=60)
    kind = forms.ChoiceField(label=gettext_lazy("Kind"), choices=OrgUnit.Kind.choices)
    parent = forms.TypedChoiceField(
        label=gettext_lazy("Parent unit"), required=False, coerce=int, empty_value=None
    )
    manager = forms.TypedChoiceField(
        label=gettext_lazy("Manager"), required=False, coerce=int, empty_value=None
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["parent"]).choices = _unit_choices()
        cast(forms.ChoiceField, self.fields["manager"]).choices = [("", "—")] + [
            (u.pk, str(u)) for u in User.objects.filter(is_active=True, is_system=False).order_by("username")
        ]
        if editing:
            self.fields["code"].disabled = True
        else:
            del self.fields["active"]


def _tree(units: list[Any]) -> list[dict[str, Any]]:
    by_parent: dict[Any, list[OrgUnit]] = {}
    for u in units:
        by_parent.setdefault(u.parent_id, []).append(u)

    def build(parent_id: Any) -> list[dict[str, Any]]:
        kids = sorted(by_parent.get(parent_id, []), key=lambda u: (u.position, u.name))
        return [{"unit": u, "children": build(u.pk)} for u in kids]

    return build(None)


@section("units")
def units_tree(request: HttpRequest) -> HttpResponse:
    units = list(OrgUnit.objects.select_related("manager").annotate(member_count=Count("members")))
    return render_settings_page(
        request, "ui/settings/units.html", {"tree": _tree(units), "count": len(units)}
    )


@section("units")
def unit_new(request: HttpRequest) -> HttpResponse:
    form = UnitForm(request.POST or None, initial={"parent": request.GET.get("parent") or None})
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            unit = identity.unit_create(
                actor=request.user,
                name=d["name"],
                code=d["code"],
                kind=d["kind"],
                parent=OrgUnit.objects.filter(pk=d["parent"]).first() if d["parent"] else None,
                manager=User.objects.filter(pk=d["manager"]).first() if d["manager"] else None,
            )
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            messages.success(request, _("Unit %(name)s created.") % {"name": unit.name})
            return redirect("ui:settings-units")
    return render_settings_page(
        request, "ui/settings/unit_form.html", {"form": form, "creating": True}, 400 if form.errors else 200
    )


@section("units")
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = get_object_or_404(OrgUnit, pk=pk)
    initial = {
        "name": unit.name,
        "code": unit.code,
        "kind": unit.kind,
        "parent": unit.parent_id,
        "manager": unit.manager_id,
        "active": unit.active,
    }
    form = UnitForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            identity.unit_update(
                actor=request.user,
                unit=unit,
                name=d["name"],
                kind=d["kind"],
                parent=OrgUnit.objects.filter(pk=d["parent"]).first() if d["parent"] else None,
                manager=User.objects.filter(pk=d["manager"]).first() if d["manager"] else None,
                active=d["active"],
            )
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            messages.success(request, _("Unit %(name)s saved.") % {"name": unit.name})
            return redirect("ui:settings-units")
    return render_settings_page(
        request,
        "ui/settings/unit_form.html",
        {"form": form, "creating": False, "subject": unit},
        400 if form.errors else 200,
    )


@require_POST
@section("units")
def unit_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Drag and drop on the tree: ``parent`` (id or empty for the top) and ``position``."""
    unit = get_object_or_404(OrgUnit, pk=pk)
    raw_parent = request.POST.get("parent", "")
    parent = get_object_or_404(OrgUnit, pk=raw_parent) if raw_parent.isdigit() else None
    fields: dict[str, Any] = {"parent": parent}
    raw_pos = request.POST.get("position", "")
    if raw_pos.isdigit():
        fields["position"] = int(raw_pos)
    try:
        identity.unit_update(actor=request.user, unit=unit, **fields)
        siblings = request.POST.get("siblings", "")
        if siblings:
            order = [int(x) for x in siblings.split(",") if x.isdigit()]
            for sib in OrgUnit.objects.filter(pk__in=order, parent=parent):
                idx = order.index(sib.pk)
                if sib.position != idx:
                    identity.unit_update(actor=request.user, unit=sib, position=idx)
    except ValidationError as exc:
        return JsonResponse({"ok": False, "errors": exc.errors}, status=400)
    return JsonResponse({"ok": True, "path": OrgUnit.objects.get(pk=pk).path})


# --- roles ---------------------------------------------------------------------------------------

NON_RECORD_TYPES: dict[str, Any] = {
    "*": gettext_lazy("All object types"),
    "customer_pool": gettext_lazy("Customer pool"),
    "report": gettext_lazy("Reports"),
    "settings": gettext_lazy("Settings and modules"),
    "user": gettext_lazy("Users"),
    "role": gettext_lazy("Roles"),
    "org_unit": gettext_lazy("Organisation units"),
    "custom_field": gettext_lazy("Custom fields"),
    "picklist": gettext_lazy("Picklists"),
    "numbering_rule": gettext_lazy("Numbering rules"),
    "audit_event": gettext_lazy("Audit log"),
}


def role_object_types() -> list[tuple[str, str]]:
    """Rows of the role matrix: every registered record type, then the other types presets use."""
    rows: dict[str, str] = {"*": str(NON_RECORD_TYPES["*"])}
    for ot in registry.all_types():
        rows[ot.key] = capfirst(str(ot.label_plural or ot.key))
    extra: set[str] = set()
    for spec in PRESET_ROLES:
        extra |= set(spec["permissions"]) | set(spec["scopes"])
    extra |= set(NON_RECORD_TYPES)
    for key in sorted(extra - set(rows)):
        rows[key] = str(NON_RECORD_TYPES.get(key) or key.replace("_", " ").capitalize())
    return list(rows.items())


ACTION_LABELS = dict(Action.choices)
SCOPE_CHOICES = [("", "—"), *Scope.choices]


class RoleForm(StyledForm):
    code = forms.SlugField(label=gettext_lazy("Code"), max_length=60)
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    name_zh_hans = forms.CharField(label=gettext_lazy("Name (Chinese)"), max_length=120, required=False)
    description = forms.CharField(
        label=gettext_lazy("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    require_2fa = forms.BooleanField(label=gettext_lazy("Require two-factor authentication"), required=False)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True


def _matrix_from_post(post: Any, keep: dict[str, Any], keep_scopes: dict[str, Any]) -> tuple[dict, dict]:
    types = [k for k, _l in role_object_types()]
    permissions = {k: v for k, v in keep.items() if k not in types}
    scopes = {k: v for k, v in keep_scopes.items() if k not in types}
    for t in types:
        acts = [a for a in ALL_ACTIONS if post.get(f"perm:{t}:{a}")]
        if acts:
            permissions[t] = acts
        scope = post.get(f"scope:{t}", "")
        if scope:
            scopes[t] = scope
    return permissions, scopes


def _matrix_rows(permissions: dict[str, Any], scopes: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for key, label in role_object_types():
        granted = set(permissions.get(key, []))
        rows.append(
            {
                "key": key,
                "label": label,
                "cells": [{"action": a, "checked": a in granted} for a in ALL_ACTIONS],
                "scope": scopes.get(key, ""),
            }
        )
    return rows


@section("roles")
def roles_list(request: HttpRequest) -> HttpResponse:
    roles = Role.objects.annotate(user_count=Count("users")).order_by("id")
    return render_settings_page(request, "ui/settings/roles.html", {"roles": roles, "role_label": role_label})


@section("roles")
def role_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    role = get_object_or_404(Role, pk=pk) if pk else None
    initial = (
        {
            "code": role.code,
            "name": role.name,
            "name_zh_hans": role.name_zh_hans,
            "description": role.description,
            "require_2fa": role.require_2fa,
        }
        if role
        else {}
    )
    form = RoleForm(request.POST or None, initial=initial, editing=role is not None)
    permissions = dict(role.permissions) if role else {}
    scopes = dict(role.scopes) if role else {}
    if request.method == "POST":
        permissions, scopes = _matrix_from_post(request.POST, permissions, scopes)
        if form.is_valid():
            d = form.cleaned_data
            try:
                _step_up(request)
                if role is None:
                    role = identity.role_create(
                        actor=request.user,
                        code=d["code"],
                        name=d["name"],
                        permissions=permissions,
                        scopes=scopes,
                        name_zh_hans=d["name_zh_hans"],
                        description=d["description"],
                        require_2fa=d["require_2fa"],
                    )
                else:
                    role = identity.role_update(
                        actor=request.user,
                        role=role,
                        version=int(request.POST["version"])
                        if request.POST.get("version", "").isdigit()
                        else None,
                        name=d["name"],
                        name_zh_hans=d["name_zh_hans"],
                        description=d["description"],
                        require_2fa=d["require_2fa"],
                        permissions=permissions,
                        scopes=scopes,
                    )
            except ValidationError as exc:
                apply_errors(form, exc.errors)
            except ConflictError as exc:
                form.add_error(None, exc.message)
            except PermissionDeniedError as exc:
                form.add_error(None, _denied(request, exc))
            else:
                messages.success(request, _("Role %(name)s saved.") % {"name": role_label(role)})
                return redirect("ui:settings-role", pk=role.pk)
    return render_settings_page(
        request,
        "ui/settings/role_form.html",
        {
            "form": form,
            "subject": role,
            "rows": _matrix_rows(permissions, scopes),
            "actions": [(a, ACTION_LABELS.get(a, a)) for a in ALL_ACTIONS],
            "scope_choices": SCOPE_CHOICES,
        },
        400 if form.errors else 200,
    )


# --- custom fields -------------------------------------------------------------------------------


def _record_type_or_404(key: str) -> registry.ObjectType:
    ot = registry.find(key)
    if ot is None:
        raise Http404
    return ot


class CustomFieldForm(StyledForm):
    label = forms.CharField(label=gettext_lazy("Label"), max_length=120)
    label_zh_hans = forms.CharField(label=gettext_lazy("Label (Chinese)"), max_length=120, required=False)
    key = forms.CharField(
        label=gettext_lazy("Key"),
        max_length=60,
        help_text=gettext_lazy("Used in the API and imports, e.g. contract_tier. Cannot be changed later."),
    )
    type = forms.ChoiceField(label=gettext_lazy("Type"), choices=CustomFieldType.choices)
    required = forms.BooleanField(label=gettext_lazy("Required"), required=False)
    options = forms.CharField(
        label=gettext_lazy("Options"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("Select fields: one option per line, as value | English label | 中文标签."),
    )
    default = forms.CharField(label=gettext_lazy("Default value"), required=False, max_length=255)
    help_text = forms.CharField(label=gettext_lazy("Help text"), required=False, max_length=300)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["key"].disabled = True
            self.fields["type"].disabled = True


@section("fields")
def fields_index(request: HttpRequest) -> HttpResponse:
    counts = {
        row["object_type"]: row
        for row in CustomField.objects.values("object_type").annotate(
            total=Count("id"), active=Count("id", filter=Q(active=True))
        )
    }
    types = [
        {"type": ot, "counts": counts.get(ot.key, {"total": 0, "active": 0})} for ot in registry.all_types()
    ]
    return render_settings_page(request, "ui/settings/fields_index.html", {"types": types})


@section("fields")
def fields_list(request: HttpRequest, object_type: str) -> HttpResponse:
    ot = _record_type_or_404(object_type)
    fields = CustomField.objects.filter(object_type=ot.key).order_by("order", "id")
    return render_settings_page(
        request, "ui/settings/fields.html", {"ot": ot, "fields": fields, "types": registry.all_types()}
    )


@section("fields")
def field_edit(request: HttpRequest, object_type: str, pk: int | None = None) -> HttpResponse:
    ot = _record_type_or_404(object_type)
    field = get_object_or_404(CustomField, pk=pk, object_type=ot.key) if pk else None
    initial = (
        {
            "label": field.label,
            "label_zh_hans": field.label_zh_hans,
            "key": field.key,
            "type": field.type,
            "required": field.required,
            "options": svc.format_options(field.options),
            "default": ""
            if field.default is None
            else (", ".join(field.default) if isinstance(field.default, list) else field.default),
            "help_text": field.help_text,
        }
        if field
        else {"type": CustomFieldType.TEXT}
    )
    form = CustomFieldForm(request.POST or None, initial=initial, editing=field is not None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        options = svc.parse_options(d["options"])
        try:
            if field is None:
                field = definitions.custom_field_create(
                    actor=request.user,
                    object_type=ot.key,
                    key=d["key"],
                    label=d["label"],
                    label_zh_hans=d["label_zh_hans"],
                    type=d["type"],
                    required=d["required"],
                    default=d["default"] or None,
                    options=options,
                    help_text=d["help_text"],
                )
                messages.success(request, _("Field %(label)s created.") % {"label": field.label})
            else:
                definitions.custom_field_update(
                    actor=request.user,
                    field=field,
                    label=d["label"],
                    label_zh_hans=d["label_zh_hans"],
                    required=d["required"],
                    default=d["default"] or None,
                    options=options if field.type in ("single_select", "multi_select") else field.options,
                    help_text=d["help_text"],
                )
                messages.success(request, _("Field %(label)s saved.") % {"label": field.label})
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            return redirect("ui:settings-fields-type", object_type=ot.key)
    return render_settings_page(
        request,
        "ui/settings/field_form.html",
        {"form": form, "ot": ot, "subject": field},
        400 if form.errors else 200,
    )


@require_POST
@section("fields")
def field_toggle_active(request: HttpRequest, object_type: str, pk: int) -> HttpResponse:
    field = get_object_or_404(CustomField, pk=pk, object_type=object_type)
    definitions.custom_field_update(actor=request.user, field=field, active=not field.active)
    if field.active:
        messages.success(request, _("Field %(label)s activated.") % {"label": field.label})
    else:
        messages.success(
            request, _("Field %(label)s deactivated; stored values are kept.") % {"label": field.label}
        )
    return redirect("ui:settings-fields-type", object_type=object_type)


@require_POST
@section("fields")
def fields_reorder(request: HttpRequest, object_type: str) -> HttpResponse:
    ot = _record_type_or_404(object_type)
    ids = [int(x) for x in request.POST.get("order", "").split(",") if x.strip().isdigit()]
    definitions.custom_field_reorder(actor=request.user, object_type=ot.key, ids=ids)
    if request.headers.get("HX-Request") or request.headers.get("X-Requested-With"):
        return JsonResponse({"ok": True})
    return redirect("ui:settings-fields-type", object_type=ot.key)


# --- picklists -----------------------------------------------------------------------------------


class PicklistValueForm(StyledForm):
    code = forms.CharField(label=gettext_lazy("Code"), max_length=40)
    label = forms.CharField(label=gettext_lazy("English label"), max_length=160)
    label_zh_hans = forms.CharField(label=gettext_lazy("Chinese label"), max_length=160, required=False)
    parent = forms.CharField(label=gettext_lazy("Parent code"), max_length=40, required=False)
    order = forms.IntegerField(label=gettext_lazy("Order"), required=False)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["code"].disabled = True
        else:
            del self.fields["order"]
            del self.fields["active"]


@section("picklists")
def picklists_list(request: HttpRequest) -> HttpResponse:
    lists = Picklist.objects.annotate(
        total=Count("values"), active=Count("values", filter=Q(values__active=True))
    ).order_by("key")
    return render_settings_page(
        request, "ui/settings/picklists.html", {"lists": [(p, localized_name(p)) for p in lists]}
    )


def _value_by_code(picklist: Picklist, code: str, form: forms.Form) -> PicklistValue | None:
    code = (code or "").strip()
    if not code:
        return None
    parent = PicklistValue.objects.filter(picklist=picklist, code=code).first()
    if parent is None:
        form.add_error("parent", _("No value with this code."))
    return parent


@section("picklists")
def picklist_values(request: HttpRequest, key: str) -> HttpResponse:
    picklist = get_object_or_404(Picklist, key=key)
    form = PicklistValueForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        parent = _value_by_code(picklist, d["parent"], form)
        if not form.errors:
            try:
                value = definitions.picklist_value_create(
                    actor=request.user,
                    picklist=picklist,
                    code=d["code"],
                    label=d["label"],
                    label_zh_hans=d["label_zh_hans"],
                    parent=parent,
                )
            except ValidationError as exc:
                apply_errors(form, exc.errors)
            else:
                messages.success(request, _("Value %(label)s added.") % {"label": value.display_label()})
                return redirect("ui:settings-picklist", key=picklist.key)
    qs = PicklistValue.objects.filter(picklist=picklist).select_related("parent").order_by("order", "code")
    q = request.GET.get("q", "").strip()
    if q:
        qs = qs.filter(Q(code__startswith=q) | Q(label__icontains=q) | Q(label_zh_hans__icontains=q))
    parent_code = request.GET.get("parent", "").strip()
    if parent_code:
        qs = qs.filter(parent__code=parent_code)
    elif picklist.hierarchical and not q:
        qs = qs.filter(parent__isnull=True)
    page = Paginator(qs, 100).get_page(request.GET.get("page"))
    parent = (
        PicklistValue.objects.filter(picklist=picklist, code=parent_code).first() if parent_code else None
    )
    child_counts = dict(
        PicklistValue.objects.filter(picklist=picklist, parent_id__in=[v.pk for v in page])
        .values_list("parent_id")
        .annotate(n=Count("id"))
    )
    return render_settings_page(
        request,
        "ui/settings/picklist.html",
        {
            "picklist": picklist,
            "picklist_label": localized_name(picklist),
            "page": page,
            "form": form,
            "q": q,
            "parent": parent,
            "child_counts": child_counts,
        },
        400 if form.errors else 200,
    )


@section("picklists")
def picklist_value_edit(request: HttpRequest, key: str, pk: int) -> HttpResponse:
    picklist = get_object_or_404(Picklist, key=key)
    value = get_object_or_404(PicklistValue, pk=pk, picklist=picklist)
    initial = {
        "code": value.code,
        "label": value.label,
        "label_zh_hans": value.label_zh_hans,
        "parent": value.parent.code if value.parent else "",
        "order": value.order,
        "active": value.active,
    }
    form = PicklistValueForm(request.POST or None, initial=initial, editing=True)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        parent = _value_by_code(picklist, d["parent"], form)
        if not form.errors:
            try:
                definitions.picklist_value_update(
                    actor=request.user,
                    value=value,
                    label=d["label"],
                    label_zh_hans=d["label_zh_hans"],
                    order=d["order"] if d["order"] is not None else value.order,
                    active=d["active"],
                    parent=parent,
                )
            except ValidationError as exc:
                apply_errors(form, exc.errors)
            else:
                messages.success(request, _("Value %(label)s saved.") % {"label": value.display_label()})
                url = reverse("ui:settings-picklist", kwargs={"key": picklist.key})
                return redirect(f"{url}?parent={value.parent.code}" if value.parent else url)
    return render_settings_page(
        request,
        "ui/settings/picklist_value_form.html",
        {"form": form, "picklist": picklist, "picklist_label": localized_name(picklist), "subject": value},
        400 if form.errors else 200,
    )


# --- numbering rules -----------------------------------------------------------------------------


def _pattern_choices() -> list[tuple[str, str]]:
    today = timezone.localtime()
    out = []
    for p in definitions.DATE_PATTERNS:
        out.append((p, f"{today.strftime(p)}  ({p})" if p else str(_("No date"))))
    return out


class NumberingForm(StyledForm):
    prefix = forms.CharField(label=gettext_lazy("Prefix"), max_length=20)  # type: ignore[assignment]
    date_pattern = forms.ChoiceField(label=gettext_lazy("Date pattern"), required=False)
    separator = forms.ChoiceField(
        label=gettext_lazy("Separator"),
        required=False,
        choices=[("-", "-"), ("_", "_"), ("/", "/"), (".", "."), ("", gettext_lazy("None"))],
    )
    serial_length = forms.IntegerField(label=gettext_lazy("Serial length"), min_value=1, max_value=10)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["date_pattern"]).choices = _pattern_choices()


def _default_rule(object_type: str) -> NumberingRule:
    """The rule (unsaved) that ``records.services.numbering_rule`` stores on a type's first number."""
    from huoban.platform.records.services import DEFAULT_RULES

    prefix, pattern, length = DEFAULT_RULES.get(object_type, (object_type[:4].upper(), "%Y%m%d", 4))
    return NumberingRule(object_type=object_type, prefix=prefix, date_pattern=pattern, serial_length=length)


def _rule_for(object_type: str) -> NumberingRule:
    return NumberingRule.objects.filter(object_type=object_type).first() or _default_rule(object_type)


@section("numbering")
def numbering_list(request: HttpRequest) -> HttpResponse:
    types = registry.all_types()
    stored = {
        r.object_type: r for r in NumberingRule.objects.filter(object_type__in=[ot.key for ot in types])
    }
    rows = [{"type": ot, "rule": stored.get(ot.key) or _default_rule(ot.key)} for ot in types]
    return render_settings_page(request, "ui/settings/numbering.html", {"rows": rows})


def _preview(data: Any) -> tuple[str, dict[str, Any]]:
    try:
        clean = definitions.numbering_rule_check(
            prefix=data.get("prefix", ""),
            date_pattern=data.get("date_pattern", ""),
            separator=data.get("separator", ""),
            serial_length=data.get("serial_length", ""),
        )
    except ValidationError as exc:
        return "", exc.errors
    return NumberingRule(**clean).preview(), {}


@section("numbering")
def numbering_edit(request: HttpRequest, object_type: str) -> HttpResponse:
    ot = _record_type_or_404(object_type)
    rule = _rule_for(ot.key)
    initial = {
        "prefix": rule.prefix,
        "date_pattern": rule.date_pattern,
        "separator": rule.separator,
        "serial_length": rule.serial_length,
    }
    form = NumberingForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            definitions.numbering_rule_save(actor=request.user, object_type=ot.key, **form.cleaned_data)
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        else:
            messages.success(request, _("Numbering rule of %(type)s saved.") % {"type": ot.label_plural})
            return redirect("ui:settings-numbering")
    preview, _errors = _preview(request.POST if request.method == "POST" else initial)
    return render_settings_page(
        request,
        "ui/settings/numbering_form.html",
        {"form": form, "ot": ot, "preview": preview or rule.preview()},
        400 if form.errors else 200,
    )


@section("numbering")
def numbering_preview(request: HttpRequest) -> HttpResponse:
    preview, errors = _preview(request.GET)
    return render(request, "ui/settings/_numbering_preview.html", {"preview": preview, "errors": errors})


# --- modules -------------------------------------------------------------------------------------


@section("modules")
def modules_page(request: HttpRequest) -> HttpResponse:
    from .nav import MODULES, disabled_modules

    if request.method == "POST":
        key = request.POST.get("module", "")
        enabled = request.POST.get("enabled") == "1"
        try:
            changed = svc.module_switch_set(actor=request.user, key=key, enabled=enabled)
        except ValidationError as exc:
            messages.error(request, " ".join(str(m) for v in exc.errors.values() for m in v))
        else:
            if changed:
                label = MODULES[key].label
                messages.success(
                    request,
                    (_("Module %(name)s switched on.") if enabled else _("Module %(name)s switched off."))
                    % {"name": label},
                )
        return redirect("ui:settings-modules")
    off = disabled_modules()
    modules = [
        {"module": m, "enabled": m.key not in off} for m in sorted(MODULES.values(), key=lambda m: m.order)
    ]
    return render_settings_page(request, "ui/settings/modules.html", {"modules": modules})


# --- audit log -----------------------------------------------------------------------------------

AUDIT_PAGE = 50


def _fmt_value(v: Any) -> str:
    if v is None or v == "":
        return "—"
    if isinstance(v, dict | list):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


@section("audit")
def audit_log_page(request: HttpRequest) -> HttpResponse:
    p = request.GET
    qs = AuditEvent.objects.all()
    filters: dict[str, str] = {}
    errors: list[str] = []
    for key in ("object_type", "action", "object_id"):
        value = p.get(key, "").strip()
        if value:
            qs = qs.filter(**{key: value})
            filters[key] = value
    actor = p.get("actor", "").strip()
    if actor:
        filters["actor"] = actor
        qs = qs.filter(Q(actor_name=actor) | Q(actor_name__istartswith=actor))
    for key, lookup, add in (("since", "at__gte", 0), ("until", "at__lt", 1)):
        raw = p.get(key, "").strip()
        if not raw:
            continue
        day = parse_date(raw)
        if day is None:
            errors.append(_("Enter a date as YYYY-MM-DD."))
            continue
        filters[key] = raw
        start = timezone.make_aware(dt.datetime.combine(day + dt.timedelta(days=add), dt.time.min))
        qs = qs.filter(**{lookup: start})
    before = p.get("before", "")
    if before.isdigit():
        qs = qs.filter(seq__lt=int(before))
    events = list(qs.order_by("-seq")[: AUDIT_PAGE + 1])
    has_more = len(events) > AUDIT_PAGE
    events = events[:AUDIT_PAGE]
    rows = [
        {
            "event": e,
            "changes": [
                (k, _fmt_value(v[0]), _fmt_value(v[1]))
                for k, v in (e.changes or {}).items()
                if isinstance(v, list) and len(v) == 2
            ],
            "data": [(k, _fmt_value(v)) for k, v in (e.data or {}).items()],
        }
        for e in events
    ]
    object_types = sorted(
        {k for k, _l in role_object_types() if k != "*"} | {"module", "picklist_value", "api_token"}
    )
    from urllib.parse import urlencode

    base_query = urlencode(filters)
    return render_settings_page(
        request,
        "ui/settings/audit.html",
        {
            "rows": rows,
            "filters": filters,
            "errors": errors,
            "actions": AuditAction.choices,
            "object_types": object_types,
            "next_before": events[-1].seq if has_more and events else None,
            "base_query": base_query,
            "first_page": not before,
        },
    )


# --- navigation ----------------------------------------------------------------------------------


def register_navigation() -> None:
    from .nav import NavEntry, register_nav

    register_nav(
        NavEntry(
            key="settings",
            module="settings",
            label=gettext_lazy("Settings"),
            url="/settings/",
            icon="settings",
            order=10,
            check=any_section,
            match=("/settings/",),
        )
    )
