"""REST API: customers, contacts, follow-ups, duplicates, merges and public pools.

Writes pass the request body to the services untouched (one validation path with the UI and
imports, see ``validation.py``); the serializers here describe and render the records.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.api.records import (
    BulkTransferSerializer,
    RecordSerializer,
    RecordViewSet,
    TransferSerializer,
    _active_user,
)
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.records.services import add_tags
from huoban.platform.ui.attachments import file_response

from . import selectors
from .duplicates import customer_duplicate_candidates, duplicate_group_dismiss
from .merging import UNDO_DAYS, contact_merge, customer_merge, merge_undo_by_id
from .models import (
    Attachment,
    Contact,
    Customer,
    CustomerAddress,
    CustomerPool,
    DuplicateGroup,
    FollowUp,
)
from .overview import overview, timeline
from .pools import customer_release, pool_claim, visible_pools, with_customer_counts
from .services import (
    attachment_add,
    attachment_delete,
    contact_create,
    contact_update,
    customer_attachment_add,
    customer_attachment_delete,
    customer_create,
    customer_delete,
    customer_transfer,
    customer_update,
    follow_up_create,
    follow_up_delete,
    follow_up_update,
)
from .validation import CONTACT_FIELDS, CUSTOMER_FIELDS, clean_customer_data

# --- shared plumbing -------------------------------------------------------------------------


def _body(request: Request) -> dict[str, Any]:
    data = request.data
    if hasattr(data, "dict") and hasattr(data, "getlist"):  # QueryDict (form posts)
        out: dict[str, Any] = {}
        for k in data:
            values = data.getlist(k)
            out[k] = (
                values
                if len(values) > 1 or k in ("phones", "emails", "tags", "customers", "absorb")
                else values[0]
            )
        return out
    if not isinstance(data, dict):
        raise ValidationError({"non_field_errors": [_("Expected a JSON object.")]})
    return dict(data)


def _ids(value: Any, field: str, message: str) -> list[int]:
    """Record ids from a request body (a list of integers), or a field error."""
    if not isinstance(value, list):
        raise ValidationError({field: [message]})
    try:
        return [int(x) for x in value]
    except (TypeError, ValueError):
        raise ValidationError({field: [message]})


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() in ("1", "true", "yes", "on")


class RawWriteMixin:
    """create/update hand the request body to the service; read-only keys are ignored and
    unknown keys refused, so clients may PUT back what they read."""

    writable: tuple[str, ...] = ()
    read_only: tuple[str, ...] = (
        "id",
        "owner",
        "owner_unit",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
        "version",
        "confirm_duplicate",
    )

    def _split(self, request: Request, *, partial: bool) -> tuple[dict[str, Any], Any, Any]:
        body = _body(request)
        unknown = [
            k
            for k in body
            if k not in self.writable and k not in self.read_only and k not in ("custom_fields", "tags")
        ]
        if unknown:
            raise ValidationError({k: [_("Unknown field.")] for k in unknown})
        custom_fields = body.get("custom_fields")
        if custom_fields is not None and not isinstance(custom_fields, dict):
            raise ValidationError({"custom_fields": [_("Expected an object of key/value pairs.")]})
        tags = body.get("tags")
        if tags is not None:
            if isinstance(tags, str):
                tags = [t for t in tags.split(",") if t.strip()]
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ValidationError({"tags": [_("Expected a list of tag names.")]})
        data = {k: v for k, v in body.items() if k in self.writable}
        return data, custom_fields, tags

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        data, custom_fields, tags = self._split(request, partial=False)
        obj = self._reload(self.perform_service_create(data, custom_fields, tags))  # type: ignore[attr-defined]
        response = Response(self.get_serializer(obj).data, status=status.HTTP_201_CREATED)  # type: ignore[attr-defined]
        response["ETag"] = f'"{obj.version}"'
        return response

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        obj = self.get_object()  # type: ignore[attr-defined]
        version = self._expected_version(request)  # type: ignore[attr-defined]
        data, custom_fields, tags = self._split(request, partial=True)
        obj = self._reload(self.perform_service_update(obj, data, custom_fields, tags, version))  # type: ignore[attr-defined]
        response = Response(self.get_serializer(obj).data)  # type: ignore[attr-defined]
        response["ETag"] = f'"{obj.version}"'
        return response


def _tombstone_redirect(request: Request, model: type, pk: Any, resource: str) -> Response | None:
    target = selectors.resolve_tombstone(request.user, model, pk)
    if target is None:
        return None
    response = Response(
        {
            "detail": _("This record was merged into another one."),
            "code": "merged",
            "merged_into": target,
        },
        status=status.HTTP_301_MOVED_PERMANENTLY,
    )
    response["Location"] = f"/api/v1/{resource}/{target}/"
    return response


MERGE_REQUEST = inline_serializer(
    "MergeRequest",
    {
        "absorb": serializers.ListField(
            child=serializers.IntegerField(), help_text="Ids merged into this one."
        ),
        "choices": serializers.DictField(
            child=serializers.IntegerField(),
            required=False,
            help_text='Per field, the id of the record whose value wins, e.g. {"phone": 42}.',
        ),
    },
)
MERGE_RESPONSE = inline_serializer(
    "MergeResult",
    {
        "merge": serializers.IntegerField(),
        "survivor": serializers.IntegerField(),
        "absorbed": serializers.ListField(child=serializers.IntegerField()),
        "undo_until": serializers.DateTimeField(),
    },
)
DUPLICATES_409 = OpenApiResponse(
    response=inline_serializer(
        "Duplicates",
        {
            "detail": serializers.CharField(),
            "code": serializers.CharField(),
            "duplicates": serializers.ListField(child=serializers.DictField()),
        },
    ),
    description='Likely duplicates: {"duplicates": [{"id", "name", "score", "reasons"}]}. '
    'Resend with "confirm_duplicate": true to save anyway.',
)


class DuplicateGroupSerializer(serializers.ModelSerializer):
    members = serializers.SerializerMethodField()

    class Meta:
        model = DuplicateGroup
        fields = ["id", "object_type", "score", "reasons", "status", "members", "created_at", "updated_at"]

    def get_members(self, obj: DuplicateGroup) -> list[dict[str, Any]]:
        names = self.context.get("names", {})
        return [{"id": i, "name": names.get(i, "")} for i in obj.member_ids]


class MergeActionsMixin:
    """Duplicate review and merging, the same for customers and contacts:
    ``GET duplicates/``, ``POST duplicates/{group_id}/dismiss/``, ``POST {id}/merge/``,
    ``POST {id}/merge/{merge_id}/undo/`` and ``GET {id}/merges/``."""

    merge_object_type = ""
    merge_service: Any = None

    @extend_schema(
        responses={200: DuplicateGroupSerializer(many=True)},
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=["open", "dismissed", "merged", "all"])
        ],
        description="Duplicate groups found by the scan (the caller may merge every member).",
    )
    @action(detail=False, methods=["get"], url_path="duplicates")
    def duplicates(self, request: Request) -> Response:
        status_filter = request.query_params.get("status", DuplicateGroup.Status.OPEN)
        if status_filter not in DuplicateGroup.Status.values and status_filter != "all":
            raise ValidationError({"status": [_("Choose open, dismissed, merged or all.")]})
        qs = selectors.duplicate_groups(
            request.user, self.merge_object_type, "" if status_filter == "all" else status_filter
        )
        page = self.paginate_queryset(qs)  # type: ignore[attr-defined]
        ids = {i for g in page for i in g.member_ids}
        model = self.record_model  # type: ignore[attr-defined]
        names = dict(model._base_manager.filter(pk__in=ids).values_list("pk", "name"))
        data = DuplicateGroupSerializer(page, many=True, context={"names": names}).data
        return self.get_paginated_response(data)  # type: ignore[attr-defined]

    @extend_schema(
        request=None,
        responses={200: DuplicateGroupSerializer},
        description="Mark a group as different records: it closes and its pairs are never reported again.",
    )
    @action(detail=False, methods=["post"], url_path=r"duplicates/(?P<group_id>\d+)/dismiss")
    def duplicate_dismiss(self, request: Request, group_id: Any = None) -> Response:
        group = (
            selectors.duplicate_groups(request.user, self.merge_object_type, "").filter(pk=group_id).first()
        )
        if group is None:
            raise Http404
        group = duplicate_group_dismiss(actor=request.user, group=group)
        return Response(DuplicateGroupSerializer(group).data)

    @extend_schema(request=MERGE_REQUEST, responses={200: MERGE_RESPONSE})
    @action(detail=True, methods=["post"])
    def merge(self, request: Request, pk: Any = None) -> Response:
        """Merge records into this one: every related record is re-pointed, the others become
        tombstones that redirect here. Undo within 30 days."""
        survivor = self.get_object()  # type: ignore[attr-defined]
        body = _body(request)
        ids = _ids(body.get("absorb") or [], "absorb", _("Expected a list of record ids."))
        model = self.record_model  # type: ignore[attr-defined]
        visible = set(scoped(request.user, model, "merge").filter(pk__in=ids).values_list("pk", flat=True))
        missing = [i for i in ids if i not in visible]
        if missing:
            raise ValidationError(
                {"absorb": [_("Not found: %(ids)s") % {"ids": ", ".join(map(str, missing))}]}
            )
        choices = body.get("choices") or {}
        if not isinstance(choices, dict):
            raise ValidationError({"choices": [_("Expected an object: field → record id.")]})
        merge = self.merge_service(actor=request.user, survivor=survivor, absorb=ids, choices=choices)
        return Response(
            {
                "merge": merge.pk,
                "survivor": merge.survivor_id,
                "absorbed": merge.absorbed_ids,
                "undo_until": (merge.created_at + dt.timedelta(days=UNDO_DAYS)).isoformat(),
            }
        )

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"], url_path=r"merge/(?P<merge_id>\d+)/undo")
    def merge_undo(self, request: Request, pk: Any = None, merge_id: Any = None) -> Response:
        survivor = self.get_object()  # type: ignore[attr-defined]
        result = merge_undo_by_id(
            actor=request.user,
            object_type=self.merge_object_type,
            survivor_id=survivor.pk,
            merge_id=int(merge_id),
        )
        return Response(result)

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, description="Merges into this record (for undo).")
    @action(detail=True, methods=["get"])
    def merges(self, request: Request, pk: Any = None) -> Response:
        survivor = self.get_object()  # type: ignore[attr-defined]
        rows = selectors.merges_of(self.merge_object_type, survivor.pk)[:50]
        return Response(
            [
                {
                    "id": m.pk,
                    "absorbed": m.absorbed_ids,
                    "choices": m.choices,
                    "created_at": m.created_at.isoformat(),
                    "actor": m.actor_name,
                    "undone_at": m.undone_at.isoformat() if m.undone_at else None,
                }
                for m in rows
            ]
        )


MERGE_PERMISSIONS = {
    "merge": "merge",
    "merge_undo": "merge",
    "merges": "merge",
    "duplicates": "merge",
    "duplicate_dismiss": "merge",
}


# --- customers -------------------------------------------------------------------------------


class AddressSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerAddress
        fields = ["id", "kind", "region", "line", "postal_code", "is_primary"]


class CustomerSerializer(RecordSerializer):
    addresses = AddressSerializer(many=True, required=False)
    phones = serializers.ListField(child=serializers.CharField(), required=False)
    emails = serializers.ListField(child=serializers.CharField(), required=False)
    pool = serializers.PrimaryKeyRelatedField(read_only=True)
    confirm_duplicate = serializers.BooleanField(
        write_only=True, required=False, help_text="Save even though likely duplicates were found."
    )

    class Meta(RecordSerializer.Meta):
        model = Customer
        fields = [
            *RecordSerializer.Meta.fields,
            "number",
            *CUSTOMER_FIELDS,
            "pool",
            "pooled_at",
            "confirm_duplicate",
        ]
        read_only_fields = [*RecordSerializer.Meta.read_only_fields, "number", "pooled_at"]


CUSTOMER_WRITABLE = CUSTOMER_FIELDS


class CustomerAttachmentSerializer(serializers.ModelSerializer):
    follow_up = serializers.IntegerField(
        source="follow_up_id",
        read_only=True,
        allow_null=True,
        help_text="The follow-up the file belongs to (delete it there); null: the customer's own file.",
    )
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "content_type", "uploaded_at", "follow_up", "url"]

    def get_url(self, obj: Attachment) -> str:
        return f"/api/v1/customers/{obj.customer_id}/attachments/{obj.pk}/"


class RegionFilterMixin:
    def filter_region(self, qs: Any) -> Any:
        region = self.request.query_params.get("region")  # type: ignore[attr-defined]
        if not region:
            return qs
        if region.endswith("0000"):
            return qs.filter(region__startswith=region[:2])
        return qs.filter(region=region)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "region", OpenApiTypes.STR, description="GB/T 2260 code; a province includes its cities."
        ),
        OpenApiParameter("pool", OpenApiTypes.INT, description="Customers in this public pool."),
        OpenApiParameter("in_pool", OpenApiTypes.BOOL),
    ]
)
class CustomerViewSet(MergeActionsMixin, RawWriteMixin, RegionFilterMixin, RecordViewSet):
    """Customers (companies and individuals). Writes are validated and checked for duplicates
    (409 with candidates unless ``"confirm_duplicate": true``)."""

    record_model = Customer
    serializer_class = CustomerSerializer
    search_fields = ("name", "short_name", "number", "phone", "email", "uscc")
    ordering_fields = (
        "id",
        "created_at",
        "updated_at",
        "name",
        "number",
        "last_contacted_at",
        "next_follow_up_at",
        "rating",
    )
    filterset_fields = {
        "kind": ["exact"],
        "lifecycle_stage": ["exact", "in"],
        "industry": ["exact", "in"],
        "size": ["exact"],
        "revenue_band": ["exact"],
        "source": ["exact", "in"],
        "tier": ["exact"],
        "rating": ["exact", "gte", "lte"],
        "owner": ["exact", "isnull"],
        "owner_unit": ["exact"],
        "uscc": ["exact"],
        "last_contacted_at": ["gte", "lte", "isnull"],
        "next_follow_up_at": ["gte", "lte", "isnull"],
        "created_at": ["gte", "lte"],
    }
    select_related = ("owner", "created_by", "updated_by")
    prefetch_related = ("addresses", "tagged_items__tag")
    writable = CUSTOMER_WRITABLE
    merge_object_type = "customer"
    merge_service = staticmethod(customer_merge)
    extra_action_permission = {
        **MERGE_PERMISSIONS,
        "duplicate_scan": "merge",
        "duplicate_check": "view",
        "release": "change",
        "bulk_release": "change",
        "bulk_tags": "change",
        "overview": "view",
        "timeline": "view",
        "attachments": "view",
        "attachment": "view",
        "attachment_destroy": "change",
    }

    def required_action(self) -> str | None:
        if self.action == "attachments" and self.request.method == "POST":
            return "change"
        return super().required_action()

    def filter_base_queryset(self, qs: Any) -> Any:
        qs = self.filter_region(qs)
        pool = self.request.query_params.get("pool")
        if pool and pool.isdigit():
            qs = qs.filter(pool_id=int(pool))
        in_pool = self.request.query_params.get("in_pool")
        if in_pool is not None:
            qs = qs.filter(pool__isnull=not _flag(in_pool))
        return qs

    def perform_service_create(self, data: dict[str, Any], custom_fields: Any, tags: Any) -> Customer:
        return customer_create(
            actor=self.request.user,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            confirm_duplicate=_flag(_body(self.request).get("confirm_duplicate")),
        )

    def perform_service_update(
        self, obj: Customer, data: dict[str, Any], custom_fields: Any, tags: Any, version: Any
    ) -> Customer:
        return customer_update(
            actor=self.request.user,
            customer=obj,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
            confirm_duplicate=_flag(_body(self.request).get("confirm_duplicate")),
        )

    def perform_service_delete(self, obj: Customer, version: int | None) -> Any:
        return customer_delete(actor=self.request.user, customer=obj, version=version)

    @extend_schema(responses={200: CustomerSerializer, 409: DUPLICATES_409})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().create(request, *args, **kwargs)

    @extend_schema(
        responses={
            200: CustomerSerializer,
            301: OpenApiResponse(description="Merged: Location names the surviving customer."),
        }
    )
    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            redirect = _tombstone_redirect(request, Customer, kwargs.get("pk"), "customers")
            if redirect is not None:
                return redirect
            raise

    # --- transfer: contacts, follow-ups and open tasks follow; pool membership ends ---

    @extend_schema(
        request=TransferSerializer,
        responses={
            200: inline_serializer("CustomerTransferred", {"transferred": serializers.IntegerField()})
        },
    )
    @action(detail=True, methods=["post"])
    def transfer(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        s = TransferSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        n = customer_transfer(
            actor=request.user,
            customers=[obj],
            new_owner=_active_user(s.validated_data["owner"]),
            reason=s.validated_data.get("reason", ""),
        )
        return Response({"transferred": n})

    @extend_schema(
        request=BulkTransferSerializer,
        responses={
            200: inline_serializer("CustomersTransferred", {"transferred": serializers.IntegerField()})
        },
    )
    @action(detail=False, methods=["post"], url_path="transfer")
    def bulk_transfer(self, request: Request) -> Response:
        s = BulkTransferSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        objs = self._load_many(s.validated_data["ids"], "assign")
        n = customer_transfer(
            actor=request.user,
            customers=objs,
            new_owner=_active_user(s.validated_data["owner"]),
            reason=s.validated_data.get("reason", ""),
        )
        return Response({"transferred": n})

    @extend_schema(
        request=inline_serializer(
            "BulkTags",
            {
                "ids": serializers.ListField(child=serializers.IntegerField()),
                "tags": serializers.ListField(child=serializers.CharField()),
            },
        ),
        responses={200: inline_serializer("Tagged", {"changed": serializers.IntegerField()})},
        description="Add tags to many customers.",
    )
    @action(detail=False, methods=["post"], url_path="tags")
    def bulk_tags(self, request: Request) -> Response:
        body = _body(request)
        ids = body.get("ids") or []
        tags = body.get("tags") or []
        if not isinstance(ids, list) or not ids:
            raise ValidationError({"ids": [_("Choose at least one record.")]})
        if not isinstance(tags, list) or not tags:
            raise ValidationError({"tags": [_("Enter at least one tag.")]})
        objs = self._load_many(_ids(ids, "ids", _("Expected a list of record ids.")), "change")
        return Response({"changed": add_tags(actor=request.user, objs=objs, names=tags)})

    # --- 360° ---

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        description="Key figures (lifetime revenue, open opportunities, receivables due, open tickets, "
        "last contact, days since last order — null with available=false where the module does not "
        "exist yet) and related lists contributed by modules.",
    )
    @action(detail=True, methods=["get"])
    def overview(self, request: Request, pk: Any = None) -> Response:
        return Response(overview(self.get_object(), request.user))

    @extend_schema(
        responses={200: OpenApiTypes.OBJECT},
        parameters=[OpenApiParameter("limit", OpenApiTypes.INT)],
        description="Follow-ups, changes and entries of other modules, newest first.",
    )
    @action(detail=True, methods=["get"])
    def timeline(self, request: Request, pk: Any = None) -> Response:
        try:
            limit = max(1, min(200, int(request.query_params.get("limit", 50))))
        except ValueError:
            limit = 50
        return Response({"results": timeline(self.get_object(), request.user, limit)})

    # --- files (the Files tab: the customer's own and its visible follow-ups' files) ---

    @extend_schema(
        methods=["GET"],
        responses={200: CustomerAttachmentSerializer(many=True)},
        description="Files of the customer: its own and those of the follow-ups the caller can see "
        "(``follow_up`` names the follow-up), newest first; paginated like every list.",
    )
    @extend_schema(
        methods=["POST"],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {
                    "file": {"type": "string", "format": "binary"},
                    "name": {"type": "string", "description": "Optional file name."},
                },
                "required": ["file"],
            }
        },
        responses={201: CustomerAttachmentSerializer},
        description="Attach a file to the customer itself (at most 20 MB; programs, scripts and web "
        "pages are refused with 400 on ``file``).",
    )
    @action(detail=True, methods=["get", "post"])
    def attachments(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        if request.method == "GET":
            rows = selectors.files_of(request.user, obj).order_by("-uploaded_at", "-id")
            page = self.paginate_queryset(rows)
            return self.get_paginated_response(CustomerAttachmentSerializer(page, many=True).data)
        att = customer_attachment_add(
            actor=request.user,
            customer=obj,
            file=request.FILES.get("file"),
            name=str(request.data.get("name") or ""),
        )
        return Response(CustomerAttachmentSerializer(att).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "application/octet-stream"): OpenApiTypes.BINARY},
        description="Download a file of the customer (its own, or of a follow-up the caller can see).",
    )
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)")
    def attachment(self, request: Request, pk: Any = None, attachment_id: Any = None) -> Any:
        att = get_object_or_404(selectors.files_of(request.user, self.get_object()), pk=attachment_id)
        return file_response(att)

    @extend_schema(
        request=None,
        responses={204: None},
        description="Delete a file of the customer itself (audited; the stored bytes go unless another "
        "row still points at them). A follow-up's file is refused with 400: delete it on the "
        "follow-up.",
    )
    @attachment.mapping.delete
    def attachment_destroy(self, request: Request, pk: Any = None, attachment_id: Any = None) -> Response:
        att = get_object_or_404(selectors.files_of(request.user, self.get_object()), pk=attachment_id)
        customer_attachment_delete(actor=request.user, attachment=att)
        return Response(status=status.HTTP_204_NO_CONTENT)

    # --- duplicates (list, dismiss, merge and undo: MergeActionsMixin) ---

    @extend_schema(
        request=None,
        responses={
            202: inline_serializer(
                "ScanJob", {"job": serializers.UUIDField(), "status": serializers.CharField()}
            )
        },
        description="Start a full duplicate scan of customers and contacts (background job).",
    )
    @action(detail=False, methods=["post"], url_path="duplicates/scan")
    def duplicate_scan(self, request: Request) -> Response:
        from huoban.platform.jobs.services import job_enqueue

        job = job_enqueue(
            kind="customers.duplicate_scan",
            actor=request.user,
            params={"object_types": ["customer", "contact"]},
            title=_("Duplicate scan"),
        )
        job.refresh_from_db()
        return Response({"job": str(job.pk), "status": job.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        request=CustomerSerializer,
        responses={
            200: inline_serializer(
                "DuplicateCheck", {"duplicates": serializers.ListField(child=serializers.DictField())}
            )
        },
        description="Likely duplicates of the given values, without saving (for forms).",
    )
    @action(detail=False, methods=["post"], url_path="duplicates/check")
    def duplicate_check(self, request: Request) -> Response:
        body = _body(request)
        cleaned, errors = clean_customer_data(
            {k: v for k, v in body.items() if k in CUSTOMER_WRITABLE}, partial=True
        )
        if errors:
            raise ValidationError(errors)
        exclude = [int(body["id"])] if str(body.get("id", "")).isdigit() else []
        found = customer_duplicate_candidates(
            name=cleaned.get("name", ""),
            uscc=cleaned.get("uscc", ""),
            phones=[cleaned.get("phone", ""), *cleaned.get("phones", [])],
            emails=[cleaned.get("email", ""), *cleaned.get("emails", [])],
            exclude_ids=exclude,
        )
        return Response({"duplicates": found})

    # --- pool ---

    @extend_schema(
        request=inline_serializer(
            "Release",
            {
                "pool": serializers.IntegerField(required=False),
                "reason": serializers.CharField(required=False),
            },
        ),
        responses={200: inline_serializer("Released", {"released": serializers.IntegerField()})},
        description="Move this customer into a public pool (the owner's pool when none is given).",
    )
    @action(detail=True, methods=["post"])
    def release(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        return Response({"released": self._release(request, [obj])})

    @extend_schema(
        request=inline_serializer(
            "BulkRelease",
            {
                "ids": serializers.ListField(child=serializers.IntegerField()),
                "pool": serializers.IntegerField(required=False),
                "reason": serializers.CharField(required=False),
            },
        ),
        responses={200: inline_serializer("BulkReleased", {"released": serializers.IntegerField()})},
    )
    @action(detail=False, methods=["post"], url_path="release")
    def bulk_release(self, request: Request) -> Response:
        ids = _body(request).get("ids") or []
        if not isinstance(ids, list) or not ids:
            raise ValidationError({"ids": [_("Choose at least one record.")]})
        objs = self._load_many(_ids(ids, "ids", _("Expected a list of record ids.")), "change")
        return Response({"released": self._release(request, objs)})

    def _release(self, request: Request, objs: list[Customer]) -> int:
        body = _body(request)
        pool = None
        if body.get("pool") not in (None, ""):
            raw = str(body["pool"])
            pool = visible_pools(request.user).filter(pk=raw).first() if raw.isdigit() else None
            if pool is None:
                raise ValidationError({"pool": [_("Choose a public pool you can see.")]})
        return customer_release(
            actor=request.user, customers=objs, pool=pool, reason=str(body.get("reason") or "")
        )


# --- contacts ---------------------------------------------------------------------------------


CONTACT_WRITABLE = ("name", "customer", "customers", *(f for f in CONTACT_FIELDS if f != "name"))


class ContactSerializer(RecordSerializer):
    customer = serializers.PrimaryKeyRelatedField(read_only=True, help_text="Primary customer id.")
    customers = serializers.SerializerMethodField()
    phones = serializers.ListField(child=serializers.CharField(), required=False)
    emails = serializers.ListField(child=serializers.CharField(), required=False)
    consents = serializers.JSONField(required=False)

    class Meta(RecordSerializer.Meta):
        model = Contact
        fields = [*RecordSerializer.Meta.fields, *CONTACT_WRITABLE]

    def get_customers(self, obj: Contact) -> list[int]:
        return sorted(link.customer_id for link in obj.customer_links.all())


def _check_customers_visible(request: Request, data: dict[str, Any]) -> None:
    ids = []
    if data.get("customer") not in (None, ""):
        ids.append(data["customer"])
    ids += list(data.get("customers") or [])
    try:
        ids = [int(i) for i in ids]
    except (TypeError, ValueError):
        raise ValidationError({"customers": [_("Expected customer ids.")]})
    if not ids:
        return
    visible = set(scoped(request.user, Customer).filter(pk__in=ids).values_list("pk", flat=True))
    missing = sorted(set(ids) - visible)
    if missing:
        raise ValidationError(
            {"customers": [_("Not found: %(ids)s") % {"ids": ", ".join(map(str, missing))}]}
        )


@extend_schema(
    parameters=[OpenApiParameter("customer", OpenApiTypes.INT, description="Contacts of this customer.")]
)
class ContactViewSet(MergeActionsMixin, RawWriteMixin, RecordViewSet):
    record_model = Contact
    serializer_class = ContactSerializer
    search_fields = Contact.search_fields
    ordering_fields = ("id", "created_at", "updated_at", "name")
    filterset_fields = {
        "decision_role": ["exact"],
        "preferred_channel": ["exact"],
        "left_company": ["exact"],
        "owner": ["exact"],
        "owner_unit": ["exact"],
    }
    prefetch_related = ("customer_links", "tagged_items__tag")
    writable = CONTACT_WRITABLE
    merge_object_type = "contact"
    merge_service = staticmethod(contact_merge)
    extra_action_permission = MERGE_PERMISSIONS

    def filter_base_queryset(self, qs: Any) -> Any:
        customer = self.request.query_params.get("customer")
        if customer and customer.isdigit():
            qs = qs.filter(customer_links__customer_id=int(customer)).distinct()
        return qs

    def perform_service_create(self, data: dict[str, Any], custom_fields: Any, tags: Any) -> Contact:
        _check_customers_visible(self.request, data)
        return contact_create(
            actor=self.request.user,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            confirm_duplicate=_flag(_body(self.request).get("confirm_duplicate")),
        )

    def perform_service_update(
        self, obj: Contact, data: dict[str, Any], custom_fields: Any, tags: Any, version: Any
    ) -> Contact:
        _check_customers_visible(self.request, data)
        return contact_update(
            actor=self.request.user,
            contact=obj,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
        )

    def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().retrieve(request, *args, **kwargs)
        except Http404:
            redirect = _tombstone_redirect(request, Contact, kwargs.get("pk"), "contacts")
            if redirect is not None:
                return redirect
            raise


# --- follow-ups -------------------------------------------------------------------------------


class AttachmentSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()

    class Meta:
        model = Attachment
        fields = ["id", "name", "size", "content_type", "uploaded_at", "url"]

    def get_url(self, obj: Attachment) -> str:
        return f"/api/v1/follow-ups/{obj.follow_up_id}/attachments/{obj.pk}/"


class FollowUpSerializer(RecordSerializer):
    customer = serializers.PrimaryKeyRelatedField(read_only=True)
    contact = serializers.PrimaryKeyRelatedField(read_only=True)
    attachments = AttachmentSerializer(many=True, read_only=True)

    class Meta(RecordSerializer.Meta):
        model = FollowUp
        fields = [
            *RecordSerializer.Meta.fields,
            "customer",
            "contact",
            "type",
            "occurred_at",
            "content",
            "outcome",
            "next_follow_up_at",
            "attachments",
        ]


def visible_ref(user: Any, model: type, field: str, raw: Any) -> Any:
    """The record ``raw`` (an id) names, read through the user's scope; None for an empty value,
    a field error when it is not an id or not visible."""
    if raw in (None, ""):
        return None
    obj = scoped(user, model).filter(pk=raw).first() if str(raw).isdigit() else None
    if obj is None:
        raise ValidationError({field: [_("Not found: %(ids)s") % {"ids": raw}]})
    return obj


@extend_schema(parameters=[OpenApiParameter("customer", OpenApiTypes.INT)])
class FollowUpViewSet(RawWriteMixin, RecordViewSet):
    """Follow-up records (跟进记录). Content is rich text, sanitised on save."""

    record_model = FollowUp
    serializer_class = FollowUpSerializer
    search_fields = FollowUp.search_fields
    ordering_fields = ("id", "occurred_at", "created_at")
    default_ordering = ("-occurred_at",)
    filterset_fields = {
        "type": ["exact", "in"],
        "owner": ["exact"],
        "occurred_at": ["gte", "lte"],
        "next_follow_up_at": ["gte", "lte", "isnull"],
    }
    select_related = ("owner", "created_by", "updated_by")
    prefetch_related = ("attachments", "tagged_items__tag")
    writable = ("customer", "contact", "type", "occurred_at", "content", "outcome", "next_follow_up_at")
    parser_classes = [JSONParser, FormParser, MultiPartParser]
    extra_action_permission = {"attachments": "view", "attachment": "view", "attachment_destroy": "change"}

    def filter_base_queryset(self, qs: Any) -> Any:
        for key in ("customer", "contact"):
            value = self.request.query_params.get(key)
            if value and value.isdigit():
                qs = qs.filter(**{f"{key}_id": int(value)})
        return qs

    def perform_service_create(self, data: dict[str, Any], custom_fields: Any, tags: Any) -> FollowUp:
        raw_customer = data.pop("customer", None)
        if raw_customer in (None, ""):
            raise ValidationError({"customer": [_("This field is required.")]})
        if not str(raw_customer).isdigit():
            raise ValidationError({"customer": [_("Expected a customer id.")]})
        customer = visible_ref(self.request.user, Customer, "customer", raw_customer)
        contact = visible_ref(self.request.user, Contact, "contact", data.pop("contact", None))
        return follow_up_create(
            actor=self.request.user,
            customer=customer,
            contact=contact,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
        )

    def perform_service_update(
        self, obj: FollowUp, data: dict[str, Any], custom_fields: Any, tags: Any, version: Any
    ) -> FollowUp:
        if "customer" in data and str(data["customer"]) != str(obj.customer_id):
            raise ValidationError({"customer": [_("A follow-up cannot move to another customer.")]})
        data.pop("customer", None)
        if "contact" in data:
            data["contact"] = visible_ref(self.request.user, Contact, "contact", data["contact"])
        return follow_up_update(
            actor=self.request.user,
            follow_up=obj,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
        )

    def perform_service_delete(self, obj: FollowUp, version: int | None) -> Any:
        return follow_up_delete(actor=self.request.user, follow_up=obj, version=version)

    def required_action(self) -> str | None:
        if self.action == "attachments" and self.request.method == "POST":
            return "change"
        return super().required_action()

    @extend_schema(
        methods=["POST"],
        request={
            "multipart/form-data": {
                "type": "object",
                "properties": {"file": {"type": "string", "format": "binary"}},
            }
        },
        responses={201: AttachmentSerializer},
    )
    @extend_schema(
        methods=["GET"],
        responses={200: AttachmentSerializer(many=True)},
        description="Files of the follow-up, oldest first; paginated like every list.",
    )
    @action(detail=True, methods=["get", "post"])
    def attachments(self, request: Request, pk: Any = None) -> Response:
        obj = self.get_object()
        if request.method == "GET":
            page = self.paginate_queryset(obj.attachments.order_by("id"))
            return self.get_paginated_response(AttachmentSerializer(page, many=True).data)
        upload = request.FILES.get("file")
        if upload is None:
            raise ValidationError({"file": [_("Choose a file.")]})
        att = attachment_add(actor=request.user, follow_up=obj, file=upload)
        return Response(AttachmentSerializer(att).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"], url_path=r"attachments/(?P<attachment_id>\d+)")
    def attachment(self, request: Request, pk: Any = None, attachment_id: Any = None) -> Any:
        obj = self.get_object()
        att = get_object_or_404(obj.attachments, pk=attachment_id)
        return file_response(att)

    @extend_schema(
        request=None,
        responses={204: None},
        description="Delete a file of the follow-up (needs change on the follow-up; audited on it; the "
        "stored bytes go unless another row still points at them).",
    )
    @attachment.mapping.delete
    def attachment_destroy(self, request: Request, pk: Any = None, attachment_id: Any = None) -> Response:
        att = get_object_or_404(self.get_object().attachments, pk=attachment_id)
        attachment_delete(actor=request.user, attachment=att)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- public pools ------------------------------------------------------------------------------


class PoolSerializer(serializers.ModelSerializer):
    customer_count = serializers.SerializerMethodField()

    class Meta:
        model = CustomerPool
        fields = [
            "id",
            "name",
            "unit",
            "release_after_days",
            "max_owned_per_rep",
            "claim_cooldown_days",
            "lifecycle_stages",
            "active",
            "customer_count",
        ]

    def get_customer_count(self, obj: CustomerPool) -> int:
        count = getattr(obj, "customer_count", None)  # annotated on lists (with_customer_counts)
        if count is None:
            count = Customer.objects.unrestricted().filter(pool=obj, deleted_at__isnull=True).count()
        return count

    def validate_lifecycle_stages(self, value: Any) -> list[str]:
        if not isinstance(value, list) or any(v not in Customer.Lifecycle.values for v in value):
            raise serializers.ValidationError(_("Choose lifecycle stages."))
        return value


class PoolCustomerSerializer(serializers.ModelSerializer):
    tags = serializers.SerializerMethodField()

    class Meta:
        model = Customer
        fields = [
            "id",
            "number",
            "name",
            "short_name",
            "kind",
            "industry",
            "size",
            "region",
            "lifecycle_stage",
            "tier",
            "source",
            "last_contacted_at",
            "pooled_at",
            "tags",
        ]

    def get_tags(self, obj: Customer) -> list[str]:
        return obj.tag_names


class PoolPermission(permissions.BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not request.user or not request.user.is_authenticated:
            return False
        needed = "view" if request.method in permissions.SAFE_METHODS or view.action == "claim" else "manage"
        if not has_perm(request.user, "customer_pool", needed):
            raise PermissionDeniedError()
        return True


class CustomerPoolViewSet(viewsets.ModelViewSet):
    """Public pools (公海). Reps see the pools of their unit and the units above it; managing
    pools needs the ``manage`` permission on ``customer_pool``."""

    serializer_class = PoolSerializer
    permission_classes = [PoolPermission]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        pools = visible_pools(self.request.user).order_by("id")
        return with_customer_counts(pools) if self.action == "list" else pools

    def perform_destroy(self, instance: CustomerPool) -> None:
        if Customer.objects.unrestricted().filter(pool=instance, deleted_at__isnull=True).exists():
            raise ValidationError(_("This pool still holds customers; close it instead (active: false)."))
        instance.delete()

    @extend_schema(
        responses={200: PoolCustomerSerializer(many=True)},
        parameters=[OpenApiParameter("q", OpenApiTypes.STR)],
        description="Customers in this pool (visible to every rep who sees the pool).",
    )
    @action(detail=True, methods=["get"])
    def customers(self, request: Request, pk: Any = None) -> Response:
        pool = self.get_object()
        qs = (
            Customer.objects.unrestricted()
            .filter(pool=pool, deleted_at__isnull=True)
            .order_by("-pooled_at", "-id")
        )
        term = request.query_params.get("q", "").strip()
        if term:
            from huoban.platform.api.filters import text_search

            qs = text_search(qs, ("name", "short_name", "number"), term)
        for key in ("industry", "region", "lifecycle_stage"):
            if request.query_params.get(key):
                qs = qs.filter(**{key: request.query_params[key]})
        page = self.paginate_queryset(qs)
        from huoban.platform.records.models import attach_tags

        return self.get_paginated_response(PoolCustomerSerializer(attach_tags(page), many=True).data)

    @extend_schema(
        request=inline_serializer(
            "Claim", {"customers": serializers.ListField(child=serializers.IntegerField())}
        ),
        responses={
            200: inline_serializer(
                "Claimed", {"claimed": serializers.ListField(child=serializers.IntegerField())}
            )
        },
        description="Claim customers from this pool (maximum per rep and cool-down apply).",
    )
    @action(detail=True, methods=["post"])
    def claim(self, request: Request, pk: Any = None) -> Response:
        pool = self.get_object()
        ids = _ids(_body(request).get("customers") or [], "customers", _("Expected a list of customer ids."))
        return Response({"claimed": pool_claim(actor=request.user, pool=pool, customer_ids=ids)})


routes = [
    ("customers", CustomerViewSet, "customer"),
    ("contacts", ContactViewSet, "contact"),
    ("follow-ups", FollowUpViewSet, "follow-up"),
    ("customer-pools", CustomerPoolViewSet, "customer-pool"),
]
