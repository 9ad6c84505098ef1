"""Pages of their own: duplicate review, merge (field by field) and undo, public pools, the
redirect from a merged customer to the one it lives on now, a customer's addresses and files
(add / edit / make primary / delete; upload / download / delete) and a follow-up's files (upload /
download / delete). Thin: scoped reads, one service call."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.errors import DomainError, ValidationError, error_text
from huoban.platform.identity.forms import apply_errors
from huoban.platform.ui.attachments import file_response, upload_response

from . import selectors
from .duplicates import duplicate_group_dismiss
from .merging import SPECS, UNDO_DAYS, merge_undo_by_id, record_merge
from .models import Attachment, Contact, Customer, CustomerAddress, DuplicateGroup, FollowUp
from .pools import customer_release, pool_claim, visible_pools, with_customer_counts
from .services import (
    attachment_add,
    attachment_delete,
    customer_address_add,
    customer_address_delete,
    customer_address_make_primary,
    customer_address_update,
    customer_attachment_add,
    customer_attachment_delete,
)

MODELS = {"customer": Customer, "contact": Contact}
RESOURCES = {"customer": "customers", "contact": "contacts"}


def _require(request: HttpRequest, object_type: str, action: str) -> None:
    if not has_perm(request.user, object_type, action):
        raise PermissionDenied(_("You do not have permission to perform this action."))


# --- merged records redirect ------------------------------------------------------------------


def tombstone_or(detail_view: Any, object_type: str) -> Any:
    """Wrap a detail view: a merged record sends the user to the record it was merged into."""

    @login_required
    def view(request: HttpRequest, pk: int) -> HttpResponse:
        target = selectors.resolve_tombstone(request.user, MODELS[object_type], pk)
        if target is not None:
            messages.info(request, _("This record was merged into this one."))
            return redirect(f"/{RESOURCES[object_type]}/{target}/", permanent=False)
        return detail_view(request, pk=pk)

    return view


# --- duplicates -------------------------------------------------------------------------------


def _member_rows(object_type: str, ids: list[int]) -> dict[int, Any]:
    model = MODELS[object_type]
    qs = model._base_manager.filter(pk__in=ids).select_related("owner")
    return {o.pk: o for o in qs}


@login_required
def duplicates(request: HttpRequest, object_type: str = "customer") -> HttpResponse:
    _require(request, object_type, "merge")
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "scan":
            from huoban.platform.jobs.services import job_enqueue

            job = job_enqueue(
                kind="customers.duplicate_scan",
                actor=request.user,
                params={"object_types": ["customer", "contact"]},
                title=_("Duplicate scan"),
            )
            return redirect(f"/jobs/{job.pk}/")
        if action == "dismiss":
            group = (
                selectors.duplicate_groups(request.user, object_type)
                .filter(pk=request.POST.get("group"))
                .first()
            )
            if group is None:
                raise Http404
            duplicate_group_dismiss(actor=request.user, group=group)
            messages.success(request, _("Marked as different records; they will not be reported again."))
        return redirect(request.path)
    status = request.GET.get("status", DuplicateGroup.Status.OPEN)
    if status not in DuplicateGroup.Status.values:
        status = DuplicateGroup.Status.OPEN
    qs = selectors.duplicate_groups(request.user, object_type, status)
    page = Paginator(qs, 20).get_page(request.GET.get("page"))
    ids = [i for g in page.object_list for i in g.member_ids]
    rows = _member_rows(object_type, ids)
    groups = [{"group": g, "members": [rows[i] for i in g.member_ids if i in rows]} for g in page.object_list]
    return render(
        request,
        "customers/duplicates.html",
        {
            "object_type": object_type,
            "resource": RESOURCES[object_type],
            "groups": groups,
            "page": page,
            "status": status,
            "statuses": DuplicateGroup.Status.choices,
        },
    )


# --- merge ----------------------------------------------------------------------------------------


def _display(obj: Any, name: str) -> str:
    field = obj._meta.get_field(name)
    value = getattr(obj, name)
    if value in (None, ""):
        return ""
    if field.choices:
        return str(getattr(obj, f"get_{name}_display")())
    if name in getattr(obj, "sensitive_fields", ()):
        from huoban.platform.records.encryption import mask

        return mask(str(value))
    return str(value)


@login_required
def merge(request: HttpRequest, pk: int, object_type: str = "customer") -> HttpResponse:
    """Choose, field by field, which record's value the survivor keeps, then merge."""
    _require(request, object_type, "merge")
    model = MODELS[object_type]
    survivor = get_object_or_404(scoped(request.user, model, "merge"), pk=pk)
    raw = (
        request.POST.getlist("absorb")
        if request.method == "POST"
        else request.GET.get("absorb", "").split(",")
    )
    ids = [int(x) for x in raw if str(x).strip().isdigit() and int(x) != survivor.pk]
    absorbed = list(scoped(request.user, model, "merge").filter(pk__in=ids).order_by("pk"))
    if not absorbed:
        messages.error(request, _("Choose the records to merge into this one."))
        return redirect(f"/{RESOURCES[object_type]}/{survivor.pk}/")
    spec = SPECS[object_type]
    records = [survivor, *absorbed]
    fields = []
    for name in spec.fields:
        values = [_display(r, name) for r in records]
        if not any(values):
            continue
        fields.append(
            {
                "name": name,
                "label": model._meta.get_field(name).verbose_name,
                "cells": [{"id": r.pk, "value": v} for r, v in zip(records, values, strict=True)],
                "differs": len(set(values)) > 1,
            }
        )
    if request.method == "POST":
        choices = {}
        for f in fields:
            chosen = request.POST.get(f"choice_{f['name']}")
            if chosen and chosen.isdigit() and int(chosen) != survivor.pk:
                choices[f["name"]] = int(chosen)
        try:
            m = record_merge(
                actor=request.user,
                spec=spec,
                survivor=survivor,
                absorb=[a.pk for a in absorbed],
                choices=choices,
            )
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(
                request,
                _("Merged %(n)d records into this one. You can undo this until %(date)s.")
                % {
                    "n": len(m.absorbed_ids),
                    "date": timezone.localtime(m.created_at + dt.timedelta(days=UNDO_DAYS)).date(),
                },
            )
            return redirect(f"/{RESOURCES[object_type]}/{survivor.pk}/?tab=overview")
    return render(
        request,
        "customers/merge.html",
        {
            "object_type": object_type,
            "resource": RESOURCES[object_type],
            "survivor": survivor,
            "records": records,
            "fields": fields,
        },
    )


@login_required
@require_POST
def merge_undo(request: HttpRequest, pk: int, merge_id: int, object_type: str = "customer") -> HttpResponse:
    _require(request, object_type, "merge")
    if not scoped(request.user, MODELS[object_type], "merge").filter(pk=pk).exists():
        raise Http404
    try:
        result = merge_undo_by_id(
            actor=request.user, object_type=object_type, survivor_id=pk, merge_id=merge_id
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Merge undone: %(n)d records are back.") % {"n": len(result["restored"])})
    return redirect(f"/{RESOURCES[object_type]}/{pk}/?tab=overview")


# --- public pools -------------------------------------------------------------------------------


@login_required
@require_POST
def release(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "customer", "change")
    customer = get_object_or_404(scoped(request.user, Customer, "change"), pk=pk)
    raw_pool = request.POST.get("pool", "")
    pool = visible_pools(request.user).filter(pk=raw_pool).first() if raw_pool.isdigit() else None
    try:
        customer_release(
            actor=request.user, customers=[customer], pool=pool, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        messages.error(request, error_text(exc))
        return redirect(f"/customers/{pk}/?tab=overview")
    messages.success(request, _("%(name)s is now in the public pool.") % {"name": customer.name})
    if scoped(request.user, Customer).filter(pk=pk).exists():
        return redirect(f"/customers/{pk}/")
    return redirect("/customer-pools/")


@login_required
def pools(request: HttpRequest) -> HttpResponse:
    _require(request, "customer_pool", "view")
    pools = with_customer_counts(visible_pools(request.user).filter(active=True).select_related("unit"))
    rows = [{"pool": p, "count": p.customer_count} for p in pools]
    return render(request, "customers/pools.html", {"rows": rows})


@login_required
def pool_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request, "customer_pool", "view")
    pool = get_object_or_404(visible_pools(request.user), pk=pk)
    if request.method == "POST":
        ids = [int(x) for x in request.POST.getlist("customers") if x.isdigit()]
        try:
            claimed = pool_claim(actor=request.user, pool=pool, customer_ids=ids)
        except DomainError as exc:
            messages.error(request, error_text(exc))
        else:
            messages.success(request, _("You now own %(n)d more customers.") % {"n": len(claimed)})
        return redirect(request.get_full_path())
    qs = (
        Customer.objects.unrestricted()
        .filter(pool=pool, deleted_at__isnull=True)
        .order_by("-pooled_at", "-id")
    )
    q = request.GET.get("q", "").strip()
    if q:
        from huoban.platform.api.filters import text_search

        qs = text_search(qs, ("name", "short_name", "number"), q)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "customers/pool_detail.html", {"pool": pool, "page": page, "q": q})


# --- addresses and files of a customer (the Addresses and Files tabs) ------------------------------


def _customer_to_change(request: HttpRequest, pk: int) -> Customer:
    """The customer, if the user may change it: no ``change`` permission → 403; outside the
    data scope, or only shared read-only → 404 (as the generic edit page)."""
    _require(request, "customer", "change")
    customer = get_object_or_404(scoped(request.user, Customer, "change"), pk=pk)
    return customer


def _mark_invalid(form: forms.Form) -> None:
    for name in form.errors:
        if name in form.fields:
            w = form.fields[name].widget
            w.attrs["class"] = (w.attrs.get("class", "") + " is-invalid").strip()
            w.attrs["aria-invalid"] = "true"
            w.attrs["aria-describedby"] = f"id_{name}_error"


class AddressForm(forms.Form):
    """Parses the address form; ``services.customer_address_*`` validate (``clean_address``)."""

    kind = forms.ChoiceField(required=False)
    region = forms.ChoiceField(required=False, widget=forms.Select(attrs={"data-hb-select": "1"}))
    line = forms.CharField(required=False, widget=forms.TextInput(attrs={"autocomplete": "street-address"}))
    postal_code = forms.CharField(
        required=False, widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"})
    )
    is_primary = forms.BooleanField(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from django.utils.text import capfirst

        from huoban.platform.ui.choices import region_choices

        super().__init__(*args, **kwargs)
        meta = CustomerAddress._meta
        for name in ("kind", "region", "line", "postal_code"):
            self.fields[name].label = capfirst(meta.get_field(name).verbose_name)
        self.fields["is_primary"].label = _("Primary address")
        self.fields["kind"].choices = list(CustomerAddress.Kind.choices)
        self.fields["region"].choices = [("", "—"), *region_choices()]
        self.fields["region"].help_text = _("Province or city.")
        self.fields["postal_code"].help_text = _("6 digits in mainland China.")
        for name, field in self.fields.items():
            field.hb_required = name == "line"  # type: ignore[attr-defined]
            w = field.widget
            css = (
                "form-check-input"
                if isinstance(w, forms.CheckboxInput)
                else "form-select"
                if isinstance(w, forms.Select)
                else "form-control"
            )
            w.attrs["class"] = (w.attrs.get("class", "") + " " + css).strip()


def _address_page(
    request: HttpRequest, customer: Customer, form: AddressForm, address: Any = None
) -> HttpResponse:
    _mark_invalid(form)
    return render(
        request, "customers/address_form.html", {"customer": customer, "form": form, "address": address}
    )


def _back_to(customer: Customer, tab: str) -> HttpResponse:
    return redirect(f"/customers/{customer.pk}/?tab={tab}")


@login_required
def address_add(request: HttpRequest, pk: int) -> HttpResponse:
    customer = _customer_to_change(request, pk)
    if request.method != "POST":
        first = not customer.addresses.exists()
        form = AddressForm(initial={"kind": CustomerAddress.Kind.OFFICE, "is_primary": first})
        return _address_page(request, customer, form)
    form = AddressForm(data=request.POST)
    if form.is_valid():
        try:
            customer_address_add(actor=request.user, customer=customer, data=dict(form.cleaned_data))
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        except DomainError as exc:  # e.g. the customer deleted in another tab
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, _("Address added."))
            return _back_to(customer, "addresses")
    return _address_page(request, customer, form)


def _address_of(customer: Customer, address_id: int) -> CustomerAddress:
    address = get_object_or_404(CustomerAddress.objects, pk=address_id, customer=customer)
    return address


@login_required
def address_edit(request: HttpRequest, pk: int, address_id: int) -> HttpResponse:
    customer = _customer_to_change(request, pk)
    address = _address_of(customer, address_id)
    if request.method != "POST":
        initial = {k: getattr(address, k) for k in ("kind", "region", "line", "postal_code", "is_primary")}
        return _address_page(request, customer, AddressForm(initial=initial), address)
    form = AddressForm(data=request.POST)
    if form.is_valid():
        data = dict(form.cleaned_data)
        if address.is_primary:
            data.pop("is_primary")  # not offered: another address takes over by being made primary
        try:
            customer_address_update(actor=request.user, address=address, data=data)
        except ValidationError as exc:
            apply_errors(form, exc.errors)
        except DomainError as exc:  # e.g. the customer deleted in another tab
            form.add_error(None, error_text(exc))
        else:
            messages.success(request, _("Address saved."))
            return _back_to(customer, "addresses")
    return _address_page(request, customer, form, address)


@login_required
@require_POST
def address_primary(request: HttpRequest, pk: int, address_id: int) -> HttpResponse:
    customer = _customer_to_change(request, pk)
    address = _address_of(customer, address_id)
    try:
        customer_address_make_primary(actor=request.user, address=address)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("This is now the primary address."))
    return _back_to(customer, "addresses")


@login_required
@require_POST
def address_delete(request: HttpRequest, pk: int, address_id: int) -> HttpResponse:
    customer = _customer_to_change(request, pk)
    address = _address_of(customer, address_id)
    try:
        customer_address_delete(actor=request.user, address=address)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("Address deleted."))
    return _back_to(customer, "addresses")


def _delete_file(request: HttpRequest, att: Attachment, *, delete: Any, back: str) -> HttpResponse:
    try:
        delete(actor=request.user, attachment=att)
    except DomainError as exc:
        messages.error(request, error_text(exc))
    else:
        messages.success(request, _("File “%(name)s” deleted.") % {"name": att.name})
    return redirect(back)


@login_required
@require_POST
def file_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload a file to the customer (the customer's Files tab)."""
    from .ui import files_context

    customer = _customer_to_change(request, pk)
    return upload_response(
        request,
        add=lambda f: customer_attachment_add(actor=request.user, customer=customer, file=f),
        context=lambda error: files_context(request, customer, error),
        template="customers/_tab_files.html",
        back=f"/customers/{customer.pk}/?tab=files",
    )


def _visible_file(request: HttpRequest, customer: Customer, file_id: int) -> Attachment:
    """A file of the customer the user may see (``selectors.files_of``)."""
    att = get_object_or_404(selectors.files_of(request.user, customer), pk=file_id)
    return att


@login_required
def file_download(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    _require(request, "customer", "view")
    customer = get_object_or_404(scoped(request.user, Customer), pk=pk)
    return file_response(_visible_file(request, customer, file_id))


@login_required
@require_POST
def file_delete(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    customer = _customer_to_change(request, pk)
    att = get_object_or_404(Attachment.objects, pk=file_id, customer=customer, follow_up__isnull=True)
    return _delete_file(request, att, delete=customer_attachment_delete, back=f"/customers/{pk}/?tab=files")


# --- files of a follow-up (its Files tab) -----------------------------------------------------------


def _follow_up_to_change(request: HttpRequest, pk: int) -> FollowUp:
    """The follow-up, if the user may change it: no ``change`` permission → 403; outside the data
    scope, or only shared read-only → 404."""
    _require(request, "follow_up", "change")
    follow_up = get_object_or_404(scoped(request.user, FollowUp, "change"), pk=pk)
    return follow_up


def _file_of(follow_up: FollowUp, file_id: int) -> Attachment:
    att = get_object_or_404(Attachment.objects, pk=file_id, follow_up=follow_up)
    return att


@login_required
@require_POST
def follow_up_file_upload(request: HttpRequest, pk: int) -> HttpResponse:
    from .ui import follow_up_files_context

    follow_up = _follow_up_to_change(request, pk)
    return upload_response(
        request,
        add=lambda f: attachment_add(actor=request.user, follow_up=follow_up, file=f),
        context=lambda error: follow_up_files_context(request, follow_up, error),
        template="customers/_tab_files.html",
        back=f"/follow-ups/{follow_up.pk}/?tab=files",
    )


@login_required
def follow_up_file_download(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    _require(request, "follow_up", "view")
    follow_up = get_object_or_404(scoped(request.user, FollowUp), pk=pk)
    return file_response(_file_of(follow_up, file_id))


@login_required
@require_POST
def follow_up_file_delete(request: HttpRequest, pk: int, file_id: int) -> HttpResponse:
    follow_up = _follow_up_to_change(request, pk)
    att = _file_of(follow_up, file_id)
    return _delete_file(request, att, delete=attachment_delete, back=f"/follow-ups/{pk}/?tab=files")
