"""REST API of sales: pipelines (with stages), opportunities (+ move, board, stage history),
funnel and forecast reports, stored sales reports (+ export), sales settings."""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from huoban.leads import integration
from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.api.records import RecordSerializer, RecordViewSet, UserRefField
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.identity.api import IsAdministrator
from huoban.platform.identity.models import User

from . import reports, services
from .models import (
    ContactRole,
    Opportunity,
    OpportunityContact,
    Pipeline,
    ReportKind,
    SalesReport,
    SalesSettings,
    Stage,
    StageHistory,
)
from .selectors import visible_reports

# --- pipelines ---------------------------------------------------------------------------------------


class StageSerializer(serializers.ModelSerializer):
    id = serializers.IntegerField(required=False)
    label = serializers.CharField(read_only=True)
    required_fields = serializers.ListField(child=serializers.CharField(max_length=80), required=False)

    class Meta:
        model = Stage
        fields = [
            "id",
            "code",
            "name",
            "name_zh_hans",
            "label",
            "position",
            "type",
            "probability",
            "required_fields",
            "max_dwell_days",
            "escalate_after_days",
            "active",
        ]
        read_only_fields = ["position"]
        extra_kwargs = {"code": {"validators": []}}


class PipelineSerializer(serializers.ModelSerializer):
    stages = StageSerializer(many=True, required=False, help_text="Ordered; the list replaces the stages.")
    label = serializers.CharField(read_only=True)

    class Meta:
        model = Pipeline
        fields = [
            "id",
            "code",
            "name",
            "name_zh_hans",
            "label",
            "description",
            "currency",
            "is_default",
            "active",
            "position",
            "version",
            "stages",
        ]
        read_only_fields = ["version"]
        extra_kwargs = {"code": {"validators": []}}


class PipelinePermission(permissions.BasePermission):
    """Anyone who may see opportunities reads pipelines; administrators (pipeline: manage) write."""

    def has_permission(self, request: Request, view: Any) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in permissions.SAFE_METHODS:
            if has_perm(user, "pipeline", "view") or has_perm(user, "opportunity", "view"):
                return True
            raise PermissionDeniedError()
        if not has_perm(user, "pipeline", "manage"):
            raise PermissionDeniedError()
        return True


class PipelineViewSet(viewsets.ModelViewSet):
    serializer_class = PipelineSerializer
    permission_classes = [PipelinePermission]
    pagination_class = None
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    ordering_fields = ("position", "id")

    def get_queryset(self) -> Any:
        qs = Pipeline.objects.prefetch_related("stages").order_by("position", "id")
        if self.action == "list" and self.request.query_params.get("active") not in ("0", "false", "all"):
            qs = qs.filter(active=True)
        return qs

    def _stages(self, serializer: Any) -> list[dict[str, Any]] | None:
        stages = serializer.validated_data.pop("stages", None)
        return [dict(s) for s in stages] if stages is not None else None

    def perform_create(self, serializer: Any) -> None:
        stages = self._stages(serializer)
        serializer.instance = services.pipeline_save(
            actor=self.request.user, pipeline=None, data=dict(serializer.validated_data), stages=stages
        )

    def perform_update(self, serializer: Any) -> None:
        stages = self._stages(serializer)
        serializer.instance = services.pipeline_save(
            actor=self.request.user,
            pipeline=serializer.instance,
            data=dict(serializer.validated_data),
            stages=stages,
        )

    def perform_destroy(self, instance: Pipeline) -> None:
        services.pipeline_delete(actor=self.request.user, pipeline=instance)


# --- opportunities -----------------------------------------------------------------------------------


class OpportunityContactSerializer(serializers.Serializer):
    contact = serializers.IntegerField()
    role = serializers.ChoiceField(choices=ContactRole.choices, default=ContactRole.OTHER)
    is_primary = serializers.BooleanField(default=False)


class OpportunitySerializer(RecordSerializer):
    owner = UserRefField(queryset=User.objects.filter(is_active=True), required=False, allow_null=True)
    customer = serializers.IntegerField(source="customer_id", help_text="Customer id (in your scope).")
    customer_name = serializers.CharField(source="customer.name", read_only=True)
    pipeline = serializers.IntegerField(
        source="pipeline_id", required=False, help_text="Default: the default pipeline."
    )
    stage = serializers.IntegerField(
        source="stage_id", required=False, help_text="On create (default: the first stage); later use move/."
    )
    stage_name = serializers.CharField(source="stage.label", read_only=True)
    stage_type = serializers.CharField(source="stage.type", read_only=True)
    probability = serializers.IntegerField(
        required=False,
        allow_null=True,
        min_value=0,
        max_value=100,
        help_text="null: back to the stage's probability.",
    )
    products = serializers.JSONField(
        required=False, help_text='e.g. [{"name": "CRM licences", "quantity": 20}]'
    )
    competitors = serializers.ListField(child=serializers.CharField(max_length=120), required=False)
    source_lead = serializers.IntegerField(source="source_lead_id", read_only=True, allow_null=True)
    contacts = OpportunityContactSerializer(many=True, required=False, help_text="Contacts with their roles.")
    weighted_amount = serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True)
    is_stuck = serializers.BooleanField(read_only=True)
    days_in_stage = serializers.SerializerMethodField()

    class Meta(RecordSerializer.Meta):
        model = Opportunity
        fields = [
            *RecordSerializer.Meta.fields,
            "number",
            "name",
            "customer",
            "customer_name",
            "pipeline",
            "stage",
            "stage_name",
            "stage_type",
            "status",
            "amount",
            "currency",
            "amount_base",
            "weighted_amount",
            "close_date",
            "probability",
            "probability_manual",
            "forecast_category",
            "products",
            "competitors",
            "next_step",
            "source",
            "source_lead",
            "campaign",
            "contacts",
            "close_reason",
            "close_note",
            "closed_at",
            "stage_entered_at",
            "days_in_stage",
            "is_stuck",
            "stuck_since",
        ]
        read_only_fields = [
            *RecordSerializer.Meta.read_only_fields,
            "number",
            "status",
            "amount_base",
            "probability_manual",
            "closed_at",
            "stage_entered_at",
            "stuck_since",
        ]

    def get_days_in_stage(self, obj: Opportunity) -> int:
        return max(0, (timezone.now() - obj.stage_entered_at).days)

    def to_representation(self, instance: Any) -> Any:
        data = super().to_representation(instance)
        links = getattr(instance, "_prefetched_objects_cache", {}).get("contact_links")
        if links is None:
            links = OpportunityContact.objects.filter(opportunity=instance)
        data["contacts"] = [
            {"contact": c.contact_id, "role": c.role, "is_primary": c.is_primary} for c in links
        ]
        return data


class MoveSerializer(serializers.Serializer):
    stage = serializers.IntegerField(help_text="Target stage id (any stage; backwards moves are recorded).")
    version = serializers.IntegerField(required=False)
    close_reason = serializers.CharField(max_length=40, required=False, allow_blank=True)
    close_note = serializers.CharField(required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False)
    close_date = serializers.DateField(required=False)
    next_step = serializers.CharField(max_length=300, required=False, allow_blank=True)


class StageHistorySerializer(serializers.ModelSerializer):
    stage_name = serializers.CharField(source="stage.label", read_only=True)
    from_stage_name = serializers.CharField(
        source="from_stage.label", read_only=True, allow_null=True, default=None
    )
    days = serializers.SerializerMethodField()

    class Meta:
        model = StageHistory
        fields = [
            "id",
            "stage",
            "stage_name",
            "from_stage",
            "from_stage_name",
            "entered_at",
            "left_at",
            "duration_seconds",
            "days",
            "backwards",
            "actor_name",
        ]

    def get_days(self, obj: StageHistory) -> float:
        seconds = obj.duration_seconds
        if seconds is None:
            seconds = (timezone.now() - obj.entered_at).total_seconds()
        return round(seconds / 86400.0, 1)


BoardResponse = inline_serializer(
    "OpportunityBoard",
    {
        "pipeline": PipelineSerializer(),
        "columns": serializers.ListField(child=serializers.DictField()),
    },
)


class OpportunityViewSet(RecordViewSet):
    record_model = Opportunity
    serializer_class = OpportunitySerializer
    search_fields = Opportunity.search_fields
    ordering_fields = (
        "id",
        "created_at",
        "updated_at",
        "name",
        "amount",
        "close_date",
        "probability",
        "stage_entered_at",
    )
    select_related = ("owner", "created_by", "updated_by", "customer", "stage")
    prefetch_related = ("tagged_items__tag", "contact_links")
    filterset_fields = {
        "pipeline": ["exact"],
        "stage": ["exact", "in"],
        "status": ["exact"],
        "owner": ["exact"],
        "owner_unit": ["exact"],
        "customer": ["exact"],
        "source": ["exact"],
        "source_lead": ["exact"],
        "forecast_category": ["exact", "in"],
        "close_date": ["gte", "lte"],
        "amount": ["gte", "lte"],
        "created_at": ["gte", "lte"],
    }
    extra_action_permission = {"move": "change", "board": "view", "stage_history": "view"}

    def filter_base_queryset(self, qs: Any) -> Any:
        params = self.request.query_params
        stuck = params.get("stuck")
        if stuck is not None:
            cond = Q(stuck_since__isnull=False, status="open")
            qs = qs.filter(cond) if stuck.lower() in ("1", "true", "yes") else qs.exclude(cond)
        unit = _int(params.get("unit"), "unit")
        if unit is not None:
            qs = qs.filter(owner_unit_id__in=reports.unit_tree_ids(unit) or [])
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "stuck", OpenApiTypes.BOOL, description="Only opportunities over their stage's dwell time."
            ),
            OpenApiParameter("unit", OpenApiTypes.INT, description="Owner unit and the units below it."),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def _refs(self, data: dict[str, Any], creating: bool) -> None:
        cid = data.pop("customer_id", None)
        if cid is not None:
            customer = scoped(self.request.user, integration.customer_model()).filter(pk=cid).first()
            if customer is None:
                raise ValidationError({"customer": [_("Unknown customer.")]})
            data["customer"] = customer
        elif creating:
            raise ValidationError({"customer": [_("This field is required.")]})
        if "pipeline_id" in data:
            data["pipeline"] = data.pop("pipeline_id")
        if "stage_id" in data:
            data["stage"] = data.pop("stage_id")

    def perform_service_create(self, data: dict[str, Any], custom_fields: Any, tags: Any) -> Opportunity:
        self._refs(data, creating=True)
        owner = data.get("owner")
        user = self.request.user
        if owner is not None and owner.pk != user.pk and not has_perm(user, "opportunity", "assign"):
            raise ValidationError({"owner": [_("You may not give opportunities to other users.")]})
        if owner is None:
            data.pop("owner", None)
        contacts = [dict(c) for c in data.pop("contacts", None) or []]
        return services.opportunity_create(
            actor=user, data=data, custom_fields=custom_fields, tags=tags, contacts=contacts
        )

    def perform_service_update(
        self, obj: Opportunity, data: dict[str, Any], custom_fields: Any, tags: Any, version: Any
    ) -> Opportunity:
        if "owner" in data:
            owner = data.pop("owner")
            if getattr(owner, "pk", None) != obj.owner_id:
                raise ValidationError({"owner": [_("Change the owner with the transfer action.")]})
        self._refs(data, creating=False)
        contacts = data.pop("contacts", None)
        return services.opportunity_update(
            actor=self.request.user,
            opportunity=obj,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
            contacts=[dict(c) for c in contacts] if contacts is not None else None,
        )

    @extend_schema(
        request=MoveSerializer,
        responses={200: OpportunitySerializer},
        description="Move to another stage (forwards, backwards, won or lost). Refused with 400 naming the "
        "target stage's required fields that are still empty; optional fields in the body fill them on the way.",
    )
    @action(detail=True, methods=["post"])
    def move(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        s = MoveSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = dict(s.validated_data)
        stage = Stage.objects.filter(pk=v.pop("stage")).first()
        if stage is None:
            raise ValidationError({"stage": [_("Unknown stage.")]})
        version = v.pop("version", None) or self._expected_version(request)
        obj = services.opportunity_move(
            actor=request.user, opportunity=obj, stage=stage, version=version, data=v
        )
        obj = self._reload(obj)
        response = Response(self.get_serializer(obj).data)
        response["ETag"] = f'"{obj.version}"'
        return response

    @extend_schema(
        responses=StageHistorySerializer(many=True), description="Stays in each stage, with time spent."
    )
    @action(detail=True, methods=["get"], url_path="stage-history")
    def stage_history(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        rows = (
            StageHistory.objects.filter(opportunity=obj)
            .select_related("stage", "from_stage")
            .order_by("entered_at", "id")
        )
        return Response(StageHistorySerializer(rows, many=True).data)

    @extend_schema(
        parameters=[
            OpenApiParameter("pipeline", OpenApiTypes.INT, description="Default: the default pipeline."),
            OpenApiParameter(
                "limit", OpenApiTypes.INT, description="Cards per column (default 50, at most 200)."
            ),
        ],
        responses={200: BoardResponse},
        description="Kanban board of a pipeline: one column per stage with count, amount, weighted amount, "
        "stuck count and the first cards. The list filters (owner, unit, close_date…) apply.",
    )
    @action(detail=False, methods=["get"])
    def board(self, request: Request) -> Response:
        pid = request.query_params.get("pipeline")
        pipeline = (
            Pipeline.objects.filter(pk=pid).first() if pid and pid.isdigit() else services.default_pipeline()
        )
        if pipeline is None:
            raise ValidationError({"pipeline": [_("Unknown pipeline.")]})
        try:
            limit = max(1, min(int(request.query_params.get("limit", 50)), 200))
        except ValueError:
            limit = 50
        qs = self.filter_queryset(self.get_queryset()).filter(pipeline=pipeline)
        stats = {
            r["stage"]: r
            for r in qs.values("stage")
            .annotate(
                n=Count("id"),
                amount=Sum("amount_base"),
                weighted=Sum(
                    ExpressionWrapper(
                        F("amount_base") * F("probability") / 100,
                        output_field=DecimalField(max_digits=20, decimal_places=2),
                    )
                ),
                stuck=Count("id", filter=Q(stuck_since__isnull=False)),
            )
            .order_by()
        }
        columns = []
        for stage in pipeline.stages.filter(active=True).order_by("position", "id"):
            st = stats.get(stage.pk, {})
            cards = qs.filter(stage=stage).order_by("-amount", "-id")[:limit]
            columns.append(
                {
                    "stage": StageSerializer(stage).data,
                    "count": st.get("n", 0),
                    "amount": reports._money(st.get("amount")),
                    "weighted": reports._money(st.get("weighted")),
                    "stuck": st.get("stuck", 0),
                    "cards": self.get_serializer(cards, many=True).data,
                }
            )
        return Response({"pipeline": PipelineSerializer(pipeline).data, "columns": columns})


# --- reports -----------------------------------------------------------------------------------------


class ReportPermission(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        if not has_perm(request.user, "report", "view"):
            raise PermissionDeniedError()
        return True


def _date(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValidationError({name: [_("Dates are written YYYY-MM-DD.")]})


def _int(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if not str(value).isdigit():
        raise ValidationError({name: [_("Expected an id.")]})
    return int(value)


def _pipeline(value: str | None) -> Pipeline | None:
    pid = _int(value, "pipeline")
    if pid is None:
        return None
    p = Pipeline.objects.filter(pk=pid).first()
    if p is None:
        raise ValidationError({"pipeline": [_("Unknown pipeline.")]})
    return p


FUNNEL_PARAMS = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="Default: 365 days ago."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Default: today."),
    OpenApiParameter("unit", OpenApiTypes.INT, description="Owner unit and the units below it."),
    OpenApiParameter("source", OpenApiTypes.STR, description="Lead source code."),
    OpenApiParameter("owner", OpenApiTypes.INT),
    OpenApiParameter("pipeline", OpenApiTypes.INT, description="Default: the default pipeline."),
]


class FunnelView(APIView):
    permission_classes = [ReportPermission]

    @extend_schema(
        operation_id="reports_funnel",
        parameters=FUNNEL_PARAMS,
        responses={200: OpenApiTypes.OBJECT},
        description="Sales funnel over the leads and opportunities created in the period that you may see: "
        "lead → opportunity → won, stage-to-stage conversion with average days per stage, by source, and a "
        "warning when lead → opportunity conversion is below the threshold.",
    )
    def get(self, request: Request) -> Response:
        p = request.query_params
        today = timezone.localdate()
        date_to = _date(p.get("to"), "to") or today
        date_from = _date(p.get("from"), "from") or (date_to - dt.timedelta(days=365))
        if date_from > date_to:
            raise ValidationError({"from": [_("The start is after the end.")]})
        return Response(
            reports.funnel(
                request.user,
                date_from=date_from,
                date_to=date_to,
                unit=_int(p.get("unit"), "unit"),
                source=p.get("source") or None,
                pipeline=_pipeline(p.get("pipeline")),
                owner=_int(p.get("owner"), "owner"),
            )
        )


class ForecastView(APIView):
    permission_classes = [ReportPermission]

    @extend_schema(
        operation_id="reports_forecast",
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, enum=["month", "quarter"]),
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="Default: 5 months (period=month) or 3 quarters back."
            ),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Default: 6 months or 4 quarters ahead."),
            OpenApiParameter("unit", OpenApiTypes.INT, description="Owner unit and the units below it."),
            OpenApiParameter("owner", OpenApiTypes.INT),
            OpenApiParameter("pipeline", OpenApiTypes.INT),
            OpenApiParameter(
                "group", OpenApiTypes.STR, enum=["owner", "unit"], description="Default: owner."
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
        description="Forecast by close date per month or quarter and per owner (or unit): pipeline, weighted "
        "pipeline, commit, best case, closed-won, and each group's historical win rate (last 12 months).",
    )
    def get(self, request: Request) -> Response:
        p = request.query_params
        period = p.get("period", "month")
        if period not in ("month", "quarter"):
            raise ValidationError({"period": [_("Choose month or quarter.")]})
        return Response(
            reports.forecast(
                request.user,
                period=period,
                date_from=_date(p.get("from"), "from"),
                date_to=_date(p.get("to"), "to"),
                unit=_int(p.get("unit"), "unit"),
                owner=_int(p.get("owner"), "owner"),
                pipeline=_pipeline(p.get("pipeline")),
                group="unit" if p.get("group") == "unit" else "owner",
            )
        )


# --- stored sales reports ------------------------------------------------------------------------------


class SalesReportSerializer(serializers.ModelSerializer):
    user = UserRefField(read_only=True)
    unit_name = serializers.CharField(source="unit.name", read_only=True, allow_null=True, default=None)

    class Meta:
        model = SalesReport
        fields = [
            "id",
            "kind",
            "user",
            "unit",
            "unit_name",
            "period_start",
            "period_end",
            "data",
            "created_at",
        ]


def report_rows(report: SalesReport) -> list[tuple[str, Any]]:
    from .periodic import METRICS

    labels = metric_labels()
    metrics = report.data.get("metrics", {})
    return [(str(labels.get(m, m)), metrics.get(m)) for m in (*METRICS, "forecast_change")]


def metric_labels() -> dict[str, Any]:
    from django.utils.translation import gettext_lazy

    return {
        "new_leads": gettext_lazy("New leads"),
        "converted_leads": gettext_lazy("Converted leads"),
        "follow_ups": gettext_lazy("Follow-ups"),
        "new_opportunities": gettext_lazy("New opportunities"),
        "new_opportunity_amount": gettext_lazy("New opportunity amount"),
        "stage_moves": gettext_lazy("Stage moves"),
        "won": gettext_lazy("Won"),
        "won_amount": gettext_lazy("Won amount"),
        "lost": gettext_lazy("Lost"),
        "forecast_pipeline": gettext_lazy("Pipeline this quarter"),
        "forecast_weighted": gettext_lazy("Weighted forecast this quarter"),
        "forecast_change": gettext_lazy("Forecast change since the last report"),
    }


def export_report(report: SalesReport, kind: str) -> HttpResponse:
    rows = report_rows(report)
    who = report.user.username if report.user_id else (report.unit.code if report.unit_id else "")
    name = f"sales-report-{report.kind}-{who}-{report.period_start:%Y%m%d}"
    if kind == "xlsx":
        from openpyxl import Workbook

        wb = Workbook()
        ws = wb.active
        ws.title = "report"
        ws.append([_("Sales report"), str(report.user or report.unit)])
        ws.append([_("From"), report.period_start.isoformat()])
        ws.append([_("To"), report.period_end.isoformat()])
        ws.append([])
        for label, value in rows:
            ws.append([label, value])
        buf = io.BytesIO()
        wb.save(buf)
        resp = HttpResponse(
            buf.getvalue(), content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )
        resp["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return resp
    out = io.StringIO()
    out.write("\ufeff")  # Excel opens UTF-8 CSV with Chinese text correctly
    w = csv.writer(out)
    w.writerow([_("Metric"), _("Value")])
    for label, value in rows:
        w.writerow([label, "" if value is None else value])
    resp = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    resp["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return resp


class SalesReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Generated weekly/monthly sales reports you may see (own; managers: their units and reps)."""

    serializer_class = SalesReportSerializer
    permission_classes = [ReportPermission]
    ordering_fields = ("period_start", "id")
    default_ordering = ("-period_start", "-id")

    def get_queryset(self) -> Any:
        qs = visible_reports(self.request.user).select_related("user", "unit")
        p = self.request.query_params
        if p.get("kind") in ReportKind.values:
            qs = qs.filter(kind=p["kind"])
        if p.get("user", "").isdigit():
            qs = qs.filter(user_id=int(p["user"]))
        if p.get("unit", "").isdigit():
            qs = qs.filter(unit_id=int(p["unit"]))
        return qs

    @extend_schema(
        parameters=[
            OpenApiParameter("kind", OpenApiTypes.STR, enum=["weekly", "monthly"]),
            OpenApiParameter("user", OpenApiTypes.INT),
            OpenApiParameter("unit", OpenApiTypes.INT),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[
            OpenApiParameter("type", OpenApiTypes.STR, enum=["csv", "xlsx"], description="Default csv.")
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="Download the report as CSV or Excel (audited).",
    )
    @action(detail=True, methods=["get"])
    def export(self, request: Request, pk: Any = None) -> HttpResponse:
        report = self.get_object()
        kind = "xlsx" if request.query_params.get("type") == "xlsx" else "csv"
        audit_log(
            actor=request.user,
            action=AuditAction.EXPORT,
            object_type="report",
            object_id=report.pk,
            object_repr=str(report),
            data={"type": kind},
        )
        return export_report(report, kind)

    @extend_schema(
        request=inline_serializer(
            "SalesReportGenerate", {"kind": serializers.ChoiceField(choices=ReportKind.choices)}
        ),
        responses={202: inline_serializer("SalesReportJob", {"job": serializers.CharField()})},
        description="Administrators: generate the last period's reports now (background job).",
    )
    @action(detail=False, methods=["post"])
    def generate(self, request: Request) -> Response:
        if not has_perm(request.user, "report", "manage"):
            raise PermissionDeniedError()
        kind = request.data.get("kind", "weekly")
        if kind not in ReportKind.values:
            raise ValidationError({"kind": [_("Choose weekly or monthly.")]})
        from huoban.platform.jobs.services import job_enqueue

        job = job_enqueue(
            kind="sales.reports", actor=request.user, params={"kind": kind}, title=_("Sales reports")
        )
        return Response({"job": str(job.pk)}, status=status.HTTP_202_ACCEPTED)


# --- settings --------------------------------------------------------------------------------------------


class SalesSettingsSerializer(serializers.ModelSerializer):
    exchange_rates = serializers.DictField(child=serializers.CharField(), required=False)

    class Meta:
        model = SalesSettings
        fields = ["base_currency", "exchange_rates", "funnel_warning_threshold", "report_email", "updated_at"]
        read_only_fields = ["updated_at"]


class SalesSettingsView(APIView):
    admin_object_type = "opportunity"
    permission_classes = [IsAdministrator]

    @extend_schema(responses=SalesSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(SalesSettingsSerializer(SalesSettings.load()).data)

    @extend_schema(request=SalesSettingsSerializer, responses=SalesSettingsSerializer)
    def patch(self, request: Request) -> Response:
        s = SalesSettingsSerializer(SalesSettings.load(), data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        obj = services.sales_settings_update(actor=request.user, data=dict(s.validated_data))
        return Response(SalesSettingsSerializer(obj).data)


routes = [
    ("pipelines", PipelineViewSet, "pipeline"),
    ("opportunities", OpportunityViewSet, "opportunity"),
    ("sales-reports", SalesReportViewSet, "sales-report"),
]

urlpatterns = [
    path("reports/funnel/", FunnelView.as_view(), name="report-funnel"),
    path("reports/forecast/", ForecastView.as_view(), name="report-forecast"),
    path("sales-settings/", SalesSettingsView.as_view(), name="sales-settings"),
]
