"""Lead page actions posted from the detail tabs: log a follow-up, upload or delete a file, convert.
Thin: load through scoped(), call one service, redirect with a message."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from huoban.platform.access.scoping import get_scoped_or_404, has_perm, scoped
from huoban.platform.errors import ConflictError, DomainError, ValidationError

from . import integration, services
from .models import Lead, LeadAttachment


def _errors(exc: DomainError) -> str:
    if isinstance(exc, ValidationError):
        return " ".join(str(m) for v in exc.errors.values() for m in (v if isinstance(v, list) else [v]))
    return str(getattr(exc, "message", exc))


def _lead(request: HttpRequest, pk: int) -> Lead:
    return get_scoped_or_404(request.user, Lead, pk, "change")


@login_required
@require_POST
def follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    if not has_perm(request.user, "lead", "change"):
        return HttpResponseForbidden()
    lead = _lead(request, pk)
    data: dict[str, Any] = {k: request.POST.get(k, "") for k in ("type", "result", "content", "outcome")}
    try:
        services.lead_add_follow_up(actor=request.user, lead=lead, data=data)
    except DomainError as exc:
        messages.error(request, _errors(exc))
        return redirect(f"/leads/{lead.pk}/?tab=follow_ups")
    lead.refresh_from_db()
    if lead.status == "converted" and lead.converted_customer_id:
        messages.success(request, _("Won: the lead was converted into a customer."))
        return redirect(f"/customers/{lead.converted_customer_id}/")
    messages.success(request, _("Follow-up saved."))
    return redirect(f"/leads/{lead.pk}/?tab=follow_ups")


@login_required
@require_POST
def attachment(request: HttpRequest, pk: int) -> HttpResponse:
    """Upload from the Files tab (the shared partial): HTMX gets the tab back, with a refusal
    (``check_upload``) at the file input; a plain post is redirected with a message."""
    from huoban.platform.ui.attachments import upload_response

    from .ui import _files_context

    if not has_perm(request.user, "lead", "change"):
        return HttpResponseForbidden()
    lead = _lead(request, pk)
    return upload_response(
        request,
        add=lambda f: services.lead_add_attachment(actor=request.user, lead=lead, file=f),
        context=lambda error: _files_context(request, lead, error),
        template="leads/tab_files.html",
        back=f"/leads/{lead.pk}/?tab=files",
    )


@login_required
@require_POST
def attachment_delete(request: HttpRequest, pk: int, attachment_id: int) -> HttpResponse:
    """Delete a file from the Files tab (the shared partial's delete button): no ``change``
    permission → 403; a lead outside the scope of the write (or shared read-only) → 404."""
    if not has_perm(request.user, "lead", "change"):
        return HttpResponseForbidden()
    lead = _lead(request, pk)
    att = get_object_or_404(LeadAttachment.objects, pk=attachment_id, lead=lead)
    try:
        services.lead_attachment_delete(actor=request.user, attachment=att)
    except DomainError as exc:
        messages.error(request, _errors(exc))
    else:
        messages.success(request, _("File “%(name)s” deleted.") % {"name": att.name})
    return redirect(f"/leads/{lead.pk}/?tab=files")


@login_required
@require_POST
def convert(request: HttpRequest, pk: int) -> HttpResponse:
    if not has_perm(request.user, "lead", "change"):
        return HttpResponseForbidden()
    lead = _lead(request, pk)
    back = redirect(f"/leads/{lead.pk}/?tab=convert")
    customer = None
    cid = request.POST.get("customer", "")
    if cid.isdigit():
        customer = scoped(request.user, integration.customer_model()).filter(pk=cid).first()
        if customer is None:
            messages.error(request, _("Unknown customer."))
            return back
    elif not has_perm(request.user, "customer", "add"):
        messages.error(request, _("You may not create customers: choose an existing one."))
        return back
    create_opp = request.POST.get("create_opportunity") == "1" and has_perm(
        request.user, "opportunity", "add"
    )
    opportunity = {
        "name": request.POST.get("opportunity_name", "").strip(),
        "amount": request.POST.get("opportunity_amount", "").strip() or None,
        "pipeline": request.POST.get("opportunity_pipeline") or None,
    }
    version = request.POST.get("version", "")
    try:
        result = services.lead_convert(
            actor=request.user,
            lead=lead,
            customer=customer,
            create_opportunity=create_opp,
            opportunity=opportunity,
            version=int(version) if version.isdigit() else None,
        )
    except ConflictError as exc:
        messages.error(request, exc.message)
        return back
    except DomainError as exc:
        messages.error(request, _errors(exc))
        return back
    messages.success(request, _("Lead converted."))
    if result["opportunity"] is not None:
        return redirect(f"/opportunities/{result['opportunity'].pk}/")
    return redirect(f"/customers/{result['customer'].pk}/")
