"""Writes on the definitions administrators configure: custom fields, picklist values and
numbering rules. One implementation, called by the REST API (`records/api.py`) and the settings
pages (`platform/ui/settings_views.py`); each write is validated and audited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from huoban.platform.access import registry
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.errors import ValidationError
from huoban.platform.identity.actors import Actor

from .custom_fields import coerce_value
from .models import CustomField, CustomFieldType, NumberingRule, Picklist, PicklistValue

# Single underscores only: `a__b` would collide with the `cf_<key>__gte` filter syntax.
KEY_RE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
KEY_MAX = 60
CUSTOM_FIELD_EDITABLE = (
    "label",
    "label_zh_hans",
    "required",
    "default",
    "options",
    "help_text",
    "order",
    "active",
)


def _changes(obj: Any, fields: dict[str, Any]) -> dict[str, list[Any]]:
    out = {}
    for k, v in fields.items():
        old = getattr(obj, k)
        if old != v:
            out[k] = [old, v]
            setattr(obj, k, v)
    return out


def _check_custom_field(ftype: str, options: list, default: Any) -> Any:
    errors: dict[str, list[str]] = {}
    if ftype not in CustomFieldType.values:
        errors["type"] = [_("Choose a field type.")]
    values = [o["value"] if isinstance(o, dict) else str(o) for o in options]
    if ftype in (CustomFieldType.SINGLE_SELECT, CustomFieldType.MULTI_SELECT) and not options:
        errors["options"] = [_("Select fields need at least one option.")]
    if len(values) != len(set(values)):
        errors["options"] = [_("Option values must be unique.")]
    if default not in (None, "") and "type" not in errors:
        try:
            default = coerce_value(CustomField(type=ftype, options=options), default)
        except ValueError as exc:
            errors["default"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return None if default in ("", []) else default


def custom_field_create(
    *,
    actor: Actor,
    object_type: str,
    key: str,
    label: str,
    type: str,  # noqa: A002
    label_zh_hans: str = "",
    required: bool = False,
    default: Any = None,
    options: list | None = None,
    help_text: str = "",
    order: int | None = None,
) -> CustomField:
    errors: dict[str, list[str]] = {}
    if registry.find(object_type) is None:
        errors["object_type"] = [_("Unknown object type.")]
    key = (key or "").strip().lower()
    if len(key) > KEY_MAX or not KEY_RE.match(key):
        errors["key"] = [_("Use lowercase letters, digits and single underscores, starting with a letter.")]
    elif CustomField.objects.filter(object_type=object_type, key=key).exists():
        errors["key"] = [_("A field with this key already exists.")]
    if not (label or "").strip():
        errors["label"] = [_("This field is required.")]
    if errors:
        raise ValidationError(errors)
    options = options or []
    default = _check_custom_field(type, options, default)
    with transaction.atomic():
        last = CustomField.objects.filter(object_type=object_type).order_by("-order").first()
        field = CustomField.objects.create(
            object_type=object_type,
            key=key,
            label=label.strip(),
            label_zh_hans=(label_zh_hans or "").strip(),
            type=type,
            required=required,
            default=default,
            options=options,
            help_text=help_text or "",
            order=order if order is not None else ((last.order + 10) if last else 10),
        )
        audit_log(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="custom_field",
            object_id=field.pk,
            object_repr=str(field),
            changes={
                k: [None, getattr(field, k)]
                for k in (
                    "object_type",
                    "key",
                    "label",
                    "label_zh_hans",
                    "type",
                    "required",
                    "default",
                    "options",
                )
            },
        )
    return field


def custom_field_update(*, actor: Actor, field: CustomField, **fields: Any) -> CustomField:
    unknown = set(fields) - set(CUSTOM_FIELD_EDITABLE)
    if unknown:
        raise ValidationError({k: [_("Cannot be changed once created.")] for k in unknown})
    if "label" in fields and not (fields["label"] or "").strip():
        raise ValidationError({"label": [_("This field is required.")]})
    options = fields.get("options", field.options)
    default = fields.get("default", field.default)
    checked = _check_custom_field(field.type, options, default)
    if "default" in fields:
        fields["default"] = checked
    with transaction.atomic():
        locked = CustomField.objects.select_for_update().get(pk=field.pk)
        changes = _changes(locked, fields)
        if changes:
            locked.save()
            audit_log(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="custom_field",
                object_id=locked.pk,
                object_repr=str(locked),
                changes=changes,
            )
    return locked


def custom_field_reorder(*, actor: Actor, object_type: str, ids: Sequence[int]) -> None:
    """Put the fields of one object type in the given order (the ids the user dragged)."""
    fields = {f.pk: f for f in CustomField.objects.filter(object_type=object_type)}
    ordered = [int(i) for i in ids if int(i) in fields]
    ordered += [pk for pk in sorted(fields, key=lambda pk: (fields[pk].order, pk)) if pk not in ordered]
    before = [fields[pk].key for pk in sorted(fields, key=lambda pk: (fields[pk].order, pk))]
    after = [fields[pk].key for pk in ordered]
    if before == after:
        return
    with transaction.atomic():
        for pos, pk in enumerate(ordered, start=1):
            if fields[pk].order != pos * 10:
                CustomField.objects.filter(pk=pk).update(order=pos * 10)
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="custom_field",
            object_id=object_type,
            object_repr=_("Field order of %(type)s") % {"type": object_type},
            changes={"order": [before, after]},
        )


# --- picklists -------------------------------------------------------------------------------


PICKLIST_VALUE_EDITABLE = ("label", "label_zh_hans", "order", "active", "parent")


def picklist_value_create(
    *,
    actor: Actor,
    picklist: Picklist,
    code: str,
    label: str,
    label_zh_hans: str = "",
    parent: PicklistValue | None = None,
) -> PicklistValue:
    errors: dict[str, list[str]] = {}
    code = (code or "").strip()
    if not code:
        errors["code"] = [_("This field is required.")]
    elif PicklistValue.objects.filter(picklist=picklist, code=code).exists():
        errors["code"] = [_("A value with this code already exists.")]
    if not (label or "").strip():
        errors["label"] = [_("This field is required.")]
    if parent is not None and parent.picklist_id != picklist.pk:
        errors["parent"] = [_("Choose a value of the same list.")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        last = PicklistValue.objects.filter(picklist=picklist).order_by("-order").first()
        value = PicklistValue.objects.create(
            picklist=picklist,
            code=code,
            label=label.strip(),
            label_zh_hans=(label_zh_hans or "").strip(),
            parent=parent,
            order=(last.order + 10) if last else 10,
        )
        audit_log(
            actor=actor,
            action=AuditAction.CREATE,
            object_type="picklist_value",
            object_id=value.pk,
            object_repr=f"{picklist.key}:{code}",
            changes={"label": [None, value.label], "label_zh_hans": [None, value.label_zh_hans]},
        )
    return value


def picklist_value_update(*, actor: Actor, value: PicklistValue, **fields: Any) -> PicklistValue:
    unknown = set(fields) - set(PICKLIST_VALUE_EDITABLE)
    if unknown:
        raise ValidationError({k: [_("This field cannot be changed here.")] for k in unknown})
    if "label" in fields and not (fields["label"] or "").strip():
        raise ValidationError({"label": [_("This field is required.")]})
    parent = fields.get("parent")
    if parent is not None:
        if parent.picklist_id != value.picklist_id or parent.pk == value.pk:
            raise ValidationError({"parent": [_("Choose a value of the same list.")]})
        fields["parent_id"] = fields.pop("parent").pk
    elif "parent" in fields:
        fields["parent_id"] = fields.pop("parent")
    with transaction.atomic():
        changes = _changes(value, fields)
        if changes:
            value.save()
            audit_log(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="picklist_value",
                object_id=value.pk,
                object_repr=f"{value.picklist.key}:{value.code}",
                changes=changes,
            )
    return value


# --- numbering rules ---------------------------------------------------------------------------


DATE_PATTERNS = ["%Y%m%d", "%Y%m", "%y%m%d", "%Y", ""]


def numbering_rule_check(*, prefix: str, date_pattern: str, separator: str, serial_length: Any) -> dict:
    errors: dict[str, list[str]] = {}
    prefix = (prefix or "").strip()
    if not prefix:
        errors["prefix"] = [_("This field is required.")]
    elif not re.match(r"^[A-Za-z0-9_\-]{1,20}$", prefix):
        errors["prefix"] = [_("Use up to 20 letters, digits, - or _.")]
    if date_pattern not in DATE_PATTERNS:
        errors["date_pattern"] = [_("Choose a date pattern.")]
    if separator not in ("", "-", "_", "/", "."):
        errors["separator"] = [_("Choose a separator.")]
    try:
        length = int(serial_length)
        if not 1 <= length <= 10:
            raise ValueError
    except (TypeError, ValueError):
        errors["serial_length"] = [_("Enter a whole number from 1 to 10.")]
        length = 4
    if errors:
        raise ValidationError(errors)
    return {"prefix": prefix, "date_pattern": date_pattern, "separator": separator, "serial_length": length}


def numbering_rule_save(*, actor: Actor, object_type: str, **fields: Any) -> NumberingRule:
    """Create or change the numbering rule of an object type. Existing numbers stay as they are;
    serials restart per period of the new date pattern."""
    if registry.find(object_type) is None:
        raise ValidationError({"object_type": [_("Unknown object type.")]})
    clean = numbering_rule_check(**fields)
    with transaction.atomic():
        rule = NumberingRule.objects.select_for_update().filter(object_type=object_type).first()
        if rule is None:
            rule = NumberingRule.objects.create(object_type=object_type, **clean)
            changes = {k: [None, v] for k, v in clean.items()}
        else:
            changes = _changes(rule, clean)
            if changes:
                rule.save()
        if changes:
            audit_log(
                actor=actor,
                action=AuditAction.UPDATE,
                object_type="numbering_rule",
                object_id=rule.pk,
                object_repr=object_type,
                changes=changes,
            )
    return rule
