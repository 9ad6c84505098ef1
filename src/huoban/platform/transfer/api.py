"""REST API: /imports/, /import-templates/, /import-types/, /exports/.

POST /api/v1/imports/                 multipart: file, object_type, mapping (JSON), template,
                                      dedup, match_keys (JSON), dry_run, encoding, sheet,
                                      header_row, options (JSON) — or JSON {"rows": [...]}
GET  /api/v1/imports/{id}/            status, progress, counts, preview (dry run)
GET  /api/v1/imports/{id}/errors/     the error file (original rows + an error column)
GET  /api/v1/imports/{id}/report/     counts, rejected rows, errors by column, sample
POST /api/v1/imports/{id}/commit/     run a previewed (dry) import for real
POST /api/v1/imports/{id}/undo/       undo the whole run
/api/v1/import-templates/             named mappings per object type (CRUD)
/api/v1/import-types/                 importable types with their fields and match keys
POST /api/v1/exports/                 {"object_type", "format", "filters", "columns"} → job
GET  /api/v1/exports/{id}/            status, row count
GET  /api/v1/exports/{id}/download/   the file
GET  /api/v1/exports/stream/?object_type=…&format=…&columns=a,b&<filters>   small exports
"""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle

from huoban.platform.access.scoping import has_perm
from huoban.platform.api.filters import OrderingFilter
from huoban.platform.api.records import IdempotentPostMixin
from huoban.platform.errors import PermissionDeniedError, ValidationError

from . import exporting, registry, reports, services
from .models import ExportRun, ImportRun, ImportTemplate

# --- serializers ------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "object",
        "nullable": True,
        "properties": {"id": {"type": "integer"}, "username": {"type": "string"}, "name": {"type": "string"}},
    }
)
class UserBriefField(serializers.Field):
    def to_representation(self, value: Any) -> Any:
        if value is None:
            return None
        return {"id": value.pk, "username": value.username, "name": str(value)}


class ImportRunSerializer(serializers.ModelSerializer):
    counts = serializers.SerializerMethodField()
    created_by = UserBriefField(read_only=True)
    job = serializers.UUIDField(source="job_id", read_only=True)
    can_undo = serializers.BooleanField(read_only=True)
    links = serializers.SerializerMethodField()

    class Meta:
        model = ImportRun
        fields = [
            "id",
            "object_type",
            "status",
            "dry_run",
            "progress",
            "counts",
            "blank",
            "file_name",
            "file_format",
            "file_size",
            "encoding",
            "detected_encoding",
            "delimiter",
            "sheets",
            "sheet",
            "header_row",
            "headers",
            "mapping",
            "options",
            "template",
            "dedup",
            "match_keys",
            "job",
            "preview",
            "summary",
            "error",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "undone_at",
            "undo_result",
            "can_undo",
            "links",
        ]
        read_only_fields = fields

    def get_counts(self, obj: ImportRun) -> dict[str, int]:
        return obj.counts

    def get_links(self, obj: ImportRun) -> dict[str, str]:
        base = f"/api/v1/imports/{obj.pk}/"
        return {
            "self": base,
            "errors": base + "errors/",
            "report": base + "report/",
            "undo": base + "undo/",
            "page": f"/imports/{obj.pk}/",
        }


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField(required=False, help_text="CSV, XLSX, JSON array or JSON Lines.")
    rows = serializers.JSONField(required=False, help_text="Instead of a file: a list of objects (JSON).")
    object_type = serializers.CharField(help_text='e.g. "customer"')
    mapping = serializers.JSONField(
        required=False, help_text="{source column: field}; suggestions fill the rest."
    )
    template = serializers.IntegerField(required=False, allow_null=True)
    dedup = serializers.ChoiceField(choices=ImportRun.Dedup.values, required=False)
    match_keys = serializers.JSONField(required=False, help_text='e.g. ["name_phone", "uscc"]')
    dry_run = serializers.BooleanField(required=False, default=False)
    encoding = serializers.CharField(required=False, allow_blank=True, default="")
    sheet = serializers.CharField(required=False, allow_blank=True, default="")
    header_row = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    options = serializers.JSONField(required=False)


class ImportTemplateSerializer(serializers.ModelSerializer):
    created_by = UserBriefField(read_only=True)

    class Meta:
        model = ImportTemplate
        fields = ["id", "object_type", "name", "mapping", "options", "created_by", "created_at", "updated_at"]
        read_only_fields = ["id", "created_by", "created_at", "updated_at"]


class ExportRunSerializer(serializers.ModelSerializer):
    created_by = UserBriefField(read_only=True)
    job = serializers.UUIDField(source="job_id", read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = ExportRun
        fields = [
            "id",
            "object_type",
            "format",
            "filters",
            "columns",
            "status",
            "progress",
            "row_count",
            "masked",
            "file_name",
            "file_size",
            "job",
            "error",
            "created_by",
            "created_at",
            "finished_at",
            "download",
        ]
        read_only_fields = fields

    def get_download(self, obj: ExportRun) -> str | None:
        return f"/api/v1/exports/{obj.pk}/download/" if obj.status == ExportRun.Status.DONE else None


class ExportCreateSerializer(serializers.Serializer):
    object_type = serializers.CharField()
    format = serializers.ChoiceField(choices=ExportRun.Format.values, default="csv")
    filters = serializers.DictField(
        required=False, default=dict, help_text="The list API's query parameters."
    )
    columns = serializers.ListField(child=serializers.CharField(), required=False, allow_null=True)
    query = serializers.CharField(
        required=False, allow_blank=True, help_text="Instead of filters: a list page's query string (UI)."
    )
    ids = serializers.ListField(
        child=serializers.IntegerField(), required=False, help_text="Only these records (selected rows)."
    )


# --- imports ----------------------------------------------------------------------------------


def _template(user: Any, pk: Any) -> ImportTemplate | None:
    if pk in (None, ""):
        return None
    tpl = ImportTemplate.objects.filter(pk=pk).first()
    if tpl is None or not has_perm(user, tpl.object_type, "import"):
        raise ValidationError({"template": [_("No such template.")]})
    return tpl


class ImportRunViewSet(
    IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Imports of the caller (administrators see every import). Every POST (create, commit, undo)
    honours an ``Idempotency-Key``."""

    queryset = ImportRun.objects.none()  # for the schema; get_queryset() scopes the real one
    serializer_class = ImportRunSerializer
    parser_classes = [MultiPartParser, FormParser, JSONParser]
    filter_backends = [OrderingFilter]
    ordering_fields = ("created_at", "id")
    default_ordering = ("-created_at",)

    def get_queryset(self) -> Any:
        qs = services.visible_runs(self.request.user)
        ot = self.request.query_params.get("object_type")
        if ot:
            qs = qs.filter(object_type=ot)
        return qs

    def get_object(self) -> ImportRun:
        pk = self.kwargs.get("pk", "")
        run = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if run is None:
            raise Http404
        return run

    @extend_schema(request=ImportCreateSerializer, responses={201: ImportRunSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        s = ImportCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        upload = d.get("file")
        if upload is None:
            if d.get("rows") is None:
                raise ValidationError({"file": [_("Send a file or rows.")]})
            upload = services.rows_to_file(d["rows"])
        run = services.import_create(
            actor=request.user,
            object_type=d["object_type"],
            file=upload,
            file_name=getattr(upload, "name", ""),
            mapping=d.get("mapping"),
            template=_template(request.user, d.get("template")),
            dedup=d.get("dedup"),
            match_keys=d.get("match_keys"),
            dry_run=d.get("dry_run", False),
            encoding=d.get("encoding", ""),
            sheet=d.get("sheet", ""),
            header_row=d.get("header_row"),
            options=d.get("options"),
        )
        run.refresh_from_db()
        return Response(ImportRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="The error file: the rejected rows as they were in the file, plus an error column "
        "(same format and encoding as the upload). `?skipped=1` adds the skipped duplicates.",
    )
    @action(detail=True, methods=["get"])
    def errors(self, request: Request, pk: Any = None) -> HttpResponse:
        run = self.get_object()
        include_skipped = request.query_params.get("skipped") in ("1", "true")
        name, content_type, body = reports.error_file(run, include_skipped=include_skipped)
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("limit", OpenApiTypes.INT),
            OpenApiParameter("offset", OpenApiTypes.INT),
            OpenApiParameter(
                "sample_offset", OpenApiTypes.INT, description="first sampled row (200 per page)"
            ),
        ],
        responses={200: OpenApiTypes.OBJECT},
        description="The cleaning report (清洗报告): counts, errors by column, rejected and skipped rows "
        "with row number, column and reason, and a random sample of imported records beside their "
        "source rows (``sample_total`` of them; 200 from ``sample_offset``).",
    )
    @action(detail=True, methods=["get"])
    def report(self, request: Request, pk: Any = None) -> Response:
        run = self.get_object()
        ints: dict[str, int] = {}
        for key, default, top in (("limit", 200, 1000), ("offset", 0, 10**9), ("sample_offset", 0, 10**9)):
            raw = request.query_params.get(key, default)
            try:
                ints[key] = min(top, max(0, int(raw)))
            except (TypeError, ValueError):
                raise ValidationError({key: [_("Expected an integer.")]}) from None
        limit, offset, sample_offset = ints["limit"], ints["offset"], ints["sample_offset"]
        return Response(
            reports.report(run, request.user, limit=limit, offset=offset, sample_offset=sample_offset)
        )

    @extend_schema(request=None, responses={202: ImportRunSerializer})
    @action(detail=True, methods=["post"])
    def commit(self, request: Request, pk: Any = None) -> Response:
        run = self.get_object()
        run = services.import_start(actor=request.user, run=run, dry_run=False)
        return Response(ImportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(request=None, responses={202: ImportRunSerializer})
    @action(detail=True, methods=["post"])
    def undo(self, request: Request, pk: Any = None) -> Response:
        run = self.get_object()
        run = services.import_undo(actor=request.user, run=run)
        run.refresh_from_db()
        return Response(ImportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


class ImportTemplateViewSet(IdempotentPostMixin, viewsets.ModelViewSet):
    """Named mapping templates per object type: {"object_type", "name", "mapping", "options"}."""

    serializer_class = ImportTemplateSerializer
    filter_backends = [OrderingFilter]
    ordering_fields = ("name", "id")
    default_ordering = ("name",)
    http_method_names = ["get", "post", "patch", "put", "delete", "head", "options"]

    def get_queryset(self) -> Any:
        user = self.request.user
        allowed = [t for t in registry.importable_types() if has_perm(user, t, "import")]
        qs = ImportTemplate.objects.filter(object_type__in=allowed).select_related("created_by")
        ot = self.request.query_params.get("object_type")
        if ot:
            qs = qs.filter(object_type=ot)
        return qs

    def perform_create(self, serializer: Any) -> None:
        d = serializer.validated_data
        serializer.instance = services.template_save(
            actor=self.request.user,
            object_type=d["object_type"],
            name=d["name"],
            mapping=d.get("mapping"),
            options=d.get("options"),
        )

    def perform_update(self, serializer: Any) -> None:
        tpl = serializer.instance
        d = serializer.validated_data
        if d.get("object_type", tpl.object_type) != tpl.object_type:
            raise ValidationError({"object_type": [_("Cannot be changed.")]})
        serializer.instance = services.template_save(
            actor=self.request.user,
            object_type=tpl.object_type,
            name=d.get("name", tpl.name),
            mapping=d.get("mapping", tpl.mapping),
            options=d.get("options", tpl.options),
            template=tpl,
        )

    def perform_destroy(self, instance: ImportTemplate) -> None:
        services.template_delete(actor=self.request.user, template=instance)


class ImportTypeViewSet(viewsets.ViewSet):
    """Importable object types the caller may import, with fields, custom fields and match keys."""

    lookup_field = "object_type"
    lookup_value_regex = "[a-z_]+"

    def _describe(self, object_type: str) -> dict[str, Any]:
        importer = registry.get_importer(object_type)
        return {
            "object_type": object_type,
            "label": str(importer.label),
            "fields": [
                {
                    "name": f.name,
                    "label": f.display_label(),
                    "type": f.type,
                    "required": f.required,
                    "custom": f.custom,
                    "choices": [[v, str(lbl)] for v, lbl in (f.choices or [])] or None,
                    "picklist": f.picklist or None,
                    "aliases": list(f.aliases),
                }
                for f in registry.all_fields(importer)
                if f.importable
            ],
            "match_keys": [
                {"key": m.key, "label": str(m.label), "fields": list(m.fields)} for m in importer.match_keys
            ],
            "default_match_keys": importer.default_match_keys,
        }

    def _check(self, object_type: str) -> None:
        if object_type not in registry.importable_types():
            raise Http404
        if not has_perm(self.request.user, object_type, "import"):
            raise PermissionDeniedError()

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="import_types_list")
    def list(self, request: Request) -> Response:
        types = [t for t in registry.importable_types() if has_perm(request.user, t, "import")]
        return Response({"results": [self._describe(t) for t in types]})

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def retrieve(self, request: Request, object_type: str = "") -> Response:
        self._check(object_type)
        return Response(self._describe(object_type))

    @extend_schema(
        request=inline_serializer(
            "SuggestRequest", {"headers": serializers.ListField(child=serializers.CharField())}
        ),
        responses={200: OpenApiTypes.OBJECT},
        description="Suggested mapping {header: field} for a list of column headers.",
    )
    @action(detail=True, methods=["post"])
    def suggest(self, request: Request, object_type: str = "") -> Response:
        from .mapping import suggest_mapping

        self._check(object_type)
        headers = request.data.get("headers") if hasattr(request.data, "get") else None
        if not isinstance(headers, list):
            raise ValidationError({"headers": [_("Expected a list of column headers.")]})
        importer = registry.get_importer(object_type)
        return Response({"mapping": suggest_mapping(importer, [str(h) for h in headers])})


# --- exports ----------------------------------------------------------------------------------


class ExportThrottle(ScopedRateThrottle):
    """Rate limit of exports (settings: REST_FRAMEWORK DEFAULT_THROTTLE_RATES["export"])."""


class ExportRunViewSet(
    IdempotentPostMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Exports of the caller. Creating one needs the export permission and a recent step-up
    verification (users with two-factor authentication), and is rate-limited."""

    queryset = ExportRun.objects.none()  # for the schema; get_queryset() scopes the real one
    serializer_class = ExportRunSerializer
    throttle_scope = "export"
    filter_backends = [OrderingFilter]
    ordering_fields = ("created_at", "id")
    default_ordering = ("-created_at",)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> Any:
        # `?format=csv|xlsx` names the export format here, not a DRF renderer
        if getattr(self, "action", None) in ("stream", "download"):
            renderer = self.get_renderers()[0]
            return renderer, renderer.media_type
        return super().perform_content_negotiation(request, force)

    def get_throttles(self) -> list[Any]:
        if self.action in ("create", "stream"):
            return [ExportThrottle(), *super().get_throttles()]
        return super().get_throttles()

    def get_queryset(self) -> Any:
        return exporting.visible_exports(self.request.user)

    def get_object(self) -> ExportRun:
        pk = self.kwargs.get("pk", "")
        run = self.get_queryset().filter(pk=pk).first() if str(pk).isdigit() else None
        if run is None:
            raise Http404
        return run

    @extend_schema(request=ExportCreateSerializer, responses={202: ExportRunSerializer})
    def create(self, request: Request) -> Response:
        from huoban.platform.identity.stepup import require_step_up

        s = ExportCreateSerializer(data=request.data)
        s.is_valid(raise_exception=True)
        d = s.validated_data
        exporting.check_export_allowed(request.user, d["object_type"])
        require_step_up(request)
        filters = dict(d.get("filters") or {})
        from_page = "query" in d
        if from_page:
            filters[exporting.UI_QUERY] = d["query"]
        if d.get("ids"):
            filters[exporting.UI_IDS] = d["ids"]
        run = exporting.export_create(
            actor=request.user,
            object_type=d["object_type"],
            format=d["format"],
            filters=filters,
            columns=d.get("columns"),
            lenient_columns=from_page,
        )
        run.refresh_from_db()
        return Response(ExportRunSerializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/octet-stream"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk: Any = None) -> Any:
        run = self.get_object()
        if run.created_by_id != request.user.pk:
            raise Http404  # an export holds what its author may see: only the author downloads it
        if run.status != ExportRun.Status.DONE or not run.file:
            raise ValidationError({"status": [_("The export is not ready yet.")]})
        exporting.mark_downloaded(run)
        response = FileResponse(run.file.open("rb"), as_attachment=True, filename=run.file_name)
        return response

    @extend_schema(
        parameters=[
            OpenApiParameter("object_type", OpenApiTypes.STR, required=True),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["csv", "xlsx"]),
            OpenApiParameter("columns", OpenApiTypes.STR, description="Comma-separated column names."),
        ],
        responses={(200, "text/csv"): OpenApiTypes.BINARY},
        description="Export a small list right away (other query parameters are the list filters).",
    )
    @action(detail=False, methods=["get"], url_path="stream")
    def stream(self, request: Request) -> Any:
        from huoban.platform.identity.stepup import require_step_up

        params = request.query_params
        object_type = params.get("object_type", "")
        exporting.check_export_allowed(request.user, object_type)
        require_step_up(request)
        fmt = params.get("format", "csv")
        columns = [c for c in params.get("columns", "").split(",") if c] or None
        filters = {
            k: (params.getlist(k) if len(params.getlist(k)) > 1 else params.get(k))
            for k in params
            if k not in ("object_type", "format", "columns")
        }
        name, content_type, body, _rows = exporting.export_stream(
            actor=request.user, object_type=object_type, format=fmt, filters=filters, columns=columns
        )
        if isinstance(body, bytes | bytearray):
            response: Any = HttpResponse(body, content_type=content_type)
        else:
            response = StreamingHttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
        return response


routes = [
    ("imports", ImportRunViewSet, "import"),
    ("import-templates", ImportTemplateViewSet, "import-template"),
    ("import-types", ImportTypeViewSet, "import-type"),
    ("exports", ExportRunViewSet, "export"),
]
