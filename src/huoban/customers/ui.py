# HANDOFF: owned by the customers helper from now on
"""Customer, contact and follow-up pages (generic record pages, see docs/ui.md) and what
customers contributes to detail pages: the 360° tab, related lists and the timeline.

Pages of their own (duplicate review, merge, public pools) live in ``views.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.errors import ValidationError
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
from .selectors import contacts_of
from .services import (
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


def _phone(field: str) -> Any:
    def render(obj: Any) -> str:
        from huoban.platform.records.contact_points import format_phone

        value = getattr(obj, field, "")
        return (
            format_html('<a href="tel:{}">{}</a>', value.split(";")[0], format_phone(value)) if value else ""
        )

    return render


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
        create=customer_create,
        update=customer_update,
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
                    "email",
                    "website",
                    FieldSpec("region", choices=region_choices, render=_region_label),
                    "address",
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
        create=contact_create,
        update=contact_update,
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
                    "email",
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
    data = dict(data)
    customer = data.pop("customer", None)
    contact = data.pop("contact", None)
    if customer is None:
        raise ValidationError({"customer": [gettext("This field is required.")]})
    return follow_up_create(
        actor=actor, customer=customer, contact=contact, data=data, custom_fields=custom_fields, tags=tags
    )


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
    can_change = (
        scoped(user, Customer, "change").filter(pk=obj.pk).exists()
        if has_perm(user, "customer", "change")
        else False
    )
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
            "addresses": list(obj.addresses.all()),
        },
        request=request,
    )


register_tab(
    "customer", Tab(key="overview", label=_("360°"), render=_overview_tab, order=1, icon="chart-donut")
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
    qs = scoped(request.user, FollowUp).select_related("contact", "created_by").order_by("-occurred_at")
    qs = qs.filter(customer=obj) if isinstance(obj, Customer) else qs.filter(contact=obj)
    items = []
    for f in qs[:50]:
        title = f.get_type_display() + (f" · {f.contact.name}" if f.contact_id else "")
        if f.outcome:
            title += f" · {f.outcome}"
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
