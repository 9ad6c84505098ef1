"""Revealing one sensitive field of one record (ID-card number, bank account …).

Lists and details show sensitive fields masked to users without ``view_sensitive``; revealing
the clear value needs ``view_sensitive`` on the object type, the record inside the user's data
scope, and a fresh step-up. Every reveal is audited (which field of which record — never the
value).
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from huoban.platform.access import registry
from huoban.platform.access.scoping import get_scoped_or_404, has_perm
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.errors import PermissionDeniedError, ValidationError

from .stepup import require_step_up


def sensitive_field_reveal(*, request: Any, object_type: str, pk: Any, field: str) -> str:
    """The clear value of ``field``; 400 unknown type/field, 403 no permission or no step-up,
    404 outside the data scope."""
    user = request.user
    ot = registry.find(str(object_type or ""))
    if ot is None:
        raise ValidationError({"object_type": [_("Unknown object type.")]})
    if field not in ot.sensitive_fields:
        raise ValidationError({"field": [_("This field is not a sensitive field of this object type.")]})
    if not has_perm(user, ot.key, "view_sensitive"):
        raise PermissionDeniedError()
    obj = get_scoped_or_404(user, ot.model, pk)
    require_step_up(request)
    value = getattr(obj, field)
    audit_log(actor=user, action=AuditAction.REVEAL, obj=obj, data={"field": field})
    return "" if value is None else str(value)
