"""The import engine: stream rows → convert → validate → dedup → write in batches.

One ``Engine`` per run. Rows are read as a stream and processed in batches (default 5,000):

1. convert every mapped cell (``pipeline``); ragged rows, formula-like cells and undecodable
   characters are row errors;
2. resolve references (e.g. a contact's customer) with one query per batch;
3. classify each row in file order: domain validation, required fields, dedup against the
   records in the database and the rows before it (in-memory hash maps of normalised keys,
   loaded once per run) → create / update / skip / reject;
4. write the batch in one transaction together with its journal (``ImportBatch``: ids created,
   previous values of updated records), its rejected rows and the run's counters and checkpoint.
   A crashed run therefore resumes after its last committed row without duplicates.

A dry run does steps 1–3 for the whole file (projected counts) and keeps the first 100 rows with
every converted value and error for the preview.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import hashlib
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import DatabaseError, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import Entry, audit_log_many
from huoban.platform.errors import ValidationError
from huoban.platform.events.bus import emit
from huoban.platform.identity.actors import actor_user

from . import bulk, parallel
from .models import ImportBatch, ImportRowIssue, ImportRun, ImportSample
from .pipeline import AMBIGUOUS, EMPTY, Context, FieldConverter, RefValue, compile_field, display, jsonable
from .registry import FieldSpec, Importer, MatchKey, all_fields, get_importer
from .sources import Source, _BadRow, open_source
from .transforms import CellError, cell_text, key_hash, key_text, looks_like_formula, normalize_phone

log = logging.getLogger("huoban.transfer")

BATCH_SIZE = 5000
PREVIEW_ROWS = 100
SAMPLE_RATE = 0.10
SAMPLE_MAX = 1000

CREATED, UPDATED, SKIPPED, REJECTED = "created", "updated", "skipped", "rejected"


class LeaseLost(RuntimeError):
    """Another worker took over this run (or it was reset); stop without writing."""


# --- rows and operations ----------------------------------------------------------------------


@dataclass
class Row:
    row: int
    cells: list[Any]
    data: dict[str, Any] = field(default_factory=dict)
    errors: list[dict[str, str]] = field(default_factory=list)
    action: str = ""
    message: str = ""
    hashes: dict[str, int] = field(default_factory=dict)
    op: Op | None = None
    empties: list[str] | None = None  # mapped fields with an empty cell (update_empty)
    cleaned: bool = False  # the domain validation ran already (in ``prepare``)
    prepared: Prepared | None = None  # the insert, should the row create a record (``prepare``)


@dataclass
class Op:
    kind: str  # "create" | "update"
    rows: list[Row]
    data: dict[str, Any]
    target: int | None = None
    hashes: dict[str, int] = field(default_factory=dict)
    changes: dict[str, list[Any]] = field(default_factory=dict)
    before: dict[str, Any] = field(default_factory=dict)
    version: int = 0
    new_id: int | None = None

    @property
    def prepared(self) -> Prepared | None:
        """Its row's prepared INSERT; None once other rows merged into it (their values count)."""
        return self.rows[0].prepared if len(self.rows) == 1 else None


# A new record's INSERT parameters (in ``Engine.layout`` column order, the number and time stamps
# still to fill) and the importer's ``side_rows`` of it.
Prepared = tuple[list[Any], Any]


@dataclass
class Layout:
    columns: list[bulk.Column]
    specs: list[bulk.Spec]
    number: int | None  # positions filled at write time
    stamps: list[int]


@contextlib.contextmanager
def _collector_held() -> Iterator[None]:
    """The objects alive when the rows start to flow (the framework, the dedup maps) are kept out
    of the cyclic garbage collector's reach for the run (gc.freeze). An import allocates millions
    of short-lived containers, and each full collection would otherwise walk that whole heap
    again (~9 % of the reader's CPU, decision 0007). The reader process forks after this, so it
    inherits the frozen heap (and shares its pages instead of copying them)."""
    frozen_before = gc.get_freeze_count()
    gc.freeze()
    try:
        yield
    finally:
        if not frozen_before:  # a server process that froze its start-up heap keeps it frozen
            gc.unfreeze()


def _sample_rank(run_id: int, row: int) -> float:
    digest = hashlib.blake2b(f"{run_id}:{row}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") / 2**64


def _blank(cells: list[Any]) -> bool:
    for c in cells:
        if c is None:
            continue
        if c.__class__ is str:
            if c.strip():
                return False
        else:
            return False
    return True


# --- match keys -------------------------------------------------------------------------------


def _normalizer(spec: FieldSpec | None, mk: MatchKey) -> Callable[[Any], str]:
    if mk.normalize is not None:
        fn = mk.normalize
        name = spec.name if spec else ""
        return lambda v: fn(name, v)
    if spec is not None and spec.type == "phone":

        def phone(v: Any) -> str:
            try:
                return normalize_phone(v)
            except CellError:
                return "".join(ch for ch in cell_text(v) if ch.isdigit())

        return phone
    if spec is not None and spec.type == "email":
        return lambda v: cell_text(v).strip().lower()
    if spec is not None and spec.type == "datetime":

        def moment(v: Any) -> str:
            if isinstance(v, dt.datetime):
                if timezone.is_aware(v):
                    v = v.astimezone(dt.UTC)
                return v.replace(microsecond=0).isoformat()
            return key_text(v)

        return moment
    return key_text


class DedupIndex:
    """Normalised match keys of existing records (and of rows already taken from the file),
    as 64-bit hashes → record id (or -row number for rows not written yet)."""

    def __init__(self, keys: list[MatchKey], fields: dict[str, FieldSpec]):
        self.keys = keys
        self.maps: dict[str, dict[int, int]] = {k.key: {} for k in keys}
        self.attnames: set[str] = set()
        self.norms: dict[str, list[tuple[str, Callable[[Any], str]]]] = {
            k.key: [(f, _normalizer(fields.get(f), k)) for f in k.fields] for k in keys
        }
        self.fields = fields

    def hashes(self, data: dict[str, Any]) -> dict[str, int]:
        out = {}
        for key, parts in self.norms.items():
            values = []
            for name, norm in parts:
                v = data.get(name)
                if v is None or v == "" or v is EMPTY or v == []:
                    break
                n = norm(v)
                if not n:
                    break
                values.append(n)
            else:
                out[key] = key_hash(key, *values)
        return out

    def find(self, hashes: dict[str, int]) -> tuple[str, int] | None:
        for key, h in hashes.items():
            hit = self.maps[key].get(h)
            if hit is not None:
                return key, hit
        return None

    def add(self, hashes: dict[str, int], target: int) -> None:
        for key, h in hashes.items():
            self.maps[key].setdefault(h, target)

    def load(self, model: type[models.Model]) -> int:
        """Stream the match key values of every live record once (bounded memory: ints only)."""
        loaded = 0
        for key, parts in self.norms.items():
            paths = [self._db_path(name) for name, _n in parts]
            if any(p is None for p in paths):
                continue
            target = self.maps[key]
            manager: Any = model._default_manager
            qs = manager.unrestricted()
            if hasattr(qs, "alive"):
                qs = qs.alive()
            norms = [n for _name, n in parts]
            for pk, *values in qs.values_list("pk", *paths).order_by().iterator(chunk_size=10000):
                out = []
                for v, norm in zip(values, norms, strict=True):
                    if v is None or v == "":
                        break
                    n = norm(v)
                    if not n:
                        break
                    out.append(n)
                else:
                    target.setdefault(key_hash(key, *out), pk)
                    loaded += 1
        return loaded

    def _db_path(self, name: str) -> str | None:
        spec = self.fields.get(name)
        if spec is None:  # a derived column (e.g. name_key) matched as stored
            return name if name in self.attnames else None
        if spec.custom:
            return f"custom_fields__{spec.key}"
        if spec.type in ("ref", "user") or spec.store_as == "id":
            return f"{spec.name}_id"
        return spec.name


def custom_match_key(key: str) -> MatchKey | None:
    """Match keys named "cf:<key>" match on a custom field."""
    if key.startswith("cf:") or key.startswith("cf."):
        name = key[3:]
        return MatchKey(key, name, (f"cf.{name}",))
    return None


# --- the engine -------------------------------------------------------------------------------


class Engine:
    def __init__(self, run: ImportRun, *, actor: Any = None):
        self.run = run
        self.actor = actor if actor is not None else run.created_by
        self.importer: Importer = get_importer(run.object_type)
        self.model = self.importer.model
        fields = all_fields(self.importer)
        self.fields = {f.name: f for f in fields}
        self.ctx = Context.for_actor(self.actor)
        self.dry_run = run.dry_run
        self.dedup = run.dedup
        self.options = run.options or {}
        self.update_empty = bool(self.options.get("update_empty", False))
        self.batch_size = int(self.options.get("batch_size") or BATCH_SIZE)
        self.user = actor_user(self.actor)
        ot = self.importer.object_type
        self.can_assign = self.user is not None and has_perm(self.user, ot, "assign")
        self.can_change = self.user is not None and has_perm(self.user, ot, "change")
        self.attnames = {f.name: f.attname for f in self.model._meta.concrete_fields}
        self.headers: list[str] = list(run.headers or [])
        self.ncols = len(self.headers)
        self.converters: list[FieldConverter] = []
        self.column_for: dict[str, str] = {}
        self.required = [f for f in fields if f.required and f.importable]
        self.match_keys = self._match_keys()
        self.index = DedupIndex(self.match_keys, self.fields)
        self.index.attnames = set(self.attnames)
        self.audit_exclude = set(getattr(self.model, "audit_exclude", ()) or ())
        self.counts = {CREATED: 0, UPDATED: 0, SKIPPED: 0, REJECTED: 0, "read": 0, "blank": 0}
        self.preview: list[dict[str, Any]] = []
        self.errors_by_column: dict[str, int] = {}
        self.seq = 0
        self.lease = ""
        self.checkpoint = 0
        self.progress: Callable[..., None] | None = None
        self.source: Source | None = None
        self._tags_cache: dict[str, Any] = {}
        self._user_objects: dict[int, Any] = {}  # service path: owner ids → users, once per run
        self._created_side: list[Any] | None = None
        self._layout: Layout | None = None
        self.timings: dict[str, float] = {}
        self._fraction: float | None = None  # share of the file read, as the reader process reports it

    def _tick(self, stage: str, since: float) -> float:
        now = time.thread_time()
        self.timings[stage] = self.timings.get(stage, 0.0) + now - since
        return now

    def _manager(self) -> Any:
        return self.model._default_manager

    # --- setup ----------------------------------------------------------------------------

    def _match_keys(self) -> list[MatchKey]:
        names = self.run.match_keys or self.importer.default_match_keys
        keys = []
        for name in names:
            mk = self.importer.match_key(name) or custom_match_key(name)
            if mk is None:
                raise ValidationError({"match_keys": [_("Unknown match key “%(k)s”.") % {"k": name}]})
            keys.append(mk)
        return keys

    def compile(self) -> None:
        field_opts = self.options.get("fields") or {}
        global_opts = {
            k: v for k, v in self.options.items() if k in ("date_format", "decimal_separator", "phone_region")
        }
        columns: dict[str, list[int]] = {}
        header_index = {h: i for i, h in enumerate(self.headers)}
        mapping = self.run.mapping or {}
        # the file's column order (PostgreSQL's jsonb does not keep the keys' order)
        for column in sorted(mapping, key=lambda c: header_index.get(c, 1 << 30)):
            target = mapping[column]
            if target and column in header_index and target in self.fields:
                columns.setdefault(target, []).append(header_index[column])
        for name, opts in field_opts.items():
            if name in self.fields and name not in columns and (opts or {}).get("default") not in (None, ""):
                columns[name] = []
        for name, idxs in columns.items():
            spec = self.fields[name]
            if not spec.importable:
                continue
            opts = {**global_opts, **(field_opts.get(name) or {})}
            headers = [self.headers[i] for i in idxs]
            conv = compile_field(spec, idxs, headers, opts, self.ctx)
            self.converters.append(conv)
            self.column_for[name] = conv.column_label or spec.display_label()
        for spec in self.fields.values():
            self.column_for.setdefault(spec.name, spec.display_label())

    def label(self, name: str) -> str:
        return self.column_for.get(name) or name

    # --- row conversion -------------------------------------------------------------------

    def convert(self, row: Row) -> None:
        cells = row.cells
        if isinstance(cells, _BadRow):
            row.errors.append({"column": "", "field": "", "message": _("Not a JSON object.")})
            return
        n = len(cells)
        if n > self.ncols:
            extra = [c for c in cells[self.ncols :] if cell_text(c).strip()]
            if extra:
                row.errors.append(
                    {
                        "column": "",
                        "field": "",
                        "message": _(
                            "The row has %(n)d cells but the header has %(m)d: cells may be shifted."
                        )
                        % {"n": n, "m": self.ncols},
                    }
                )
                return
        data = row.data
        for fc in self.converters:
            cols = fc.columns
            if len(cols) == 1:
                i = cols[0]
                raw = cells[i] if i < n else None
            elif cols:
                parts = [cell_text(cells[i]).strip() for i in cols if i < n]
                parts = [p for p in parts if p]
                if not parts:
                    raw = None
                elif all(not p.isascii() for p in parts):
                    raw = "".join(parts)
                else:
                    raw = " ".join(parts)
            else:
                raw = None
            if raw.__class__ is str and raw:
                if raw[0] in "=+-@ \t" and looks_like_formula(raw.strip()):
                    row.errors.append(
                        {
                            "column": fc.column_label,
                            "field": fc.spec.name,
                            "message": _("Looks like a spreadsheet formula; formulas are not imported."),
                        }
                    )
                    continue
                if "\ufffd" in raw:
                    row.errors.append(
                        {
                            "column": fc.column_label,
                            "field": fc.spec.name,
                            "message": _("Characters could not be decoded: check the file encoding."),
                        }
                    )
                    continue
            try:
                value = fc.convert(raw)
                if value is EMPTY:
                    if fc.default is EMPTY:
                        if self.update_empty and fc.columns:
                            if row.empties is None:
                                row.empties = []
                            row.empties.append(fc.spec.name)
                        continue
                    value = fc.default
                for validator in fc.validators:
                    value = validator(value)
            except (CellError, ValueError) as exc:
                row.errors.append({"column": fc.column_label, "field": fc.spec.name, "message": str(exc)})
                continue
            data[fc.spec.name] = value

    def resolve_refs(self, rows: list[Row]) -> None:
        ref_fields = [fc.spec for fc in self.converters if fc.spec.type == "ref"]
        for spec in ref_fields:
            wanted = {r.data[spec.name].text for r in rows if isinstance(r.data.get(spec.name), RefValue)}
            if not wanted:
                continue
            found = self._lookup_refs(spec, wanted)
            for r in rows:
                ref = r.data.get(spec.name)
                if not isinstance(ref, RefValue):
                    continue
                hit = found.get(ref.text)
                if hit is None or hit == AMBIGUOUS:
                    del r.data[spec.name]
                    msg = (
                        _("“%(v)s” matches several records: use the number.")
                        if hit == AMBIGUOUS
                        else _("No %(what)s “%(v)s” that you can see.")
                    ) % {"v": ref.text[:60], "what": spec.display_label()}
                    r.errors.append({"column": self.label(spec.name), "field": spec.name, "message": msg})
                else:
                    r.data[spec.name] = hit

    def _lookup_refs(self, spec: FieldSpec, wanted: set[str]) -> dict[str, int]:
        model = spec.ref_model
        if model is None:
            return {}
        lookups = [name for name in spec.ref_lookups if name != "pk"]
        q = Q()
        for name in lookups:
            q |= Q(**{f"{name}__in": list(wanted)})
        digits = [int(w) for w in wanted if w.isdigit() and len(w) < 18]
        if digits:
            q |= Q(pk__in=digits)
        qs = scoped(self.user, model) if self.user is not None else model._default_manager.unrestricted()
        found: dict[str, int] = {}
        for pk, *values in qs.filter(q).values_list("pk", *lookups)[:50000]:
            for _name, value in zip(lookups, values, strict=True):
                if value in wanted:
                    found[value] = pk if found.get(value, pk) == pk else AMBIGUOUS
            if str(pk) in wanted and str(pk) not in found:
                found[str(pk)] = pk
        return found

    # --- classification -------------------------------------------------------------------

    def classify(self, rows: list[Row]) -> list[Op]:
        ops: list[Op] = []
        pending: dict[str, dict[int, Op]] = {mk.key: {} for mk in self.match_keys}
        updates: dict[int, Op] = {}
        clean = self.importer.clean_row
        dedup = self.dedup
        for row in rows:
            if row.action:  # blank
                continue
            if not row.errors and clean is not None and not row.cleaned:
                self._clean(row, clean)
            if row.errors:
                self._reject(row)
                continue
            data = row.data
            owner = data.get("owner")
            if owner is not None and self.user is not None and owner != self.user.pk and not self.can_assign:
                row.errors.append(
                    {
                        "column": self.label("owner"),
                        "field": "owner",
                        "message": _("You may not assign records to other users."),
                    }
                )
                self._reject(row)
                continue
            if not row.cleaned:  # else ``prepare`` computed them with the validated values
                row.hashes = self.index.hashes(data) if self.match_keys else {}
            hashes = row.hashes
            hit_op: Op | None = None
            hit_key = ""
            for key, h in hashes.items():
                hit_op = pending[key].get(h)
                if hit_op is not None:
                    hit_key = key
                    break
            hit_db = None if hit_op is not None else self.index.find(hashes)
            if dedup == ImportRun.Dedup.SKIP and (hit_op is not None or hit_db is not None):
                self._skip_duplicate(row, hit_op, hit_key, hit_db)
                continue
            if dedup == ImportRun.Dedup.UPDATE and hit_op is not None:
                self._merge(hit_op, row)
                row.action, row.op = UPDATED, hit_op
                row.message = _("Merged into the record from row %(n)d (same %(key)s).") % {
                    "n": hit_op.rows[0].row,
                    "key": self._key_label(hit_key),
                }
                continue
            if dedup == ImportRun.Dedup.UPDATE and hit_db is not None:
                key, target = hit_db
                if target < 0:  # dry run: a row earlier in the file
                    row.action = UPDATED
                    row.message = _("Updates the record from row %(n)d (same %(key)s).") % {
                        "n": -target,
                        "key": self._key_label(key),
                    }
                    continue
                if not self.can_change:
                    self._skip(row, _("Matches an existing record; you may not change records."))
                    continue
                op = updates.get(target)
                if op is None:
                    op = updates[target] = Op("update", [], {}, target=target)
                    ops.append(op)
                self._merge(op, row)
                row.action, row.op = UPDATED, op
                row.message = _("Updates an existing record (same %(key)s).") % {"key": self._key_label(key)}
                continue
            # a new record
            missing = self._missing_required(data)
            if missing:
                row.errors.extend(missing)
                self._reject(row)
                continue
            if dedup == ImportRun.Dedup.CREATE and (hit_op is not None or hit_db is not None):
                row.message = _("Possible duplicate (same %(key)s); created anyway.") % {
                    "key": self._key_label(hit_key or (hit_db[0] if hit_db else ""))
                }
            op = Op("create", [row], dict(data), hashes=hashes)
            ops.append(op)
            row.action, row.op = CREATED, op
            for key, h in hashes.items():
                pending[key].setdefault(h, op)
        return ops

    def _key_label(self, key: str) -> str:
        for mk in self.match_keys:
            if mk.key == key:
                return str(mk.label)
        return key

    def _clean(self, row: Row, clean: Callable[..., Any]) -> None:
        try:
            cleaned, errors = clean(dict(row.data))
        except ValidationError as exc:
            cleaned, errors = row.data, exc.errors
        row.errors.extend(self._field_errors(errors or {}))
        if not row.errors:
            # fields, plus derived columns the domain computed (e.g. a normalised name)
            row.data = {k: v for k, v in cleaned.items() if k in self.fields or k in self.attnames}

    def _missing_required(self, data: dict[str, Any]) -> list[dict[str, str]]:
        out = []
        for spec in self.required:
            if data.get(spec.name) in (None, "", EMPTY, []):
                out.append(
                    {
                        "column": self.label(spec.name),
                        "field": spec.name,
                        "message": _("“%(f)s” is required.") % {"f": spec.display_label()},
                    }
                )
        return out

    def _merge(self, op: Op, row: Row) -> None:
        op.rows.append(row)
        for k, v in row.data.items():
            if k == "tags" and isinstance(op.data.get("tags"), list):
                op.data["tags"] = list(dict.fromkeys([*op.data["tags"], *v]))
            else:
                op.data[k] = v

    def _reject(self, row: Row) -> None:
        row.action = REJECTED
        for e in row.errors:
            col = e.get("column") or "—"
            self.errors_by_column[col] = self.errors_by_column.get(col, 0) + 1

    def _skip(self, row: Row, message: str) -> None:
        row.action = SKIPPED
        row.message = message

    def _skip_duplicate(self, row: Row, hit_op: Op | None, key: str, hit_db: tuple[str, int] | None) -> None:
        if hit_op is not None:
            msg = _("Duplicate of row %(n)d in this file (same %(key)s).") % {
                "n": hit_op.rows[0].row,
                "key": self._key_label(key),
            }
        else:
            assert hit_db is not None
            key, target = hit_db
            if target < 0:
                msg = _("Duplicate of row %(n)d in this file (same %(key)s).") % {
                    "n": -target,
                    "key": self._key_label(key),
                }
            else:
                msg = _("Duplicate of an existing record (same %(key)s).") % {"key": self._key_label(key)}
        self._skip(row, msg)

    # --- updates of existing records ------------------------------------------------------

    def prepare_updates(self, ops: list[Op]) -> None:
        targets = [op.target for op in ops if op.kind == "update" and op.target is not None]
        if not targets:
            return
        allowed = set(
            scoped(self.user, self.model, "change").filter(pk__in=targets).values_list("pk", flat=True)
        )
        names = {k for op in ops if op.kind == "update" for k in op.data}
        names |= {n for op in ops if op.kind == "update" for r in op.rows for n in (r.empties or ())}
        model_fields = [
            n for n in names if n in self.attnames and not (n in self.fields and self.fields[n].custom)
        ]
        attnames = [self.attnames[n] for n in model_fields]
        if "owner" in names and "owner_unit" in self.attnames:
            attnames.append("owner_unit_id")
        current = {
            row["pk"]: row
            for row in self._manager()
            .unrestricted()
            .filter(pk__in=targets)
            .values("pk", "version", "custom_fields", *attnames)
        }
        tag_map = bulk.tags_by_object(self.model, targets) if "tags" in names else {}
        for op in ops:
            if op.kind != "update":
                continue
            cur = current.get(op.target)
            if cur is None or op.target not in allowed:
                for r in op.rows:
                    self._skip(r, _("Matches an existing record you may not change."))
                op.kind = "none"
                continue
            op.version = cur["version"]
            changes: dict[str, list[Any]] = {}
            before: dict[str, Any] = {}
            cleared = {n for r in op.rows for n in (r.empties or ()) if n not in op.data}
            for name in cleared:  # update_empty: an empty cell clears the stored value
                if self.fields[name].custom:
                    op.data[name] = None
                elif name == "tags":
                    continue
                elif name in self.attnames:
                    f = self.model._meta.get_field(name)
                    op.data[name] = None if getattr(f, "null", False) else ""
            for name, value in op.data.items():
                spec = self.fields.get(name)
                if spec is None and name not in self.attnames:
                    continue
                if spec is not None and (not spec.updatable or not spec.importable):
                    continue
                if value in (None, "", EMPTY, []) and not self.update_empty:
                    continue
                if spec is not None and spec.custom:
                    old = (cur["custom_fields"] or {}).get(spec.key)
                    new = jsonable(value)
                elif name == "tags":
                    old = tag_map.get(op.target or 0, [])
                    new = sorted(set(old) | set(value))
                else:
                    old = cur[self.attnames[name]]
                    new = value
                if _same(old, new):
                    continue
                changes[name] = [old, new]
                before[name] = old
                if name == "owner" and "owner_unit_id" in cur:
                    unit = self.ctx.user_units.get(new)
                    if unit != cur["owner_unit_id"]:
                        changes["owner_unit"] = [cur["owner_unit_id"], unit]
                        before["owner_unit"] = cur["owner_unit_id"]
            if not changes:
                for r in op.rows:
                    self._skip(r, _("Identical to the existing record: nothing to update."))
                op.kind = "none"
                continue
            op.changes = changes
            op.before = before
            op.data = {"custom_fields": dict(cur["custom_fields"] or {}), "_values": op.data}

    # --- writing --------------------------------------------------------------------------

    def insert_values(self, data: dict[str, Any]) -> dict[str, Any]:
        """A new record's column values from its row's (validated) data."""
        out: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for name, value in data.items():
            spec = self.fields.get(name)
            if name == "tags":
                continue
            if spec is None:  # a derived column computed by the domain's clean_row
                if name in self.attnames:
                    out[self.attnames[name]] = value
                continue
            if spec.custom:
                custom[spec.key] = jsonable(value)
            else:
                out[self.attnames.get(name, name)] = value
        for spec in self.fields.values():
            if spec.custom and spec.key not in custom and spec.default not in (None, ""):
                custom[spec.key] = spec.default
        out["custom_fields"] = custom
        owner = data.get("owner")
        if owner is None and self.user is not None:
            owner = self.user.pk
        if "owner" in self.attnames:
            out["owner_id"] = owner
            out["owner_unit_id"] = self.ctx.user_units.get(owner) if owner is not None else None
            if owner is not None and owner not in self.ctx.user_units:
                out["owner_unit_id"] = getattr(self.user, "primary_unit_id", None)
        if self.importer.derive is not None:
            self.importer.derive(out)
        return out

    def write(self, rows: list[Row], ops: list[Op], first_row: int, last_row: int) -> None:
        now = timezone.now()
        creates = [op for op in ops if op.kind == "create"]
        updates = [op for op in ops if op.kind == "update"]
        t = time.thread_time()
        with transaction.atomic():
            locked = (
                ImportRun.objects.select_for_update()
                .filter(pk=self.run.pk)
                .values_list("lease", "checkpoint_row")
            )
            state = locked.first()
            if state is None or state[0] != self.lease or state[1] != self.checkpoint:
                raise LeaseLost(f"import {self.run.pk}: lease lost or checkpoint moved")
            if self.importer.create_service is not None:
                created_ids = self._write_slowly(creates, updates, now)
            else:
                try:
                    with transaction.atomic():
                        created_ids = self._insert(creates, now)
                        self._update(updates, now)
                        self._after_write(created_ids, [op.target for op in updates])
                except DatabaseError as exc:
                    log.warning("import %s: batch write failed (%s); retrying row by row", self.run.pk, exc)
                    created_ids = self._write_slowly(creates, updates, now)
            self._finish_batch(rows, creates, updates, created_ids, first_row, last_row, now)
            t = self._tick("write", t)
        t = self._tick("commit_events", t)
        for op in creates:
            if op.new_id is not None:
                self.index.add(
                    op.hashes, op.new_id if self.dedup == ImportRun.Dedup.UPDATE else -op.rows[0].row
                )

    def _insert(self, creates: list[Op], now: Any) -> list[int]:
        if not creates:
            return []
        from django.db import connection

        from huoban.platform.records.services import next_numbers

        layout = self.layout()
        rows: list[list[Any]] = []
        sides: list[Any] = []
        for op in creates:
            params, side = op.prepared if op.prepared is not None else self.prepare_insert(op.data)
            rows.append(params)
            sides.append(side)
        if layout.stamps:
            field: Any = self.model._meta.get_field(layout.columns[layout.stamps[0]].name)
            stamp = field.get_db_prep_save(now, connection)
            for params in rows:
                for i in layout.stamps:
                    params[i] = stamp
        if layout.number is not None:
            at = layout.number
            for params, number in zip(rows, next_numbers(self.importer.object_type, len(rows)), strict=True):
                params[at] = number
        ids = bulk.insert_params(self.model, layout.columns, rows)
        for op, pk in zip(creates, ids, strict=True):
            op.new_id = pk
        self._created_side = sides
        tagged = [(op.new_id, op.data["tags"]) for op in creates if op.data.get("tags")]
        if tagged:
            self._add_tags(tagged)
        return ids

    def layout(self) -> Layout:
        """The INSERT columns of new records: the number and the time stamps are filled at write
        time, the rest of a row's parameters can be prepared ahead (``prepare_insert``)."""
        if self._layout is None:
            uid = self.user.pk if self.user is not None else None
            cols = []
            number = None
            stamps = []
            for i, c in enumerate(bulk.insert_columns(self.model)):
                if c.name in ("created_by_id", "updated_by_id"):
                    c = bulk.Column(c.name, c.column, None, uid)
                elif c.name == "version":
                    c = bulk.Column(c.name, c.column, None, 1)
                elif c.name in ("created_at", "updated_at"):
                    c = bulk.Column(c.name, c.column, None, None)
                    stamps.append(i)
                elif self.importer.number_field and c.name == self.importer.number_field:
                    number = i
                cols.append(c)
            self._layout = Layout(cols, bulk.param_specs(cols), number, stamps)
        return self._layout

    def prepare_insert(self, data: dict[str, Any]) -> Prepared:
        """What a row inserts should it create a record: the statement parameters (see
        ``layout``) and the importer's ``side_rows`` for the related tables."""
        values = self.insert_values(data)
        side = self.importer.side_rows(values) if self.importer.side_rows is not None else None
        return bulk.row_params(self.layout().specs, values), side

    def _add_tags(self, tagged: list[tuple[int | None, list[str]]]) -> None:
        from huoban.platform.records.models import Tag, TaggedItem

        ct = ContentType.objects.get_for_model(self.model)
        names = {n for _pk, ns in tagged for n in ns}
        missing = [n for n in names if n not in self._tags_cache]
        if missing:
            for t in Tag.objects.filter(name__in=missing):
                self._tags_cache[t.name] = t.pk
            for n in missing:
                if n not in self._tags_cache:
                    self._tags_cache[n] = Tag.objects.get_or_create(name=n)[0].pk
        TaggedItem.objects.bulk_create(
            [
                TaggedItem(tag_id=self._tags_cache[n], content_type=ct, object_id=pk)
                for pk, ns in tagged
                if pk is not None
                for n in ns
            ],
            ignore_conflicts=True,
        )

    def _field_errors(self, errors: dict[str, Any], *, known_only: bool = False) -> list[dict[str, str]]:
        """{"field": [messages], "custom_fields": {key: [messages]}} as row errors; ``known_only``
        leaves the column empty for names that are not import fields (a service's own keys)."""
        out = []
        for name, messages in errors.items():
            if isinstance(messages, dict):  # custom_fields: {key: [messages]}
                for key, msgs in messages.items():
                    for m in msgs if isinstance(msgs, list) else [msgs]:
                        out.append(
                            {"column": self.label(f"cf.{key}"), "field": f"cf.{key}", "message": str(m)}
                        )
                continue
            known = not known_only or name in self.fields
            for m in messages if isinstance(messages, list) else [messages]:
                out.append(
                    {
                        "column": self.label(name) if known else "",
                        "field": name if known else "",
                        "message": str(m),
                    }
                )
        return out

    def _errors_of(self, exc: Exception) -> list[dict[str, str]]:
        if isinstance(exc, ValidationError):
            return self._field_errors(exc.errors, known_only=True)
        if isinstance(exc, _StaleRecord):
            return [
                {
                    "column": "",
                    "field": "",
                    "message": _("The record changed while importing; import the row again."),
                }
            ]
        if isinstance(exc, DatabaseError):
            return [
                {
                    "column": "",
                    "field": "",
                    "message": _("The database refused this row: %(e)s") % {"e": str(exc)[:200]},
                }
            ]
        return [{"column": "", "field": "", "message": str(getattr(exc, "message", exc))[:300]}]

    def _split(self, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any], list[str] | None]:
        """Values for a domain service, as a form would give them: users as ``User`` objects
        (``None`` for one deactivated meanwhile), custom fields and tags apart."""
        values: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        tags = None
        for name, value in data.items():
            spec = self.fields.get(name)
            if name == "tags":
                tags = value
            elif spec is not None and spec.custom:
                custom[spec.key] = jsonable(value)
            elif spec is not None and spec.type == "user" and value is not None:
                values[name] = self._user_object(value)
            else:
                values[name] = value
        return values, custom, tags

    def _user_object(self, pk: int) -> Any:
        if pk not in self._user_objects:
            from django.contrib.auth import get_user_model

            self._user_objects[pk] = get_user_model().objects.filter(pk=pk, is_active=True).first()
        return self._user_objects[pk]

    def _service_create(self, op: Op) -> int:
        assert self.importer.create_service is not None
        values, custom, tags = self._split(op.data)
        obj = self.importer.create_service(
            actor=self.actor, data=values, custom_fields=custom or None, tags=tags
        )
        op.new_id = obj.pk
        return obj.pk

    def _service_update(self, op: Op) -> None:
        assert self.importer.update_service is not None
        new_values = {k: v[1] for k, v in op.changes.items()}
        values, custom, tags = self._split(new_values)
        obj = self.importer.update_service(
            actor=self.actor,
            pk=op.target,
            data=values,
            custom_fields=custom or None,
            tags=tags,
            version=op.version,
        )
        op.version = getattr(obj, "version", op.version + 1)

    def _update(self, updates: list[Op], now: Any) -> None:
        uid = self.user.pk if self.user is not None else None
        manager = self.model._default_manager
        for op in updates:
            values: dict[str, Any] = {}
            custom = op.data.get("custom_fields") or {}
            custom_changed = False
            for name, (_old, new) in op.changes.items():
                spec = self.fields.get(name)
                if spec is None:  # owner_unit follows owner; derived columns
                    values[self.attnames[name]] = new
                elif spec.custom:
                    custom[spec.key] = new
                    custom_changed = True
                elif name == "tags":
                    continue
                else:
                    values[self.attnames[name]] = new
            if custom_changed:
                values["custom_fields"] = custom
            n = manager.filter(pk=op.target, version=op.version).update(
                **values, version=F("version") + 1, updated_at=now, updated_by_id=uid
            )
            if n != 1:
                raise _StaleRecord(op.target)
            op.version += 1
            if "tags" in op.changes:
                old, new = op.changes["tags"]
                added = [t for t in new if t not in old]
                if added:
                    self._add_tags([(op.target, added)])

    def _after_write(self, created_ids: list[int], updated_ids: list[Any]) -> None:
        hook = self.importer.after_write
        if hook is not None and (created_ids or updated_ids):
            sides = self._created_side if created_ids else None
            hook(
                actor=self.actor,
                created_ids=list(created_ids),
                updated_ids=list(updated_ids),
                created_side=sides if sides is not None and len(sides) == len(created_ids) else None,
            )
        self._created_side = None

    def _write_slowly(self, creates: list[Op], updates: list[Op], now: Any) -> list[int]:
        """Op by op, each in a savepoint: the per-row service path, and the fallback for a batch
        the database refused (only the rows of the ops that fail are rejected)."""
        from huoban.platform.errors import DomainError

        ids: list[int] = []
        service_create = self.importer.create_service
        service_update = self.importer.update_service
        for op in [*creates, *updates]:
            try:
                with transaction.atomic():
                    if op.kind == "create" and service_create is not None:
                        ids.append(self._service_create(op))
                    elif op.kind == "create":
                        new = self._insert([op], now)
                        ids.extend(new)
                        self._after_write(new, [])
                    elif service_update is not None:
                        self._service_update(op)
                    else:
                        self._update([op], now)
                        self._after_write([], [op.target])
            except (DatabaseError, _StaleRecord, DomainError) as exc:
                op.kind = "failed"
                op.new_id = None
                errors = self._errors_of(exc)
                for r in op.rows:
                    r.action = REJECTED
                    r.errors.extend(errors)
                    self._reject(r)
        creates[:] = [op for op in creates if op.kind == "create"]
        updates[:] = [op for op in updates if op.kind == "update"]
        return ids

    def _finish_batch(
        self,
        rows: list[Row],
        creates: list[Op],
        updates: list[Op],
        created_ids: list[int],
        first_row: int,
        last_row: int,
        now: Any,
    ) -> None:
        counts = {CREATED: 0, UPDATED: 0, SKIPPED: 0, REJECTED: 0, "read": 0, "blank": 0}
        issues: list[dict[str, Any]] = []
        samples: list[dict[str, Any]] = []
        run_id = self.run.pk
        sample_headers = self.headers
        for r in rows:
            action = r.action
            if action == "blank":
                counts["blank"] += 1
                continue
            counts["read"] += 1
            counts[action] += 1
            if action == REJECTED:
                issues.append(
                    {
                        "run_id": run_id,
                        "row": r.row,
                        "kind": ImportRowIssue.Kind.REJECTED,
                        "errors": r.errors,
                        "raw": [_raw(c) for c in r.cells],
                    }
                )
            elif action == SKIPPED:
                issues.append(
                    {
                        "run_id": run_id,
                        "row": r.row,
                        "kind": ImportRowIssue.Kind.SKIPPED,
                        "errors": [{"column": "", "field": "", "message": r.message}],
                        "raw": [],
                    }
                )
            elif r.op is not None:
                rank = _sample_rank(run_id, r.row)
                object_id = r.op.new_id if action == CREATED else r.op.target
                if rank < SAMPLE_RATE and object_id is not None:
                    samples.append(
                        {
                            "run_id": run_id,
                            "row": r.row,
                            "object_id": object_id,
                            "action": action,
                            "rank": rank,
                            "source": {
                                h: cell_text(c)[:500]
                                for h, c in zip(sample_headers, r.cells, strict=False)
                                if h
                            },
                        }
                    )
        self.seq += 1
        journal = [
            {"id": op.target, "before": _journal_values(self, op.before), "version": op.version}
            for op in updates
        ]
        ImportBatch.objects.create(
            run_id=run_id,
            seq=self.seq,
            first_row=first_row,
            last_row=last_row,
            created_ids=bulk.to_ranges(created_ids),
            updated=journal,
            counts=counts,
        )
        bulk.fast_insert(ImportRowIssue, issues)
        bulk.fast_insert(ImportSample, samples)
        self._audit(creates, updates, created_ids, first_row, last_row, counts)
        fraction = self.fraction()
        n = ImportRun.objects.filter(pk=run_id, lease=self.lease, checkpoint_row=self.checkpoint).update(
            read=F("read") + counts["read"],
            created=F("created") + counts[CREATED],
            updated=F("updated") + counts[UPDATED],
            skipped=F("skipped") + counts[SKIPPED],
            rejected=F("rejected") + counts[REJECTED],
            blank=F("blank") + counts["blank"],
            checkpoint_row=last_row,
            heartbeat_at=now,
            progress=min(99, int(fraction * 100)),
        )
        if n != 1:
            raise LeaseLost(f"import {run_id}: lease lost")
        self.checkpoint = last_row
        for k, v in counts.items():
            self.counts[k] += v

    def _audit(
        self,
        creates: list[Op],
        updates: list[Op],
        created_ids: list[int],
        first_row: int,
        last_row: int,
        counts: dict[str, int],
    ) -> None:
        ot = self.importer.object_type
        entries = []
        sensitive = {name for name, spec in self.fields.items() if spec.sensitive}
        if created_ids or updates:
            entries.append(
                Entry(
                    AuditAction.IMPORT,
                    ot,
                    f"import:{self.run.pk}",
                    self.run.file_name[:300],
                    {},
                    {
                        "import": self.run.pk,
                        "batch": self.seq,
                        "rows": [first_row, last_row],
                        "created": bulk.to_ranges(created_ids),
                        "updated": [op.target for op in updates],
                        "counts": counts,
                    },
                )
            )
        for op in updates:
            if self.importer.update_service is not None:
                continue  # the domain service audited the update itself
            changes = {
                k: (["•••", "•••"] if k in sensitive else [jsonable(a), jsonable(b)])
                for k, (a, b) in op.changes.items()
                if k not in self.audit_exclude
            }
            entries.append(
                Entry(
                    AuditAction.UPDATE,
                    ot,
                    op.target,
                    "",
                    changes,
                    {"import": self.run.pk, "row": op.rows[0].row},
                )
            )
        if entries:
            audit_log_many(actor=self.actor, entries=entries)
        if created_ids and self.importer.create_service is None:
            emit(self.importer.created_event, actor=self.actor, ids=created_ids, run=self.run.pk)
        if self.importer.update_service is None:
            for op in updates:
                emit(f"{ot}.updated", actor=self.actor, id=op.target, changes=list(op.changes))

    # --- the run --------------------------------------------------------------------------

    @property
    def clean_early(self) -> bool:
        """Whether the domain validation can run in ``prepare`` (before references are resolved
        and without the rows before): when the importer has it and no column is a reference."""
        return self.importer.clean_row is not None and not any(
            fc.spec.type == "ref" for fc in self.converters
        )

    def prepare(self, rows: list[Row], *, clean: bool = False) -> None:
        """The work on a batch that needs neither the database's records nor the rows before it:
        blank rows, cell conversion and (``clean``) the domain validation. The reader process
        (``parallel``) runs it while this process writes the batch before."""
        t = time.thread_time()
        for r in rows:
            if isinstance(r.cells, list) and not isinstance(r.cells, _BadRow) and _blank(r.cells):
                r.action = "blank"
            else:
                self.convert(r)
        t = self._tick("convert", t)
        if clean and self.importer.clean_row is not None:
            # the bulk path of a real run: the INSERT of each valid row too (most rows create)
            inserts = not self.dry_run and self.importer.create_service is None
            for r in rows:
                if not r.action and not r.errors:
                    self._clean(r, self.importer.clean_row)
                    r.cleaned = True
                    if not r.errors:
                        if self.match_keys:
                            r.hashes = self.index.hashes(r.data)
                        if inserts:
                            r.prepared = self.prepare_insert(r.data)
            self._tick("validate_dedup", t)

    def process(self, rows: list[Row], *, prepared: bool = False) -> list[Op]:
        if not prepared:  # the same preparation as the reader process does (parallel.py)
            self.prepare(rows, clean=self.clean_early)
        t = time.thread_time()
        self.resolve_refs([r for r in rows if not r.action])
        t = self._tick("convert", t)
        ops = self.classify(rows)
        self.prepare_updates(ops)
        self._tick("validate_dedup", t)
        return ops

    def batches(self) -> Iterable[list[Row]]:
        assert self.source is not None
        batch: list[Row] = []
        size = self.batch_size
        start = self.checkpoint
        for line, cells in self.source.rows():
            if line <= start:
                continue
            batch.append(Row(line, cells))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def execute(self, progress: Callable[..., None] | None = None, *, crash_after: int | None = None) -> None:
        """Run (or resume) the import; ``crash_after`` (tests) raises after that many batches."""
        from .sources import local_path

        self.progress = progress
        self.compile()
        run = self.run
        self.lease = uuid.uuid4().hex
        self.checkpoint = 0 if self.dry_run else run.checkpoint_row
        if not self.dry_run:
            for k in ("read", CREATED, UPDATED, SKIPPED, REJECTED, "blank"):
                self.counts[k] = getattr(run, k)
            last = (
                ImportBatch.objects.filter(run_id=run.pk)
                .order_by("-seq")
                .values_list("seq", flat=True)
                .first()
            )
            self.seq = last or 0
        reset: dict[str, Any] = {
            "lease": self.lease,
            "status": ImportRun.Status.RUNNING,
            "heartbeat_at": timezone.now(),
            "started_at": run.started_at or timezone.now(),
            "error": "",
        }
        if self.dry_run:
            reset.update(
                read=0, created=0, updated=0, skipped=0, rejected=0, blank=0, checkpoint_row=0, progress=0
            )
        ImportRun.objects.filter(pk=run.pk).update(**reset)
        started = time.monotonic()
        with local_path(str(run.file.name)) as path, contextlib.ExitStack() as held:
            source = open_source(
                path,
                run.file_format,
                encoding=run.encoding,
                delimiter=run.delimiter,
                sheet=run.sheet,
                header_row=run.header_row,
                columns=self.headers if run.file_format in ("json", "jsonl") else None,
            )
            self.source = source
            try:
                if source.headers != self.headers and run.file_format not in ("json", "jsonl"):
                    raise ValidationError({"file": [_("The file's header row changed since it was mapped.")]})
                if self.match_keys:
                    t = time.thread_time()
                    self.index.load(self.model)
                    self._tick("load_index", t)
                done = 0
                held.enter_context(_collector_held())
                reader = parallel.reader_for(self, path)
                batches = reader.batches() if reader is not None else iter(self.batches())
                prepared = reader is not None
                t = time.thread_time()
                try:
                    for batch in batches:
                        self._tick("read", t)
                        ops = self.process(batch, prepared=prepared)
                        if self.dry_run:
                            self._tally(batch, ops)
                        else:
                            self.write(batch, ops, batch[0].row, batch[-1].row)
                        for r in batch:  # row ⇄ op is a reference cycle: let refcounting free them
                            r.op = None
                        done += 1
                        if progress is not None:
                            progress(min(99, self.fraction() * 100), self._progress_message())
                        if crash_after is not None and done >= crash_after:
                            raise RuntimeError("simulated crash")
                        t = time.thread_time()
                finally:
                    if reader is not None:
                        reader.stop()
            finally:
                source.close()
        self._finish(time.monotonic() - started)

    def fraction(self) -> float:
        """The share of the file read so far (0–1)."""
        if self._fraction is not None:
            return self._fraction
        return self.source.fraction() if self.source is not None else 0.0

    def _progress_message(self) -> str:
        c = self.counts
        return _(
            "%(read)d rows read: %(created)d created, %(updated)d updated, %(skipped)d skipped, %(rejected)d rejected"
        ) % {
            "read": c["read"],
            "created": c[CREATED],
            "updated": c[UPDATED],
            "skipped": c[SKIPPED],
            "rejected": c[REJECTED],
        }

    def _tally(self, rows: list[Row], ops: list[Op]) -> None:
        for r in rows:
            if r.action == "blank":
                self.counts["blank"] += 1
                continue
            self.counts["read"] += 1
            self.counts[r.action] += 1
            if len(self.preview) < PREVIEW_ROWS:
                self.preview.append(self._preview_row(r))
        for op in ops:
            if op.kind == "create":
                self.index.add(op.hashes, -op.rows[0].row)

    def _preview_row(self, r: Row) -> dict[str, Any]:
        cells = r.cells if not isinstance(r.cells, _BadRow) else list(r.cells)
        values = {}
        for fc in self.converters:
            name = fc.spec.name
            if name in r.data:
                values[name] = display(r.data[name])
        return {
            "row": r.row,
            "action": r.action,
            "message": r.message,
            "cells": [cell_text(c)[:200] for c in cells[: max(self.ncols, 1)]],
            "values": values,
            "errors": r.errors,
        }

    def _finish(self, seconds: float) -> None:
        run = self.run
        now = timezone.now()
        summary = dict(run.summary or {})
        summary.update(
            {
                "errors_by_column": dict(sorted(self.errors_by_column.items(), key=lambda kv: -kv[1])[:50]),
                "seconds": round(seconds, 2),
                "match_keys": [m.key for m in self.match_keys],
                "cpu_seconds": {k: round(v, 3) for k, v in self.timings.items()},
            }
        )
        if self.dry_run:
            c = self.counts
            ImportRun.objects.filter(pk=run.pk, lease=self.lease).update(
                status=ImportRun.Status.DONE,
                progress=100,
                read=c["read"],
                created=c[CREATED],
                updated=c[UPDATED],
                skipped=c[SKIPPED],
                rejected=c[REJECTED],
                blank=c["blank"],
                preview={
                    "rows": self.preview,
                    "fields": [fc.spec.name for fc in self.converters],
                    "counts": {k: c[k] for k in ("read", CREATED, UPDATED, SKIPPED, REJECTED)},
                },
                summary=summary,
                finished_at=now,
                lease="",
            )
        else:
            _prune_samples(run.pk)
            fresh = ImportRun.objects.get(pk=run.pk)
            summary["rows_per_second"] = round(fresh.read / seconds) if seconds > 0 else None
            ImportRun.objects.filter(pk=run.pk, lease=self.lease).update(
                status=ImportRun.Status.DONE, progress=100, summary=summary, finished_at=now, lease=""
            )
            audit_log_many(
                actor=self.actor,
                entries=[
                    Entry(
                        AuditAction.IMPORT,
                        self.importer.object_type,
                        f"import:{run.pk}",
                        run.file_name[:300],
                        {},
                        {"import": run.pk, "finished": True, "counts": fresh.counts, "file": run.file_name},
                    )
                ],
            )
        run.refresh_from_db()


class _StaleRecord(Exception):
    def __init__(self, pk: Any):
        self.pk = pk
        super().__init__(f"record {pk} changed during import")


def _same(old: Any, new: Any) -> bool:
    if old == new:
        return True
    if old in (None, "") and new in (None, ""):
        return True
    return jsonable(old) == jsonable(new)


def _raw(cell: Any) -> Any:
    if cell is None or isinstance(cell, str | int | float | bool):
        return cell
    return cell_text(cell)


def _journal_values(engine: Engine, before: dict[str, Any]) -> dict[str, Any]:
    """Previous values for undo (sensitive values stay encrypted in the journal)."""
    from huoban.platform.records.encryption import encrypt

    out = {}
    for k, v in before.items():
        spec = engine.fields.get(k)
        v = jsonable(v)
        if spec is not None and spec.sensitive and isinstance(v, str) and v:
            v = encrypt(v)
        out[k] = v
    return out


def _prune_samples(run_id: int) -> None:
    """Keep the SAMPLE_MAX lowest ranks: a uniform random sample, the same after a resume."""
    ids = list(
        ImportSample.objects.filter(run_id=run_id).order_by("rank").values_list("pk", flat=True)[SAMPLE_MAX:]
    )
    for i in range(0, len(ids), 5000):
        ImportSample.objects.filter(pk__in=ids[i : i + 5000]).delete()
