"""List state for record pages: columns, filters, sort, search, capped count — all from the query
string, so every list is bookmarkable. Reads start from ``scoped()``."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Any, cast

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.db.models.fields.json import KT
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.records.models import BaseRecord, CustomField, TaggedItem

from . import formatting
from .history import custom_value_display
from .pages import Column, Filter, RecordPages

CF = "cf_"
RESERVED = {"q", "sort", "page", "per_page", "cols", "view", "tag", "all"}
PER_PAGE_CHOICES = (25, 50, 100)


def custom_defs(object_type: str) -> list[CustomField]:
    return list(CustomField.objects.filter(object_type=object_type, active=True).order_by("order", "id"))


# --- columns -----------------------------------------------------------------------------------


def _model_field(model: type[models.Model], name: str) -> Any:
    try:
        return model._meta.get_field(name)
    except Exception:
        return None


def _kind_of(pages: RecordPages, f: Any) -> str:
    from huoban.platform.identity.models import OrgUnit, User

    if f is None:
        return "text"
    if getattr(f, "choices", None):
        return "choice"
    if isinstance(f, models.ForeignKey):
        if f.related_model is User:
            return "user"
        if f.related_model is OrgUnit:
            return "unit"
        return "relation"
    if isinstance(f, models.DateTimeField):
        return "datetime"
    if isinstance(f, models.DateField):
        return "date"
    if isinstance(f, models.DecimalField):
        names = {x.name for x in pages.model._meta.concrete_fields}
        return "money" if "currency" in names else "number"
    if isinstance(f, models.IntegerField | models.FloatField):
        return "number"
    if isinstance(f, models.BooleanField):
        return "bool"
    return "text"


def resolve_column(pages: RecordPages, col: str | Column, cfs: dict[str, CustomField]) -> Column | None:
    c = Column(col) if isinstance(col, str) else Column(**col.__dict__)
    if c.key == "tags":
        c.label = c.label or _("Tags")
        c.kind = c.kind or "tags"
        c.sortable = False
        return c
    if c.key.startswith(CF):
        cf = cfs.get(c.key[len(CF) :])
        if cf is None:
            return None
        c.label = c.label or cf.display_label()
        c.kind = c.kind or "custom"
        c.order_by = c.order_by or f"custom_fields__{cf.key}"
        c.sortable = True if c.sortable is None else c.sortable
        if cf.type in ("integer", "decimal"):
            c.align = c.align or "end"
        return c
    f = _model_field(pages.model, c.key)
    if f is None and c.render is None:
        return None
    if f is not None:
        c.label = c.label or capfirst(f.verbose_name)
        c.kind = c.kind or _kind_of(pages, f)
        if c.sortable is None:
            c.sortable = getattr(f, "concrete", False)
        c.order_by = c.order_by or c.key
        if isinstance(f, models.ForeignKey) and not c.select_related:
            c.select_related = (c.key,)
    else:
        c.sortable = bool(c.order_by) if c.sortable is None else c.sortable
        c.label = c.label or c.key
    if c.kind in ("number", "money") and not c.align:
        c.align = "end"
    if c.kind == "money" and not c.currency_field:
        c.currency_field = "currency"
    return c


HIDDEN_FIELDS = {"id", "custom_fields", "deleted_at", "deleted_by", "version", "search_text"}


def available_columns(pages: RecordPages, cfs: dict[str, CustomField]) -> dict[str, Column]:
    """Every column the user may pick: the registered ones, other plain fields, tags, custom fields."""
    out: dict[str, Column] = {}
    for col in pages.list_columns:
        c = resolve_column(pages, col, cfs)
        if c is not None:
            out[c.key] = c
    sens = set(pages.sensitive())
    for f in pages.model._meta.concrete_fields:
        if f.name in out or f.name in HIDDEN_FIELDS or f.name in sens or f.name.endswith("_hash"):
            continue
        c = resolve_column(pages, Column(f.name, default=False), cfs)
        if c is not None:
            out[c.key] = c
    if "tags" not in out:
        out["tags"] = resolve_column(pages, Column("tags", default=False), cfs)  # type: ignore[assignment]
    for key in cfs:
        k = CF + key
        if k not in out:
            c = resolve_column(pages, Column(k, default=False), cfs)
            if c is not None:
                out[k] = c
    return out


def cell(col: Column, obj: Any, pages: RecordPages, cfs: dict[str, CustomField]) -> SafeString | str:
    """The display of one list cell (escaped; links and badges as safe HTML)."""
    if col.render is not None:
        return col.render(obj)
    if col.kind == "tags":
        names = sorted(ti.tag.name for ti in obj.tagged_items.all())
        return mark_safe(
            "".join(str(format_html('<span class="badge bg-secondary-lt me-1">{}</span>', n)) for n in names)
        )
    if col.key.startswith(CF):
        cf = cfs[col.key[len(CF) :]]
        value = (obj.custom_fields or {}).get(cf.key)
        return "" if value in (None, "", []) else custom_value_display(cf, value)
    value = getattr(obj, col.key, None)
    text: Any
    if col.kind == "choice":
        model: type[models.Model] = type(obj)
        text = _choice_badge(model, col.key, value, get_language() or "") if value not in (None, "") else ""
    elif col.kind == "datetime":
        text = formatting.fdatetime(value)
    elif col.kind == "date":
        text = formatting.fdate(value)
    elif col.kind == "money":
        text = (
            formatting.money(value, getattr(obj, col.currency_field, "") or "CNY")
            if value is not None
            else ""
        )
    elif col.kind == "number":
        text = formatting.fnumber(value)
    elif col.kind == "bool":
        text = _("Yes") if value else _("No")
    elif col.kind in ("user", "unit", "relation"):
        text = str(value) if value is not None else ""
        if col.kind == "relation" and value is not None:
            from .pages import detail_url_for

            url = detail_url_for(getattr(value, "object_type", ""), value.pk)
            if url:
                text = format_html('<a href="{}">{}</a>', url, text)
    else:
        text = "" if value in (None, "") else str(value)
    if col.link and text:
        text = format_html('<a href="{}" class="hb-row-link">{}</a>', pages.detail_url(obj), text)
    return text


@lru_cache(maxsize=4096)
def _choice_badge(model: type[models.Model], name: str, value: Any, language: str) -> SafeString:
    """The badge of a choice value (cached per language: labels are fixed choices)."""
    f = cast("models.Field[Any, Any]", model._meta.get_field(name))  # a choice column is a concrete field
    label = dict(f.flatchoices).get(value, value)
    return format_html('<span class="badge hb-choice hb-choice-{}">{}</span>', value, label)


# --- filters -----------------------------------------------------------------------------------


@dataclass
class BoundFilter:
    spec: Filter
    label: str
    kind: str
    choices: list[tuple[str, str]] = field(default_factory=list)
    values: list[str] = field(default_factory=list)  # current values (choice/owner/tags/…)
    value_from: str = ""
    value_to: str = ""
    labels: dict[str, str] = field(default_factory=dict)  # labels of chosen lookup values
    custom: CustomField | None = None

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def param(self) -> str:
        return "tag" if self.kind == "tags" else self.spec.key

    @property
    def active(self) -> bool:
        return bool(self.values or self.value_from or self.value_to)

    @property
    def value(self) -> str:
        return self.values[0] if self.values else ""


def _auto_filter(pages: RecordPages, spec: Filter) -> tuple[str, Any, list[tuple[str, str]]]:
    """kind, label, choices for a filter named after a model field."""
    if spec.key == "tags":
        return "tags", _("Tags"), []
    f = _model_field(pages.model, spec.field or spec.key)
    label = spec.label or (capfirst(f.verbose_name) if f is not None else spec.key)
    if spec.kind:
        kind = spec.kind
    elif spec.key == "owner":
        kind = "owner"
    elif f is not None:
        k = _kind_of(pages, f)
        kind = {
            "choice": "choice",
            "user": "owner",
            "unit": "unit",
            "relation": "relation",
            "datetime": "date_range",
            "date": "date_range",
            "money": "number_range",
            "number": "number_range",
            "bool": "bool",
        }.get(k, "text")
    else:
        kind = "text"
    choices: list[tuple[str, str]] = []
    raw = spec.choices() if callable(spec.choices) else spec.choices
    if raw:
        choices = [(str(v), str(lbl)) for v, lbl in raw]
    elif f is not None and getattr(f, "choices", None):
        choices = [(str(v), str(lbl)) for v, lbl in f.flatchoices]
    return kind, label, choices


def _custom_filter(cf: CustomField) -> tuple[str, list[tuple[str, str]]]:
    t = cf.type
    if t in ("integer", "decimal"):
        return "number_range", []
    if t in ("date", "datetime"):
        return "date_range", []
    if t == "boolean":
        return "bool", []
    if t == "user":
        return "owner", []
    if t in ("single_select", "multi_select"):
        return "choice", formatting.option_choices(cf.options)
    return "text", []


def bind_filters(pages: RecordPages, params: Any, cfs: dict[str, CustomField]) -> list[BoundFilter]:
    out: list[BoundFilter] = []
    for raw in pages.filters:
        spec = Filter(raw) if isinstance(raw, str) else raw
        kind, label, choices = _auto_filter(pages, spec)
        out.append(BoundFilter(spec, str(label), kind, choices))
    for key, cf in cfs.items():
        spec = Filter(CF + key, field=f"custom_fields__{key}")
        kind, choices = _custom_filter(cf)
        out.append(BoundFilter(spec, cf.display_label(), kind, choices, custom=cf))
    for bf in out:
        if bf.kind in ("date_range", "number_range"):
            bf.value_from = params.get(f"{bf.key}__from", "")[:40]
            bf.value_to = params.get(f"{bf.key}__to", "")[:40]
        else:
            bf.values = [v[:200] for v in params.getlist(bf.param) if v.strip()][:50]
    return out


def _day_bounds(value: str, end: bool) -> Any:
    d = parse_date(value)
    if d is None:
        return None
    if end:
        d = d + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(d, dt.time.min))


def _decimal(value: str) -> Decimal | None:
    try:
        d = Decimal(value.strip())
    except (InvalidOperation, ValueError, AttributeError):
        return None
    return d if d.is_finite() else None


def apply_filters(qs: Any, filters: list[BoundFilter], request: Any, pages: RecordPages) -> Any:
    user = request.user
    for bf in filters:
        if not bf.active:
            continue
        spec = bf.spec
        if spec.apply is not None:
            qs = spec.apply(
                qs,
                bf.values if bf.kind not in ("date_range", "number_range") else (bf.value_from, bf.value_to),
                request,
            )
            continue
        path = spec.field or spec.key
        cf = bf.custom
        if bf.kind == "text":
            if cf is not None:
                alias = f"_hb_{cf.key}"
                qs = qs.alias(**{alias: KT(f"custom_fields__{cf.key}")}).filter(
                    **{f"{alias}__icontains": bf.value}
                )
            else:
                qs = qs.filter(**{f"{path}__icontains": bf.value})
        elif bf.kind == "choice":
            if cf is not None and cf.type == "multi_select":
                cond = Q()
                for v in bf.values:
                    cond |= Q(**{f"custom_fields__{cf.key}__icontains": f'"{v}"'})
                qs = qs.filter(cond)
            elif cf is not None:
                cond = Q()
                for v in bf.values:
                    cond |= Q(**{f"custom_fields__{cf.key}": v})
                qs = qs.filter(cond)
            else:
                qs = qs.filter(**{f"{path}__in": bf.values})
        elif bf.kind == "bool":
            truth = bf.value in ("1", "true", "yes")
            qs = qs.filter(**{path: truth})
        elif bf.kind == "owner":
            ids: list[int] = []
            none = False
            for v in bf.values:
                if v == "me":
                    ids.append(user.pk)
                elif v == "none":
                    none = True
                elif v.isdigit():
                    ids.append(int(v))
            if cf is not None:
                cond = Q()
                for i in ids:
                    cond |= Q(**{f"custom_fields__{cf.key}": i})
                qs = qs.filter(cond) if ids else qs.none()
            else:
                cond = Q(**{f"{path}_id__in": ids}) if ids else Q()
                if none:
                    cond |= Q(**{f"{path}__isnull": True})
                qs = qs.filter(cond) if (ids or none) else qs
        elif bf.kind == "unit":
            from huoban.platform.identity.models import OrgUnit

            paths = list(
                OrgUnit.objects.filter(pk__in=[v for v in bf.values if v.isdigit()]).values_list(
                    "path", flat=True
                )
            )
            cond = Q()
            for p in paths:
                cond |= Q(**{f"{path}__path__startswith": p})
            qs = qs.filter(cond) if paths else qs.none()
        elif bf.kind == "relation":
            ids = [int(v) for v in bf.values if v.isdigit()]
            qs = qs.filter(**{f"{path}_id__in": ids})
        elif bf.kind == "tags":
            ct = ContentType.objects.get_for_model(pages.model)
            for name in bf.values:
                qs = qs.filter(
                    pk__in=TaggedItem.objects.filter(content_type=ct, tag__name=name).values("object_id")
                )
        elif bf.kind == "date_range":
            f = _model_field(pages.model, path) if cf is None else None
            if cf is not None:
                alias = f"_hb_{cf.key}"
                qs = qs.alias(**{alias: KT(f"custom_fields__{cf.key}")})
                if parse_date(bf.value_from or ""):
                    qs = qs.filter(**{f"{alias}__gte": bf.value_from})
                if day_to := parse_date(bf.value_to or ""):
                    qs = qs.filter(**{f"{alias}__lt": (day_to + dt.timedelta(days=1)).isoformat()})
            elif isinstance(f, models.DateTimeField):
                start, end = _day_bounds(bf.value_from, False), _day_bounds(bf.value_to, True)
                if start:
                    qs = qs.filter(**{f"{path}__gte": start})
                if end:
                    qs = qs.filter(**{f"{path}__lt": end})
            else:
                if parse_date(bf.value_from or ""):
                    qs = qs.filter(**{f"{path}__gte": parse_date(bf.value_from)})
                if parse_date(bf.value_to or ""):
                    qs = qs.filter(**{f"{path}__lte": parse_date(bf.value_to)})
        elif bf.kind == "number_range":
            lo, hi = _decimal(bf.value_from), _decimal(bf.value_to)
            target = path
            if cf is not None:
                target = f"_hb_{cf.key}"
                qs = qs.alias(
                    **{
                        target: Cast(
                            KT(f"custom_fields__{cf.key}"),
                            models.DecimalField(max_digits=24, decimal_places=6),
                        )
                    }
                )
            if lo is not None:
                qs = qs.filter(**{f"{target}__gte": lo})
            if hi is not None:
                qs = qs.filter(**{f"{target}__lte": hi})
    return qs


def apply_search(qs: Any, q: str, pages: RecordPages, request: Any) -> Any:
    q = q.strip()
    if not q:
        return qs
    if pages.search is not None:
        return pages.search(qs, q, request)
    cond = Q()
    for f in pages.get_search_fields():
        cond |= Q(**{f"{f}__icontains": q})
    if q.isdigit():
        cond |= Q(pk=int(q))
    return qs.filter(cond) if cond else qs


def capped_count(qs: Any) -> tuple[int, bool]:
    cap = int(getattr(settings, "API_COUNT_CAP", 10000))
    n = qs.order_by()[: cap + 1].count()
    return min(n, cap), n > cap


# --- the whole list state --------------------------------------------------------------------


@dataclass
class ListState:
    q: str
    sort: str
    page: int
    per_page: int
    columns: list[Column]
    available: dict[str, Column]
    filters: list[BoundFilter]
    custom: dict[str, CustomField]

    @property
    def column_keys(self) -> list[str]:
        return [c.key for c in self.columns]

    @property
    def active_filters(self) -> int:
        return sum(1 for f in self.filters if f.active)


def list_state(pages: RecordPages, request: Any) -> ListState:
    params = request.GET
    cfs = {cf.key: cf for cf in custom_defs(pages.object_type)}
    available = available_columns(pages, cfs)
    raw_cols = params.getlist("col") or params.get("cols", "").split(",")
    requested = [c for c in dict.fromkeys(raw_cols) if c in available][:30]
    if requested:
        columns = [available[c] for c in requested]
    else:
        columns = [c for c in available.values() if c.default]
    sort = params.get("sort", "")[:80]
    if sort.lstrip("-") not in {c.key for c in available.values() if c.sortable}:
        sort = ""
    try:
        per_page = int(params.get("per_page") or pages.per_page)
    except ValueError:
        per_page = pages.per_page
    if per_page not in PER_PAGE_CHOICES and per_page != pages.per_page:
        per_page = pages.per_page
    try:
        page = max(1, int(params.get("page") or 1))
    except ValueError:
        page = 1
    return ListState(
        q=params.get("q", "")[:200],
        sort=sort,
        page=page,
        per_page=per_page,
        columns=columns,
        available=available,
        filters=bind_filters(pages, params, cfs),
        custom=cfs,
    )


def ordering(state: ListState, pages: RecordPages) -> list[str]:
    if state.sort:
        col = state.available[state.sort.lstrip("-")]
        desc = state.sort.startswith("-")
        expr = col.order_by or col.key
        if expr.startswith("custom_fields__"):
            cf = state.custom.get(expr.split("__", 1)[1])
            e: Any = KT(expr)
            if cf is not None and cf.type in ("integer", "decimal"):
                e = Cast(e, models.DecimalField(max_digits=24, decimal_places=6))
            o = e.desc(nulls_last=True) if desc else e.asc(nulls_last=True)
            return [o, "-id" if desc else "id"]  # type: ignore[list-item]
        return [f"-{expr}" if desc else expr, "-id" if desc else "id"]
    default = pages.default_sort or "-id"
    return [default] if default.lstrip("-") == "id" else [default, "-id"]


def base_queryset(pages: RecordPages, request: Any, state: ListState, action: str = "view") -> Any:
    qs = scoped(request.user, pages.model, action)
    qs = apply_search(qs, state.q, pages, request)
    qs = apply_filters(qs, state.filters, request, pages)
    return qs


def page_rows(pages: RecordPages, qs: Any, state: ListState) -> list[Any]:
    related = set(pages.select_related)
    for c in state.columns:
        related.update(c.select_related)
    qs = qs.select_related(*sorted(related)) if related else qs
    prefetch = list(pages.prefetch_related)
    if any(c.kind == "tags" for c in state.columns):
        prefetch.append("tagged_items__tag")
    if prefetch:
        qs = qs.prefetch_related(*prefetch)
    start = (state.page - 1) * state.per_page
    return list(qs.order_by(*ordering(state, pages))[start : start + state.per_page])


def can(user: Any, pages: RecordPages, action: str) -> bool:
    return has_perm(user, pages.object_type, action)


def is_record(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, BaseRecord)
