"""The generic record pages (list, detail, form, board, recycle bin) behind ``RecordPages.urls()``.

Views are thin: parse, load through ``scoped()``, call the registered service, render.
"""

from __future__ import annotations

import json
import math
import re
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Q, Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, JsonResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import conditional_escape, format_html
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from huoban.platform.access.scoping import get_scoped_or_404, grants_for, has_perm, scoped
from huoban.platform.audit.models import AuditEvent
from huoban.platform.errors import (
    ConflictError,
    DomainError,
    DuplicateError,
    PermissionDeniedError,
    ValidationError,
)
from huoban.platform.records.encryption import mask

from . import formatting, listing
from .forms import CF_PREFIX, RecordForm
from .history import custom_value_display, history_entries, with_import_origin
from .models import SavedView
from .pages import BulkAction, FieldSpec, RecordPages, extra_tabs, related_lists, timeline_providers
from .step_up import is_step_up, refusal_message, step_up_link, step_up_message, step_up_text

if TYPE_CHECKING:
    from huoban.platform.identity.models import User

MAX_BULK = 500


def hx_toast(
    response: HttpResponse, message: str, level: str = "success", *, link: str = "", link_label: str = ""
) -> HttpResponse:
    """Ask the page to show a toast (HTMX responses; see ui.js ``hb:toast``), optionally with a
    link (e.g. to ``/step-up/`` when an action needs a fresh two-factor check)."""
    toast: dict[str, str] = {"level": level, "message": str(message)}
    if link:
        toast.update({"link": link, "link_label": str(link_label or _("Open"))})
    response["HX-Trigger"] = json.dumps({"hb:toast": toast}, ensure_ascii=True)
    return response


def error_page(request: HttpRequest, code: int, message: str = "", *, step_up: bool = False) -> HttpResponse:
    """The 403/404 page (a toast for HTMX requests). ``step_up``: the refusal is a missing two-factor
    step-up; the message then links to ``/step-up/?next=<this page>``."""
    step_up_url = ""
    if step_up:
        step_up_url = step_up_link(request)
        message = step_up_text()
    if request.headers.get("HX-Request"):
        body = step_up_message(request) if step_up else message
        return hx_toast(
            HttpResponse(body, status=code),
            message or _("You may not do this."),
            "error",
            link=step_up_url,
            link_label=_("Confirm now") if step_up else "",
        )
    base = "ui/base.html" if request.user.is_authenticated else "ui/base_auth.html"
    return render(
        request,
        "ui/error.html",
        {"code": code, "message": message, "base_template": base, "step_up_url": step_up_url},
        status=code,
    )


domain_message = refusal_message  # a domain error as one message for a toast


def _conflict_context(pages: RecordPages, exc: ConflictError) -> dict[str, Any]:
    class _Ev:  # the shape history_entries reads
        def __init__(self) -> None:
            self.changes = exc.changes
            self.action = "update"
            self.actor_id = None
            self.actor_name = exc.changed_by
            self.data: dict[str, Any] = {}
            self.at = exc.changed_at

    entries = history_entries(pages.model, [_Ev()])  # type: ignore[list-item]
    return {
        "message": exc.message,
        "changed_by": exc.changed_by,
        "changed_at": exc.changed_at,
        "diffs": entries[0].diffs if entries else [],
        "current_version": exc.current_version,
    }


class PagesView(LoginRequiredMixin, View):
    pages: RecordPages = None  # type: ignore[assignment]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return super().dispatch(request, *args, **kwargs)
        except PermissionDenied as exc:
            return error_page(request, 403, str(exc) if str(exc) else "")
        except PermissionDeniedError as exc:
            return error_page(request, 403, exc.message, step_up=is_step_up(exc))

    def require(self, action: str) -> None:
        if not has_perm(self.request.user, self.pages.object_type, action):
            raise PermissionDenied(_("You do not have permission to perform this action."))

    def get_object(self, pk: Any, action: str = "view", **kw: Any) -> Any:
        qs = scoped(self.request.user, self.pages.model, action, **kw).select_related(
            *[r for r in self.pages.select_related if r]
        )
        return get_scoped_or_404(self.request.user, qs, pk, action, **kw)

    def base_context(self) -> dict[str, Any]:
        p = self.pages
        user = self.request.user
        return {
            "pages": p,
            "can_add": p.create is not None and has_perm(user, p.object_type, "add"),
            "can_delete_any": has_perm(user, p.object_type, "delete"),
            "has_board": p.board is not None,
        }


# --- list ----------------------------------------------------------------------------------------


def export_url() -> str:
    try:
        return reverse("api:export-list")
    except NoReverseMatch:
        return ""


def import_url(user: Any, object_type: str) -> str:
    """The import wizard preselected with ``object_type`` (``/imports/new/?object_type=…``), when
    the type has a registered importer and the user holds its ``import`` permission; else ""."""
    from huoban.platform.transfer import registry as transfer_registry

    if not transfer_registry.is_importable(object_type) or not has_perm(user, object_type, "import"):
        return ""
    try:
        return f"{reverse('transfer:import-new')}?{urlencode({'object_type': object_type})}"
    except NoReverseMatch:
        return ""


def saved_views_for(user: Any, object_type: str) -> list[SavedView]:
    return list(
        SavedView.objects.filter(object_type=object_type)
        .filter(Q(user=user) | Q(shared=True))
        .select_related("user")
        .order_by("-is_default", "name", "id")
    )


def view_url(pages: RecordPages, view: SavedView) -> str:
    q = QueryDict(view.query or "", mutable=True)
    for k in ("page", "view", "cols"):
        q.pop(k, None)
    if view.columns:
        q["cols"] = ",".join(view.columns)
    q["view"] = str(view.pk)
    return f"{pages.list_url()}?{q.urlencode()}"


def default_view(views: list[SavedView], user: Any) -> SavedView | None:
    mine = [v for v in views if v.user_id == user.pk and v.is_default]
    if mine:
        return mine[0]
    shared = [v for v in views if v.shared and v.is_default and v.user_id != user.pk]
    return shared[0] if shared else None


def bulk_actions(pages: RecordPages, user: Any) -> list[BulkAction]:
    builtin = [
        BulkAction(
            "transfer",
            _("Transfer owner"),
            _bulk_transfer,
            action="assign",
            icon="arrows-exchange",
            input="owner",
        ),
        BulkAction("add_tag", _("Add tag"), _bulk_add_tag, action="change", icon="tag", input="tag"),
        BulkAction(
            "delete",
            _("Delete"),
            _bulk_delete,
            action="delete",
            icon="trash",
            danger=True,
            confirm=_("Delete the selected records? They can be restored from the recycle bin."),
        ),
    ]
    found = {a.key: a for a in builtin}
    found.update({a.key: a for a in pages.bulk_actions})
    return [a for a in found.values() if has_perm(user, pages.object_type, a.action)]


def _units() -> list[Any]:
    from huoban.platform.identity.models import OrgUnit

    return list(OrgUnit.objects.filter(active=True).order_by("path"))


def _resolve_filter_labels(state: listing.ListState, user: Any, pages: RecordPages) -> None:
    """Labels for chosen lookup values (owners, related records) so chips and selects read well."""
    from huoban.platform.identity.models import OrgUnit, User

    user_ids = {int(v) for f in state.filters if f.kind == "owner" for v in f.values if v.isdigit()}
    names = {str(u.pk): str(u) for u in User.objects.filter(pk__in=user_ids)} if user_ids else {}
    unit_ids = {int(v) for f in state.filters if f.kind == "unit" for v in f.values if v.isdigit()}
    units = {str(u.pk): u.name for u in OrgUnit.objects.filter(pk__in=unit_ids)} if unit_ids else {}
    for f in state.filters:
        if f.kind == "owner":
            f.labels = {
                v: (_("Me") if v == "me" else _("No owner") if v == "none" else names.get(v, f"#{v}"))
                for v in f.values
            }
        elif f.kind == "unit":
            f.labels = {v: units.get(v, f"#{v}") for v in f.values}
        elif f.kind == "relation":
            from huoban.platform.access import registry

            mf = listing._model_field(pages.model, f.spec.field or f.key)
            target = getattr(mf, "related_model", None)
            ids = [v for v in f.values if v.isdigit()]
            if target is not None and registry.for_model(target) is not None and ids:
                f.labels = {str(o.pk): str(o) for o in scoped(user, target).filter(pk__in=ids)}
        elif f.kind in ("choice",):
            f.labels = {v: dict(f.choices).get(v, v) for v in f.values}
        else:
            f.labels = {v: v for v in f.values}


def filter_chips(request: HttpRequest, state: listing.ListState, pages: RecordPages) -> list[dict[str, str]]:
    _resolve_filter_labels(state, request.user, pages)
    chips = []
    for f in state.filters:
        if not f.active:
            continue
        q = request.GET.copy()
        q.pop("page", None)
        q.pop("view", None)
        if f.kind in ("date_range", "number_range"):
            q.pop(f"{f.key}__from", None)
            q.pop(f"{f.key}__to", None)
            text = f"{f.value_from or '…'} – {f.value_to or '…'}"
        else:
            q.pop(f.param, None)
            if f.kind == "bool":
                text = _("Yes") if f.value in ("1", "true", "yes") else _("No")
            else:
                text = ", ".join(str(f.labels.get(v, v)) for v in f.values)
        chips.append({"label": f.label, "text": text, "remove": f"?{q.urlencode()}"})
    if state.q:
        q = request.GET.copy()
        for k in ("q", "page", "view"):
            q.pop(k, None)
        chips.insert(0, {"label": _("Search"), "text": state.q, "remove": f"?{q.urlencode()}"})
    return chips


# Kinds whose values are short and must never wrap or be cut (dates, amounts, badges): no tooltip.
_SHORT_KINDS = frozenset({"date", "datetime", "number", "money", "choice", "bool"})
_CUSTOM_KINDS = {
    "integer": "number",
    "decimal": "number",
    "date": "date",
    "datetime": "date",
    "boolean": "bool",
}
_TAG = re.compile(r"<[^>]*>")


def column_kind(col: Any, cfs: dict[str, Any]) -> str:
    """The kind a list column is laid out by (the ``hb-k-<kind>`` class: width, wrapping, cutting)."""
    kind = col.kind or "text"
    if kind == "custom":
        cf = cfs.get(col.key[len(listing.CF) :])
        kind = _CUSTOM_KINDS.get(getattr(cf, "type", ""), "custom")
    return kind if kind.isidentifier() else "text"


def cell_title(html: str) -> str:
    """The plain text of a cell for its ``title`` (the full text of a cut cell), attribute-safe."""
    if "<" in html:
        html = _TAG.sub("", html)
    return html.strip().replace('"', "&quot;")


def render_rows(table: list[dict[str, Any]], *, bulk: bool, can_edit: bool, first_col_links: bool) -> str:
    """The <tbody> rows of a list page, built in Python: the hottest loop of every list page
    (50 rows × columns) costs a fraction of the same markup in template language."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    t_open, t_edit, t_history = escape(_("Open")), escape(_("Edit")), escape(_("History"))
    t_select, t_actions = escape(_("Select")), escape(_("Actions"))
    out: list[str] = []
    # per column: may its cells be cut (long text), so they carry the full text as a tooltip?
    short = tuple(f"hb-k-{k}" for k in _SHORT_KINDS)
    tips = [not any(k in cls.split() for k in short) for _l, cls, _c in table[0]["cells"]] if table else []
    for row in table:
        pk = int(row["obj"].pk)
        url = escape(row["url"])
        parts = [f'<tr data-hb-row="{pk}">']
        if bulk:
            parts.append(
                '<td class="hb-col-check"><input class="form-check-input m-0 align-middle" type="checkbox" '
                f'name="ids" value="{pk}" form="hb-bulk-form" data-hb-check aria-label="{t_select}" '
                f'aria-describedby="hb-r{pk}"></td>'
            )
        for i, (label, cls, content) in enumerate(row["cells"]):
            html: str = conditional_escape(content)
            title = ""
            if tips[i] and len(html) > 12:
                text = cell_title(html)
                if len(text) > 12:
                    title = f' title="{text}"'
            if i == 0:
                if first_col_links:
                    html = f'<a href="{url}" class="hb-row-link">{html or "—"}</a>'
                html = f'<span id="hb-r{pk}">{html}</span>'
            cls_attr = f' class="{cls}"' if cls else ""
            parts.append(f'<td data-label="{escape(label)}"{cls_attr}{title}>{html}</td>')
        edit = (
            f'<a class="dropdown-item" href="{url}edit/" hx-boost="false"><i class="ti ti-pencil me-2" '
            f'aria-hidden="true"></i>{t_edit}</a>'
            if can_edit
            else ""
        )
        parts.append(
            '<td class="text-end hb-row-actions"><div class="dropdown">'
            '<button class="btn btn-ghost-secondary btn-icon btn-sm" type="button" data-bs-toggle="dropdown" '
            f'aria-expanded="false" aria-label="{t_actions}" aria-describedby="hb-r{pk}">'
            '<i class="ti ti-dots-vertical" aria-hidden="true"></i></button>'
            '<div class="dropdown-menu dropdown-menu-end">'
            f'<a class="dropdown-item" href="{url}" hx-boost="false"><i class="ti ti-eye me-2" aria-hidden="true"></i>{t_open}</a>'
            f"{edit}"
            f'<a class="dropdown-item" href="{url}?tab=history" hx-boost="false"><i class="ti ti-history me-2" '
            f'aria-hidden="true"></i>{t_history}</a></div></div></td></tr>'
        )
        out.append("".join(parts))
    return mark_safe("\n".join(out))


class RecordListView(PagesView):
    def get(self, request: HttpRequest) -> HttpResponse:
        p = self.pages
        self.require("view")
        user = request.user
        views = saved_views_for(user, p.object_type)
        if not request.GET:
            dv = default_view(views, user)
            if dv is not None:
                return redirect(view_url(p, dv))
        state = listing.list_state(p, request)
        qs = listing.base_queryset(p, request, state)
        total, capped = listing.capped_count(qs)
        pages_total = max(1, math.ceil(total / state.per_page))
        if state.page > pages_total:
            state.page = pages_total
        rows = listing.page_rows(p, qs, state) if total else []
        # per-column strings computed once (not once per cell: labels are lazy translations)
        col_labels = [str(c.label) for c in state.columns]
        col_kinds = [column_kind(c, state.custom) for c in state.columns]
        col_classes = [
            " ".join(
                x
                for x in (
                    f"hb-k-{col_kinds[i]}",
                    "text-end hb-num" if c.align == "end" else "",
                    "hb-cell-primary" if i == 0 else "",
                )
                if x
            )
            for i, c in enumerate(state.columns)
        ]
        table = [
            {
                "obj": obj,
                "url": p.detail_url(obj),
                "cells": [
                    (col_labels[i], col_classes[i], listing.cell(c, obj, p, state.custom))
                    for i, c in enumerate(state.columns)
                ],
            }
            for obj in rows
        ]
        current_view = None
        vid = request.GET.get("view", "")
        if vid.isdigit():
            current_view = next((v for v in views if v.pk == int(vid)), None)
        query_wo_page = request.GET.copy()
        query_wo_page.pop("page", None)
        state_query = request.GET.copy()
        for k in ("page", "view", "cols"):
            state_query.pop(k, None)
        chips = filter_chips(request, state, p)
        can_edit_rows = p.update is not None and has_perm(user, p.object_type, "change")
        actions = bulk_actions(p, user)
        first_col_links = bool(state.columns) and not state.columns[0].link
        ctx = {
            **self.base_context(),
            "state": state,
            "head": list(zip(state.columns, col_kinds, strict=True)),
            "chips": chips,
            "units": _units() if any(f.kind == "unit" for f in state.filters) else [],
            "table": table,
            "total": total,
            "capped": capped,
            "page_number": state.page,
            "pages_total": pages_total,
            "has_prev": state.page > 1,
            "has_next": state.page < pages_total,
            "first_index": (state.page - 1) * state.per_page + 1 if total else 0,
            "last_index": (state.page - 1) * state.per_page + len(rows),
            "views": views,
            "current_view": current_view,
            "view_url": {v.pk: view_url(p, v) for v in views},
            "bulk_actions": actions,
            "export_url": export_url() if has_perm(user, p.object_type, "export") else "",
            "import_url": import_url(user, p.object_type),
            "query_wo_page": query_wo_page.urlencode(),
            "state_query": state_query.urlencode(),
            "is_filtered": bool(state.q or state.active_filters),
            "per_page_choices": listing.PER_PAGE_CHOICES,
            "hidden_columns": [c for k, c in state.available.items() if k not in state.column_keys],
            "can_share_views": True,
            "rows_html": render_rows(
                table, bulk=bool(actions), can_edit=can_edit_rows, first_col_links=first_col_links
            ),
            "is_admin": grants_for(user).is_admin,
        }
        if request.headers.get("HX-Request") and request.headers.get("HX-Target") == "hb-list":
            return render(request, "ui/records/_list_results.html", ctx)
        return render(request, "ui/records/list.html", ctx)


# --- bulk actions --------------------------------------------------------------------------------


def _bulk_transfer(request: HttpRequest, pages: RecordPages, objs: list[Any]) -> str:
    from huoban.platform.identity.models import User

    owner_id = request.POST.get("owner", "")
    new_owner = User.objects.filter(pk=owner_id, is_active=True).first() if owner_id.isdigit() else None
    if new_owner is None:
        raise ValidationError({"owner": [_("Choose an active user.")]})
    n = pages.call_transfer(
        actor=request.user, objs=objs, new_owner=new_owner, reason=request.POST.get("reason", "")[:300]
    )
    return ngettext("%(n)d record transferred to %(who)s.", "%(n)d records transferred to %(who)s.", n) % {
        "n": n,
        "who": new_owner,
    }


def _bulk_add_tag(request: HttpRequest, pages: RecordPages, objs: list[Any]) -> str:
    from huoban.platform.records.services import add_tags

    names = [t.strip() for t in request.POST.get("tag", "").replace("，", ",").split(",") if t.strip()]
    if not names:
        raise ValidationError({"tag": [_("Enter a tag.")]})
    n = add_tags(actor=request.user, objs=objs, names=names)
    return ngettext("Tag added to %(n)d record.", "Tag added to %(n)d records.", n) % {"n": n}


def _bulk_delete(request: HttpRequest, pages: RecordPages, objs: list[Any]) -> str:
    from huoban.platform.identity.stepup import require_step_up

    require_step_up(request)  # as the API's bulk-delete: a sensitive action (handbook §3)
    n = pages.call_delete_many(actor=request.user, objs=objs)
    return ngettext(
        "%(n)d record moved to the recycle bin.", "%(n)d records moved to the recycle bin.", n
    ) % {"n": n}


class RecordBulkView(PagesView):
    def post(self, request: HttpRequest) -> HttpResponse:
        p = self.pages
        back = request.POST.get("next") or p.list_url()
        if not back.startswith("/"):
            back = p.list_url()
        actions = {a.key: a for a in bulk_actions(p, request.user)}
        key = request.POST.get("action", "")
        if key not in actions:
            self.require("view")
            if any(a.key == key for a in bulk_actions(p, _Everything())):
                raise PermissionDenied(_("You do not have permission to perform this action."))
            messages.error(request, _("Choose an action."))
            return redirect(back)
        action = actions[key]
        ids = [int(i) for i in request.POST.getlist("ids") if i.isdigit()][:MAX_BULK]
        if not ids:
            messages.error(request, _("Select at least one record."))
            return redirect(back)
        objs = list(scoped(request.user, p.model, action.action).filter(pk__in=ids))
        if not objs:
            raise Http404
        try:
            result = action.handler(request, p, objs)
        except DomainError as exc:  # a ValidationError too: its messages, one line
            messages.error(request, domain_message(request, exc))
            return redirect(back)
        if isinstance(result, HttpResponse):
            return result
        skipped = len(ids) - len(objs)
        if result:
            messages.success(request, str(result))
        if skipped:
            messages.warning(
                request,
                ngettext(
                    "%(n)d selected record was skipped (not yours to change).",
                    "%(n)d selected records were skipped (not yours to change).",
                    skipped,
                )
                % {"n": skipped},
            )
        return redirect(back)


class _Everything:
    """A stand-in user for listing every bulk action (to tell 403 from unknown)."""

    is_authenticated = True
    is_active = True
    is_superuser = True
    pk = None
    _huoban_grants = None

    def __init__(self) -> None:
        from huoban.platform.access.scoping import Grants

        self._huoban_grants = Grants(is_admin=True)


# --- saved views ---------------------------------------------------------------------------------


class SavedViewView(PagesView):
    def post(self, request: HttpRequest) -> HttpResponse:
        p = self.pages
        self.require("view")
        name = request.POST.get("name", "").strip()[:120]
        query = request.POST.get("query", "")[:2000]
        q = QueryDict(query, mutable=True)
        for k in ("page", "view", "cols"):
            q.pop(k, None)
        cols = [c for c in request.POST.get("cols", "").split(",") if c][:30]
        shared = request.POST.get("shared") == "1"
        is_default = request.POST.get("is_default") == "1"
        if (
            shared
            and not grants_for(request.user).is_admin
            and not has_perm(request.user, p.object_type, "assign")
        ):
            shared = False  # sharing views with everyone is for managers and administrators
        if not name:
            messages.error(request, _("Give the view a name."))
            return redirect(f"{p.list_url()}?{query}")
        user = cast("User", request.user)
        existing = SavedView.objects.filter(user=user, object_type=p.object_type, name=name).first()
        view = existing or SavedView(user=user, object_type=p.object_type, name=name)
        view.query, view.columns, view.shared, view.is_default = q.urlencode(), cols, shared, is_default
        view.updated_at = timezone.now()
        view.save()
        if is_default:
            SavedView.objects.filter(user=user, object_type=p.object_type, is_default=True).exclude(
                pk=view.pk
            ).update(is_default=False)
        messages.success(request, _("View “%(name)s” saved.") % {"name": name})
        return redirect(view_url(p, view))


class SavedViewDeleteView(PagesView):
    def post(self, request: HttpRequest, view_id: int) -> HttpResponse:
        p = self.pages
        qs = SavedView.objects.filter(pk=view_id, object_type=p.object_type)
        if not grants_for(request.user).is_admin:
            qs = qs.filter(user=cast("User", request.user))
        view = qs.first()
        if view is None:
            raise Http404
        view.delete()
        messages.success(request, _("View “%(name)s” deleted.") % {"name": view.name})
        return redirect(f"{p.list_url()}?view=0")


# --- create / edit -------------------------------------------------------------------------------


def _duplicates_context(pages: RecordPages, exc: DuplicateError) -> list[dict[str, Any]]:
    out = []
    for d in exc.duplicates or []:
        if not isinstance(d, dict):
            d = {"label": str(d)}
        pk = d.get("id") or d.get("pk")
        out.append(
            {
                "id": pk,
                "label": d.get("label") or d.get("name") or d.get("repr") or (f"#{pk}" if pk else ""),
                "number": d.get("number", ""),
                "reason": d.get("reason")
                or ", ".join(map(str, d.get("fields", []) or d.get("matched", []) or [])),
                "score": d.get("score"),
                "url": d.get("url") or (pages.detail_url(pk) if pk else ""),
                "visible": d.get("visible", True),
            }
        )
    return out


class RecordFormMixin(PagesView):
    template_name = "ui/records/form.html"

    def render_form(
        self, request: HttpRequest, form: RecordForm, obj: Any = None, status: int = 200, **extra: Any
    ) -> HttpResponse:
        form.mark_invalid()
        ctx = {
            **self.base_context(),
            "form": form,
            "obj": obj,
            "title": self.pages.title_of(obj) if obj is not None else "",
            "version": extra.pop("version", getattr(obj, "version", "")),
            **extra,
        }
        return render(request, self.template_name, ctx, status=status)


class RecordCreateView(RecordFormMixin):
    def get(self, request: HttpRequest) -> HttpResponse:
        self.require("add")
        if self.pages.create is None:
            raise Http404
        initial = {k: v for k, v in request.GET.items() if k not in ("next",)}
        form = RecordForm(self.pages, request.user, initial=initial)
        return self.render_form(request, form)

    def post(self, request: HttpRequest) -> HttpResponse:
        p = self.pages
        self.require("add")
        if p.create is None:
            raise Http404
        form = RecordForm(p, request.user, data=request.POST, files=request.FILES)
        if not form.is_valid():
            return self.render_form(request, form)
        data, custom, tags = form.service_payload()
        try:
            obj = p.call_create(
                actor=request.user,
                data=data,
                custom_fields=custom,
                tags=tags,
                confirm_duplicate=request.POST.get("confirm_duplicate") == "1",
            )
        except ValidationError as exc:
            form.apply_service_errors(exc.errors)
            return self.render_form(request, form)
        except DuplicateError as exc:
            return self.render_form(request, form, duplicates=_duplicates_context(p, exc))
        messages.success(
            request, _("%(type)s “%(name)s” created.") % {"type": p.singular(), "name": p.title_of(obj)}
        )
        if request.POST.get("_continue") == "new":
            return redirect(reverse(p.url_name("new")))
        return redirect(p.detail_url(obj))


class RecordEditView(RecordFormMixin):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("change")
        obj = self.get_object(pk, "change")
        form = RecordForm(self.pages, request.user, instance=obj)
        return self.render_form(request, form, obj)

    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        p = self.pages
        self.require("change")
        obj = self.get_object(pk, "change")
        version = request.POST.get("version", "")
        form = RecordForm(p, request.user, data=request.POST, instance=obj)
        if not form.is_valid():
            return self.render_form(request, form, obj, version=version)
        data, custom, tags = form.service_payload()
        try:
            obj = p.call_update(
                actor=request.user,
                obj=obj,
                data=data,
                custom_fields=custom,
                tags=tags,
                version=int(version) if version.isdigit() else None,
                confirm_duplicate=request.POST.get("confirm_duplicate") == "1",
            )
        except ValidationError as exc:
            form.apply_service_errors(exc.errors)
            return self.render_form(request, form, obj, version=version)
        except ConflictError as exc:
            return self.render_form(
                request, form, obj, status=409, version=version, conflict=_conflict_context(p, exc)
            )
        except DuplicateError as exc:
            return self.render_form(
                request, form, obj, version=version, duplicates=_duplicates_context(p, exc)
            )
        messages.success(request, _("Changes saved."))
        return redirect(p.detail_url(obj))


# --- detail --------------------------------------------------------------------------------------


class Perms:
    def __init__(self, view: PagesView, obj: Any):
        user, p = view.request.user, view.pages
        self.change = (
            p.update is not None
            and has_perm(user, p.object_type, "change")
            and _in_scope(user, p, obj, "change")
        )
        self.delete = has_perm(user, p.object_type, "delete") and _in_scope(user, p, obj, "delete")
        self.assign = has_perm(user, p.object_type, "assign") and _in_scope(user, p, obj, "assign")
        self.view_sensitive = has_perm(user, p.object_type, "view_sensitive")


def _in_scope(user: Any, pages: RecordPages, obj: Any, action: str) -> bool:
    grants = grants_for(user)
    if grants.is_admin or grants.scope(pages.object_type) == "all":
        return True
    return scoped(user, pages.model, action).filter(pk=obj.pk).exists()


class DetailField:
    """One field on the details tab: label, display HTML, inline-edit ability."""

    def __init__(
        self,
        name: str,
        label: str,
        display: Any,
        editable: bool,
        sensitive: bool = False,
        empty: bool = False,
    ):
        self.name, self.label, self.display = name, label, display
        self.editable, self.sensitive, self.empty = editable, sensitive, empty


def field_display(
    pages: RecordPages, obj: Any, spec: FieldSpec | str, perms: Perms | None = None
) -> tuple[Any, bool]:
    """(html, empty) of one field of ``obj`` — the one formatting path of the details tab, the
    header, board cards and the inline editor: the spec's ``render``/``choices`` when the pages
    declare one (``RecordPages.display_spec``), else ``display_value``. Sensitive fields are
    always masked."""
    if isinstance(spec, str):
        spec = pages.display_spec(spec)
    name = spec.name
    if name not in pages.sensitive():
        raw = getattr(obj, name, None)
        if spec.render is not None:
            if hasattr(obj, name) and raw in (None, "", []):
                return "—", True
            return spec.render(obj), False
        if spec.choices is not None:
            if raw in (None, ""):
                return "—", True
            return str(dict((str(k), v) for k, v in spec.choices()).get(str(raw), raw)), False
    return display_value(pages, obj, name, perms)


def custom_field_display(cf: Any, value: Any) -> tuple[Any, bool]:
    """(html, empty) of a custom field's value, given its definition."""
    if cf is None or value in (None, "", []):
        return "—", True
    if cf.type == "url":
        return format_html(
            '<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', value, value
        ), False
    if cf.type == "email":
        return format_html('<a href="mailto:{}">{}</a>', value, value), False
    return custom_value_display(cf, value), False


def json_display(value: Any) -> str:
    """A JSON value for people, not as Python writes it: ["Zoho", "用友"] → "Zoho, 用友";
    [{"name": "CRM", "quantity": 20}] → "CRM · 20"; {} / [] → "—"."""
    if isinstance(value, dict):
        return " · ".join(json_display(v) for v in value.values() if v not in (None, "", [], {})) or "—"
    if isinstance(value, list | tuple):
        sep = "; " if any(isinstance(v, dict | list) for v in value) else ", "
        return sep.join(json_display(v) for v in value if v not in (None, "", [], {})) or "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    return str(value)


def display_value(pages: RecordPages, obj: Any, name: str, perms: Perms | None = None) -> tuple[Any, bool]:
    """(html, empty) for a field of ``obj`` from its model field (or custom field) alone."""
    from django.db import models as m

    if name.startswith(CF_PREFIX):
        from huoban.platform.records.models import CustomField

        key = name[len(CF_PREFIX) :]
        value = (obj.custom_fields or {}).get(key)
        if value in (None, "", []):
            return "—", True
        return custom_field_display(
            CustomField.objects.filter(object_type=pages.object_type, key=key).first(), value
        )
    if name == "tags":
        names = obj.tag_names
        if not names:
            return "—", True
        return _tags_html(names), False
    try:
        f = obj._meta.get_field(name)
    except Exception:
        value = getattr(obj, name, None)
        return (str(value), False) if value not in (None, "") else ("—", True)
    value = getattr(obj, name, None)
    if value in (None, ""):
        return "—", True
    if name in pages.sensitive():
        masked = mask(str(value), "email" if "email" in name else "default")
        if perms is not None and perms.view_sensitive:
            return format_html(
                '<span class="hb-masked" data-hb-reveal-target>{}</span> '
                '<button type="button" class="btn btn-sm btn-ghost-secondary hb-reveal" data-hb-reveal '
                'data-object-type="{}" data-id="{}" data-field="{}">{}</button>',
                masked,
                pages.object_type,
                obj.pk,
                name,
                _("Show"),
            ), False
        return masked, False
    if getattr(f, "choices", None):
        return format_html(
            '<span class="badge hb-choice hb-choice-{}">{}</span>',
            value,
            getattr(obj, f"get_{name}_display")(),
        ), False
    if isinstance(f, m.ForeignKey):
        from .pages import detail_url_for

        url = detail_url_for(getattr(value, "object_type", ""), value.pk)
        return (format_html('<a href="{}">{}</a>', url, value) if url else str(value)), False
    if isinstance(f, m.BooleanField):
        return (_("Yes") if value else _("No")), False
    if isinstance(f, m.DateTimeField):
        return format_html(
            '<span title="{}">{}</span>', formatting.reltime(value), formatting.fdatetime(value)
        ), False
    if isinstance(f, m.DateField):
        return formatting.fdate(value), False
    if isinstance(f, m.DecimalField):
        names = {x.name for x in obj._meta.concrete_fields}
        if "currency" in names:
            return formatting.money(value, getattr(obj, "currency", "") or "CNY"), False
        return formatting.fnumber(value), False
    if isinstance(f, m.IntegerField | m.FloatField):
        return formatting.fnumber(value), False
    if isinstance(f, m.JSONField):
        return json_display(value), value in ([], {})
    text = str(value)
    if name == "email" or isinstance(f, m.EmailField):
        return format_html('<a href="mailto:{}">{}</a>', text, text), False
    if name in ("phone", "mobile"):
        return format_html('<a href="tel:{}">{}</a>', text, text), False
    if name in ("website", "url") or isinstance(f, m.URLField):
        href = text if text.startswith(("http://", "https://")) else f"https://{text}"
        return format_html('<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>', href, text), False
    return text, False


def _tags_html(names: list[str]) -> Any:
    from django.utils.safestring import mark_safe

    return mark_safe(
        "".join(str(format_html('<span class="badge bg-secondary-lt me-1">{}</span>', n)) for n in names)
    )


def detail_sections(view: PagesView, obj: Any, perms: Perms) -> list[tuple[Any, list[DetailField]]]:
    from huoban.platform.records.models import CustomField

    p = view.pages
    inline = set(p.inline_fields()) if perms.change else set()
    sens = set(p.sensitive())
    out = []
    defs = list(CustomField.objects.filter(object_type=p.object_type, active=True).order_by("order", "id"))
    for section in p.get_detail_sections():
        fields: list[DetailField] = []
        for spec in section.specs():
            try:
                label = spec.label or obj._meta.get_field(spec.name).verbose_name
            except Exception:
                label = spec.label or (_("Tags") if spec.name == "tags" else spec.name)
            display, empty = field_display(p, obj, spec, perms)
            fields.append(
                DetailField(
                    spec.name,
                    str(label)[:1].upper() + str(label)[1:],
                    display,
                    spec.name in inline,
                    spec.name in sens,
                    empty,
                )
            )
        if section.custom_fields:
            for cf in defs:
                display, empty = custom_field_display(cf, (obj.custom_fields or {}).get(cf.key))
                fields.append(
                    DetailField(CF_PREFIX + cf.key, cf.display_label(), display, perms.change, False, empty)
                )
        if fields:
            out.append((section.title, fields))
    return out


def header_fields(view: PagesView, obj: Any, perms: Perms) -> list[DetailField]:
    out = []
    for name in view.pages.header_fields:
        try:
            label = obj._meta.get_field(name).verbose_name
        except Exception:
            label = name
        display, empty = field_display(view.pages, obj, name, perms)
        out.append(DetailField(name, str(label)[:1].upper() + str(label)[1:], display, False, False, empty))
    return out


def tabs_for(view: PagesView, obj: Any) -> list[dict[str, Any]]:
    p, user = view.pages, view.request.user
    tabs: list[dict[str, Any]] = [
        {"key": "details", "label": _("Details"), "icon": "list-details"},
        {"key": "timeline", "label": _("Timeline"), "icon": "timeline"},
    ]
    if any(_related_allowed(user, r) for r in related_lists(p)):
        tabs.append({"key": "related", "label": _("Related"), "icon": "link"})
    tabs.append({"key": "history", "label": _("History"), "icon": "history"})
    for t in extra_tabs(p):
        if t.check is None or t.check(user, obj):
            tabs.append({"key": t.key, "label": t.label, "icon": t.icon})
    return tabs


def _related_allowed(user: Any, r: Any) -> bool:
    ot = getattr(r.model, "object_type", "")
    return bool(ot) and has_perm(user, ot, "view")


def render_tab(view: PagesView, request: HttpRequest, obj: Any, tab: str, perms: Perms) -> str:
    from django.template.loader import render_to_string

    p = view.pages
    ctx: dict[str, Any] = {"pages": p, "obj": obj, "perms": perms, "tab": tab}
    if tab == "details":
        ctx["sections"] = detail_sections(view, obj, perms)
        return render_to_string("ui/records/_tab_details.html", ctx, request=request)
    if tab == "timeline":
        items = []
        kinds = []
        for provider in timeline_providers(p.object_type):
            got = list(provider.items(request, obj) or [])
            if got:
                kinds.append({"key": provider.key, "label": provider.label, "count": len(got)})
            items.extend(got)
        only = request.GET.get("kind", "")
        if only:
            items = [i for i in items if i.kind == only]
        items.sort(key=lambda i: i.at or timezone.now(), reverse=True)
        ctx.update({"items": items[:100], "kinds": kinds, "only": only})
        return render_to_string("ui/records/_tab_timeline.html", ctx, request=request)
    if tab == "related":
        blocks = []
        for r in related_lists(p):
            if not _related_allowed(request.user, r):
                continue
            if r.queryset is not None:
                qs = r.queryset(request.user, obj)
            else:
                qs = scoped(request.user, r.model).filter(**{r.fk: obj})
            from .pages import RecordPages as _RP
            from .pages import pages_for

            related_ot = getattr(r.model, "object_type", "")  # set: _related_allowed() checked it
            rp = pages_for(related_ot) or _RP(model=r.model)
            cfs: dict[str, Any] = {}
            cols = [
                c
                for c in (listing.resolve_column(rp, c, cfs) for c in (r.columns or ["id"]))
                if c is not None
            ]
            total = qs.order_by()[:1001].count()
            rows = list(qs.order_by(*r.ordering)[: r.limit])
            blocks.append(
                {
                    "related": r,
                    "columns": cols,
                    "total": total,
                    "rows": [
                        {
                            "url": rp.detail_url(o) if pages_for(related_ot) else "",
                            "cells": [listing.cell(c, o, rp, cfs) for c in cols],
                        }
                        for o in rows
                    ],
                    "add_url": r.add_url(obj)
                    if r.add_url and has_perm(request.user, related_ot, "add")
                    else "",
                    "list_url": r.list_url(obj) if r.list_url else "",
                }
            )
        ctx["blocks"] = blocks
        return render_to_string("ui/records/_tab_related.html", ctx, request=request)
    if tab == "history":
        from django.core.paginator import Paginator

        events = AuditEvent.objects.filter(object_type=p.object_type, object_id=str(obj.pk)).order_by("-seq")
        page = Paginator(events, 25).get_page(request.GET.get("page"))
        entries = with_import_origin(
            p.model, obj, history_entries(p.model, list(page.object_list)), oldest_shown=not page.has_next()
        )
        ctx.update({"entries": entries, "page": page})
        return render_to_string("ui/records/_tab_history.html", ctx, request=request)
    for t in extra_tabs(p):
        if t.key == tab and (t.check is None or t.check(request.user, obj)):
            return str(t.render(request, obj))
    raise Http404


class RecordDetailView(PagesView):
    def get(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require("view")
        obj = self.get_object(pk)
        perms = Perms(self, obj)
        tabs = tabs_for(self, obj)
        tab = request.GET.get("tab", "details")
        if tab not in {t["key"] for t in tabs}:
            tab = "details"
        ctx = {
            **self.base_context(),
            "obj": obj,
            "title": self.pages.title_of(obj),
            "subtitle": getattr(obj, self.pages.subtitle_field, "") if self.pages.subtitle_field else "",
            "perms": perms,
            "header": header_fields(self, obj, perms),
            "tabs": tabs,
            "tab": tab,
            "tab_html": render_tab(self, request, obj, tab, perms),
        }
        return render(request, "ui/records/detail.html", ctx)


class RecordTabView(PagesView):
    def get(self, request: HttpRequest, pk: int, tab: str) -> HttpResponse:
        self.require("view")
        obj = self.get_object(pk)
        return HttpResponse(render_tab(self, request, obj, tab, Perms(self, obj)))


class InlineFieldView(PagesView):
    """GET: the field's display (or ``?edit=1`` its editor); POST: save one field through the
    update service with the version check."""

    def _context(self, obj: Any, name: str, perms: Perms) -> dict[str, Any]:
        display, empty = field_display(self.pages, obj, name, perms)
        return {
            "pages": self.pages,
            "obj": obj,
            "name": name,
            "display": display,
            "empty": empty,
            "editable": True,
        }

    def _form(self, obj: Any, name: str, data: Any = None) -> RecordForm:
        return RecordForm(self.pages, self.request.user, data=data, instance=obj, only=[name])

    def _check(self, name: str) -> None:
        allowed = set(self.pages.inline_fields())
        if not (name in allowed or name.startswith(CF_PREFIX)):
            raise Http404

    def get(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        self.require("view")
        self._check(field)
        obj = self.get_object(pk)
        perms = Perms(self, obj)
        if request.GET.get("edit") == "1":
            if not perms.change:
                raise PermissionDenied
            form = self._form(obj, field)
            if field not in form.fields:
                raise Http404
            return render(
                request,
                "ui/records/_field_edit.html",
                {"pages": self.pages, "obj": obj, "name": field, "form": form, "bound": form[field]},
            )
        return render(request, "ui/records/_field_display.html", self._context(obj, field, perms))

    def post(self, request: HttpRequest, pk: int, field: str) -> HttpResponse:
        p = self.pages
        self.require("change")
        self._check(field)
        obj = self.get_object(pk, "change")
        form = self._form(obj, field, data=request.POST)
        if field not in form.fields:
            raise Http404
        ctx = {"pages": p, "obj": obj, "name": field, "form": form, "detail_url": p.detail_url(obj)}
        version = request.POST.get("version", "")
        if form.is_valid():
            data, custom, _tags = form.service_payload()
            try:
                obj = p.call_update(
                    actor=request.user,
                    obj=obj,
                    data=data,
                    custom_fields=custom,
                    version=int(version) if version.isdigit() else None,
                )
            except ValidationError as exc:
                form.apply_service_errors(exc.errors)
            except ConflictError as exc:
                ctx["conflict"] = _conflict_context(p, exc)
            except DuplicateError as exc:
                ctx["duplicates"] = _duplicates_context(p, exc)
            else:
                response = render(
                    request,
                    "ui/records/_field_display.html",
                    {**self._context(obj, field, Perms(self, obj)), "version": obj.version},
                )
                return hx_toast(response, _("Saved."))
        form.mark_invalid()
        ctx["bound"] = form[field]
        ctx["version"] = version
        status = 409 if "conflict" in ctx else 200
        return render(request, "ui/records/_field_edit.html", ctx, status=status)


# --- delete / restore / transfer ---------------------------------------------------------------


class RecordDeleteView(PagesView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        p = self.pages
        self.require("delete")
        obj = self.get_object(pk, "delete")
        version = request.POST.get("version", "")
        try:
            p.call_delete(actor=request.user, obj=obj, version=int(version) if version.isdigit() else None)
        except ConflictError as exc:
            messages.error(request, exc.message)
            return redirect(p.detail_url(obj))
        except DomainError as exc:
            messages.error(request, domain_message(request, exc))
            return redirect(p.detail_url(obj))
        messages.success(
            request,
            _("“%(name)s” moved to the recycle bin.") % {"name": p.title_of(obj)},
        )
        return redirect(p.list_url())


class RecordRestoreView(PagesView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        p = self.pages
        self.require("delete")
        obj = self.get_object(pk, "delete", only_deleted=True)
        try:
            p.call_restore(actor=request.user, obj=obj)
        except DomainError as exc:
            messages.error(request, domain_message(request, exc))
            return redirect(reverse(p.url_name("deleted")))
        messages.success(request, _("“%(name)s” restored.") % {"name": p.title_of(obj)})
        return redirect(p.detail_url(obj))


class RecordTransferView(PagesView):
    def post(self, request: HttpRequest, pk: int) -> HttpResponse:
        from huoban.platform.identity.models import User

        p = self.pages
        self.require("assign")
        obj = self.get_object(pk, "assign")
        owner_id = request.POST.get("owner", "")
        new_owner = User.objects.filter(pk=owner_id, is_active=True).first() if owner_id.isdigit() else None
        try:
            if new_owner is None:
                raise ValidationError({"owner": [_("Choose an active user.")]})
            p.call_transfer(
                actor=request.user,
                objs=[obj],
                new_owner=new_owner,
                reason=request.POST.get("reason", "")[:300],
            )
        except DomainError as exc:
            msgs = (
                exc.errors.values()
                if isinstance(exc, ValidationError)
                else [[getattr(exc, "message", str(exc))]]
            )
            messages.error(
                request, " ".join(str(m) for v in msgs for m in (v if isinstance(v, list) else [v]))
            )
            return redirect(p.detail_url(obj))
        messages.success(request, _("Transferred to %(who)s.") % {"who": new_owner})
        return redirect(p.detail_url(obj))


class RecycleBinView(PagesView):
    def get(self, request: HttpRequest) -> HttpResponse:
        from django.core.paginator import Paginator

        p = self.pages
        self.require("delete")
        qs = scoped(request.user, p.model, "delete", only_deleted=True).select_related("deleted_by", "owner")
        q = request.GET.get("q", "")[:200]
        qs = listing.apply_search(qs, q, p, request)
        page = Paginator(qs.order_by("-deleted_at", "-id"), 50).get_page(request.GET.get("page"))
        return render(request, "ui/records/deleted.html", {**self.base_context(), "page": page, "q": q})


# --- kanban board --------------------------------------------------------------------------------


class BoardView(PagesView):
    def get(self, request: HttpRequest) -> HttpResponse:
        p = self.pages
        board = p.board
        if board is None:
            raise Http404
        self.require("view")
        state = listing.list_state(p, request)
        qs = listing.base_queryset(p, request, state)
        related = [r for r in p.select_related if r]
        columns = []
        can_move = has_perm(request.user, p.object_type, "change")
        card_specs = [p.display_spec(f) for f in board.card_fields]
        for col in board.columns(request):
            cqs = qs.filter(**{board.field: col.key})
            total = cqs.order_by()[:10001].count()
            amount = None
            if board.amount_field:
                amount = cqs.aggregate(s=Sum(board.amount_field))["s"]
            cards = list(cqs.select_related(*related).order_by("-updated_at", "-id")[: board.per_column])
            columns.append(
                {
                    "col": col,
                    "key": str(col.key),
                    "total": total,
                    "amount": amount,
                    "cards": [
                        {"obj": c, "fields": [field_display(p, c, f)[0] for f in card_specs]} for c in cards
                    ],
                    "more": max(0, total - len(cards)),
                }
            )
        ctx = {
            **self.base_context(),
            "board": board,
            "columns": columns,
            "state": state,
            "can_move": can_move,
            "currency": "CNY",
            "move_url": reverse(p.url_name("board-move")),
        }
        return render(request, "ui/records/board.html", ctx)


class BoardMoveView(PagesView):
    def post(self, request: HttpRequest) -> HttpResponse:
        p = self.pages
        board = p.board
        if board is None:
            raise Http404
        if not has_perm(request.user, p.object_type, "change"):
            return JsonResponse(
                {"ok": False, "message": _("You do not have permission to perform this action.")}, status=403
            )
        pk = request.POST.get("id", "")
        to = request.POST.get("to", "")
        version = request.POST.get("version", "")
        obj = scoped(request.user, p.model, "change").filter(pk=pk).first() if pk.isdigit() else None
        if obj is None:
            return JsonResponse({"ok": False, "message": _("Not found.")}, status=404)
        valid = {str(c.key) for c in board.columns(request)}
        if to not in valid:
            return JsonResponse({"ok": False, "message": _("Unknown column.")}, status=400)
        try:
            obj = board.move(
                actor=request.user, obj=obj, to=to, version=int(version) if version.isdigit() else None
            )
        except ValidationError as exc:
            msgs = [
                str(m)
                for v in exc.errors.values()
                for m in (v if isinstance(v, list) else v.values() if isinstance(v, dict) else [v])
            ]
            return JsonResponse({"ok": False, "message": " ".join(msgs), "errors": exc.errors}, status=400)
        except ConflictError as exc:
            return JsonResponse({"ok": False, "message": exc.message, "code": "stale_version"}, status=409)
        except PermissionDeniedError as exc:
            body: dict[str, Any] = {"ok": False, "message": exc.message, "code": exc.code}
            if is_step_up(exc):
                body.update({"step_up_url": step_up_link(request), "link_label": _("Confirm now")})
            return JsonResponse(body, status=403)
        except DomainError as exc:
            return JsonResponse(
                {"ok": False, "message": str(getattr(exc, "message", exc))}, status=exc.status
            )
        return JsonResponse({"ok": True, "id": obj.pk, "version": obj.version, "to": to})
