"""The bulk write path of imports: prepared multi-row INSERT … RETURNING id, id ranges.

Django's ``bulk_create`` spends ~90 µs per row of a 25-column model on per-field bookkeeping
(pre_save, get_db_prep_save for every field of every object) — more than the database needs for
the insert itself. Imports prepare each column once per run (a converter only where the database
representation differs from the Python value) and send multi-row INSERT statements that return
the new ids. Like ``bulk_create`` this calls neither ``save()`` nor signals; importers that need
derived columns declare a ``derive`` hook. See docs/import-export.md ("Bulk path").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, models

MISSING = object()
_JSON = DjangoJSONEncoder(ensure_ascii=False)


def _json_param(v: Any) -> str | None:
    """A JSON column's value (one encoder for the run: ``json.dumps(cls=…)`` builds one per call)."""
    if v is None:
        return None
    if not v and isinstance(v, dict | list):
        return "{}" if isinstance(v, dict) else "[]"
    return _JSON.encode(v)


@dataclass
class Column:
    name: str  # model field name (attname for FKs)
    column: str
    prep: Callable[[Any], Any] | None  # python value -> db param (None: pass as is)
    default: Any  # db param used when the row has no value


def _prep_for(field: models.Field) -> Callable[[Any], Any] | None:
    from huoban.platform.records.encryption import EncryptedTextField

    if isinstance(field, EncryptedTextField):
        return lambda v: field.get_db_prep_save(v, connection) if v else ("" if v is None else v)
    if isinstance(field, models.JSONField):
        return _json_param
    if isinstance(
        field,
        models.ForeignKey | models.BooleanField | models.CharField | models.TextField | models.IntegerField,
    ):
        return None  # the Python value is the database value
    return lambda v: field.get_db_prep_save(v, connection)


def insert_columns(model: type[models.Model]) -> list[Column]:
    """Every concrete column except the auto primary key, with its converter and default."""
    cols = []
    for f in model._meta.concrete_fields:
        if f.primary_key and isinstance(f, models.AutoField):
            continue
        prep = _prep_for(f)
        if f.has_default():
            default = f.get_default()
            default = prep(default) if prep else default
        elif f.null:
            default = None
        elif isinstance(f, models.CharField | models.TextField):
            default = ""
        else:
            default = None
        cols.append(Column(f.attname, str(f.column), prep, default))
    return cols


def max_rows_per_statement(ncols: int) -> int:
    if connection.vendor == "sqlite":
        limit = 32766
        try:
            import sqlite3

            raw = connection.connection
            if raw is not None and hasattr(raw, "getlimit"):
                limit = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        except Exception:
            limit = 999
        return max(1, min(500, limit // ncols))
    return max(1, min(1000, 65000 // ncols))


Spec = tuple[str, Callable[[Any], Any] | None, Any]


def param_specs(columns: Sequence[Column]) -> list[Spec]:
    return [(c.name, c.prep, c.default) for c in columns]


def row_params(specs: Sequence[Spec], row: dict[str, Any]) -> list[Any]:
    """One row's statement parameters in column order (converted; defaults where missing)."""
    get = row.get
    return [
        default if (v := get(name, MISSING)) is MISSING else (prep(v) if prep else v)
        for name, prep, default in specs
    ]


def insert_rows(
    model: type[models.Model],
    columns: Sequence[Column],
    rows: Sequence[dict[str, Any]],
    *,
    returning: bool = True,
    ignore_conflicts: bool = False,
) -> list[int]:
    """Insert ``rows`` (dicts keyed by Column.name) and return their new ids, in row order."""
    specs = param_specs(columns)
    params = [row_params(specs, row) for row in rows]
    return insert_params(model, columns, params, returning=returning, ignore_conflicts=ignore_conflicts)


def insert_params(
    model: type[models.Model],
    columns: Sequence[Column],
    rows: Sequence[Sequence[Any]],
    *,
    returning: bool = True,
    ignore_conflicts: bool = False,
) -> list[int]:
    """Insert rows given as ready parameters (one sequence per row, in ``columns`` order, as
    ``row_params`` makes them) and return their new ids, in row order."""
    if not rows:
        return []
    connection.ensure_connection()
    if connection.vendor == "postgresql" and not ignore_conflicts:
        return _copy_rows(model, columns, rows, returning=returning)
    table = connection.ops.quote_name(model._meta.db_table)
    pk = connection.ops.quote_name(str(model._meta.pk.column))
    col_sql = ", ".join(connection.ops.quote_name(c.column) for c in columns)
    # SQLite: "?" on the driver's cursor — Django's wrapper would rewrite every "%s" of a
    # 20,000-placeholder statement with a regex, and the unchanged text lets sqlite3 reuse the
    # prepared statement of the previous chunk.
    sqlite = connection.vendor == "sqlite"
    mark = "?" if sqlite else "%s"
    placeholder = "(" + ", ".join([mark] * len(columns)) + ")"
    per = max_rows_per_statement(len(columns))
    ids: list[int] = []
    with connection.cursor() as cursor:
        execute = cursor.cursor if sqlite else cursor
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            params: list[Any] = []
            extend = params.extend
            for row in chunk:
                extend(row)
            sql = f"INSERT INTO {table} ({col_sql}) VALUES {', '.join([placeholder] * len(chunk))}"
            if ignore_conflicts:
                sql += " ON CONFLICT DO NOTHING"
            if returning:
                sql += f" RETURNING {pk}"
            execute.execute(sql, params)
            if returning:
                # ids of one statement are allocated in VALUES order (the same assumption Django's
                # bulk_create makes); sorting protects against RETURNING emitting them out of order.
                ids.extend(sorted(r[0] for r in execute.fetchall()))
    return ids


def _copy_rows(
    model: type[models.Model], columns: Sequence[Column], rows: Sequence[Sequence[Any]], *, returning: bool
) -> list[int]:
    """PostgreSQL: ids reserved from the table's sequence in one query, rows sent with COPY."""
    table = connection.ops.quote_name(model._meta.db_table)
    pk_col = str(model._meta.pk.column)
    auto_pk = isinstance(model._meta.pk, models.AutoField)
    ids: list[int] = []
    with connection.cursor() as cursor:
        raw = cursor.cursor
        names = [c.column for c in columns]
        if auto_pk and returning:
            raw.execute("SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, pk_col])
            (sequence,) = raw.fetchone()
            raw.execute("SELECT nextval(%s) FROM generate_series(1, %s)", [sequence, len(rows)])
            ids = [r[0] for r in raw.fetchall()]
            names = [pk_col, *names]
        col_sql = ", ".join(connection.ops.quote_name(n) for n in names)
        with raw.copy(f"COPY {table} ({col_sql}) FROM STDIN") as copy:
            write_row = copy.write_row
            if ids:
                for pk, row in zip(ids, rows, strict=True):
                    write_row((pk, *row))
            else:
                for row in rows:
                    write_row(row)
    return ids


def fast_insert(
    model: type[models.Model], rows: Sequence[dict[str, Any]], *, ignore_conflicts: bool = False
) -> None:
    """Insert plain rows (dicts keyed by attname) into a simple table, without returning ids."""
    if rows:
        insert_rows(model, insert_columns(model), rows, returning=False, ignore_conflicts=ignore_conflicts)


def insert_tuples(
    model: type[models.Model],
    names: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    defaults: dict[str, Any] | None = None,
) -> None:
    """Insert plain rows given as tuples of ``names`` (attnames, values as the database takes
    them); every other column gets ``defaults`` or its own default. No ids are returned."""
    rows = list(rows)
    if not rows:
        return
    by_name = {c.name: c for c in insert_columns(model)}
    rest = [c for c in by_name.values() if c.name not in names]
    extra = []
    for c in rest:
        v = (defaults or {}).get(c.name, MISSING)
        extra.append(c.default if v is MISSING else (c.prep(v) if c.prep else v))
    columns = [by_name[n] for n in names] + rest
    insert_params(model, columns, [[*r, *extra] for r in rows], returning=False)


def tags_by_object(model: type[models.Model], ids: Iterable[Any]) -> dict[int, list[str]]:
    """Tag names of many records in one query ({record id: [names]}), for import and export."""
    from django.contrib.contenttypes.models import ContentType

    from huoban.platform.records.models import TaggedItem

    ct = ContentType.objects.get_for_model(model)
    out: dict[int, list[str]] = {}
    for oid, name in TaggedItem.objects.filter(content_type=ct, object_id__in=list(ids)).values_list(
        "object_id", "tag__name"
    ):
        out.setdefault(oid, []).append(name)
    return out


def to_ranges(ids: Iterable[int]) -> list[list[int]]:
    """[1, 2, 3, 7, 8] → [[1, 3], [7, 8]] (compact undo journal for millions of ids)."""
    out: list[list[int]] = []
    for i in sorted(ids):
        if out and i == out[-1][1] + 1:
            out[-1][1] = i
        else:
            out.append([i, i])
    return out


def from_ranges(ranges: Iterable[Sequence[int]]) -> Iterable[int]:
    for a, b in ranges:
        yield from range(a, b + 1)


def ranges_count(ranges: Iterable[Sequence[int]]) -> int:
    return sum(b - a + 1 for a, b in ranges)
