"""Registry of importable / exportable object types.

A domain app registers its types in ``<app>/importers.py`` (discovered by this app's ``ready()``)::

    from huoban.platform.transfer.registry import FieldSpec, MatchKey, register_importer

    register_importer(
        "customer",
        overrides={"industry": FieldSpec("industry", type="picklist", picklist="industry")},
        aliases={"name": ["客户名称", "Account Name"]},
        match_keys=[MatchKey("name_phone", _("Name + phone"), ("name", "phone"))],
        default_match_keys=["name_phone"],
        clean_row=clean_customer_data,   # optional domain validation (values) -> (values, errors)
    )

Fields are derived from the model (concrete editable fields) when the registry is first used;
``overrides`` replace or add fields, ``exclude`` drops some. Custom fields (definitions in
``records.CustomField``) are added per run, as ``cf.<key>``. Every business object type is
exportable even without registration (columns derived from the model).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from huoban.platform.access import registry as access_registry

# Field types the engine understands.
TYPES = (
    "text",
    "long_text",
    "integer",
    "decimal",
    "date",
    "datetime",
    "boolean",
    "choice",
    "multi_choice",
    "picklist",
    "phone",
    "email",
    "url",
    "user",
    "ref",
    "tags",
)

BASE_SKIP = {
    "id",
    "owner_unit",
    "created_at",
    "created_by",
    "updated_at",
    "updated_by",
    "version",
    "custom_fields",
    "deleted_at",
    "deleted_by",
    "search_text",
}


@dataclass
class FieldSpec:
    """One importable/exportable field of an object type."""

    name: str
    label: Any = ""
    type: str = "text"
    required: bool = False
    max_length: int | None = None
    choices: list[tuple[str, Any]] | None = None  # (value, label)
    picklist: str = ""  # picklist key for type "picklist"
    ref_model: Any = None  # model for type "ref"
    ref_lookups: tuple[str, ...] = ()  # fields matched for a "ref" cell, in order (e.g. number, name)
    aliases: tuple[str, ...] = ()  # header names that map to this field
    value_aliases: dict[str, str] | None = None  # other spellings of choice values: {"个人": "individual"}
    validators: tuple[Callable[[Any], Any], ...] = ()  # value -> value, raise ValueError(message)
    sensitive: bool = False
    importable: bool = True
    exportable: bool = True
    updatable: bool = True
    default: Any = None  # applied on create when the cell is empty and no default option is set
    decimal_places: int | None = None
    custom: bool = False  # a custom field (stored in custom_fields[key])
    column: str = ""  # database column (filled from the model)
    store_as: str = "code"  # picklist fields: "code" (CharField) or "id" (ForeignKey)

    @property
    def key(self) -> str:
        """Custom fields: the key inside custom_fields; else the model field name."""
        return self.name[3:] if self.custom else self.name

    def display_label(self) -> str:
        return str(self.label or self.name)


@dataclass
class MatchKey:
    """A way to recognise an existing record: a tuple of fields, normalised and hashed."""

    key: str
    label: Any
    fields: tuple[str, ...]
    normalize: Callable[[str, Any], str] | None = None  # (field, value) -> normalised text


@dataclass
class Importer:
    object_type: str
    model: type[models.Model]
    label: Any = ""
    fields: list[FieldSpec] = field(default_factory=list)
    match_keys: list[MatchKey] = field(default_factory=list)
    default_match_keys: list[str] = field(default_factory=list)
    clean_row: Callable[..., tuple[dict[str, Any], dict[str, Any]]] | None = None
    derive: Callable[[dict[str, Any]], None] | None = None  # fill derived columns of a new row
    # bulk path: called in the batch transaction with the ids created / updated (related rows,
    # identifiers …); also after an undo restored records. ``created_side`` holds, for each id
    # created, what ``side_rows`` made of its values (computed ahead, in the reader process).
    after_write: Callable[..., None] | None = None
    side_rows: Callable[[dict[str, Any]], Any] | None = None
    # per-row path: the domain's own services write each row (rich side effects, small volumes);
    # called as service(actor=, data=, custom_fields=, tags=[, pk=, version=]) with user fields as
    # User objects, the way a form hands them over
    create_service: Callable[..., Any] | None = None
    update_service: Callable[..., Any] | None = None
    created_event: str = ""
    number_field: str = ""  # filled with next_numbers(object_type, n) on create
    importable: bool = True
    export_columns: list[str] | None = None  # default export columns (field names)

    def field(self, name: str) -> FieldSpec | None:
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def match_key(self, key: str) -> MatchKey | None:
        for m in self.match_keys:
            if m.key == key:
                return m
        return None


@dataclass
class _Registration:
    object_type: str
    overrides: dict[str, FieldSpec]
    exclude: set[str]
    aliases: dict[str, list[str]]
    options: dict[str, Any]


_REGISTRATIONS: dict[str, _Registration] = {}
_CACHE: dict[str, Importer] = {}


def register_importer(
    object_type: str,
    *,
    overrides: dict[str, FieldSpec] | Iterable[FieldSpec] | None = None,
    exclude: Iterable[str] = (),
    aliases: dict[str, Iterable[str]] | None = None,
    match_keys: list[MatchKey] | None = None,
    default_match_keys: list[str] | None = None,
    clean_row: Callable[..., tuple[dict[str, Any], dict[str, Any]]] | None = None,
    derive: Callable[[dict[str, Any]], None] | None = None,
    after_write: Callable[..., None] | None = None,
    side_rows: Callable[[dict[str, Any]], Any] | None = None,
    create_service: Callable[..., Any] | None = None,
    update_service: Callable[..., Any] | None = None,
    created_event: str | None = None,
    number_field: str | None = None,
    export_columns: list[str] | None = None,
    importable: bool = True,
) -> None:
    """Declare an importable object type (call from ``<app>/importers.py``)."""
    if isinstance(overrides, dict):
        over = dict(overrides)
    else:
        over = {f.name: f for f in (overrides or [])}
    _REGISTRATIONS[object_type] = _Registration(
        object_type=object_type,
        overrides=over,
        exclude=set(exclude),
        aliases={k: list(v) for k, v in (aliases or {}).items()},
        options={
            "match_keys": match_keys,
            "default_match_keys": default_match_keys,
            "clean_row": clean_row,
            "derive": derive,
            "after_write": after_write,
            "side_rows": side_rows,
            "create_service": create_service,
            "update_service": update_service,
            "created_event": created_event,
            "number_field": number_field,
            "export_columns": export_columns,
            "importable": importable,
        },
    )
    _CACHE.pop(object_type, None)


def unregister_importer(object_type: str) -> None:
    _REGISTRATIONS.pop(object_type, None)
    _CACHE.pop(object_type, None)


def is_importable(object_type: str) -> bool:
    reg = _REGISTRATIONS.get(object_type)
    return bool(reg and reg.options.get("importable", True) and access_registry.find(object_type))


def importable_types() -> list[str]:
    return sorted(k for k in _REGISTRATIONS if is_importable(k))


def exportable_types() -> list[str]:
    return [t.key for t in access_registry.all_types()]


def get_importer(object_type: str) -> Importer:
    """The Importer for an object type (derived from the model, then the registration applied)."""
    cached = _CACHE.get(object_type)
    if cached is not None:
        return cached
    ot = access_registry.find(object_type)
    if ot is None:
        raise KeyError(object_type)
    model = ot.model
    reg = _REGISTRATIONS.get(object_type)
    specs = fields_from_model(model)
    if reg is not None:
        by_name = {f.name: f for f in specs}
        for name, spec in reg.overrides.items():
            base = by_name.get(name)
            if base is not None:
                spec = _merge(base, spec)
            by_name[name] = spec
        specs = [by_name[n] for n in by_name if n not in reg.exclude]
        for name, extra in reg.aliases.items():
            for i, f in enumerate(specs):
                if f.name == name:
                    specs[i] = replace(f, aliases=tuple(dict.fromkeys([*f.aliases, *extra])))
    opts = reg.options if reg else {}
    number_field = opts.get("number_field")
    if number_field is None:
        number_field = "number" if _has_field(model, "number") else ""
    match_keys = opts.get("match_keys") or default_match_keys_for(model)
    importer = Importer(
        object_type=object_type,
        model=model,
        label=ot.label,
        fields=specs,
        match_keys=list(match_keys),
        default_match_keys=list(opts.get("default_match_keys") or [m.key for m in match_keys[:1]]),
        clean_row=opts.get("clean_row"),
        derive=opts.get("derive"),
        after_write=opts.get("after_write"),
        side_rows=opts.get("side_rows"),
        create_service=opts.get("create_service"),
        update_service=opts.get("update_service"),
        created_event=opts.get("created_event") or f"{object_type}.bulk_created",
        number_field=number_field,
        importable=bool(reg) and opts.get("importable", True),
        export_columns=opts.get("export_columns"),
    )
    _CACHE[object_type] = importer
    return importer


def _merge(base: FieldSpec, over: FieldSpec) -> FieldSpec:
    """Override fields of ``base`` with the non-default attributes of ``over``."""
    defaults = FieldSpec(name=over.name)
    changes = {
        k: getattr(over, k)
        for k in over.__dataclass_fields__
        if getattr(over, k) != getattr(defaults, k) and k != "name"
    }
    return replace(base, **changes)


def _has_field(model: type[models.Model], name: str) -> bool:
    try:
        model._meta.get_field(name)
        return True
    except Exception:
        return False


def default_match_keys_for(model: type[models.Model]) -> list[MatchKey]:
    keys = []
    for name in ("uscc", "external_id", "email", "number"):
        if _has_field(model, name):
            keys.append(MatchKey(name, getattr(model._meta.get_field(name), "verbose_name", name), (name,)))
    if _has_field(model, "name") and _has_field(model, "phone"):
        keys.insert(0, MatchKey("name_phone", _("Name + phone"), ("name", "phone")))
    elif _has_field(model, "name"):
        keys.insert(0, MatchKey("name", _("Name"), ("name",)))
    return keys


def _label(f: Any) -> Any:
    label = getattr(f, "verbose_name", f.name)
    return label if isinstance(label, Promise | str) else str(label)


def fields_from_model(model: type[models.Model]) -> list[FieldSpec]:
    """Importable fields of a model: concrete, editable, not platform bookkeeping."""
    from django.contrib.auth import get_user_model

    from huoban.platform.records.encryption import EncryptedTextField
    from huoban.platform.records.models import BaseRecord, PicklistValue

    sensitive = set(getattr(model, "sensitive_fields", ()) or ())
    user_model = get_user_model()
    specs: list[FieldSpec] = []
    for f in model._meta.concrete_fields:
        if f.name in BASE_SKIP or f.primary_key or (not f.editable and f.name != "owner"):
            continue
        spec = FieldSpec(
            name=f.name,
            label=_label(f),
            column=str(f.column),
            sensitive=f.name in sensitive,
            importable=bool(f.editable),
        )
        spec.required = not f.blank and not f.has_default() and not f.null and f.editable
        if isinstance(f, models.ForeignKey):
            target = f.related_model
            if target is user_model:
                spec.type = "user"
                spec.label = _label(f)
            elif isinstance(target, type) and issubclass(target, BaseRecord):
                spec.type = "ref"
                spec.ref_model = target
                spec.ref_lookups = tuple(n for n in ("number", "uscc", "name") if _has_field(target, n)) or (
                    "pk",
                )
            elif target is PicklistValue:
                spec.type = "picklist"
                spec.store_as = "id"
            else:
                continue  # other relations are not importable by default
        elif f.choices:
            spec.type = "choice"
            spec.choices = [(str(v), lbl) for v, lbl in f.flatchoices]
            spec.max_length = getattr(f, "max_length", None)
        elif isinstance(f, models.BooleanField):
            spec.type = "boolean"
            spec.required = False
        elif isinstance(f, models.DecimalField):
            spec.type = "decimal"
            spec.decimal_places = f.decimal_places
        elif isinstance(f, models.IntegerField):
            spec.type = "integer"
        elif isinstance(f, models.FloatField):
            spec.type = "decimal"
        elif isinstance(f, models.DateTimeField):
            spec.type = "datetime"
        elif isinstance(f, models.DateField):
            spec.type = "date"
        elif isinstance(f, models.EmailField) or f.name == "email" or f.name.endswith("_email"):
            spec.type = "email"
            spec.max_length = getattr(f, "max_length", None)
        elif isinstance(f, models.URLField) or f.name in ("website", "url"):
            spec.type = "url"
            spec.max_length = getattr(f, "max_length", None)
        elif f.name in ("phone", "mobile", "telephone", "fax") or f.name.endswith(("_phone", "_mobile")):
            spec.type = "phone"
            spec.max_length = getattr(f, "max_length", None)
        elif isinstance(f, EncryptedTextField):
            spec.type = "text"
        elif isinstance(f, models.TextField):
            spec.type = "long_text"
        elif isinstance(f, models.CharField):
            spec.type = "text"
            spec.max_length = f.max_length
        elif isinstance(f, models.JSONField):
            continue
        else:
            spec.type = "text"
        if f.has_default() and not callable(f.default):
            spec.default = f.default
        specs.append(spec)
    if _has_field(model, "tagged_items"):
        specs.append(FieldSpec("tags", label=_("tags"), type="tags", updatable=True))
    return specs


def custom_field_specs(object_type: str) -> list[FieldSpec]:
    """Active custom fields of an object type as FieldSpecs named ``cf.<key>``."""
    from huoban.platform.records.custom_fields import definitions

    type_map = {
        "text": "text",
        "long_text": "long_text",
        "integer": "integer",
        "decimal": "decimal",
        "date": "date",
        "datetime": "datetime",
        "boolean": "boolean",
        "single_select": "choice",
        "multi_select": "multi_choice",
        "email": "email",
        "phone": "phone",
        "url": "url",
        "user": "user",
    }
    specs = []
    for d in definitions(object_type):
        options: list[tuple[str, Any]] = []
        for o in d.options or []:
            if isinstance(o, dict):
                options.append((str(o["value"]), _OptionLabel(o)))
            else:
                options.append((str(o), str(o)))
        specs.append(
            FieldSpec(
                name=f"cf.{d.key}",
                label=_CustomLabel(d.label, d.label_zh_hans),
                type=type_map.get(d.type, "text"),
                required=d.required,
                max_length=255 if d.type == "text" else None,
                choices=options or None,
                default=d.default,
                custom=True,
                aliases=tuple(a for a in (d.key, d.label, d.label_zh_hans) if a),
            )
        )
    return specs


class _CustomLabel:
    """A custom field label that follows the active language like gettext_lazy strings do."""

    def __init__(self, en: str, zh: str):
        self.en, self.zh = en, zh

    def __str__(self) -> str:
        from django.utils.translation import get_language

        if (get_language() or "").lower().startswith("zh") and self.zh:
            return self.zh
        return self.en

    def __eq__(self, other: object) -> bool:
        return str(self) == str(other)

    def __hash__(self) -> int:
        return hash(self.en)


class _OptionLabel(_CustomLabel):
    def __init__(self, option: dict[str, Any]):
        super().__init__(str(option.get("label") or option["value"]), str(option.get("label_zh_hans") or ""))


def all_fields(importer: Importer) -> list[FieldSpec]:
    """Model fields plus the current custom fields (looked up per call: they are data)."""
    return [*importer.fields, *custom_field_specs(importer.object_type)]


def ready() -> None:
    """Discover ``<app>.importers`` modules of every installed Huoban app (called from apps.ready)."""
    from huoban.platform.discovery import app_modules

    list(app_modules("importers"))  # importing a module registers its importers
