# HANDOFF: owned by the customers helper from now on
"""Customer, contact and follow-up pages (generic record pages, see docs/ui.md) and what
customers contributes to detail pages: the 360° tab, related lists and the timeline.

Pages of their own (duplicate review, merge, public pools) live in ``views.py``.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.functional import lazy
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.errors import ValidationError
from huoban.platform.ui.attachments import attachments_context
from huoban.platform.ui.choices import (
    industry_choices,
    picklist_choices,
    picklist_render,
    province_choices,
    region_choices,
)
from huoban.platform.ui.nav import NavEntry, register_nav
from huoban.platform.ui.pages import (
    Board,
    BoardColumn,
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
    register_tab,
    register_timeline,
)
from huoban.platform.ui.widgets import KeyFigure, register_key_figure

from .models import Contact, Customer, FollowUp
from .selectors import contacts_of, files_of
from .services import (
    MAX_ATTACHMENT_BYTES,
    MAX_FILES_AT_ONCE,
    contact_create,
    contact_update,
    customer_create,
    customer_delete,
    customer_transfer,
    customer_update,
    follow_up_create,
    follow_up_delete,
    follow_up_update,
)


def _region_label(obj: Any) -> str:
    from huoban.platform.records.regions import region_label

    code = getattr(obj, "region", "")
    return region_label(code) if code else ""


def tel_href(e164: str) -> str:
    """``tel:`` link target: the E.164 number; an extension is dialled after a pause (``,``)."""
    base, _sep, ext = e164.partition(";ext=")
    return f"tel:{base},{ext}" if ext else f"tel:{base}"


def _phone(field: str) -> Any:
    def render(obj: Any) -> str:
        from huoban.platform.records.contact_points import format_phone

        value = getattr(obj, field, "")
        return format_html('<a href="{}">{}</a>', tel_href(value), format_phone(value)) if value else ""

    return render


def _email(field: str) -> Any:
    def render(obj: Any) -> str:
        value = getattr(obj, field, "")
        return format_html('<a href="mailto:{}">{}</a>', value, value) if value else ""

    return render


PHONE_KINDS = {"mobile": _("Mobile"), "landline": _("Landline"), "other": _("Other")}


def phone_items(values: Any) -> list[dict[str, str]]:
    """Secondary phones for display: formatted number, ``tel:`` link, kind (mobile/landline)."""
    from huoban.platform.records.contact_points import format_phone, phone_kind

    return [
        {"href": tel_href(v), "text": format_phone(v), "kind": str(PHONE_KINDS[phone_kind(v)])}
        for v in (values or [])
        if v
    ]


def _phone_list(field: str) -> Any:
    def render(obj: Any) -> str:
        items = phone_items(getattr(obj, field, None))
        if not items:
            return ""
        return format_html(
            '<ul class="list-unstyled m-0 hb-contact-list">{}</ul>',
            format_html_join(
                "",
                '<li><a href="{}">{}</a> <span class="badge bg-secondary-lt ms-1">{}</span></li>',
                ((i["href"], i["text"], i["kind"]) for i in items),
            ),
        )

    return render


def _email_list(field: str) -> Any:
    def render(obj: Any) -> str:
        values = [v for v in (getattr(obj, field, None) or []) if v]
        if not values:
            return ""
        return format_html(
            '<ul class="list-unstyled m-0 hb-contact-list">{}</ul>',
            format_html_join("", '<li><a href="mailto:{}">{}</a></li>', ((v, v) for v in values)),
        )

    return render


def _ui_service(fn: Any) -> Any:
    """The service as the web forms call it: secondary phones/e-mails given twice or equal to the
    main value are errors at that entry, not silently dropped (``strict_lists``)."""
    call = functools.partial(fn, strict_lists=True)
    functools.update_wrapper(call, fn)
    return call


def _region_filter(qs: Any, value: Any, request: Any) -> Any:
    from django.db.models import Q

    values = [str(v) for v in (value if isinstance(value, list | tuple) else [value]) if v]
    if not values:
        return qs
    q = Q()
    for v in values:
        q |= Q(region__startswith=v[:2]) if v.endswith("0000") else Q(region=v)
    return qs.filter(q)


def _pool_filter(qs: Any, value: Any, request: Any) -> Any:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    if value in ("1", "true", "yes", True):
        return qs.filter(pool__isnull=False)
    if value in ("0", "false", "no", False):
        return qs.filter(pool__isnull=True)
    return qs


def _move_stage(*, actor: Any, obj: Customer, to: str, version: int | None) -> Customer:
    return customer_update(actor=actor, customer=obj, data={"lifecycle_stage": to}, version=version)


def _stage_columns(request: Any) -> list[BoardColumn]:
    colors = {
        "prospect": "azure",
        "customer": "green",
        "loyal": "teal",
        "dormant": "yellow",
        "churned": "red",
    }
    return [BoardColumn(v, label, colors.get(v, "")) for v, label in Customer.Lifecycle.choices]


def _bulk_release(request: Any, pages: Any, objs: list[Customer]) -> str:
    from .pools import customer_release

    n = customer_release(actor=request.user, customers=objs, reason=gettext("Moved from the customer list"))
    return gettext("%(n)d customers moved to the public pool.") % {"n": n}


customer_pages = register_pages(
    RecordPages(
        model=Customer,
        create=_ui_service(customer_create),
        update=_ui_service(customer_update),
        delete=customer_delete,
        transfer=customer_transfer,
        module="customers",
        icon="building",
        nav_order=10,
        subtitle_field="number",
        search_fields=("name", "short_name", "number", "phone", "email", "uscc"),
        list_columns=[
            Column("name", link=True),
            "number",
            "lifecycle_stage",
            Column("industry", render=picklist_render("industry", "industry")),
            Column("region", render=_region_label, order_by="region"),
            Column("phone", render=_phone("phone")),
            "tier",
            "owner",
            Column("last_contacted_at", default=True),
            Column("next_follow_up_at", default=False),
            Column("kind", default=False),
            Column("source", render=picklist_render("customer_source", "source"), default=False),
            Column("created_at", default=False),
        ],
        filters=[
            "lifecycle_stage",
            "kind",
            Filter("industry", kind="choice", choices=industry_choices),
            Filter("region", kind="choice", choices=province_choices, apply=_region_filter),
            Filter("source", kind="choice", choices=picklist_choices("customer_source")),
            "tier",
            "rating",
            "owner",
            "owner_unit",
            "tags",
            Filter("pool", kind="bool", label=_("In a public pool"), apply=_pool_filter),
            "last_contacted_at",
            "next_follow_up_at",
            "created_at",
        ],
        form_sections=[
            Section(
                _("Basics"),
                [
                    "name",
                    "short_name",
                    "kind",
                    "lifecycle_stage",
                    "uscc",
                    FieldSpec("industry", choices=industry_choices),
                    FieldSpec("source", choices=picklist_choices("customer_source")),
                    "size",
                    "revenue_band",
                    "tier",
                    "rating",
                    "owner",
                    "tags",
                ],
            ),
            Section(
                _("Contact details"),
                [
                    FieldSpec("phone", render=_phone("phone")),
                    FieldSpec("email", render=_email("email")),
                    FieldSpec("phones", widget="list", render=_phone_list("phones")),
                    FieldSpec("emails", widget="list", render=_email_list("emails")),
                    "website",
                    FieldSpec("region", choices=region_choices, render=_region_label),
                    FieldSpec(
                        "address",
                        label=_("Primary address"),
                        help_text=_("More addresses: the customer's Addresses tab."),
                    ),
                ],
            ),
            Section(_("Sensitive"), ["id_number", "bank_account"]),
            Section(_("Custom fields"), [], custom_fields=True),
        ],
        header_fields=["lifecycle_stage", "owner", "phone", "last_contacted_at"],
        board=Board(
            field="lifecycle_stage", columns=_stage_columns, move=_move_stage, card_fields=["number", "phone"]
        ),
        bulk_actions=[
            BulkAction(
                key="release",
                label=_("Move to public pool"),
                handler=_bulk_release,
                action="change",
                icon="arrow-back-up",
                confirm=_("Move the selected customers to the public pool? Their owners lose them."),
            )
        ],
        prefetch_related=(),
        empty_hint=_("Add your first customer, or import a spreadsheet of customers."),
    )
)


# --- contacts --------------------------------------------------------------------------------


contact_pages = register_pages(
    RecordPages(
        model=Contact,
        create=_ui_service(contact_create),
        update=_ui_service(contact_update),
        module="customers",
        icon="address-book",
        nav_order=20,
        list_columns=[
            Column("name", link=True),
            Column("customer", kind="relation", select_related=("customer",)),
            "title",
            Column("mobile", render=_phone("mobile")),
            "email",
            "decision_role",
            "owner",
            Column("left_company", default=False),
            Column("created_at", default=False),
        ],
        filters=[
            Filter("customer", kind="relation", lookup="customer"),
            "decision_role",
            "preferred_channel",
            "left_company",
            "owner",
            "tags",
            "created_at",
        ],
        form_sections=[
            Section(
                _("Basics"),
                [
                    "name",
                    FieldSpec("customer", lookup="customer", label=_("Primary customer")),
                    "title",
                    "department",
                    "decision_role",
                    "owner",
                    "tags",
                ],
            ),
            Section(
                _("Contact details"),
                [
                    FieldSpec("mobile", render=_phone("mobile")),
                    FieldSpec("phone", render=_phone("phone")),
                    FieldSpec("email", render=_email("email")),
                    FieldSpec("phones", widget="list", render=_phone_list("phones")),
                    FieldSpec("emails", widget="list", render=_email_list("emails")),
                    "wechat",
                    "preferred_channel",
                    "birthday",
                ],
            ),
            Section(_("Status"), ["left_company", "left_at"]),
            Section(_("Custom fields"), [], custom_fields=True),
        ],
        header_fields=["customer", "title", "mobile", "owner"],
        select_related=("owner", "owner_unit", "customer"),
        empty_hint=_("Contacts are the people you work with at your customers."),
    )
)


# --- follow-ups ------------------------------------------------------------------------------


def _follow_up_create(
    *, actor: Any, data: dict[str, Any], custom_fields: Any = None, tags: Any = None
) -> FollowUp:
    """The form's create: the customer and contact from their lookups, the chosen files
    (``files``) attached in the same transaction. When only files were refused, the form says
    plainly that the follow-up itself is fine but nothing was saved yet."""
    data = dict(data)
    customer = data.pop("customer", None)
    contact = data.pop("contact", None)
    files = data.pop("files", None) or []
    if customer is None:
        raise ValidationError({"customer": [gettext("This field is required.")]})
    try:
        return follow_up_create(
            actor=actor,
            customer=customer,
            contact=contact,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            files=files,
        )
    except ValidationError as exc:
        refused = exc.errors.get("files") or []
        if refused and set(exc.errors) == {"files"}:
            summary = ngettext(
                "The follow-up was not saved yet: it is complete, but a file was refused. "
                "Remove or replace that file, then save again.",
                "The follow-up was not saved yet: it is complete, but %(n)d files were refused. "
                "Remove or replace those files, then save again.",
                len(refused),
            ) % {"n": len(refused)}
            raise ValidationError({"__all__": [summary], "files": refused}) from exc
        raise


def _follow_up_update(
    *,
    actor: Any,
    follow_up: FollowUp,
    data: dict[str, Any],
    custom_fields: Any = None,
    tags: Any = None,
    version: Any = None,
) -> FollowUp:
    data = dict(data)
    customer = data.pop("customer", None)
    if customer is not None and getattr(customer, "pk", customer) != follow_up.customer_id:
        raise ValidationError({"customer": [gettext("A follow-up cannot move to another customer.")]})
    return follow_up_update(
        actor=actor, follow_up=follow_up, data=data, custom_fields=custom_fields, tags=tags, version=version
    )


def _content(obj: FollowUp) -> str:
    from django.utils.safestring import mark_safe

    return mark_safe(obj.content)  # sanitised with nh3 when saved  # noqa: S308


def _file_list(obj: FollowUp) -> str:
    """The follow-up's files on its Details tab: name (download link) and size; adding and
    deleting are on its Files tab."""
    from django.template.defaultfilters import filesizeformat

    rows = list(obj.attachments.order_by("id"))
    if not rows:
        return "—"
    return format_html(
        '<ul class="list-unstyled m-0 hb-file-list">{}</ul>',
        format_html_join(
            "",
            '<li class="text-break"><i class="ti ti-file text-secondary me-1" aria-hidden="true"></i>'
            '<a href="/follow-ups/{}/files/{}/" download>{}</a> '
            '<span class="text-secondary small">{}</span></li>',
            ((obj.pk, a.pk, a.name, filesizeformat(a.size)) for a in rows),
        ),
    )


def _files_hint() -> str:
    return gettext(
        "Optional: up to %(n)d files, at most %(mb)d MB each. Programs, scripts and web pages "
        "(HTML, SVG) are not accepted. Add or delete files later on the follow-up's Files tab."
    ) % {"n": MAX_FILES_AT_ONCE, "mb": MAX_ATTACHMENT_BYTES // (1024 * 1024)}


follow_up_pages = register_pages(
    RecordPages(
        model=FollowUp,
        create=_follow_up_create,
        update=_follow_up_update,
        update_kwarg="follow_up",
        delete=follow_up_delete,
        module="customers",
        icon="messages",
        nav_order=30,
        default_sort="-occurred_at",
        list_columns=[
            Column("occurred_at", link=True),
            Column("customer", kind="relation", select_related=("customer",)),
            "type",
            Column("contact", kind="relation", select_related=("contact",)),
            "outcome",
            "next_follow_up_at",
            "owner",
        ],
        filters=[
            Filter("customer", kind="relation", lookup="customer"),
            "type",
            "occurred_at",
            "next_follow_up_at",
            "owner",
            "tags",
        ],
        form_sections=[
            Section(
                _("Follow-up"),
                [
                    FieldSpec("customer", lookup="customer"),
                    FieldSpec("contact", lookup="contact"),
                    "type",
                    FieldSpec("occurred_at", required=False, help_text=_("Empty: now.")),
                    FieldSpec("content", widget="textarea", render=_content, width=12),
                    "outcome",
                    FieldSpec(
                        "next_follow_up_at",
                        help_text=_("A reminder task is created for the customer's owner."),
                    ),
                    "tags",
                    FieldSpec(
                        "files",
                        widget="files",
                        label=_("Files"),
                        help_text=lazy(_files_hint, str)(),
                        render=_file_list,
                        inline=False,
                    ),
                ],
            ),
            Section(_("Custom fields"), [], custom_fields=True),
        ],
        header_fields=["customer", "type", "occurred_at", "owner"],
        title=lambda obj: f"{obj.get_type_display()} · {obj.customer}",
        select_related=("owner", "owner_unit", "customer", "contact"),
        empty_hint=_("Record calls, visits and meetings here; they appear on the customer's timeline."),
    )
)


# --- what customers adds to the customer detail page ------------------------------------------


def _overview_tab(request: Any, obj: Customer) -> str:
    from .overview import key_figures
    from .pools import visible_pools
    from .selectors import merges_of

    user = request.user
    merges = []
    if has_perm(user, "customer", "merge"):
        from .merging import UNDO_DAYS

        for m in merges_of("customer", obj.pk)[:10]:
            undo_until = m.created_at + dt.timedelta(days=UNDO_DAYS)
            merges.append(
                {
                    "merge": m,
                    "undo_until": undo_until,
                    "can_undo": m.undone_at is None and undo_until > timezone.now(),
                }
            )
    can_change = can_change_customer(user, obj)
    return render_to_string(
        "customers/_tab_overview.html",
        {
            "obj": obj,
            "figures": key_figures(obj, user),
            "merges": merges,
            "pools": list(visible_pools(user).filter(active=True))
            if can_change and obj.pool_id is None
            else [],
            "can_change": can_change,
            "addresses": address_rows(obj),
            "phones": phone_items(obj.phones),
        },
        request=request,
    )


register_tab(
    "customer", Tab(key="overview", label=_("360°"), render=_overview_tab, order=1, icon="chart-donut")
)


def can_change_customer(user: Any, obj: Customer) -> bool:
    """Edit controls show only when the user may change this customer (function permission and
    data scope: a read-only share or a colleague's customer gives none)."""
    return (
        has_perm(user, "customer", "change") and scoped(user, Customer, "change").filter(pk=obj.pk).exists()
    )


def address_rows(obj: Customer) -> list[dict[str, Any]]:
    from huoban.platform.records.regions import region_label

    return [
        {"address": a, "region": region_label(a.region) if a.region else ""}
        for a in obj.addresses.all().order_by("-is_primary", "id")
    ]


def _addresses_tab(request: Any, obj: Customer) -> str:
    return render_to_string(
        "customers/_tab_addresses.html",
        {"obj": obj, "rows": address_rows(obj), "can_change": can_change_customer(request.user, obj)},
        request=request,
    )


def _follow_up_note(att: Any) -> tuple[str, str]:
    """The follow-up a file of the customer belongs to: type and local date, linked."""
    from huoban.platform.ui.formatting import fdate

    fu = att.follow_up
    if fu is None:
        return "", ""
    return f"{fu.get_type_display()} · {fdate(fu.occurred_at)}", f"/follow-ups/{fu.pk}/"


def files_context(request: Any, obj: Customer, upload_error: str = "") -> dict[str, Any]:
    """The Files tab: the customer's own files and those of follow-ups the user can see, through
    the shared ``ui/partials/attachments.html``."""
    user = request.user
    rows = files_of(user, obj).select_related("uploaded_by", "follow_up").order_by("-uploaded_at", "-id")
    return attachments_context(
        obj,
        rows,
        base=f"/customers/{obj.pk}/files/",
        can_change=can_change_customer(user, obj),
        max_bytes=MAX_ATTACHMENT_BYTES,
        upload_error=upload_error,
        deletable=lambda a: a.follow_up_id is None,
        note=_follow_up_note,
    )


def can_change_follow_up(user: Any, obj: FollowUp) -> bool:
    """Add/Delete controls on a follow-up's files: the user may change the follow-up (function
    permission and data scope, as ``services.attachment_add``/``attachment_delete`` check)."""
    return (
        has_perm(user, "follow_up", "change") and scoped(user, FollowUp, "change").filter(pk=obj.pk).exists()
    )


def follow_up_files_context(request: Any, obj: FollowUp, upload_error: str = "") -> dict[str, Any]:
    """The follow-up's Files tab (the same shared partial as the customer's)."""
    return attachments_context(
        obj,
        obj.attachments.select_related("uploaded_by").order_by("-uploaded_at", "-id"),
        base=f"/follow-ups/{obj.pk}/files/",
        can_change=can_change_follow_up(request.user, obj),
        max_bytes=MAX_ATTACHMENT_BYTES,
        upload_error=upload_error,
    )


def _follow_up_files_tab(request: Any, obj: FollowUp) -> str:
    return render_to_string(
        "customers/_tab_files.html", follow_up_files_context(request, obj), request=request
    )


def _files_tab(request: Any, obj: Customer) -> str:
    return render_to_string("customers/_tab_files.html", files_context(request, obj), request=request)


register_tab(
    "customer", Tab(key="addresses", label=_("Addresses"), render=_addresses_tab, order=2, icon="map-pin")
)
register_tab("customer", Tab(key="files", label=_("Files"), render=_files_tab, order=3, icon="paperclip"))
register_tab(
    "follow_up", Tab(key="files", label=_("Files"), render=_follow_up_files_tab, order=3, icon="paperclip")
)

register_related(
    "customer",
    RelatedList(
        key="contacts",
        label=_("Contacts"),
        model=Contact,
        queryset=lambda user, obj: contacts_of(user, obj),
        columns=["name", "title", Column("mobile", render=_phone("mobile")), "email", "decision_role"],
        order=10,
        add_url=lambda obj: f"/contacts/new/?customer={obj.pk}",
        list_url=lambda obj: f"/contacts/?customer={obj.pk}",
    ),
)
register_related(
    "customer",
    RelatedList(
        key="follow_ups",
        label=_("Follow-ups"),
        model=FollowUp,
        fk="customer",
        columns=["occurred_at", "type", "outcome", "next_follow_up_at", "owner"],
        ordering=("-occurred_at", "-id"),
        order=20,
        add_url=lambda obj: f"/follow-ups/new/?customer={obj.pk}",
        list_url=lambda obj: f"/follow-ups/?customer={obj.pk}",
    ),
)
register_related(
    "contact",
    RelatedList(
        key="follow_ups",
        label=_("Follow-ups"),
        model=FollowUp,
        fk="contact",
        columns=["occurred_at", "customer", "type", "outcome"],
        ordering=("-occurred_at", "-id"),
        order=20,
        add_url=lambda obj: (
            f"/follow-ups/new/?contact={obj.pk}" + (f"&customer={obj.customer_id}" if obj.customer_id else "")
        ),
    ),
)

_TYPE_ICONS = {
    "call": "phone",
    "visit": "map-pin",
    "meeting": "users",
    "email": "mail",
    "wechat": "brand-wechat",
    "note": "note",
}


def _follow_up_items(request: Any, obj: Any) -> list[TimelineItem]:
    from django.db.models import Count

    qs = (
        scoped(request.user, FollowUp)
        .select_related("contact", "created_by")
        .annotate(n_files=Count("attachments"))
        .order_by("-occurred_at")
    )
    qs = qs.filter(customer=obj) if isinstance(obj, Customer) else qs.filter(contact=obj)
    items = []
    for f in qs[:50]:
        title = f.get_type_display() + (f" · {f.contact.name}" if f.contact_id else "")
        if f.outcome:
            title += f" · {f.outcome}"
        if f.n_files:
            title += " · " + ngettext("%(n)d file", "%(n)d files", f.n_files) % {"n": f.n_files}
        items.append(
            TimelineItem(
                at=f.occurred_at,
                title=title,
                body=f.content,
                icon=_TYPE_ICONS.get(f.type, "message"),
                actor=str(f.created_by) if f.created_by_id else "",
                url=f"/follow-ups/{f.pk}/",
                kind="follow_ups",
                color="azure",
            )
        )
    return items


register_timeline(
    "customer", TimelineProvider(key="follow_ups", label=_("Follow-ups"), items=_follow_up_items, order=10)
)
register_timeline(
    "contact", TimelineProvider(key="follow_ups", label=_("Follow-ups"), items=_follow_up_items, order=10)
)


# --- navigation entries and key figures --------------------------------------------------------

register_nav(
    NavEntry(
        key="customers.duplicates",
        module="customers",
        label=_("Duplicates"),
        url="/customers/duplicates/",
        icon="copy",
        order=40,
        object_type="customer",
        action="merge",
    )
)
register_nav(
    NavEntry(
        key="customers.pools",
        module="customers",
        label=_("Public pool"),
        url="/customer-pools/",
        icon="lifebuoy",
        order=50,
        object_type="customer_pool",
    )
)


def _count_customers(request: Any) -> int:
    return scoped(request.user, Customer).order_by()[:10001].count()


def _new_this_month(request: Any) -> int:
    start = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return scoped(request.user, Customer).filter(created_at__gte=start).order_by()[:10001].count()


def _due_follow_ups(request: Any) -> int:
    return (
        scoped(request.user, Customer)
        .filter(next_follow_up_at__lte=timezone.now() + dt.timedelta(days=1))
        .order_by()[:10001]
        .count()
    )


register_key_figure(
    KeyFigure(
        key="customers.total",
        label=_("Customers"),
        value=_count_customers,
        object_type="customer",
        url="/customers/",
        order=10,
    )
)
register_key_figure(
    KeyFigure(
        key="customers.new_month",
        label=_("New customers this month"),
        value=_new_this_month,
        object_type="customer",
        url="/customers/?sort=-created_at",
        order=11,
    )
)
register_key_figure(
    KeyFigure(
        key="customers.follow_up_due",
        label=_("Follow-ups due"),
        value=_due_follow_ups,
        object_type="customer",
        url="/customers/?sort=next_follow_up_at",
        order=12,
    )
)
