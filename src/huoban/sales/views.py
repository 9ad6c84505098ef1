"""Sales pages of their own: the board with a pipeline switcher, the funnel and forecast reports
(ECharts; the numbers come from the same services as the API) and the stored sales reports."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huoban.platform.access.scoping import has_perm
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.errors import ValidationError
from huoban.platform.identity.models import OrgUnit, User
from huoban.platform.ui import listing
from huoban.platform.ui.record_views import BoardView, display_value, error_page

from . import reports
from .models import Pipeline, ReportKind
from .selectors import visible_reports
from .ui import selected_pipeline


class SalesBoardView(BoardView):
    """The generic kanban board of opportunities, one pipeline at a time (``?pipeline=<id>``)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        p = self.pages
        board = p.board
        if board is None:
            raise Http404
        self.require("view")
        pipeline = selected_pipeline(request)
        state = listing.list_state(p, request)
        qs = listing.base_queryset(p, request, state)
        if pipeline is not None:
            qs = qs.filter(pipeline=pipeline)
        related = [r for r in p.select_related if r]
        columns = []
        for col in board.columns(request):
            cqs = qs.filter(**{board.field: col.key})
            total = cqs.order_by()[:10001].count()
            amount = cqs.aggregate(s=Sum(board.amount_field))["s"] if board.amount_field else None
            cards = list(cqs.select_related(*related).order_by("-updated_at", "-id")[: board.per_column])
            columns.append(
                {
                    "col": col,
                    "key": str(col.key),
                    "total": total,
                    "amount": amount,
                    "cards": [
                        {"obj": c, "fields": [display_value(p, c, f)[0] for f in board.card_fields]}
                        for c in cards
                    ],
                    "more": max(0, total - len(cards)),
                }
            )
        from .models import SalesSettings

        ctx = {
            **self.base_context(),
            "board": board,
            "columns": columns,
            "state": state,
            "can_move": has_perm(request.user, p.object_type, "change"),
            "currency": SalesSettings.load().base_currency,
            "move_url": reverse(p.url_name("board-move")),
            "pipelines": list(Pipeline.objects.filter(active=True).order_by("position", "id")),
            "pipeline": pipeline,
            "units": list(OrgUnit.objects.filter(active=True).order_by("path")),
            "owners": list(User.objects.filter(is_active=True, is_system=False).order_by("username")),
        }
        return render(request, "sales/board.html", ctx)


def _can_report(request: HttpRequest) -> bool:
    return has_perm(request.user, "report", "view")


def _date(value: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def _units(request: HttpRequest) -> list[OrgUnit]:
    return list(OrgUnit.objects.filter(active=True).order_by("path"))


def _sources() -> list[tuple[str, str]]:
    from huoban.platform.ui.choices import picklist_choices

    return picklist_choices("customer_source")()


@login_required
def funnel_page(request: HttpRequest) -> HttpResponse:
    if not _can_report(request):
        return error_page(request, 403)
    today = timezone.localdate()
    date_to = _date(request.GET.get("to")) or today
    date_from = _date(request.GET.get("from")) or (date_to - dt.timedelta(days=365))
    pipeline = Pipeline.objects.filter(pk=_int(request.GET.get("pipeline")) or 0).first()
    try:
        data = reports.funnel(
            request.user,
            date_from=date_from,
            date_to=date_to,
            unit=_int(request.GET.get("unit")),
            source=request.GET.get("source") or None,
            pipeline=pipeline,
        )
    except ValidationError:
        raise Http404
    source_labels = dict(_sources())
    for row in data["by_source"]:
        row["label"] = source_labels.get(row["source"], row["source"] or "—")
    chart = {
        "funnel": [{"name": s["name"], "value": s["reached"]} for s in data["stages"]],
        "stages": [s["name"] for s in data["stages"] if s["avg_days"] is not None],
        "avg_days": [s["avg_days"] for s in data["stages"] if s["avg_days"] is not None],
        "sources": [s["label"] for s in data["by_source"]],
        "source_leads": [s["leads"] for s in data["by_source"]],
        "source_won": [s["won"] for s in data["by_source"]],
        "labels": {
            "avg_days": str(_("Average days in stage")),
            "leads": str(_("Leads")),
            "won": str(_("Won")),
        },
    }
    return render(
        request,
        "sales/funnel.html",
        {
            "data": data,
            "chart": chart,
            "pipelines": Pipeline.objects.filter(active=True).order_by("position", "id"),
            "units": _units(request),
            "sources": _sources(),
            "params": {
                "from": date_from.isoformat(),
                "to": date_to.isoformat(),
                "unit": request.GET.get("unit", ""),
                "source": request.GET.get("source", ""),
                "pipeline": str(data["pipeline"] or ""),
            },
        },
    )


@login_required
def forecast_page(request: HttpRequest) -> HttpResponse:
    if not _can_report(request):
        return error_page(request, 403)
    period = "quarter" if request.GET.get("period") == "quarter" else "month"
    group = "unit" if request.GET.get("group") == "unit" else "owner"
    data = reports.forecast(
        request.user,
        period=period,
        date_from=_date(request.GET.get("from")),
        date_to=_date(request.GET.get("to")),
        unit=_int(request.GET.get("unit")),
        owner=_int(request.GET.get("owner")),
        group=group,
    )
    chart = {
        "periods": [p["period"] for p in data["periods"]],
        "series": [
            {
                "key": "closed_won",
                "name": str(_("Closed won")),
                "data": [float(p["closed_won"]) for p in data["periods"]],
            },
            {
                "key": "commit",
                "name": str(_("Commit")),
                "data": [float(p["commit"]) for p in data["periods"]],
            },
            {
                "key": "best_case",
                "name": str(_("Best case")),
                "data": [float(p["best_case"]) for p in data["periods"]],
            },
            {
                "key": "pipeline",
                "name": str(_("Pipeline")),
                "data": [float(p["pipeline"]) for p in data["periods"]],
            },
            {
                "key": "weighted",
                "name": str(_("Weighted")),
                "data": [float(p["weighted"]) for p in data["periods"]],
            },
        ],
    }
    return render(
        request,
        "sales/forecast.html",
        {
            "data": data,
            "chart": chart,
            "units": _units(request),
            "params": {
                "period": period,
                "group": group,
                "from": data["from"],
                "to": data["to"],
                "unit": request.GET.get("unit", ""),
            },
        },
    )


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    if not _can_report(request):
        return error_page(request, 403)
    qs = visible_reports(request.user).select_related("user", "unit").order_by("-period_start", "kind", "id")
    kind = request.GET.get("kind")
    if kind in ReportKind.values:
        qs = qs.filter(kind=kind)
    return render(request, "sales/report_list.html", {"reports": qs[:200], "kind": kind or ""})


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_report(request):
        return error_page(request, 403)
    report = visible_reports(request.user).select_related("user", "unit").filter(pk=pk).first()
    if report is None:
        raise Http404
    from .api import report_rows

    return render(request, "sales/report_detail.html", {"report": report, "rows": report_rows(report)})


@login_required
def report_export(request: HttpRequest, pk: int) -> HttpResponse:
    if not _can_report(request):
        return error_page(request, 403)
    report = visible_reports(request.user).select_related("user", "unit").filter(pk=pk).first()
    if report is None:
        raise Http404
    from .api import export_report

    kind = "xlsx" if request.GET.get("type") == "xlsx" else "csv"
    audit_log(
        actor=request.user,
        action=AuditAction.EXPORT,
        object_type="report",
        object_id=report.pk,
        object_repr=str(report),
        data={"type": kind},
    )
    return export_report(report, kind)


# --- settings: pipelines (administrators) ----------------------------------------------------------


def _can_manage_pipelines(request: HttpRequest) -> bool:
    return has_perm(request.user, "pipeline", "manage")


def _stage_rows(post: Any) -> list[dict[str, Any]]:
    rows = []
    for i in range(int(post.get("stage_count", "0") or 0) + 1):
        get = lambda k, i=i: (post.get(f"s{i}-{k}") or "").strip()  # noqa: E731
        if not get("name") and not get("id"):
            continue
        if get("delete"):
            continue
        row: dict[str, Any] = {
            "code": get("code") or f"stage-{i + 1}",
            "name": get("name"),
            "name_zh_hans": get("name_zh_hans"),
            "type": get("type") or "open",
            "probability": int(get("probability") or 0) if get("probability").isdigit() else 0,
            "required_fields": [
                f.strip() for f in get("required_fields").replace("，", ",").split(",") if f.strip()
            ],
            "max_dwell_days": int(get("max_dwell_days")) if get("max_dwell_days").isdigit() else None,
            "escalate_after_days": int(get("escalate_after_days"))
            if get("escalate_after_days").isdigit()
            else None,
            "active": bool(post.get(f"s{i}-active")),
            "_order": int(get("position")) if get("position").isdigit() else 1000 + i,
        }
        if get("id").isdigit():
            row["id"] = int(get("id"))
        rows.append(row)
    rows.sort(key=lambda r: r["_order"])
    for r in rows:
        r.pop("_order")
    return rows


@login_required
def pipeline_settings(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    from django.contrib import messages
    from django.shortcuts import redirect

    from .models import StageType
    from .services import REQUIRABLE, pipeline_save

    if not _can_manage_pipelines(request):
        return error_page(request, 403)
    errors: dict[str, Any] = {}
    if request.method == "POST":
        pipeline = Pipeline.objects.filter(pk=pk).first() if pk else None
        data = {
            "name": request.POST.get("name", "").strip(),
            "name_zh_hans": request.POST.get("name_zh_hans", "").strip(),
            "is_default": bool(request.POST.get("is_default")),
            "active": bool(request.POST.get("active")),
        }
        if pipeline is None:
            data["code"] = request.POST.get("code", "").strip()
        try:
            stages = _stage_rows(request.POST)
            if pipeline is None and not stages:
                from .services import default_pipeline

                template = default_pipeline()
                stages = [
                    {
                        k: getattr(s, k)
                        for k in (
                            "code",
                            "name",
                            "name_zh_hans",
                            "type",
                            "probability",
                            "required_fields",
                            "max_dwell_days",
                            "escalate_after_days",
                        )
                    }
                    for s in (template.stages.filter(active=True).order_by("position") if template else [])
                ]
            pipeline_save(actor=request.user, pipeline=pipeline, data=data, stages=stages)
        except ValidationError as exc:
            errors = exc.errors
            messages.error(
                request,
                " ".join(str(m) for v in exc.errors.values() for m in (v if isinstance(v, list) else [v])),
            )
        else:
            messages.success(request, _("Pipeline saved."))
            return redirect("/settings/pipelines/")
    pipelines = list(Pipeline.objects.prefetch_related("stages").order_by("position", "id"))
    return render(
        request,
        "sales/settings_pipelines.html",
        {
            "pipelines": pipelines,
            "types": StageType.choices,
            "requirable": ", ".join(REQUIRABLE),
            "errors": errors,
        },
    )
