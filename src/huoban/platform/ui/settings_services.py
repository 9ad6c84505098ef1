"""Settings-area helpers that are about the page, not the data: the one-option-per-line text
format of the custom-field form, and module switches. The writes on custom fields, picklist
values and numbering rules live in ``huoban.platform.records.definitions`` (shared with the API);
users, units and roles in ``identity.services``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.errors import ValidationError
from huoban.platform.identity.actors import Actor


def parse_options(text: str) -> list[dict[str, str]]:
    """Options typed one per line as ``value | English label | 中文标签`` (labels optional)."""
    out: list[dict[str, str]] = []
    for line in (text or "").splitlines():
        parts = [p.strip() for p in line.split("|")]
        if not parts or not parts[0]:
            continue
        value = parts[0]
        label = parts[1] if len(parts) > 1 and parts[1] else value
        zh = parts[2] if len(parts) > 2 else ""
        out.append({"value": value, "label": label, "label_zh_hans": zh})
    return out


def format_options(options: Sequence[Any]) -> str:
    lines = []
    for o in options or []:
        if isinstance(o, dict):
            lines.append(
                " | ".join(
                    [str(o.get("value", "")), str(o.get("label", "")), str(o.get("label_zh_hans", ""))]
                ).rstrip(" |")
            )
        else:
            lines.append(str(o))
    return "\n".join(lines)


# --- numbering rules ---------------------------------------------------------------------------

# --- module switches -----------------------------------------------------------------------------


def module_switch_set(*, actor: Actor, key: str, enabled: bool) -> bool:
    """Switch a navigation module on or off; returns whether anything changed."""
    from .nav import MODULES, module_enabled, set_module_enabled

    if key not in MODULES:
        raise ValidationError({"module": [_("Unknown module.")]})
    if not MODULES[key].can_disable and not enabled:
        raise ValidationError({"module": [_("This module cannot be switched off.")]})
    before = module_enabled(key)
    if before == enabled:
        return False
    with transaction.atomic():
        set_module_enabled(key, enabled)
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="module",
            object_id=key,
            object_repr=key,
            changes={"enabled": [before, enabled]},
        )
    return True
