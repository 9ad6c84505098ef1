"""REST API of leads: leads (+ convert, assign, events), web forms, scoring and assignment rules,
lead settings. Thin: parse, load through scoped(), call one service, render."""

from __future__ import annotations

from typing import Any

from django.db.models import Q
from django.shortcuts import get_object_or_404
from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.api.records import RecordSerializer, RecordViewSet, UserRefField
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.identity.api import IsAdministrator
from huoban.platform.identity.models import OrgUnit, User

from . import integration, services
from .models import (
    AssignmentRule,
    AssignmentStrategy,
    DedupPolicy,
    FollowUpResult,
    FollowUpType,
    Lead,
    LeadActivity,
    LeadAttachment,
    LeadSettings,
    ScoringOperator,
    ScoringRule,
    WebForm,
)
from .snippet import form_snippet

# --- leads -----------------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "rule": {"type": "integer"},
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": ["field", "event"]},
                "field": {"type": "string"},
                "event": {"type": "string"},
                "points": {"type": "integer"},
            },
        },
        "description": "Which scoring rule gave what.",
    }
)
class ScoreBreakdownField(serializers.JSONField):
    pass


class LeadSerializer(RecordSerializer):
    owner = UserRefField(
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        help_text="On create: give the lead to this user (assignment rules are skipped). "
        "Change it later with assign/ or transfer/.",
    )
    region = serializers.CharField(
        max_length=60,
        required=False,
        allow_blank=True,
        help_text="GB/T 2260 code, or a province/city name in Chinese or English (330000, 浙江, 浙江省, "
        "Zhejiang); stored as the code.",
    )
    score_breakdown = ScoreBreakdownField(read_only=True)
    matched_customer = serializers.IntegerField(
        source="matched_customer_id", required=False, allow_null=True, help_text="Existing customer id."
    )
    duplicate_of = serializers.IntegerField(source="duplicate_of_id", read_only=True, allow_null=True)
    web_form = serializers.IntegerField(source="web_form_id", read_only=True, allow_null=True)
    converted_customer = serializers.IntegerField(
        source="converted_customer_id", read_only=True, allow_null=True
    )
    converted_contact = serializers.IntegerField(
        source="converted_contact_id", read_only=True, allow_null=True
    )
    converted_opportunity = serializers.IntegerField(
        source="converted_opportunity_id", read_only=True, allow_null=True
    )
    sla_overdue = serializers.BooleanField(read_only=True)
    confirm_duplicate = serializers.BooleanField(
        write_only=True, required=False, default=False, help_text="Save although likely duplicates exist."
    )

    class Meta(RecordSerializer.Meta):
        model = Lead
        fields = [
            *RecordSerializer.Meta.fields,
            "number",
            "name",
            "company",
            "title",
            "phone",
            "email",
            "region",
            "company_size",
            "industry",
            "source",
            "campaign",
            "urgency",
            "budget",
            "currency",
            "requirement",
            "status",
            "unqualified_reason",
            "score",
            "score_breakdown",
            "matched_customer",
            "duplicate_of",
            "web_form",
            "converted_customer",
            "converted_contact",
            "converted_opportunity",
            "converted_at",
            "assigned_at",
            "first_contacted_at",
            "sla_due_at",
            "sla_overdue",
            "last_activity_at",
            "confirm_duplicate",
        ]
        read_only_fields = [
            *RecordSerializer.Meta.read_only_fields,
            "number",
            "score",
            "converted_at",
            "assigned_at",
            "first_contacted_at",
            "sla_due_at",
            "last_activity_at",
        ]


class LeadActivitySerializer(serializers.ModelSerializer):
    class Meta:
        model = LeadActivity
        fields = ["id", "event", "at", "actor_name", "data"]


class LeadFollowUpSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=FollowUpType.choices, default=FollowUpType.CALL)
    occurred_at = serializers.DateTimeField(required=False)
    content = serializers.CharField(required=False, allow_blank=True, max_length=20000)
    outcome = serializers.CharField(required=False, allow_blank=True, max_length=300)
    result = serializers.ChoiceField(
        choices=FollowUpResult.choices,
        default=FollowUpResult.FOLLOWING,
        help_text='"won" (成交) converts the lead; "invalid" disqualifies it.',
    )
    next_follow_up_at = serializers.DateTimeField(required=False, allow_null=True)


class LeadAttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = LeadAttachment
        fields = ["id", "name", "size", "content_type", "uploaded_at", "url"]

    def get_url(self, obj: LeadAttachment) -> str:
        return f"/api/v1/leads/{obj.lead_id}/attachments/{obj.pk}/"


class AttachmentUploadSerializer(serializers.Serializer):
    file = serializers.FileField()
    name = serializers.CharField(required=False, allow_blank=True, max_length=200)


class LeadEventSerializer(serializers.Serializer):
    event = serializers.CharField(max_length=60, help_text="e.g. email_opened, call, visit, follow_up")
    at = serializers.DateTimeField(required=False)
    data = serializers.JSONField(required=False)


class ConvertOpportunitySerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, required=False, allow_null=True)
    currency = serializers.CharField(max_length=3, required=False)
    pipeline = serializers.IntegerField(
        required=False, allow_null=True, help_text="Default: the default pipeline."
    )
    stage = serializers.IntegerField(required=False, allow_null=True, help_text="Default: its first stage.")
    close_date = serializers.DateField(required=False, allow_null=True)


class ConvertSerializer(serializers.Serializer):
    customer = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text="Link this existing customer; null: the matcher links a likely match or a new customer is created.",
    )
    create_opportunity = serializers.BooleanField(default=False)
    opportunity = ConvertOpportunitySerializer(required=False)
    link_existing = serializers.BooleanField(
        default=True, help_text="When no customer is given, link a customer the matcher is sure about."
    )
    version = serializers.IntegerField(required=False)


ConvertResult = inline_serializer(
    "LeadConvertResult",
    {
        "customer": serializers.IntegerField(),
        "contact": serializers.IntegerField(allow_null=True),
        "opportunity": serializers.IntegerField(allow_null=True),
        "customer_created": serializers.BooleanField(),
        "lead": serializers.IntegerField(),
    },
)


class AssignSerializer(serializers.Serializer):
    user = serializers.IntegerField(
        required=False, allow_null=True, help_text="Assign to this user; omit to re-run the assignment rules."
    )


class BulkAssignSerializer(AssignSerializer):
    ids = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=10000)


AssignResult = inline_serializer(
    "LeadAssignResult",
    {
        "results": serializers.ListField(child=serializers.DictField()),
        "job": serializers.CharField(required=False, allow_null=True),
    },
)


def _bool(value: Any) -> bool:
    return str(value).lower() in ("1", "true", "yes", "on")


class LeadViewSet(RecordViewSet):
    record_model = Lead
    serializer_class = LeadSerializer
    search_fields = Lead.search_fields
    ordering_fields = ("id", "created_at", "updated_at", "score", "name", "company", "status", "number")
    select_related = ("owner", "created_by", "updated_by")
    filterset_fields = {
        "status": ["exact", "in"],
        "source": ["exact", "in"],
        "urgency": ["exact"],
        "company_size": ["exact"],
        "industry": ["exact"],
        "region": ["exact"],
        "owner": ["exact"],
        "owner_unit": ["exact"],
        "campaign": ["exact"],
        "web_form": ["exact"],
        "score": ["gte", "lte"],
        "created_at": ["gte", "lte"],
    }
    extra_action_permission = {
        "convert": "change",
        "assign": "assign",
        "bulk_assign": "assign",
        "events": "change",
        "activities": "view",
        "duplicates": "view",
        "follow_ups": "view",
        "attachments": "view",
        "attachment_download": "view",
        "attachment_destroy": "change",
    }

    def required_action(self) -> str | None:
        if self.action in ("follow_ups", "attachments") and self.request.method == "POST":
            return "change"
        return super().required_action()

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "queue", OpenApiTypes.BOOL, description="Only unassigned leads (the fallback queue)."
            ),
            OpenApiParameter(
                "sla_overdue", OpenApiTypes.BOOL, description="Only leads with an overdue first contact."
            ),
        ]
    )
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().list(request, *args, **kwargs)

    def filter_base_queryset(self, qs: Any) -> Any:
        params = self.request.query_params
        if "queue" in params:
            qs = qs.filter(owner__isnull=_bool(params["queue"]))
        if "sla_overdue" in params:
            cond = Q(sla_overdue_at__isnull=False, first_contacted_at__isnull=True)
            qs = qs.filter(cond) if _bool(params["sla_overdue"]) else qs.exclude(cond)
        return qs

    def _customer_ref(self, data: dict[str, Any]) -> None:
        if "matched_customer_id" not in data:
            return
        cid = data.pop("matched_customer_id")
        if cid is None:
            data["matched_customer"] = None
            return
        customer = scoped(self.request.user, integration.customer_model()).filter(pk=cid).first()
        if customer is None:
            raise ValidationError({"matched_customer": [_("Unknown customer.")]})
        data["matched_customer"] = customer

    def perform_service_create(self, data: dict[str, Any], custom_fields: Any, tags: Any) -> Lead:
        confirm = data.pop("confirm_duplicate", False)
        self._customer_ref(data)
        if data.get("owner") is None:
            data.pop("owner", None)
        return services.lead_create(
            actor=self.request.user,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            confirm_duplicate=confirm,
            channel="api" if self.request.auth is not None else "ui",
        )

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        data.pop("version", None)
        custom_fields = data.pop("custom_fields", None)
        tags = data.pop("tags", None)
        created = self.perform_service_create(data, custom_fields, tags)
        outcome = getattr(created, "dedup_outcome", "created")
        obj = self._reload(created)
        body = dict(self.get_serializer(obj).data)
        body["dedup"] = {"outcome": outcome, "candidates": getattr(created, "dedup_candidates", [])}
        response = Response(
            body, status=status.HTTP_200_OK if outcome == "attached" else status.HTTP_201_CREATED
        )
        response["ETag"] = f'"{obj.version}"'
        return response

    def perform_service_update(
        self, obj: Lead, data: dict[str, Any], custom_fields: Any, tags: Any, version: Any
    ) -> Lead:
        data.pop("confirm_duplicate", None)
        if "owner" in data:
            owner = data.pop("owner")
            if getattr(owner, "pk", None) != obj.owner_id:
                raise ValidationError({"owner": [_("Change the owner with the assign or transfer action.")]})
        self._customer_ref(data)
        return services.lead_update(
            actor=self.request.user,
            lead=obj,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
        )

    @extend_schema(
        request=ConvertSerializer,
        responses={200: ConvertResult},
        description="Convert the lead into a customer (or link an existing one), a contact and optionally "
        "an opportunity. Fields, follow-ups and attachments carry over; the lead keeps the links.",
    )
    @action(detail=True, methods=["post"])
    def convert(self, request: Request, pk: Any = None) -> Response:
        lead = self.get_object()
        s = ConvertSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        v = s.validated_data
        user = request.user
        customer = None
        Customer = integration.customer_model()
        if v.get("customer"):
            customer = scoped(user, Customer).filter(pk=v["customer"]).first()
            if customer is None:
                raise ValidationError({"customer": [_("Unknown customer.")]})
        elif not has_perm(user, "customer", "add"):
            raise PermissionDeniedError(_("You may not create customers."))
        if v.get("create_opportunity") and not has_perm(user, "opportunity", "add"):
            raise PermissionDeniedError(_("You may not create opportunities."))
        result = services.lead_convert(
            actor=user,
            lead=lead,
            customer=customer,
            create_opportunity=v.get("create_opportunity", False),
            opportunity=dict(v.get("opportunity") or {}),
            link_existing=v.get("link_existing", True),
            version=v.get("version") or self._expected_version(request),
        )
        return Response(
            {
                "customer": result["customer"].pk,
                "contact": getattr(result["contact"], "pk", None),
                "opportunity": getattr(result["opportunity"], "pk", None),
                "customer_created": result["customer_created"],
                "lead": lead.pk,
            }
        )

    def _assign_user(self, uid: Any) -> Any:
        if uid in (None, ""):
            return None
        user = User.objects.filter(pk=uid, is_active=True, is_system=False).first()
        if user is None:
            raise ValidationError({"user": [_("Choose an active user.")]})
        return user

    @extend_schema(
        request=AssignSerializer,
        responses={200: AssignResult},
        description="Assign this lead to a user, or (no user) re-run the assignment rules. Audited, notified.",
    )
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk: Any = None) -> Response:
        lead = self.get_object()
        s = AssignSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        results = services.lead_assign(
            actor=request.user, leads=[lead], user=self._assign_user(s.validated_data.get("user"))
        )
        return Response({"results": results, "job": None})

    @extend_schema(
        request=BulkAssignSerializer,
        responses={200: AssignResult},
        description='Re-run the assignment rules (or assign to "user") on the selected leads. More than '
        '200 leads run as a background job ("job" is its id).',
    )
    @action(detail=False, methods=["post"], url_path="assign")
    def bulk_assign(self, request: Request) -> Response:
        s = BulkAssignSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        leads = self._load_many(s.validated_data["ids"], "assign")
        user = self._assign_user(s.validated_data.get("user"))
        if len(leads) > 200 and user is None:
            from huoban.platform.jobs.services import job_enqueue

            job = job_enqueue(
                kind="leads.assign",
                actor=request.user,
                params={"ids": [lead.pk for lead in leads]},
                title=_("Assign %(n)s leads") % {"n": len(leads)},
            )
            return Response({"results": [], "job": str(job.pk)})
        return Response(
            {"results": services.lead_assign(actor=request.user, leads=leads, user=user), "job": None}
        )

    @extend_schema(
        request=LeadEventSerializer,
        responses={201: LeadActivitySerializer},
        description="Record an activity event on the lead (scoring input; contact events such as call, "
        "visit, follow_up, email_sent mark the first contact).",
    )
    @action(detail=True, methods=["post"])
    def events(self, request: Request, pk: Any = None) -> Response:
        lead = self.get_object()
        s = LeadEventSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        act = services.lead_record_activity(
            actor=request.user,
            lead=lead,
            event=s.validated_data["event"],
            at=s.validated_data.get("at"),
            data=s.validated_data.get("data") or {},
        )
        return Response(LeadActivitySerializer(act).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses=LeadActivitySerializer(many=True),
        description="Follow-ups logged on the lead, newest first.",
    )
    @extend_schema(
        methods=["POST"],
        request=LeadFollowUpSerializer,
        responses={201: LeadActivitySerializer},
        description='Log a follow-up (call, visit, …). Result "won"/成交 converts the lead to a customer and '
        'contact; "invalid" disqualifies it. On conversion the follow-ups move to the customer.',
    )
    @action(detail=True, methods=["get", "post"], url_path="follow-ups")
    def follow_ups(self, request: Request, pk: Any = None) -> Response:
        lead = self.get_object()
        if request.method == "GET":
            rows = LeadActivity.objects.filter(lead=lead, event="follow_up").order_by("-at", "-id")
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(LeadActivitySerializer(page, many=True).data)
        s = LeadFollowUpSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        act = services.lead_add_follow_up(actor=request.user, lead=lead, data=dict(s.validated_data))
        return Response(LeadActivitySerializer(act).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        methods=["GET"],
        responses=LeadAttachmentSerializer(many=True),
        description="Files of the lead, oldest first; paginated like every list.",
    )
    @extend_schema(
        methods=["POST"],
        request={"multipart/form-data": AttachmentUploadSerializer},
        responses={201: LeadAttachmentSerializer},
        description="Upload a file (at most 20 MB); it is copied to the customer on conversion.",
    )
    @action(detail=True, methods=["get", "post"], parser_classes=[MultiPartParser, FormParser])
    def attachments(self, request: Request, pk: Any = None) -> Response:
        lead = self.get_object()
        if request.method == "GET":
            rows = LeadAttachment.objects.filter(lead=lead).order_by("id")
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(LeadAttachmentSerializer(page, many=True).data)
        s = AttachmentUploadSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        att = services.lead_add_attachment(
            actor=request.user,
            lead=lead,
            file=s.validated_data["file"],
            name=s.validated_data.get("name", ""),
        )
        return Response(LeadAttachmentSerializer(att).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY}, description="Download a file."
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>[0-9]+)")
    def attachment_download(self, request: Request, pk: Any = None, attachment_id: Any = None) -> Any:
        from huoban.platform.ui.attachments import file_response

        lead = self.get_object()
        att = get_object_or_404(LeadAttachment.objects, lead=lead, pk=attachment_id)
        return file_response(att)

    @extend_schema(
        request=None,
        responses={204: None},
        description="Delete a file of the lead (needs change on the lead; audited on it). The stored "
        "bytes go unless a customer's file linked on conversion still points at them.",
    )
    @attachment_download.mapping.delete
    def attachment_destroy(self, request: Request, pk: Any = None, attachment_id: Any = None) -> Response:
        lead = self.get_object()
        att = get_object_or_404(LeadAttachment.objects, lead=lead, pk=attachment_id)
        services.lead_attachment_delete(actor=request.user, attachment=att)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses=LeadActivitySerializer(many=True), description="Activity events of the lead, newest first."
    )
    @action(detail=True, methods=["get"])
    def activities(self, request: Request, pk: Any = None) -> Response:
        lead = self.get_object()
        page = self.paginate_queryset(LeadActivity.objects.filter(lead=lead).order_by("-at", "-id"))
        return self.get_paginated_response(LeadActivitySerializer(page, many=True).data)

    @extend_schema(
        responses=inline_serializer(
            "LeadDuplicates", {"duplicates": serializers.ListField(child=serializers.DictField())}
        ),
        description="Leads, contacts and customers that look like this lead (same phone/email, similar company).",
    )
    @action(detail=True, methods=["get"])
    def duplicates(self, request: Request, pk: Any = None) -> Response:
        from .dedup import find_duplicates

        lead = self.get_object()
        found = find_duplicates(
            {
                "phone": lead.phone,
                "email": lead.email,
                "company": lead.company,
                "company_key": lead.company_key,
            },
            exclude=lead.pk,
            threshold=LeadSettings.load().name_similarity,
        )
        return Response({"duplicates": [c.as_dict() for c in found]})


# --- web forms ---------------------------------------------------------------------------------------


class WebFormSerializer(RecordSerializer):
    fields = serializers.ListField(
        child=serializers.ChoiceField(choices=services.FORM_FIELDS),
        required=False,
        help_text="Lead fields shown.",
    )
    required_fields = serializers.ListField(
        child=serializers.ChoiceField(choices=services.FORM_FIELDS), required=False
    )
    public_url = serializers.SerializerMethodField()
    snippet = serializers.SerializerMethodField(help_text="HTML to paste into the company website.")

    class Meta(RecordSerializer.Meta):
        model = WebForm
        fields = [
            *RecordSerializer.Meta.fields,
            "name",
            "key",
            "title",
            "fields",
            "required_fields",
            "source",
            "campaign",
            "thank_you_text",
            "redirect_url",
            "active",
            "submission_count",
            "last_submission_at",
            "public_url",
            "snippet",
        ]
        read_only_fields = [
            *RecordSerializer.Meta.read_only_fields,
            "key",
            "submission_count",
            "last_submission_at",
        ]

    def _url(self, obj: WebForm) -> str:
        request = self.context.get("request")
        rel = f"/forms/{obj.key}/"
        return request.build_absolute_uri(rel) if request is not None else rel

    def get_public_url(self, obj: WebForm) -> str:
        return self._url(obj)

    def get_snippet(self, obj: WebForm) -> str:
        return form_snippet(obj, self._url(obj))


class WebFormViewSet(RecordViewSet):
    record_model = WebForm
    serializer_class = WebFormSerializer
    search_fields = WebForm.search_fields
    ordering_fields = ("id", "created_at", "updated_at", "name", "submission_count")
    filterset_fields = {"active": ["exact"], "source": ["exact"]}

    def perform_service_create(self, data: dict[str, Any], custom_fields: Any, tags: Any) -> WebForm:
        return services.web_form_create(
            actor=self.request.user, data=data, custom_fields=custom_fields, tags=tags
        )

    def perform_service_update(
        self, obj: WebForm, data: dict[str, Any], custom_fields: Any, tags: Any, version: Any
    ) -> WebForm:
        return services.web_form_update(
            actor=self.request.user,
            form=obj,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
        )


# --- scoring and assignment rules, settings (administrators write; lead viewers read) ----------------


class ScoringRuleSerializer(serializers.ModelSerializer):
    value = serializers.JSONField(
        required=False, allow_null=True, help_text="List for `in`; days for `inactive_days`."
    )
    operator = serializers.ChoiceField(choices=ScoringOperator.choices, default=ScoringOperator.EQ)

    class Meta:
        model = ScoringRule
        fields = [
            "id",
            "name",
            "field",
            "operator",
            "value",
            "event",
            "points",
            "active",
            "position",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class ConfigViewSet(viewsets.ModelViewSet):
    """Settings objects of the leads app: read with lead view, write with lead manage."""

    admin_object_type = "lead"
    permission_classes = [IsAdministrator]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    pagination_class = None
    ordering_fields: tuple[str, ...] = ("id",)


class ScoringRuleViewSet(ConfigViewSet):
    serializer_class = ScoringRuleSerializer
    queryset = ScoringRule.objects.all().order_by("position", "id")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.scoring_rule_save(
            actor=self.request.user, rule=None, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.scoring_rule_save(
            actor=self.request.user, rule=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: ScoringRule) -> None:
        services.scoring_rule_delete(actor=self.request.user, rule=instance)


@extend_schema_field(
    {
        "type": "object",
        "properties": {
            "region": {"type": "array", "items": {"type": "string"}, "description": "codes or names"},
            "company_size": {"type": "array", "items": {"type": "string"}},
            "urgency": {"type": "array", "items": {"type": "string", "enum": ["low", "medium", "high"]}},
            "source": {"type": "array", "items": {"type": "string"}},
            "industry": {"type": "array", "items": {"type": "string"}},
            "min_score": {"type": "integer", "nullable": True},
        },
        "description": "An empty condition matches anything.",
    }
)
class ConditionsField(serializers.JSONField):
    pass


class AssignmentRuleSerializer(serializers.ModelSerializer):
    conditions = ConditionsField(required=False)
    assign_to_user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    assign_to_unit = serializers.PrimaryKeyRelatedField(
        queryset=OrgUnit.objects.all(), required=False, allow_null=True
    )
    strategy = serializers.ChoiceField(
        choices=AssignmentStrategy.choices, default=AssignmentStrategy.ROUND_ROBIN
    )

    class Meta:
        model = AssignmentRule
        fields = [
            "id",
            "name",
            "priority",
            "conditions",
            "assign_to_user",
            "assign_to_unit",
            "strategy",
            "active",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]


class AssignmentRuleViewSet(ConfigViewSet):
    serializer_class = AssignmentRuleSerializer
    queryset = AssignmentRule.objects.all().order_by("priority", "id")

    def perform_create(self, serializer: Any) -> None:
        serializer.instance = services.assignment_rule_save(
            actor=self.request.user, rule=None, data=dict(serializer.validated_data)
        )

    def perform_update(self, serializer: Any) -> None:
        serializer.instance = services.assignment_rule_save(
            actor=self.request.user, rule=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance: AssignmentRule) -> None:
        services.assignment_rule_delete(actor=self.request.user, rule=instance)


class LeadSettingsSerializer(serializers.ModelSerializer):
    dedup_policy = serializers.ChoiceField(choices=DedupPolicy.choices, required=False)
    work_days = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=7), required=False
    )
    holidays = serializers.ListField(child=serializers.DateField(), required=False)
    fallback_user = serializers.PrimaryKeyRelatedField(
        queryset=User.objects.filter(is_active=True), required=False, allow_null=True
    )
    fallback_unit = serializers.PrimaryKeyRelatedField(
        queryset=OrgUnit.objects.all(), required=False, allow_null=True
    )

    class Meta:
        model = LeadSettings
        fields = [
            "dedup_policy",
            "name_similarity",
            "sla_hours",
            "work_start",
            "work_end",
            "work_days",
            "holidays",
            "fallback_user",
            "fallback_unit",
            "updated_at",
        ]
        read_only_fields = ["updated_at"]


class LeadSettingsView(APIView):
    """Company-wide lead settings: duplicate policy, first-contact SLA, working hours, fallback queue."""

    admin_object_type = "lead"
    permission_classes = [IsAdministrator]

    @extend_schema(responses=LeadSettingsSerializer)
    def get(self, request: Request) -> Response:
        return Response(LeadSettingsSerializer(LeadSettings.load()).data)

    @extend_schema(request=LeadSettingsSerializer, responses=LeadSettingsSerializer)
    def patch(self, request: Request) -> Response:
        s = LeadSettingsSerializer(LeadSettings.load(), data=request.data, partial=True)
        s.is_valid(raise_exception=True)
        data = dict(s.validated_data)
        if "holidays" in data:
            data["holidays"] = [d.isoformat() for d in data["holidays"]]
        obj = services.lead_settings_update(actor=request.user, data=data)
        return Response(LeadSettingsSerializer(obj).data)


routes = [
    ("leads", LeadViewSet, "lead"),
    ("web-forms", WebFormViewSet, "web-form"),
    ("lead-scoring-rules", ScoringRuleViewSet, "lead-scoring-rule"),
    ("assignment-rules", AssignmentRuleViewSet, "assignment-rule"),
]

urlpatterns = [path("lead-settings/", LeadSettingsView.as_view(), name="lead-settings")]
