"""Exports: any object type's list to CSV (UTF-8 with BOM) or XLSX.

Rows come from the same queryset as the list the user looks at: the object type's API viewset
(``scoped()`` + its filters, free-text search, custom-field filters, ordering), so an export
never contains a record the user cannot see. Sensitive fields are masked unless the user holds
``view_sensitive``; text cells starting with = + - @ (or tab/CR) are prefixed with ' so a
spreadsheet never evaluates them (formula injection). Small exports stream; large ones run as a
job and are offered for download.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.files import File
from django.db import models
from django.http import HttpRequest, QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from huoban.platform.access import registry as access_registry
from huoban.platform.access.scoping import has_perm, scoped, service
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.discovery import app_modules
from huoban.platform.errors import PermissionDeniedError, ValidationError
from huoban.platform.identity.actors import actor_user
from huoban.platform.records.encryption import mask

from . import registry
from .models import ExportRun
from .pipeline import Context

STREAM_MAX_ROWS = int(os.environ.get("HUOBAN_EXPORT_STREAM_MAX", "5000"))
CHUNK = 2000


def _as_is(value: Any) -> Any:
    return value


def escape_cell(value: Any) -> Any:
    """Text that a spreadsheet would evaluate gets a leading apostrophe; numbers stay numbers."""
    if isinstance(value, str) and value and value[0] in "=+-@\t\r":
        return "'" + value
    return value


@dataclass
class ExportColumn:
    key: str
    label: Any
    path: str | None  # values_list path; None for computed columns (tags)
    kind: str
    spec: registry.FieldSpec | None = None
    sensitive: bool = False


def available_columns(object_type: str) -> list[ExportColumn]:
    ot = access_registry.get(object_type)
    model = ot.model
    importer = registry.get_importer(object_type)
    names = {f.name for f in model._meta.concrete_fields}
    cols: list[ExportColumn] = []
    if "number" in names:
        cols.append(ExportColumn("number", _verbose(model, "number"), "number", "text"))
    for spec in importer.fields:
        if not spec.exportable or spec.name in ("number", "tags"):
            continue
        if spec.type in ("user", "ref") or spec.store_as == "id":
            path = f"{spec.name}_id"
        else:
            path = spec.name
        cols.append(ExportColumn(spec.name, spec.label, path, spec.type, spec, spec.sensitive))
    if "owner_unit" in names:
        cols.append(ExportColumn("owner_unit", _verbose(model, "owner_unit"), "owner_unit_id", "unit"))
    for name, kind in (("created_at", "datetime"), ("created_by", "user"), ("updated_at", "datetime")):
        if name in names:
            path = f"{name}_id" if kind == "user" else name
            cols.append(ExportColumn(name, _verbose(model, name), path, kind))
    if hasattr(model, "tagged_items"):
        cols.append(ExportColumn("tags", gettext_lazy("tags"), None, "tags"))
    for spec in registry.custom_field_specs(object_type):
        cols.append(ExportColumn(spec.name, spec.label, f"custom_fields__{spec.key}", "custom", spec))
    cols.insert(0, ExportColumn("id", "ID", "pk", "integer"))
    return cols


def _verbose(model: type[models.Model], name: str) -> Any:
    return getattr(model._meta.get_field(name), "verbose_name", name)


def default_columns(object_type: str) -> list[str]:
    importer = registry.get_importer(object_type)
    if importer.export_columns:
        return list(importer.export_columns)
    return [c.key for c in available_columns(object_type) if c.key != "id"]


def resolve_columns(object_type: str, keys: list[str] | None, *, lenient: bool = False) -> list[ExportColumn]:
    """Export columns by key; ``cf_<key>`` / ``custom_fields.<key>`` name custom fields. ``lenient``
    (the list page's columns) drops keys that are display-only instead of refusing them."""
    cols = {c.key: c for c in available_columns(object_type)}
    keys = list(keys or default_columns(object_type))
    out = []
    unknown = []
    for k in keys:
        k = str(k)
        if k.startswith("custom_fields."):
            k = "cf." + k.split(".", 1)[1]
        elif k.startswith("cf_"):
            k = "cf." + k[3:]
        if k in cols:
            if cols[k] not in out:
                out.append(cols[k])
        else:
            unknown.append(k)
    if lenient:
        unknown = []
        if not out:
            out = [cols[k] for k in default_columns(object_type) if k in cols]
    if unknown:
        raise ValidationError({"columns": [_("Unknown columns: %(c)s.") % {"c": ", ".join(unknown)}]})
    if not out:
        raise ValidationError({"columns": [_("Choose at least one column.")]})
    return out


# --- the queryset ----------------------------------------------------------------------------


def viewset_for(object_type: str) -> Any:
    """The API viewset registered for an object type (discovered like the router does)."""
    for module in app_modules("api"):
        for _prefix, viewset, _basename in getattr(module, "routes", []):
            model = getattr(viewset, "record_model", None)
            if model is not None and getattr(model, "object_type", "") == object_type:
                return viewset
    return None


UI_QUERY = "_ui_query"
UI_IDS = "_ids"


def _ui_queryset(user: Any, object_type: str, query: str) -> Any:
    """The list page's own filters, search and sort (its query string), through scoped()."""
    try:
        from huoban.platform.ui import listing
        from huoban.platform.ui.pages import pages_for
    except ImportError:  # pragma: no cover — the ui app is part of the platform
        return None
    pages = pages_for(object_type)
    if pages is None:
        return None
    raw = HttpRequest()
    raw.method = "GET"
    raw.GET = QueryDict(query or "")  # type: ignore[assignment]
    raw.user = user
    state = listing.list_state(pages, raw)
    qs = listing.base_queryset(pages, raw, state)
    return qs.order_by(*listing.ordering(state, pages))


def export_queryset(user: Any, object_type: str, filters: dict[str, Any] | None) -> Any:
    """The user's list of ``object_type`` with the list filters applied (scoped, never wider).

    ``filters`` are the API list's query parameters ({"industry": "C", "q": "杭州"}), or — from
    the list page's Export button — {"_ui_query": "<the page's query string>", "_ids": [...]}.
    """
    ot = access_registry.get(object_type)
    filters = dict(filters or {})
    ids = filters.pop(UI_IDS, None) or []
    if UI_QUERY in filters:
        qs = _ui_queryset(user, object_type, str(filters.pop(UI_QUERY) or ""))
        if qs is not None:
            if ids:
                qs = qs.filter(pk__in=[int(i) for i in ids])
            return qs
    filters = {k: v for k, v in filters.items() if v not in (None, "")}
    viewset = viewset_for(object_type)
    if viewset is None:
        qs = scoped(user, ot.model)
        field_names = {f.name for f in ot.model._meta.concrete_fields}
        for k, v in filters.items():
            if k.split("__")[0] not in field_names:
                raise ValidationError({"filters": [_("Unknown filter “%(f)s”.") % {"f": k}]})
            qs = qs.filter(**{k: v})
        return qs.order_by("-pk")
    from rest_framework.exceptions import ValidationError as DRFValidationError
    from rest_framework.request import Request

    raw = HttpRequest()
    raw.method = "GET"
    query = QueryDict(mutable=True)
    for k, v in filters.items():
        if isinstance(v, list):
            query.setlist(k, [str(x) for x in v])
        else:
            query[k] = str(v).lower() if isinstance(v, bool) else str(v)
    raw.GET = query  # type: ignore[assignment]
    raw.user = user
    request = Request(raw)
    request.user = user
    view = viewset()
    view.request = request
    view.action = "list"
    view.args, view.kwargs, view.format_kwarg = (), {}, None
    try:
        qs = view.filter_queryset(view.get_queryset())
    except DRFValidationError as exc:
        raise ValidationError({"filters": _filter_messages(exc.detail)})
    if not getattr(qs, "_huoban_scoped", False):  # a viewset that forgot the door: never export
        raise PermissionDeniedError()
    if ids:
        qs = qs.filter(pk__in=[int(i) for i in ids])
    return qs.prefetch_related(None).select_related(None)


def _filter_messages(detail: Any) -> list[str]:
    """DRF filter errors ({"param": ["message"]}) as "param: message" lines."""
    if isinstance(detail, dict):
        return [f"{param}: {m}" for param, msgs in detail.items() for m in _filter_messages(msgs)]
    if isinstance(detail, list):
        return [m for item in detail for m in _filter_messages(item)]
    return [str(detail)]


# --- row rendering ---------------------------------------------------------------------------


class Renderer:
    """Turns values_list rows into cells (typed for XLSX, text for CSV), masking and escaping."""

    def __init__(
        self, user: Any, object_type: str, columns: list[ExportColumn], *, typed: bool, for_file: bool = True
    ):
        self.user = user
        self.for_file = for_file  # escape formula-like cells (False: values shown on a page)
        self.object_type = object_type
        self.columns = columns
        self.typed = typed
        self.can_see_sensitive = has_perm(user, object_type, "view_sensitive")
        self.tz = Context.for_actor(user).tz
        self._users: dict[int, str] | None = None
        self._units: dict[int, str] | None = None
        self._picklists: dict[str, dict[Any, str]] = {}
        self.formatters = [self._formatter(c) for c in columns]
        self.model = access_registry.get(object_type).model

    @property
    def paths(self) -> list[str]:
        return [c.path for c in self.columns if c.path]

    @property
    def masked(self) -> bool:
        return any(c.sensitive for c in self.columns) and not self.can_see_sensitive

    def users(self) -> dict[int, str]:
        if self._users is None:
            from django.contrib.auth import get_user_model

            self._users = {u.pk: str(u) for u in get_user_model().objects.all()}
        return self._users

    def units(self) -> dict[int, str]:
        if self._units is None:
            from huoban.platform.identity.models import OrgUnit

            self._units = dict(OrgUnit.objects.values_list("pk", "name"))
        return self._units

    def picklist_labels(self, key: str, by: str) -> dict[Any, str]:
        cache = f"{key}:{by}"
        if cache not in self._picklists:
            from huoban.platform.records.models import PicklistValue

            labels: dict[Any, str] = {}
            for pv in PicklistValue.objects.filter(picklist__key=key):
                labels[pv.pk if by == "id" else pv.code] = pv.display_label()
            self._picklists[cache] = labels
        return self._picklists[cache]

    def _date(self, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, str):
            return value
        if isinstance(value, dt.datetime):
            local = timezone.localtime(value, self.tz) if timezone.is_aware(value) else value
            return local.replace(tzinfo=None) if self.typed else local.strftime("%Y-%m-%d %H:%M:%S")
        return value if self.typed else value.isoformat()

    def _number(self, value: Any) -> Any:
        if value is None or value == "":
            return ""
        if self.typed:
            if isinstance(value, Decimal):
                return float(value) if abs(value) < Decimal("1e15") else str(value)
            return value
        return str(value)

    def _formatter(self, col: ExportColumn) -> Callable[[Any], Any]:
        kind = col.kind
        spec = col.spec
        if col.sensitive and not self.can_see_sensitive:
            return lambda v: mask(str(v), "email" if "email" in col.key else "default") if v else ""
        if kind == "user":
            return lambda v: self.users().get(v, "") if v else ""
        if kind == "unit":
            return lambda v: self.units().get(v, "") if v else ""
        if kind in ("date", "datetime"):
            return self._date
        if kind in ("integer", "decimal"):
            return self._number
        if kind == "boolean":
            return lambda v: "" if v is None else (_("Yes") if v else _("No"))
        if kind == "choice" and spec is not None:
            labels = {str(v): str(lbl) for v, lbl in (spec.choices or [])}
            return lambda v: labels.get(str(v), v) if v not in (None, "") else ""
        if kind == "picklist" and spec is not None:
            labels = self.picklist_labels(spec.picklist, spec.store_as)
            return lambda v: labels.get(v, v) if v not in (None, "") else ""
        if kind == "custom" and spec is not None:
            return self._custom_formatter(spec)
        if kind == "tags":
            return lambda v: ", ".join(v or [])
        return lambda v: "" if v is None else v

    def _custom_formatter(self, spec: registry.FieldSpec) -> Callable[[Any], Any]:
        if spec.type == "user":
            return lambda v: self.users().get(v, "") if v else ""
        if spec.type in ("choice", "multi_choice"):
            labels = {str(v): str(lbl) for v, lbl in (spec.choices or [])}

            def fmt(v: Any) -> Any:
                if v in (None, ""):
                    return ""
                if isinstance(v, list):
                    return ", ".join(labels.get(str(x), str(x)) for x in v)
                return labels.get(str(v), v)

            return fmt
        if spec.type == "boolean":
            return lambda v: "" if v is None else (_("Yes") if v else _("No"))
        if spec.type in ("integer", "decimal") and self.typed:
            return lambda v: self._number(Decimal(str(v))) if v not in (None, "") else ""
        return lambda v: "" if v is None else (", ".join(map(str, v)) if isinstance(v, list) else v)

    def header(self) -> list[str]:
        return [str(c.label) for c in self.columns]

    def rows(self, qs: Any, progress: Callable[[int], None] | None = None) -> Iterator[list[Any]]:
        tag_col = next((i for i, c in enumerate(self.columns) if c.kind == "tags"), None)
        refs = [(i, c) for i, c in enumerate(self.columns) if c.kind == "ref" and c.spec is not None]
        paths = self.paths
        if tag_col is not None and "pk" not in paths:
            paths = [*paths, "pk"]
        pk_pos = paths.index("pk") if "pk" in paths else None
        positions: list[int | None] = []
        p = 0
        for c in self.columns:
            if c.path:
                positions.append(p)
                p += 1
            else:
                positions.append(None)
        fmts = self.formatters
        escape = escape_cell if self.for_file else _as_is
        done = 0
        chunk: list[tuple[Any, ...]] = []
        for values in qs.values_list(*paths).iterator(chunk_size=CHUNK):
            chunk.append(values)
            if len(chunk) >= CHUNK:
                yield from self._chunk(chunk, positions, fmts, escape, tag_col, refs, pk_pos)
                done += len(chunk)
                chunk = []
                if progress is not None:
                    progress(done)
        if chunk:
            yield from self._chunk(chunk, positions, fmts, escape, tag_col, refs, pk_pos)
            done += len(chunk)
            if progress is not None:
                progress(done)

    def _chunk(
        self,
        chunk: list[tuple[Any, ...]],
        positions: list[int | None],
        fmts: list[Callable[[Any], Any]],
        escape: Callable[[Any], Any],
        tag_col: int | None,
        refs: list[tuple[int, ExportColumn]],
        pk_pos: int | None,
    ) -> Iterator[list[Any]]:
        tags: dict[int, list[str]] = {}
        if tag_col is not None and pk_pos is not None:
            from .bulk import tags_by_object

            tags = tags_by_object(self.model, [v[pk_pos] for v in chunk])
        ref_labels: dict[int, dict[Any, str]] = {}
        for i, col in refs:
            pos = positions[i]
            assert pos is not None and col.spec is not None
            ids = {v[pos] for v in chunk if v[pos]}
            model = col.spec.ref_model
            label_field = "number" if any(f.name == "number" for f in model._meta.concrete_fields) else "pk"
            name_field = "name" if any(f.name == "name" for f in model._meta.concrete_fields) else None
            fields = [f for f in ("pk", label_field, name_field) if f]
            labels = {}
            for row in model._default_manager.unrestricted().filter(pk__in=ids).values_list(*fields):
                labels[row[0]] = str(row[2] if name_field else row[1])
            ref_labels[i] = labels
        for values in chunk:
            out = []
            for i, pos in enumerate(positions):
                if pos is None:
                    v = tags.get(values[pk_pos], []) if (i == tag_col and pk_pos is not None) else ""
                else:
                    v = values[pos]
                if i in ref_labels:
                    cell = ref_labels[i].get(v, "") if v else ""
                else:
                    cell = fmts[i](v)
                out.append(escape(cell))
            yield out


# --- writers ----------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_stream(header: list[str], rows: Iterator[list[Any]]) -> Iterator[bytes]:
    """UTF-8 with BOM (Excel then opens Chinese text correctly), CRLF line ends."""
    writer = csv.writer(_Echo())
    yield "\ufeff".encode() + writer.writerow([escape_cell(h) for h in header]).encode()
    buf: list[str] = []
    for row in rows:
        buf.append(writer.writerow(row))
        if len(buf) >= 500:
            yield "".join(buf).encode()
            buf = []
    if buf:
        yield "".join(buf).encode()


def write_xlsx(fh: Any, header: list[str], rows: Iterator[list[Any]], title: str = "Export") -> None:
    from .xlsx import write_xlsx as stream_xlsx

    stream_xlsx(fh, [str(escape_cell(h)) for h in header], rows, title=title)


# --- services ---------------------------------------------------------------------------------


def check_export_allowed(user: Any, object_type: str, format: str | None = None) -> None:
    if access_registry.find(object_type) is None:
        raise ValidationError({"object_type": [_("Unknown object type.")]})
    if user is None or not has_perm(user, object_type, "export"):
        raise PermissionDeniedError(_("You do not have permission to export these records."))
    if format is not None and format not in ExportRun.Format.values:
        raise ValidationError({"format": [_("Choose csv or xlsx.")]})


def _file_name(object_type: str, format: str) -> str:
    return f"{object_type}-{timezone.localtime().strftime('%Y%m%d-%H%M%S')}.{format}"


def _write_xlsx(fh: Any, renderer: Renderer, rows: Iterator[list[Any]]) -> None:
    """The sheet is named after the object type (in the active language)."""
    title = str(access_registry.get(renderer.object_type).label_plural)
    write_xlsx(fh, renderer.header(), rows, title=title)


def _audit_export(
    user: Any,
    object_type: str,
    fmt: str,
    rows: int,
    filters: Any,
    columns: list[str],
    masked: bool,
    export_id: Any = None,
) -> None:
    audit_log(
        actor=user,
        action=AuditAction.EXPORT,
        object_type=object_type,
        object_id=f"export:{export_id}" if export_id else "",
        object_repr=f"{object_type} → {fmt}",
        data={
            "object_type": object_type,
            "format": fmt,
            "rows": rows,
            "filters": filters or {},
            "columns": columns,
            "masked": masked,
            "export": export_id,
        },
    )


@service
def export_create(
    *,
    actor: Any,
    object_type: str,
    format: str = "csv",
    filters: Any = None,
    columns: Any = None,
    lenient_columns: bool = False,
) -> ExportRun:
    """Validate the export and queue it as a background job (the file is offered for download)."""
    from huoban.platform.jobs.services import job_enqueue

    user = actor_user(actor)
    check_export_allowed(user, object_type, format)
    filters = filters or {}
    if not isinstance(filters, dict):
        raise ValidationError({"filters": [_("Expected an object of filters.")]})
    if columns is not None and not isinstance(columns, list):
        raise ValidationError({"columns": [_("Expected a list of column names.")]})
    cols = resolve_columns(object_type, columns, lenient=lenient_columns)
    export_queryset(user, object_type, filters)  # validates the filters now, not in the job
    run = ExportRun.objects.create(
        object_type=object_type,
        format=format,
        filters=filters,
        columns=[c.key for c in cols],
        created_by=user,
    )
    label = access_registry.get(object_type).label_plural
    job = job_enqueue(
        kind="transfer.export",
        actor=actor,
        params={"export": run.pk},
        title=(_("Export of %(what)s") % {"what": label})[:200],
        notify=False,
    )
    ExportRun.objects.filter(pk=run.pk).update(job=job)
    run.refresh_from_db()
    return run


@service
def export_execute(run: ExportRun, progress: Any = None) -> ExportRun:
    user = run.created_by
    check_export_allowed(user, run.object_type)
    ExportRun.objects.filter(pk=run.pk).update(status=ExportRun.Status.RUNNING)
    from .jobs import user_language

    with translation.override(user_language(user)):
        qs = export_queryset(user, run.object_type, run.filters)
        total = qs.count()
        cols = resolve_columns(run.object_type, run.columns)
        renderer = Renderer(user, run.object_type, cols, typed=run.format == "xlsx")

        def tick(done: int) -> None:
            if progress is not None and total:
                progress(min(99, done * 100 / total))

        name = _file_name(run.object_type, run.format)
        with tempfile.TemporaryFile() as tmp:
            rows = renderer.rows(qs, tick)
            if run.format == "xlsx":
                _write_xlsx(tmp, renderer, rows)
            else:
                for chunk in csv_stream(renderer.header(), rows):
                    tmp.write(chunk)
            tmp.seek(0)
            if run.file:
                run.file.delete(save=False)
            run.file.save(name, File(tmp, name=name), save=False)
    run.file_name = name
    run.file_size = run.file.size
    run.row_count = total
    run.masked = renderer.masked
    run.status = ExportRun.Status.DONE
    run.progress = 100
    run.finished_at = timezone.now()
    run.save(
        update_fields=[
            "file",
            "file_name",
            "file_size",
            "row_count",
            "masked",
            "status",
            "progress",
            "finished_at",
        ]
    )
    _audit_export(
        user, run.object_type, run.format, total, run.filters, list(run.columns), run.masked, run.pk
    )
    from django.utils.translation import gettext_noop

    from huoban.platform.notifications.services import notify

    notify(
        recipient=user,
        verb="export.done",
        title=gettext_noop("Export ready: %(file)s"),
        title_args={"file": name},
        body=str(total),
        url=f"/exports/{run.pk}/",
        data={"export": run.pk, "rows": total},
    )
    return run


@service
def export_stream(
    *, actor: Any, object_type: str, format: str = "csv", filters: Any = None, columns: Any = None
) -> tuple[str, str, Any, int]:
    """A small export made right away: (file name, content type, body iterator/bytes, rows).

    Raises ValidationError when the list is larger than HUOBAN_EXPORT_STREAM_MAX (use a job).
    """
    user = actor_user(actor)
    check_export_allowed(user, object_type, format)
    qs = export_queryset(user, object_type, filters or {})
    total = qs.count()
    if total > STREAM_MAX_ROWS:
        raise ValidationError(
            {
                "filters": [
                    _("%(n)d rows: exports of more than %(m)d rows run in the background.")
                    % {"n": total, "m": STREAM_MAX_ROWS}
                ]
            }
        )
    cols = resolve_columns(object_type, columns)
    renderer = Renderer(user, object_type, cols, typed=format == "xlsx")
    name = _file_name(object_type, format)
    _audit_export(user, object_type, format, total, filters, [c.key for c in cols], renderer.masked)
    if format == "xlsx":
        buf = io.BytesIO()
        _write_xlsx(buf, renderer, renderer.rows(qs))
        return (
            name,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            buf.getvalue(),
            total,
        )
    return name, "text/csv; charset=utf-8", csv_stream(renderer.header(), renderer.rows(qs)), total


def visible_exports(user: Any) -> Any:
    from .services import own_or_all

    return own_or_all(user, ExportRun.objects.select_related("created_by"))


def mark_downloaded(run: ExportRun) -> None:
    ExportRun.objects.filter(pk=run.pk).update(downloaded_at=timezone.now())
