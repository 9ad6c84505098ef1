"""The cleaning report (清洗报告) and the error file of an import run.

The error file holds the rejected rows exactly as they were read (same columns, same format, and
for CSV the same encoding and delimiter) plus one error column, so a user fixes the cells and
imports the file again with the same mapping. Cells that would run as spreadsheet formulas are
prefixed with ' (the import strips that prefix again).
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
from collections.abc import Iterator
from typing import Any

from django.utils.translation import gettext as _

from huoban.platform.access import registry as access_registry
from huoban.platform.access.scoping import scoped

from .exporting import Renderer, available_columns, escape_cell
from .models import ImportRowIssue, ImportRun, ImportSample
from .registry import all_fields, get_importer
from .transforms import cell_text

SAMPLE_SHOWN = 200  # sampled rows per report page (the API's default; the report page shows 25)


def _error_text(issue: ImportRowIssue) -> str:
    parts = []
    for e in issue.errors or []:
        col = e.get("column") or ""
        parts.append(f"{col}: {e.get('message', '')}" if col else str(e.get("message", "")))
    return "; ".join(parts)


def _issues(run: ImportRun, include_skipped: bool) -> Any:
    qs = ImportRowIssue.objects.filter(run=run)
    if not include_skipped:
        qs = qs.filter(kind=ImportRowIssue.Kind.REJECTED)
    return qs.order_by("row")


def error_file_name(run: ImportRun) -> str:
    base, ext = os.path.splitext(run.file_name or "import")
    if run.file_format == "json":
        ext = ".json"
    elif run.file_format == "jsonl":
        ext = ".jsonl"
    elif run.file_format == "xlsx":
        ext = ".xlsx"
    else:
        ext = ext if ext.lower() in (".csv", ".txt", ".tsv") else ".csv"
    return f"{base}-errors{ext}"


def error_rows(run: ImportRun, include_skipped: bool = False) -> Iterator[tuple[list[Any], str, int]]:
    width = len(run.headers or [])
    for issue in _issues(run, include_skipped).iterator(chunk_size=2000):
        raw = list(issue.raw or [])
        if issue.kind == ImportRowIssue.Kind.SKIPPED and not raw:
            raw = []
        cells = (raw + [""] * width)[: max(width, len(raw))]
        yield cells, _error_text(issue), issue.row


def error_file(run: ImportRun, *, include_skipped: bool = False) -> tuple[str, str, bytes]:
    """(file name, content type, body) of the error file, in the upload's format."""
    name = error_file_name(run)
    headers = list(run.headers or [])
    error_header = _("Error")
    if run.file_format == "xlsx":
        from .xlsx import write_xlsx

        rows = (
            [escape_cell(_xlsx_cell(c)) for c in cells] + [error]
            for cells, error, _r in error_rows(run, include_skipped)
        )
        with tempfile.TemporaryFile() as tmp:
            write_xlsx(
                tmp,
                [str(escape_cell(h)) for h in [*headers, error_header]],
                rows,
                title=run.sheet or "Sheet1",
            )
            tmp.seek(0)
            return name, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", tmp.read()
    if run.file_format in ("json", "jsonl"):
        import json

        items = []
        for cells, error, row in error_rows(run, include_skipped):
            obj = {h: c for h, c in zip(headers, cells, strict=False) if c not in (None, "")}
            obj["_row"] = row
            obj["_error"] = error
            items.append(obj)
        if run.file_format == "jsonl":
            body = "\n".join(json.dumps(i, ensure_ascii=False) for i in items) + ("\n" if items else "")
        else:
            body = json.dumps(items, ensure_ascii=False, indent=1)
        return name, "application/json; charset=utf-8", body.encode()
    encoding = run.encoding or "utf-8"
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=run.delimiter or ",", lineterminator="\r\n")
    writer.writerow([*headers, error_header])
    for cells, error, _row in error_rows(run, include_skipped):
        writer.writerow([escape_cell(cell_text(c)) for c in cells] + [error])
    text = buf.getvalue()
    content_type = f"text/csv; charset={'utf-8' if encoding == 'utf-8-sig' else encoding}"
    return name, content_type, text.encode(encoding, errors="replace")


def _xlsx_cell(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return cell_text(value)


def _record_values(run: ImportRun, user: Any, ids: list[int]) -> dict[int, dict[str, str]]:
    """Current values of sampled records as an export shows them (labels of choices, picklists,
    users and references; tags; sensitive fields masked unless permitted), through the user's
    scope: {record id: {field: text}}."""
    ot = access_registry.find(run.object_type)
    if ot is None or not ids:
        return {}
    by_key = {c.key: c for c in available_columns(run.object_type)}
    mapped = [by_key[f] for f in dict.fromkeys((run.mapping or {}).values()) if f in by_key and f != "id"]
    columns = [by_key["id"], *mapped]
    renderer = Renderer(user, run.object_type, columns, typed=False, for_file=False)
    out: dict[int, dict[str, str]] = {}
    for cells in renderer.rows(scoped(user, ot.model).filter(pk__in=ids)):
        out[int(cells[0])] = {
            c.key: "" if v is None else str(v) for c, v in zip(mapped, cells[1:], strict=True)
        }
    return out


def report(
    run: ImportRun,
    user: Any,
    *,
    limit: int = 200,
    offset: int = 0,
    sample_limit: int = SAMPLE_SHOWN,
    sample_offset: int = 0,
) -> dict[str, Any]:
    """The cleaning report as JSON (API and the report page): rejected rows from ``offset``
    (``limit`` of them), skipped rows, and the spot-check sample from ``sample_offset``."""
    headers = list(run.headers or [])
    importer = get_importer(run.object_type) if access_registry.find(run.object_type) else None
    labels = {f.name: f.display_label() for f in all_fields(importer)} if importer else {}
    rejected_qs = ImportRowIssue.objects.filter(run=run, kind=ImportRowIssue.Kind.REJECTED).order_by("row")
    rejected = []
    for issue in rejected_qs[offset : offset + limit]:
        raw = list(issue.raw or [])
        rejected.append(
            {
                "row": issue.row,
                "errors": issue.errors,
                "cells": {h: cell_text(c) for h, c in zip(headers, raw, strict=False) if h},
            }
        )
    skipped = [
        {"row": i.row, "message": _error_text(i)}
        for i in ImportRowIssue.objects.filter(run=run, kind=ImportRowIssue.Kind.SKIPPED).order_by("row")[
            :limit
        ]
    ]
    sample_qs = ImportSample.objects.filter(run=run).order_by("row")
    samples = list(sample_qs[sample_offset : sample_offset + sample_limit])
    values = _record_values(run, user, [s.object_id for s in samples])
    order = {h: i for i, h in enumerate(headers)}
    mapped = [
        (column, field_name)
        for column, field_name in sorted(
            (run.mapping or {}).items(), key=lambda kv: order.get(kv[0], 1 << 30)
        )
        if field_name
    ]
    pairs = []
    for s in samples:
        record = values.get(s.object_id)
        if record is None:
            continue  # removed since, or outside the viewer's scope
        columns = [
            {
                "column": column,
                "source": s.source.get(column, ""),
                "field": field_name,
                "label": labels.get(field_name, field_name),
                "value": record.get(field_name, ""),
            }
            for column, field_name in mapped
        ]
        pairs.append({"row": s.row, "action": s.action, "object_id": s.object_id, "columns": columns})
    return {
        "id": run.pk,
        "status": run.status,
        "dry_run": run.dry_run,
        "counts": run.counts,
        "blank": run.blank,
        "conserved": sum(run.counts[k] for k in ("created", "updated", "skipped", "rejected")) == run.read,
        "errors_by_column": (run.summary or {}).get("errors_by_column", {}),
        "rejected": rejected,
        "rejected_total": rejected_qs.count(),
        "skipped": skipped,
        "sample": pairs,
        "sample_total": sample_qs.count(),
        "sample_offset": sample_offset,
        "sample_note": _(
            "A random sample of about one imported row in ten (at most 1,000), beside the records as they are now."
        ),
        "undo": run.undo_result or None,
    }
