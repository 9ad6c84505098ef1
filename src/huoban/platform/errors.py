"""Domain errors raised by services; the API and UI render them (400/403/404/409)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _


class DomainError(Exception):
    status = 400


class ValidationError(DomainError):
    """Field-level errors: {"field": ["message", …]}; "non_field_errors" for the whole record."""

    status = 400

    def __init__(self, errors: dict[str, Any] | str):
        if isinstance(errors, str):
            errors = {"non_field_errors": [errors]}
        self.errors = {k: (v if isinstance(v, list | dict) else [v]) for k, v in errors.items()}
        super().__init__(str(self.errors))

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errors,))  # the field errors survive pickling (import reader process)

    def merged(self, other: ValidationError) -> ValidationError:
        combined = dict(self.errors)
        for k, v in other.errors.items():
            combined.setdefault(k, [])
            if isinstance(v, list) and isinstance(combined[k], list):
                combined[k] = [*combined[k], *v]
            else:
                combined[k] = v
        return ValidationError(combined)


class ConflictError(DomainError):
    """Stale write: the record changed since the client read it."""

    status = 409

    def __init__(
        self,
        message: Any = None,
        *,
        current_version: int | None = None,
        changed_by: str = "",
        changed_at: Any = None,
        changes: dict[str, Any] | None = None,
    ):
        self.message = str(message or _("This record was changed by someone else. Reload and try again."))
        self.current_version = current_version
        self.changed_by = changed_by
        self.changed_at = changed_at
        self.changes = changes or {}
        super().__init__(self.message)

    def as_dict(self) -> dict[str, Any]:
        return {
            "detail": self.message,
            "code": "stale_version",
            "current_version": self.current_version,
            "changed_by": self.changed_by,
            "changed_at": self.changed_at.isoformat()
            if hasattr(self.changed_at, "isoformat")
            else self.changed_at,
            "changes": self.changes,
        }


class DuplicateError(DomainError):
    """Likely duplicates found before saving; the client may confirm and retry."""

    status = 409

    def __init__(self, duplicates: list[dict[str, Any]]):
        self.duplicates = duplicates
        super().__init__("duplicates")


class PermissionDeniedError(DomainError):
    status = 403

    def __init__(self, message: Any = None, code: str = "permission_denied"):
        self.message = str(message or _("You do not have permission to perform this action."))
        self.code = code
        super().__init__(self.message)


class StepUpRequired(PermissionDeniedError):
    def __init__(self) -> None:
        super().__init__(_("Confirm with your two-factor code to continue."), code="step_up_required")


class NotFoundError(DomainError):
    status = 404


def error_messages(exc: BaseException, bare_fields: tuple[str, ...] = ("non_field_errors",)) -> list[str]:
    """A domain error as readable lines (``field: message``; fields in ``bare_fields`` unprefixed),
    for pages, failed jobs and reports; any other exception as its text."""
    if isinstance(exc, ValidationError):
        out = []
        for field, msgs in exc.errors.items():
            if isinstance(msgs, dict):
                msgs = [f"{k}: {v}" for k, v in msgs.items()]
            for m in msgs if isinstance(msgs, list) else [msgs]:
                out.append(str(m) if field in bare_fields else f"{field}: {m}")
        return out
    return [str(getattr(exc, "message", exc))]


def error_text(exc: BaseException) -> str:
    """A domain refusal as one line for a message or a form: the messages of a
    ``ValidationError`` without their field names, else the error's own message."""
    bare = tuple(exc.errors) if isinstance(exc, ValidationError) else ()
    return " ".join(error_messages(exc, bare_fields=bare))
