"""The import wizard and export pages (server-rendered; thin: parse, call a service, render).

/imports/                 my imports
/imports/new/             1. upload (object type, file, encoding) — ?object_type=<key> preselects
                          the type (lists' Import button), ?from=<id> re-imports
/imports/<id>/map/        2. detected format/encoding/sheet/header · 3. mapping, template, dedup
/imports/<id>/preview/    4. dry run: first 100 rows, every value and error, projected counts
/imports/<id>/run/        5. POST: run in the background
/imports/<id>/            6. progress, then the cleaning report; undo; fix and re-import
/imports/<id>/errors/     7. the error file
/exports/                 my exports;  /exports/new/?object_type=…&<list query>;  /exports/<id>/
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from huoban.platform.access import registry as access_registry
from huoban.platform.access.scoping import has_perm
from huoban.platform.errors import DomainError, StepUpRequired, ValidationError

from . import exporting, registry, reports, services
from .models import ExportRun, ImportRun, ImportSample, ImportTemplate
from .sources import ENCODINGS
from .transforms import DATE_FORMATS


def _importable(user: Any) -> list[tuple[str, str]]:
    out = []
    for key in registry.importable_types():
        if has_perm(user, key, "import"):
            out.append((key, str(access_registry.get(key).label_plural)))
    return out


def _run(request: HttpRequest, pk: int) -> ImportRun:
    run = get_object_or_404(services.visible_runs(request.user), pk=pk)
    return run


# --- imports ----------------------------------------------------------------------------------


@login_required
def import_list(request: HttpRequest) -> HttpResponse:
    runs = services.visible_runs(request.user).order_by("-created_at", "-id")
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    return render(
        request,
        "transfer/import_list.html",
        {"page": page, "can_import": bool(_importable(request.user))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    types = _importable(request.user)
    if not types:
        raise PermissionDenied
    previous = None
    if request.GET.get("from", "").isdigit() or request.POST.get("from", "").isdigit():
        previous = _run(request, int(request.GET.get("from") or request.POST.get("from") or 0))
    errors: list[str] = []
    if request.method == "POST":
        upload = request.FILES.get("file")
        object_type = previous.object_type if previous else request.POST.get("object_type", "")
        try:
            if upload is None:
                raise ValidationError({"file": [_("Choose a file.")]})
            if previous is not None:
                run = services.import_reimport(
                    actor=request.user, previous=previous, file=upload, file_name=upload.name
                )
            else:
                tpl = None
                if request.POST.get("template", "").isdigit():
                    tpl = ImportTemplate.objects.filter(
                        pk=request.POST["template"], object_type=object_type
                    ).first()
                run = services.import_upload(
                    actor=request.user,
                    object_type=object_type,
                    file=upload,
                    file_name=upload.name,
                    encoding=request.POST.get("encoding", ""),
                    template=tpl,
                )
            return redirect("transfer:import-map", pk=run.pk)
        except DomainError as exc:
            errors = services.error_messages(exc)
    # ?object_type=<key> preselects the type (the Import button of a list links here so); after a
    # refused upload the type the user chose stays chosen. A type they may not import is ignored.
    wanted = request.POST.get("object_type") or request.GET.get("object_type") or ""
    keys = [k for k, _l in types]
    selected = previous.object_type if previous else (wanted if wanted in keys else keys[0])
    templates = ImportTemplate.objects.filter(object_type__in=[k for k, _l in types]).order_by(
        "object_type", "name"
    )
    return render(
        request,
        "transfer/import_new.html",
        {
            "types": types,
            "type_labels": dict(types),
            "selected": selected,
            "previous": previous,
            "encodings": ENCODINGS,
            "templates": templates,
            "errors": errors,
        },
    )


def _field_rows(run: ImportRun) -> tuple[list[dict[str, Any]], list[Any]]:
    importer = registry.get_importer(run.object_type)
    fields = [f for f in registry.all_fields(importer) if f.importable]
    sample = (run.summary or {}).get("sample") or []
    rows = []
    field_opts = (run.options or {}).get("fields") or {}
    for i, header in enumerate(run.headers or []):
        target = (run.mapping or {}).get(header, "")
        values = [r[i] for r in sample if i < len(r) and r[i]][:3]
        rows.append(
            {
                "index": i,
                "header": header,
                "samples": values,
                "target": target,
                "default": (field_opts.get(target) or {}).get("default", "") if target else "",
            }
        )
    return rows, fields


def _value_maps_text(run: ImportRun) -> str:
    lines = []
    for name, opts in ((run.options or {}).get("fields") or {}).items():
        for src, dst in ((opts or {}).get("values") or {}).items():
            lines.append(f"{name}: {src} = {dst}")
    return "\n".join(lines)


def _parse_value_maps(text: str, fields: set[str]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line:
            continue
        name, sep, rest = line.partition(":")
        src, eq, dst = rest.partition("=")
        name = name.strip()
        if not sep or not eq or name not in fields:
            raise ValidationError(
                {
                    "options": [
                        _("Value map line %(n)d: write “field: value in the file = value to store”.")
                        % {"n": n}
                    ]
                }
            )
        out.setdefault(name, {})[src.strip()] = dst.strip()
    return out


@login_required
@require_http_methods(["GET", "POST"])
def import_map(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    if run.status not in (ImportRun.Status.DRAFT,) and not (run.dry_run and run.is_finished):
        return redirect("transfer:import-detail", pk=run.pk)
    importer = registry.get_importer(run.object_type)
    errors: list[str] = []
    if request.method == "POST":
        action = request.POST.get("action", "preview")
        try:
            if action == "reread":
                services.import_configure(
                    actor=request.user,
                    run=run,
                    encoding=request.POST.get("encoding", run.encoding),
                    sheet=request.POST.get("sheet", run.sheet),
                    header_row=int(request.POST.get("header_row") or run.header_row),
                )
                return redirect("transfer:import-map", pk=run.pk)
            if action == "apply_template":
                tpl = ImportTemplate.objects.filter(
                    pk=request.POST.get("template") or 0, object_type=run.object_type
                ).first()
                if tpl is None:
                    raise ValidationError({"template": [_("Choose a template.")]})
                services.import_configure(actor=request.user, run=run, template=tpl)
                messages.success(request, _("Template “%(name)s” applied.") % {"name": tpl.name})
                return redirect("transfer:import-map", pk=run.pk)
            mapping, options, dedup, match_keys = _mapping_from_post(request, run, importer)
            services.import_configure(
                actor=request.user,
                run=run,
                mapping=mapping,
                options=options,
                dedup=dedup,
                match_keys=match_keys,
            )
            name = request.POST.get("template_name", "").strip()
            if name:
                existing = ImportTemplate.objects.filter(object_type=run.object_type, name=name).first()
                services.template_save(
                    actor=request.user,
                    object_type=run.object_type,
                    name=name,
                    template=existing,
                    **services.template_from_run(run),
                )
                messages.success(request, _("Saved as template “%(name)s”.") % {"name": name})
            if action == "save":
                return redirect("transfer:import-map", pk=run.pk)
            services.import_start(actor=request.user, run=run, dry_run=True)
            return redirect("transfer:import-preview", pk=run.pk)
        except DomainError as exc:
            errors = services.error_messages(exc)
        except ValueError:
            errors = [_("Check the header row number.")]
        run.refresh_from_db()
    rows, fields = _field_rows(run)
    opts = run.options or {}
    return render(
        request,
        "transfer/import_map.html",
        {
            "run": run,
            "rows": rows,
            "fields": fields,
            "encodings": ENCODINGS,
            "date_formats": DATE_FORMATS,
            "templates": ImportTemplate.objects.filter(object_type=run.object_type).order_by("name"),
            "match_keys": importer.match_keys,
            "dedups": ImportRun.Dedup.choices,
            "date_format": opts.get("date_format", "auto"),
            "decimal_separator": opts.get("decimal_separator", "auto"),
            "update_empty": bool(opts.get("update_empty")),
            "value_maps": _value_maps_text(run),
            "required": [f for f in fields if f.required and f.name not in (run.mapping or {}).values()],
            "errors": errors,
            "object_label": access_registry.get(run.object_type).label_plural,
        },
    )


def _mapping_from_post(
    request: HttpRequest, run: ImportRun, importer: registry.Importer
) -> tuple[dict[str, Any], dict[str, Any], str, list[str]]:
    names = {f.name for f in registry.all_fields(importer)}
    mapping: dict[str, Any] = {}
    field_opts: dict[str, dict[str, Any]] = {}
    for i, header in enumerate(run.headers or []):
        target = request.POST.get(f"map_{i}", "")
        mapping[header] = target if target in names else None
        default = request.POST.get(f"default_{i}", "").strip()
        if target in names and default:
            field_opts.setdefault(target, {})["default"] = default
    for name, values in _parse_value_maps(request.POST.get("value_maps", ""), names).items():
        field_opts.setdefault(name, {})["values"] = values
    options: dict[str, Any] = {}
    date_format = request.POST.get("date_format", "auto")
    if date_format != "auto":
        options["date_format"] = date_format
    sep = request.POST.get("decimal_separator", "auto")
    if sep != "auto":
        options["decimal_separator"] = sep
    if request.POST.get("update_empty"):
        options["update_empty"] = True
    if field_opts:
        options["fields"] = field_opts
    dedup = request.POST.get("dedup", run.dedup)
    match_keys = request.POST.getlist("match_keys") or list(importer.default_match_keys)
    return mapping, options, dedup, match_keys


@login_required
def import_preview(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    if not run.dry_run and run.status != ImportRun.Status.DRAFT:
        return redirect("transfer:import-detail", pk=run.pk)
    importer = registry.get_importer(run.object_type)
    labels = {f.name: f.display_label() for f in registry.all_fields(importer)}
    preview = run.preview or {}
    fields = preview.get("fields") or []
    rows = []
    for r in preview.get("rows") or []:
        errors_by_field: dict[str, list[str]] = {}
        row_errors = []
        for e in r.get("errors") or []:
            if e.get("field"):
                errors_by_field.setdefault(e["field"], []).append(e.get("message", ""))
            else:
                row_errors.append(e.get("message", ""))
        rows.append(
            {
                "row": r["row"],
                "action": r["action"],
                "message": r.get("message", ""),
                "errors": row_errors,
                "cells": [
                    {
                        "value": (r.get("values") or {}).get(f, ""),
                        "source": _source_for(run, f, r.get("cells") or []),
                        "errors": errors_by_field.get(f, []),
                    }
                    for f in fields
                ],
            }
        )
    return render(
        request,
        "transfer/import_preview.html",
        {
            "run": run,
            "columns": [
                {"name": f, "label": labels.get(f, f), "source": _columns_of(run, f)} for f in fields
            ],
            "rows": rows,
            "counts": preview.get("counts") or run.counts,
            "finished": run.is_finished,
            "poll_url": reverse("api:import-detail", args=[run.pk]),
        },
    )


def _columns_of(run: ImportRun, field: str) -> str:
    return " + ".join(h for h in run.headers or [] if (run.mapping or {}).get(h) == field)


def _source_for(run: ImportRun, field: str, cells: list[Any]) -> str:
    headers = run.headers or []
    parts = [
        str(cells[i])
        for i, h in enumerate(headers)
        if (run.mapping or {}).get(h) == field and i < len(cells) and cells[i] != ""
    ]
    return " ".join(parts)


@login_required
@require_POST
def import_run(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        services.import_start(actor=request.user, run=run, dry_run=False)
    except DomainError as exc:
        for m in services.error_messages(exc):
            messages.error(request, m)
        return redirect("transfer:import-preview", pk=run.pk)
    return redirect("transfer:import-detail", pk=run.pk)


SAMPLE_PAGE = 25  # spot-check rows per page of the report


@login_required
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    if run.status == ImportRun.Status.DRAFT:
        return redirect("transfer:import-map", pk=run.pk)
    if run.dry_run:
        return redirect("transfer:import-preview", pk=run.pk)
    data = page = None
    if run.is_finished:
        samples = ImportSample.objects.filter(run=run).order_by("row").values_list("pk", flat=True)
        page = Paginator(samples, SAMPLE_PAGE).get_page(request.GET.get("page"))
        offset = page.start_index() - 1 if page.paginator.count else 0
        data = reports.report(run, request.user, limit=200, sample_limit=SAMPLE_PAGE, sample_offset=offset)
    return render(
        request,
        "transfer/import_detail.html",
        {
            "run": run,
            "report": data,
            "page": page,
            "finished": run.is_finished,
            "poll_url": reverse("api:import-detail", args=[run.pk]),
            "object_label": access_registry.get(run.object_type).label_plural
            if access_registry.find(run.object_type)
            else run.object_type,
            "undo_running": (run.undo_result or {}).get("status") in ("queued", "running"),
        },
    )


@login_required
def import_errors(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    name, content_type, body = reports.error_file(run, include_skipped=request.GET.get("skipped") == "1")
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
    return response


@login_required
@require_POST
def import_undo(request: HttpRequest, pk: int) -> HttpResponse:
    run = _run(request, pk)
    try:
        services.import_undo(actor=request.user, run=run)
        messages.success(request, _("The import is being undone."))
    except DomainError as exc:
        for m in services.error_messages(exc):
            messages.error(request, m)
    return redirect("transfer:import-detail", pk=run.pk)


def _quote(name: str) -> str:
    from urllib.parse import quote

    return quote(name)


# --- exports ----------------------------------------------------------------------------------


@login_required
def export_list(request: HttpRequest) -> HttpResponse:
    runs = (
        exporting.visible_exports(request.user).filter(created_by=request.user).order_by("-created_at", "-id")
    )
    page = Paginator(runs, 25).get_page(request.GET.get("page"))
    types = [t for t in registry.exportable_types() if has_perm(request.user, t, "export")]
    return render(
        request,
        "transfer/export_list.html",
        {"page": page, "types": [(t, access_registry.get(t).label_plural) for t in types]},
    )


class _Throttled(Exception):
    pass


def _throttle(request: HttpRequest) -> None:
    from rest_framework.throttling import ScopedRateThrottle

    class _View:
        throttle_scope = "export"

    throttle = ScopedRateThrottle()
    if not throttle.allow_request(request, _View()):  # type: ignore[arg-type]
        raise _Throttled


@login_required
@require_http_methods(["GET", "POST"])
def export_new(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    object_type = request.GET.get("object_type") or request.POST.get("object_type", "")
    if access_registry.find(object_type) is None:
        raise Http404
    if not has_perm(request.user, object_type, "export"):
        raise PermissionDenied
    query = request.POST.get("query") if request.method == "POST" else _list_query(request)
    filters = {exporting.UI_QUERY: query or ""}
    available = exporting.available_columns(object_type)
    defaults = exporting.default_columns(object_type)
    errors: list[str] = []
    if request.method == "POST":
        fmt = request.POST.get("format", "csv")
        columns = request.POST.getlist("columns") or None
        try:
            from huoban.platform.identity.stepup import require_step_up

            _throttle(request)
            require_step_up(request)
            qs = exporting.export_queryset(request.user, object_type, dict(filters))
            total = qs.count()
            if total <= exporting.STREAM_MAX_ROWS and request.POST.get("background") != "1":
                name, content_type, body, _rows = exporting.export_stream(
                    actor=request.user, object_type=object_type, format=fmt, filters=filters, columns=columns
                )
                response: HttpResponse | StreamingHttpResponse
                if isinstance(body, bytes | bytearray):
                    response = HttpResponse(body, content_type=content_type)
                else:
                    response = StreamingHttpResponse(body, content_type=content_type)
                response["Content-Disposition"] = f"attachment; filename*=UTF-8''{_quote(name)}"
                return response
            run = exporting.export_create(
                actor=request.user, object_type=object_type, format=fmt, filters=filters, columns=columns
            )
            return redirect("transfer:export-detail", pk=run.pk)
        except StepUpRequired:
            from huoban.platform.identity.stepup import step_up_url

            return redirect(step_up_url(request.get_full_path()))
        except _Throttled:
            errors = [_("Too many exports in a short time. Try again later.")]
        except DomainError as exc:
            errors = services.error_messages(exc)
    count = exporting.export_queryset(request.user, object_type, dict(filters)).count()
    return render(
        request,
        "transfer/export_new.html",
        {
            "object_type": object_type,
            "object_label": access_registry.get(object_type).label_plural,
            "columns": [(c.key, c.label, c.key in defaults) for c in available],
            "query": query or "",
            "count": count,
            "stream_max": exporting.STREAM_MAX_ROWS,
            "masked": any(c.sensitive for c in available)
            and not has_perm(request.user, object_type, "view_sensitive"),
            "errors": errors,
            "back": _back(request, object_type),
        },
    )


def _list_query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("object_type", None)
    return params.urlencode()


def _back(request: HttpRequest, object_type: str) -> str:
    resource = access_registry.get(object_type).resource
    url = f"/{resource}/"
    ref = request.META.get("HTTP_REFERER", "")
    if ref and url_has_allowed_host_and_scheme(ref, allowed_hosts={request.get_host()}):
        return ref
    return url


def _export(request: HttpRequest, pk: int) -> ExportRun:
    run = get_object_or_404(exporting.visible_exports(request.user), pk=pk, created_by=request.user)
    return run


@login_required
def export_detail(request: HttpRequest, pk: int) -> HttpResponse:
    run = _export(request, pk)
    return render(
        request,
        "transfer/export_detail.html",
        {
            "run": run,
            "poll_url": reverse("api:export-detail", args=[run.pk]),
            "object_label": access_registry.get(run.object_type).label_plural
            if access_registry.find(run.object_type)
            else run.object_type,
        },
    )


@login_required
def export_download(request: HttpRequest, pk: int) -> Any:
    run = _export(request, pk)
    if run.status != ExportRun.Status.DONE or not run.file:
        raise Http404
    exporting.mark_downloaded(run)
    return FileResponse(run.file.open("rb"), as_attachment=True, filename=run.file_name)
