"""Opportunity pages (list, detail, form, kanban board per pipeline), the stage history tab,
navigation for the board and the reports, home key figures, and the related lists sales adds
to customer and lead pages."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from huoban.platform.access.scoping import scoped
from huoban.platform.ui.choices import picklist_choices, picklist_render
from huoban.platform.ui.nav import NavEntry, register_nav
from huoban.platform.ui.pages import (
    Board,
    BoardColumn,
    Column,
    FieldSpec,
    Filter,
    RecordPages,
    RelatedList,
    Section,
    Tab,
    register_pages,
    register_related,
)
from huoban.platform.ui.widgets import KeyFigure, register_key_figure

from .models import Opportunity, OpportunityStatus, Pipeline, SalesSettings, Stage, StageHistory, StageType
from .services import opportunity_create, opportunity_move, opportunity_update

TYPE_COLORS = {StageType.OPEN: "azure", StageType.WON: "green", StageType.LOST: "red"}


def selected_pipeline(request: Any) -> Pipeline | None:
    pid = request.GET.get("pipeline", "")
    pipeline = Pipeline.objects.filter(pk=pid, active=True).first() if pid.isdigit() else None
    from .services import default_pipeline

    return pipeline or default_pipeline()


def _board_columns(request: Any) -> list[BoardColumn]:
    if request.method == "POST":  # a move may target any active stage (another pipeline too)
        stages = Stage.objects.filter(active=True, pipeline__active=True)
    else:
        pipeline = selected_pipeline(request)
        stages = Stage.objects.filter(pipeline=pipeline, active=True) if pipeline else Stage.objects.none()
    out = []
    for s in stages.order_by("pipeline__position", "position", "id"):
        hint = f"{s.probability}%"
        if s.max_dwell_days:
            hint += " · " + gettext("at most %(n)d days") % {"n": s.max_dwell_days}
        out.append(BoardColumn(s.pk, s.label, TYPE_COLORS.get(s.type, ""), hint))
    return out


def _board_move(*, actor: Any, obj: Opportunity, to: Any, version: int | None) -> Opportunity:
    stage = Stage.objects.get(pk=int(to))
    return opportunity_move(actor=actor, opportunity=obj, stage=stage, version=version)


def _opp_create(
    *, actor: Any, data: dict[str, Any], custom_fields: Any = None, tags: Any = None
) -> Opportunity:
    return opportunity_create(actor=actor, data=data, custom_fields=custom_fields, tags=tags)


def _stage(obj: Opportunity) -> str:
    stage = obj.stage
    return format_html(
        '<span class="badge bg-{}-lt">{}</span>', TYPE_COLORS.get(stage.type, "secondary"), stage.label
    )


def _stuck(obj: Opportunity) -> str:
    if obj.is_stuck:
        return format_html(
            '<span class="badge bg-orange-lt" title="{}">{}</span>',
            gettext("Over the stage's maximum dwell time"),
            gettext("Stuck"),
        )
    return ""


def _stuck_filter(qs: Any, value: Any, request: Any) -> Any:
    cond = Q(stuck_since__isnull=False, status=OpportunityStatus.OPEN)
    if value in ("1", "true", "yes", "on", True):
        return qs.filter(cond)
    if value in ("0", "false", "no", False):
        return qs.exclude(cond)
    return qs


def _reason_choices() -> list[tuple[str, str]]:
    return picklist_choices("opportunity_close_reason")()


def _history_tab(request: Any, obj: Opportunity) -> str:
    rows = list(
        StageHistory.objects.filter(opportunity=obj)
        .select_related("stage", "from_stage")
        .order_by("entered_at", "id")
    )
    now = timezone.now()
    for r in rows:
        seconds = (
            r.duration_seconds if r.duration_seconds is not None else (now - r.entered_at).total_seconds()
        )
        r.days = round(seconds / 86400.0, 1)
    return render_to_string("sales/tab_stage_history.html", {"rows": rows, "obj": obj}, request=request)


opportunity_pages = register_pages(
    RecordPages(
        model=Opportunity,
        create=_opp_create,
        update=opportunity_update,
        update_kwarg="opportunity",
        module="sales",
        icon="target",
        nav_order=10,
        subtitle_field="number",
        list_columns=[
            Column("name", link=True),
            Column("customer", kind="relation", select_related=("customer",)),
            Column("stage", render=_stage, order_by="stage__position", select_related=("stage",)),
            Column("amount", kind="money", currency_field="currency"),
            Column("probability", align="end"),
            "close_date",
            "owner",
            Column("stuck", label=_("Flag"), render=_stuck, sortable=False),
            Column("forecast_category", default=False),
            Column("pipeline", kind="relation", default=False, select_related=("pipeline",)),
            Column("source", render=picklist_render("customer_source", "source"), default=False),
            Column("number", default=False),
            Column("created_at", default=False),
        ],
        filters=[
            "pipeline",
            "stage",
            "status",
            "forecast_category",
            Filter("stuck", kind="bool", label=_("Stuck"), apply=_stuck_filter),
            Filter("customer", kind="relation", lookup="customer"),
            Filter("source", kind="choice", choices=picklist_choices("customer_source")),
            "owner",
            "owner_unit",
            "amount",
            "close_date",
            "tags",
            "created_at",
        ],
        form_sections=[
            Section(
                _("Basics"),
                [
                    "name",
                    FieldSpec("customer", lookup="customer"),
                    FieldSpec("pipeline", required=False, help_text=_("Empty: the default pipeline.")),
                    FieldSpec(
                        "stage", required=False, help_text=_("On creation; later, move it on the board.")
                    ),
                    "amount",
                    "currency",
                    "close_date",
                    FieldSpec("probability", help_text=_("Set by the stage unless you change it.")),
                    "forecast_category",
                    "owner",
                    "tags",
                ],
            ),
            Section(
                _("Details"),
                [
                    FieldSpec("products", help_text=_('JSON, e.g. [{"name": "CRM", "quantity": 20}]')),
                    FieldSpec("competitors", help_text=_('JSON list, e.g. ["Salesforce", "用友"]')),
                    "next_step",
                    FieldSpec(
                        "source",
                        choices=picklist_choices("customer_source"),
                        render=picklist_render("customer_source", "source"),
                    ),
                ],
            ),
            Section(
                _("Win / loss"),
                [
                    FieldSpec(
                        "close_reason",
                        choices=_reason_choices,
                        render=picklist_render("opportunity_close_reason", "close_reason"),
                    ),
                    FieldSpec("close_note", widget="textarea", width=12),
                ],
            ),
            Section(_("Custom fields"), [], custom_fields=True),
        ],
        inline_edit=(
            "name",
            "amount",
            "close_date",
            "probability",
            "forecast_category",
            "next_step",
            "close_note",
        ),
        header_fields=["stage", "amount", "close_date", "probability", "owner"],
        tabs=[Tab("stages", _("Stage history"), _history_tab, order=15, icon="timeline")],
        board=Board(
            field="stage_id",
            columns=_board_columns,
            move=_board_move,
            amount_field="amount_base",
            card_fields=["customer", "close_date", "stage_age"],
            label=_("Pipeline"),
        ),
        select_related=("owner", "owner_unit", "customer", "stage", "pipeline"),
        empty_hint=_("Create an opportunity, or convert a qualified lead."),
    )
)

register_nav(
    NavEntry(
        key="sales.board",
        module="sales",
        label=_("Pipeline board"),
        url="/opportunities/board/",
        icon="layout-kanban",
        order=20,
        object_type="opportunity",
    )
)
for _key, _lbl, _url, _icon, _order in (
    ("reports.funnel", _("Sales funnel"), "/reports/funnel/", "filter", 10),
    ("reports.forecast", _("Forecast"), "/reports/forecast/", "chart-bar", 20),
    ("reports.sales", _("Sales reports"), "/reports/sales/", "report-analytics", 30),
):
    register_nav(
        NavEntry(
            key=_key, module="reports", label=_lbl, url=_url, icon=_icon, order=_order, object_type="report"
        )
    )


register_nav(
    NavEntry(
        key="settings.pipelines",
        module="settings",
        label=_("Pipelines"),
        url="/settings/pipelines/",
        icon="git-branch",
        order=60,
        object_type="pipeline",
        action="manage",
    )
)


# --- related lists ------------------------------------------------------------------------------

register_related(
    "customer",
    RelatedList(
        key="opportunities",
        label=_("Opportunities"),
        model=Opportunity,
        fk="customer",
        columns=["name", "stage", "amount", "close_date", "owner"],
        order=20,
        add_url=lambda obj: f"/opportunities/new/?customer={obj.pk}",
        list_url=lambda obj: f"/opportunities/?customer={obj.pk}",
    ),
)
register_related(
    "lead",
    RelatedList(
        key="opportunities",
        label=_("Opportunities"),
        model=Opportunity,
        fk="source_lead",
        columns=["name", "stage", "amount", "owner"],
        order=20,
    ),
)


# --- home key figures ---------------------------------------------------------------------------


def _open_pipeline(request: Any) -> tuple[Decimal, str]:
    total = (
        scoped(request.user, Opportunity)
        .filter(status=OpportunityStatus.OPEN)
        .aggregate(s=Sum("amount_base"))["s"]
    )
    return Decimal(total or 0), SalesSettings.load().base_currency


def _won_this_month(request: Any) -> tuple[Decimal, str]:
    today = timezone.localdate()
    start = dt.datetime.combine(today.replace(day=1), dt.time.min, tzinfo=timezone.get_default_timezone())
    total = (
        scoped(request.user, Opportunity)
        .filter(status=OpportunityStatus.WON, closed_at__gte=start)
        .aggregate(s=Sum("amount_base"))["s"]
    )
    return Decimal(total or 0), SalesSettings.load().base_currency


register_key_figure(
    KeyFigure(
        key="sales.pipeline",
        label=_("Open pipeline"),
        value=_open_pipeline,
        kind="money",
        object_type="opportunity",
        url="/opportunities/board/",
        order=20,
    )
)
register_key_figure(
    KeyFigure(
        key="sales.won_month",
        label=_("Won this month"),
        value=_won_this_month,
        kind="money",
        object_type="opportunity",
        url="/reports/forecast/",
        order=21,
    )
)
