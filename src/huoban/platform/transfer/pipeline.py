"""Per-field converters compiled once per run, and the per-run lookup context (users, picklists).

A converter turns one cell into the canonical value of a field or raises ``CellError``. Options
per field (``options["fields"][name]``): ``trim`` (default on), ``halfwidth`` (default on except
for free text), ``date_format``, ``decimal_separator``, ``default`` (for empty cells), ``values``
(a value map such as {"制造": "C"}), ``phone_region``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone, translation
from django.utils.translation import gettext as _

from .registry import FieldSpec
from .transforms import (
    CellError,
    cell_text,
    halfwidth,
    key_text,
    normalize_email,
    normalize_phone,
    normalize_url,
    parse_bool,
    parse_date,
    parse_datetime,
    parse_decimal,
    parse_integer,
)


class _Empty:
    def __repr__(self) -> str:
        return "EMPTY"

    def __reduce__(self) -> str:
        return "EMPTY"  # unpickled as the module's one instance (rows cross to the reader process)


EMPTY: Any = _Empty()
AMBIGUOUS = -1


@dataclass
class RefValue:
    """A reference cell ("CUST20240101-0001", a name …) resolved per batch to an id."""

    text: str
    key: str


def _norm(value: Any) -> str:
    return key_text(value)


# --- context ----------------------------------------------------------------------------------


@dataclass
class Context:
    """Lookups loaded once per run."""

    actor: Any
    tz: Any = None
    users: dict[str, int] = field(default_factory=dict)  # normalised name -> id (or AMBIGUOUS)
    user_units: dict[int, int | None] = field(default_factory=dict)
    picklists: dict[str, tuple[dict[str, Any], list[tuple[str, Any]]]] = field(default_factory=dict)

    @classmethod
    def for_actor(cls, actor: Any) -> Context:
        ctx = cls(actor=actor)
        zone = getattr(actor, "time_zone", "") or ""
        try:
            import zoneinfo

            ctx.tz = zoneinfo.ZoneInfo(zone) if zone else timezone.get_default_timezone()
        except Exception:
            ctx.tz = timezone.get_default_timezone()
        return ctx

    def load_users(self) -> None:
        from django.contrib.auth import get_user_model

        User = get_user_model()
        names: dict[str, set[int]] = {}
        usernames: dict[str, set[int]] = {}
        for pk, username, display, first, last, email, unit in User.objects.filter(
            is_active=True
        ).values_list(
            "pk", "username", "display_name", "first_name", "last_name", "email", "primary_unit_id"
        ):
            self.user_units[pk] = unit
            usernames[_norm(username)] = {pk}
            keys = {email, display, f"{first} {last}", f"{last}{first}", f"{first}{last}"}
            if display:
                keys.update(p for p in display.split() if len(p) >= 2)
            for k in keys:
                n = _norm(k)
                if n:
                    names.setdefault(n, set()).add(pk)
        names.update(usernames)  # usernames are unique and win over display names
        self.users = {k: (next(iter(v)) if len(v) == 1 else AMBIGUOUS) for k, v in names.items()}

    def picklist(self, key: str, store_as: str = "code") -> tuple[dict[str, Any], list[tuple[str, Any]]]:
        cache_key = f"{key}:{store_as}"
        if cache_key not in self.picklists:
            from huoban.platform.records.models import PicklistValue

            lookup: dict[str, Any] = {}
            labels: list[tuple[str, Any]] = []
            rows = PicklistValue.objects.filter(picklist__key=key, active=True).values_list(
                "pk", "code", "label", "label_zh_hans", "aliases"
            )
            # codes first, then labels, then aliases: a code never loses to someone's alias
            entries = list(rows)
            for pk, code, *_rest in entries:
                lookup.setdefault(_norm(code), pk if store_as == "id" else code)
            for pk, code, label, label_zh, _aliases in entries:
                target = pk if store_as == "id" else code
                for lbl in (label, label_zh):
                    n = _norm(lbl)
                    if n:
                        lookup.setdefault(n, target)
                        labels.append((n, target))
            for pk, code, _l, _z, aliases in entries:
                target = pk if store_as == "id" else code
                for a in aliases or []:
                    n = _norm(a)
                    if n:
                        lookup.setdefault(n, target)
            self.picklists[cache_key] = (lookup, labels)
        return self.picklists[cache_key]


# --- converters -------------------------------------------------------------------------------


def _choice_lookup(spec: FieldSpec) -> dict[str, str]:
    lookup: dict[str, str] = {}
    for value, _label in spec.choices or []:
        lookup.setdefault(_norm(value), value)
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            for value, label in spec.choices or []:
                lookup.setdefault(_norm(str(label)), value)
    for alias, value in (spec.value_aliases or {}).items():
        lookup.setdefault(_norm(alias), value)
    return lookup


def _text(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    limit = spec.max_length or (255 if spec.custom and spec.type == "text" else None)

    def conv(value: Any) -> str:
        s = value if isinstance(value, str) else cell_text(value)
        if limit and len(s) > limit:
            raise CellError(
                _("Too long: at most %(n)d characters (this has %(m)d).") % {"n": limit, "m": len(s)}
            )
        return s

    return conv


def _integer(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    sep = opts.get("decimal_separator", "auto")
    return lambda v: parse_integer(v, sep)


def _decimal(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    sep = opts.get("decimal_separator", "auto")
    places = spec.decimal_places

    def conv(value: Any) -> Decimal:
        d = parse_decimal(value, sep)
        if places is not None:
            q = Decimal(1).scaleb(-places)
            rounded = d.quantize(q)
            if rounded != d:
                raise CellError(_("At most %(n)d decimal places.") % {"n": places})
            d = rounded
        return d

    return conv


def _date(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    fmt = opts.get("date_format", "auto")
    return lambda v: parse_date(v, fmt)


def _datetime(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    fmt = opts.get("date_format", "auto")
    tz = ctx.tz
    return lambda v: parse_datetime(v, fmt, tz)


def _boolean(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    return parse_bool


def _choice(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    lookup = _choice_lookup(spec)

    def conv(value: Any) -> str:
        hit = lookup.get(_norm(value))
        if hit is None:
            raise CellError(
                _("“%(value)s” is not one of: %(options)s.")
                % {
                    "value": cell_text(value)[:40],
                    "options": ", ".join(v for v, _l in (spec.choices or [])[:12]),
                }
            )
        return hit

    return conv


_SPLIT = re.compile(r"\s*[,，;；、|\n]\s*")


def _multi_choice(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    single = _choice(spec, opts, ctx)

    def conv(value: Any) -> list[str]:
        parts = [p for p in _SPLIT.split(cell_text(value)) if p]
        return [single(p) for p in parts]

    return conv


def _picklist(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    lookup, labels = ctx.picklist(spec.picklist, spec.store_as)
    for alias, value in (spec.value_aliases or {}).items():
        lookup.setdefault(_norm(alias), value)

    def conv(value: Any) -> Any:
        n = _norm(value)
        hit = lookup.get(n)
        if hit is not None:
            return hit
        if len(n) >= 2:  # a unique label that starts with the cell: "制造" → "制造业"
            found = {t for lbl, t in labels if lbl.startswith(n)}
            if len(found) == 1:
                hit = found.pop()
                lookup[n] = hit
                return hit
        raise CellError(
            _("“%(value)s” is not in the list “%(list)s”: map it to a value or fix the cell.")
            % {"value": cell_text(value)[:40], "list": spec.picklist}
        )

    return conv


def _phone(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    region = opts.get("phone_region", "CN")
    limit = spec.max_length

    def conv(value: Any) -> str:
        out = normalize_phone(value, region)
        if limit and len(out) > limit:
            raise CellError(_("Too long: at most %(n)d characters.") % {"n": limit, "m": len(out)})
        return out

    return conv


def _email(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    limit = spec.max_length

    def conv(value: Any) -> str:
        out = normalize_email(value)
        if limit and len(out) > limit:
            raise CellError(_("Too long: at most %(n)d characters.") % {"n": limit})
        return out

    return conv


def _url(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    limit = spec.max_length

    def conv(value: Any) -> str:
        out = normalize_url(value)
        if limit and len(out) > limit:
            raise CellError(_("Too long: at most %(n)d characters.") % {"n": limit})
        return out

    return conv


def _user(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    if not ctx.users:
        ctx.load_users()
    users = ctx.users

    def conv(value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool) and value in ctx.user_units:
            return value
        hit = users.get(_norm(value))
        if hit is None:
            raise CellError(_("No active user “%(value)s”.") % {"value": cell_text(value)[:60]})
        if hit == AMBIGUOUS:
            raise CellError(
                _("“%(value)s” matches several users: use the username.") % {"value": cell_text(value)[:60]}
            )
        return hit

    return conv


def _ref(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    def conv(value: Any) -> RefValue:
        text = cell_text(value).strip()
        return RefValue(text, _norm(text))

    return conv


def _tags(spec: FieldSpec, opts: dict[str, Any], ctx: Context) -> Callable[[Any], Any]:
    def conv(value: Any) -> list[str]:
        names = []
        for p in _SPLIT.split(cell_text(value)):
            p = p.strip()
            if not p:
                continue
            if len(p) > 60:
                raise CellError(_("A tag has at most 60 characters."))
            if p not in names:
                names.append(p)
        return names

    return conv


CONVERTERS: dict[str, Callable[[FieldSpec, dict[str, Any], Context], Callable[[Any], Any]]] = {
    "text": _text,
    "long_text": _text,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "datetime": _datetime,
    "boolean": _boolean,
    "choice": _choice,
    "multi_choice": _multi_choice,
    "picklist": _picklist,
    "phone": _phone,
    "email": _email,
    "url": _url,
    "user": _user,
    "ref": _ref,
    "tags": _tags,
}

FREE_TEXT = ("text", "long_text", "tags")


@dataclass
class FieldConverter:
    spec: FieldSpec
    columns: list[int]  # indexes of the source columns mapped to this field (joined if several)
    headers: list[str]
    convert: Callable[[Any], Any]
    default: Any = EMPTY  # converted default for empty cells
    validators: tuple[Callable[[Any], Any], ...] = ()

    @property
    def column_label(self) -> str:
        return " + ".join(self.headers)


def compile_field(
    spec: FieldSpec, columns: list[int], headers: list[str], opts: dict[str, Any], ctx: Context
) -> FieldConverter:
    base = CONVERTERS.get(spec.type, _text)(spec, opts, ctx)
    do_trim = opts.get("trim", True)
    do_half = opts.get("halfwidth", spec.type not in FREE_TEXT)
    values = opts.get("values") or {}
    value_map = {_norm(k): v for k, v in values.items()} if isinstance(values, dict) else {}

    def convert(raw: Any) -> Any:
        if raw is None:
            return EMPTY
        if isinstance(raw, str):
            s = raw.strip() if do_trim else raw
            if do_trim and s and (s[0] in "\u3000\u00a0\ufeff" or s[-1] in "\u3000\u00a0"):
                s = s.strip("\u3000\u00a0\ufeff \t")
            if not s:
                return EMPTY
            if do_half and not s.isascii():
                s = halfwidth(s)
            if value_map:
                mapped = value_map.get(_norm(s))
                if mapped is not None:
                    if mapped == "":
                        return EMPTY
                    s = str(mapped)
            return base(s)
        if value_map:
            mapped = value_map.get(_norm(raw))
            if mapped is not None:
                return base(str(mapped)) if mapped != "" else EMPTY
        return base(raw)

    default = EMPTY
    raw_default = opts.get("default", None)
    if raw_default not in (None, ""):
        try:
            default = convert(raw_default if not isinstance(raw_default, list) else ",".join(raw_default))
        except CellError as exc:
            from huoban.platform.errors import ValidationError

            raise ValidationError({"options": [f"{spec.display_label()}: {exc}"]})
    elif spec.default not in (None, "", [], {}) and spec.custom:
        try:
            default = convert(spec.default if not isinstance(spec.default, list) else ",".join(spec.default))
        except CellError:
            default = EMPTY
    return FieldConverter(
        spec=spec,
        columns=columns,
        headers=headers,
        convert=convert,
        default=default,
        validators=tuple(spec.validators),
    )


def jsonable(value: Any) -> Any:
    """Custom field values as stored in JSON (ISO dates, decimal strings)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    return value


def display(value: Any) -> str:
    """A converted value as shown in the preview."""
    if value is EMPTY or value is None:
        return ""
    if isinstance(value, RefValue):
        return value.text
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")
    return cell_text(value)
