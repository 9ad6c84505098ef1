"""Lead and web form pages (generic record pages, see docs/ui.md), the lead tabs (score,
follow-ups, files, convert), the lead timeline and what leads add to customer pages."""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils.functional import lazy
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.ui.choices import (
    industry_choices,
    picklist_choices,
    picklist_render,
    province_choices,
    region_choices,
)
from huoban.platform.ui.pages import (
    BulkAction,
    Column,
    FieldSpec,
    Filter,
    RecordPages,
    RelatedList,
    Section,
    Tab,
    TimelineItem,
    TimelineProvider,
    register_pages,
    register_related,
    register_timeline,
)
from huoban.platform.ui.widgets import KeyFigure, register_key_figure

from . import integration
from .models import (
    CompanySize,
    FollowUpResult,
    FollowUpType,
    Lead,
    LeadActivity,
    LeadAttachment,
    LeadStatus,
    WebForm,
)
from .services import FORM_FIELDS, lead_assign, lead_create, lead_update, web_form_create, web_form_update


def _region(obj: Any) -> str:
    return integration.region_label(obj.region)


def _region_filter(qs: Any, value: Any, request: Any) -> Any:
    value = str(value or "")
    if value.endswith("0000"):
        return qs.filter(region__startswith=value[:2])
    return qs.filter(region=value) if value else qs


def _bool_filter(cond: str) -> Any:
    def apply(qs: Any, value: Any, request: Any) -> Any:
        from django.db.models import Q

        q = {
            "queue": Q(owner__isnull=True),
            "sla": Q(sla_overdue_at__isnull=False, first_contacted_at__isnull=True),
        }[cond]
        if value in ("1", "true", "yes", "on", True):
            return qs.filter(q)
        if value in ("0", "false", "no", False):
            return qs.exclude(q)
        return qs

    return apply


STATUS_COLORS = {
    "new": "azure",
    "contacted": "blue",
    "qualified": "green",
    "unqualified": "secondary",
    "converted": "purple",
}


def _status(obj: Lead) -> str:
    return format_html(
        '<span class="badge bg-{}-lt">{}</span>',
        STATUS_COLORS.get(obj.status, "secondary"),
        obj.get_status_display(),
    )


def _score(obj: Lead) -> str:
    color = "green" if obj.score >= 50 else "yellow" if obj.score >= 20 else "secondary"
    return format_html('<span class="badge bg-{}-lt hb-num">{}</span>', color, obj.score)


def _sla(obj: Lead) -> str:
    if obj.sla_overdue:
        return format_html('<span class="badge bg-red-lt">{}</span>', gettext("First contact overdue"))
    return ""


def _lead_create(
    *,
    actor: Any,
    data: dict[str, Any],
    custom_fields: Any = None,
    tags: Any = None,
    confirm_duplicate: bool = False,
) -> Lead:
    return lead_create(
        actor=actor,
        data=data,
        custom_fields=custom_fields,
        tags=tags,
        confirm_duplicate=confirm_duplicate,
        channel="ui",
    )


def _bulk_assign(request: Any, pages: Any, objs: list[Lead]) -> str:
    results = lead_assign(actor=request.user, leads=objs)
    n = sum(1 for r in results if r["changed"])
    return gettext("Assignment rules ran on %(total)d leads; %(n)d changed owner.") % {
        "total": len(objs),
        "n": n,
    }


def _tab(template: str, extra: Any = None) -> Any:
    def render(request: Any, obj: Lead) -> str:
        ctx = {"lead": obj, "request": request}
        if extra is not None:
            ctx.update(extra(request, obj))
        return render_to_string(template, ctx, request=request)

    return render


def _follow_up_context(request: Any, obj: Lead) -> dict[str, Any]:
    return {
        "follow_ups": list(
            LeadActivity.objects.filter(lead=obj, event="follow_up").order_by("-at", "-id")[:100]
        ),
        "types": FollowUpType.choices,
        "results": FollowUpResult.choices,
        "can_change": has_perm(request.user, "lead", "change") and obj.status != "converted",
    }


def _files_context(request: Any, obj: Lead, upload_error: str = "") -> dict[str, Any]:
    """The Files tab through the shared ``ui/partials/attachments.html`` (also the answer to an
    upload from it, ``views.attachment``); upload and delete (``views.attachment_delete``) only
    where the user may change the lead."""
    from huoban.platform.ui.attachments import attachments_context

    from .services import MAX_ATTACHMENT_BYTES

    user = request.user
    can_change = has_perm(user, "lead", "change") and scoped(user, Lead, "change").filter(pk=obj.pk).exists()
    rows = (
        LeadAttachment.objects.filter(lead=obj).select_related("uploaded_by").order_by("-uploaded_at", "-id")
    )
    ctx = attachments_context(
        obj,
        rows,
        base=f"/leads/{obj.pk}/attachments/",
        can_change=can_change,
        max_bytes=MAX_ATTACHMENT_BYTES,
        upload_error=upload_error,
        url=lambda a: f"/api/v1/leads/{obj.pk}/attachments/{a.pk}/",
    )
    return {**ctx, "lead": obj}


def _convert_context(request: Any, obj: Lead) -> dict[str, Any]:
    from huoban.sales.models import Pipeline

    return {
        "pipelines": list(Pipeline.objects.filter(active=True).order_by("position", "id")),
        "can_convert": has_perm(request.user, "lead", "change")
        and obj.status in ("new", "contacted", "qualified"),
        "can_add_customer": has_perm(request.user, "customer", "add"),
        "can_add_opportunity": has_perm(request.user, "opportunity", "add"),
        "matched": integration.alive_customer(obj.matched_customer_id),
    }


lead_pages = register_pages(
    RecordPages(
        model=Lead,
        create=_lead_create,
        update=lead_update,
        update_kwarg="lead",
        module="leads",
        icon="target-arrow",
        nav_order=10,
        subtitle_field="number",
        default_sort="-id",
        list_columns=[
            Column("name", link=True),
            "company",
            Column("status", render=_status, order_by="status"),
            Column("score", render=_score, order_by="score", align="end"),
            Column("source", render=picklist_render("customer_source", "source"), order_by="source"),
            Column("region", render=_region, order_by="region"),
            "urgency",
            "owner",
            Column("sla", label=_("First contact"), render=_sla, sortable=False),
            "created_at",
            Column("number", default=False),
            Column("phone", default=False),
            Column("email", default=False),
            Column("industry", render=picklist_render("industry", "industry"), default=False),
            Column("budget", kind="money", currency_field="currency", default=False),
        ],
        filters=[
            "status",
            Filter("source", kind="choice", choices=picklist_choices("customer_source")),
            "urgency",
            Filter("region", kind="choice", choices=province_choices, apply=_region_filter),
            Filter("industry", kind="choice", choices=industry_choices),
            "company_size",
            "score",
            "owner",
            "owner_unit",
            Filter("queue", kind="bool", label=_("Unassigned (queue)"), apply=_bool_filter("queue")),
            Filter("sla", kind="bool", label=_("First contact overdue"), apply=_bool_filter("sla")),
            "tags",
            "created_at",
        ],
        form_sections=[
            Section(_("Person"), ["name", "title", "phone", "email"]),
            Section(
                _("Company"),
                [
                    "company",
                    FieldSpec("company_size", choices=lambda: list(CompanySize.choices)),
                    FieldSpec(
                        "industry", choices=industry_choices, render=picklist_render("industry", "industry")
                    ),
                    FieldSpec("region", choices=region_choices, render=_region),
                    FieldSpec("matched_customer", lookup="customer"),
                ],
            ),
            Section(
                _("Need"),
                [
                    FieldSpec(
                        "source",
                        choices=picklist_choices("customer_source"),
                        render=picklist_render("customer_source", "source"),
                    ),
                    "urgency",
                    "budget",
                    "currency",
                    FieldSpec("requirement", widget="textarea", width=12),
                ],
            ),
            Section(_("Status"), ["status", "unqualified_reason", "owner", "tags"]),
            Section(_("Custom fields"), [], custom_fields=True),
        ],
        header_fields=["status", "score", "owner", "source", "phone"],
        tabs=[
            Tab("score", _("Score"), _tab("leads/tab_score.html"), order=20, icon="chart-bar"),
            Tab(
                "follow_ups", _("Follow-ups"), _tab("leads/tab_follow_ups.html", _follow_up_context), order=15
            ),
            Tab(
                "files", _("Files"), _tab("leads/tab_files.html", _files_context), order=40, icon="paperclip"
            ),
            Tab(
                "convert",
                _("Convert"),
                _tab("leads/tab_convert.html", _convert_context),
                order=45,
                icon="transform",
            ),
        ],
        bulk_actions=[
            BulkAction(
                key="assign_rules",
                label=_("Run assignment rules"),
                handler=_bulk_assign,
                action="assign",
                icon="users-group",
                confirm=_("Run the assignment rules on the selected leads? Their owners may change."),
            )
        ],
        empty_hint=_("Add leads by hand, import a spreadsheet, or publish a web form."),
    )
)


def _activity_items(request: Any, obj: Lead) -> list[TimelineItem]:
    labels = {
        "created": _("Lead created"),
        "form_submitted": _("Web form submitted"),
        "resubmitted": _("Submitted again"),
        "follow_up": _("Follow-up"),
        "email_opened": _("Opened an email"),
    }
    items = []
    for a in LeadActivity.objects.filter(lead=obj).order_by("-at", "-id")[:100]:
        data = a.data or {}
        body = " · ".join(str(x) for x in (data.get("content"), data.get("outcome")) if x)
        items.append(
            TimelineItem(
                at=a.at,
                title=labels.get(a.event, a.event.replace("_", " ")),
                body=body,
                icon="message" if a.event == "follow_up" else "activity",
                actor=a.actor_name,
                kind="lead_activity",
            )
        )
    return items


register_timeline(
    "lead", TimelineProvider(key="lead_activity", label=_("Activity"), items=_activity_items, order=10)
)


def _new_leads(request: Any) -> int:
    return scoped(request.user, Lead).filter(status=LeadStatus.NEW).count()


register_key_figure(
    KeyFigure(
        key="leads.new",
        label=_("New leads"),
        value=_new_leads,
        object_type="lead",
        url="/leads/?status=new",
        order=22,
    )
)


# --- web forms -----------------------------------------------------------------------------------


def _form_fields_help_text() -> str:
    return gettext('A JSON list of lead fields, e.g. ["name", "company", "phone"]. Available: %(f)s.') % {
        "f": ", ".join(FORM_FIELDS)
    }


# translated when shown: a lazy string formatted with % at import would be frozen in one language
_form_fields_help = lazy(_form_fields_help_text, str)


def _embed(request: Any, obj: WebForm) -> str:
    from .snippet import form_snippet

    url = request.build_absolute_uri(f"/forms/{obj.key}/")
    return render_to_string(
        "leads/tab_embed.html", {"form": obj, "url": url, "snippet": form_snippet(obj, url)}, request=request
    )


web_form_pages = register_pages(
    RecordPages(
        model=WebForm,
        create=web_form_create,
        update=web_form_update,
        update_kwarg="form",
        module="leads",
        icon="forms",
        nav_order=30,
        list_columns=[
            Column("name", link=True),
            "title",
            Column("source", render=picklist_render("customer_source", "source")),
            "active",
            Column("submission_count", align="end"),
            "last_submission_at",
            "owner",
        ],
        filters=["active", "owner", "created_at"],
        form_sections=[
            Section(
                _("Form"),
                [
                    "name",
                    "title",
                    FieldSpec("fields", help_text=_form_fields_help()),
                    FieldSpec(
                        "required_fields", help_text=_("A JSON list; each must be one of the form's fields.")
                    ),
                    FieldSpec("source", choices=picklist_choices("customer_source")),
                    "active",
                ],
            ),
            Section(
                _("After sending"), [FieldSpec("thank_you_text", widget="textarea", width=12), "redirect_url"]
            ),
        ],
        header_fields=["active", "submission_count", "source"],
        tabs=[Tab("embed", _("Embed code"), _embed, order=5, icon="code")],
        empty_hint=_("Create a form, then paste its HTML into your website."),
    )
)


# --- on customer pages: the leads it came from ------------------------------------------------------

register_related(
    "customer",
    RelatedList(
        key="source_leads",
        label=_("Leads"),
        model=Lead,
        queryset=lambda user, obj: scoped(user, Lead).filter(converted_customer=obj),
        columns=["name", "number", "source", "converted_at", "owner"],
        order=40,
    ),
)
