"""Every write on pipelines and opportunities: create, update, move between stages (required
fields, history with time spent, backwards moves), contacts with roles, stuck alerts."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from huoban.leads import integration
from huoban.platform.access.scoping import service
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import audit_log
from huoban.platform.errors import ValidationError
from huoban.platform.events.bus import emit
from huoban.platform.identity.actors import Actor, actor_name, actor_user
from huoban.platform.notifications.services import notify
from huoban.platform.records.services import (
    changes_between,
    lock_for_write,
    next_number,
    record_create,
    record_update,
    snapshot,
)

from .models import (
    ContactRole,
    ForecastCategory,
    Opportunity,
    OpportunityContact,
    OpportunityStatus,
    Pipeline,
    SalesSettings,
    Stage,
    StageHistory,
    StageType,
)

EDITABLE = (
    "name",
    "customer",
    "amount",
    "currency",
    "close_date",
    "probability",
    "forecast_category",
    "products",
    "competitors",
    "next_step",
    "source",
    "campaign",
    "close_reason",
    "close_note",
)
INTERNAL = ("amount_base", "probability_manual", "status")
# Fields a stage may require before an opportunity enters it.
REQUIRABLE = (
    "amount",
    "close_date",
    "next_step",
    "competitors",
    "products",
    "contacts",
    "close_reason",
    "close_note",
    "source",
    "campaign",
)


def default_pipeline() -> Pipeline | None:
    return (
        Pipeline.objects.filter(active=True, is_default=True).first()
        or Pipeline.objects.filter(active=True).order_by("position", "id").first()
    )


def first_open_stage(pipeline: Pipeline) -> Stage | None:
    return pipeline.stages.filter(active=True, type=StageType.OPEN).order_by("position", "id").first()


def _status_for(stage: Stage) -> str:
    return {StageType.WON: OpportunityStatus.WON, StageType.LOST: OpportunityStatus.LOST}.get(
        stage.type, OpportunityStatus.OPEN
    )


def _top_position(pipeline_id: int) -> int:
    return Stage.objects.filter(pipeline_id=pipeline_id).aggregate(m=Max("position"))["m"] or 0


def _reached(stage: Stage, previous: int = 0) -> int:
    """Funnel position reached on entering ``stage``: won counts as past every stage."""
    if stage.type == StageType.WON:
        return _top_position(stage.pipeline_id)
    if stage.type == StageType.LOST:
        return previous
    return max(previous, stage.position)


def _money(value: Any, field: str = "amount") -> Decimal:
    if value in (None, ""):
        return Decimal("0")
    try:
        d = Decimal(str(value).replace(",", "").strip())
    except (InvalidOperation, ValueError):
        raise ValidationError({field: [_("Enter a number.")]})
    if d < 0:
        raise ValidationError({field: [_("Enter a positive amount.")]})
    return d.quantize(Decimal("0.01"))


def _contact_ids(opp: Opportunity) -> list[int]:
    return list(OpportunityContact.objects.filter(opportunity=opp).values_list("contact_id", flat=True))


def missing_fields(opp: Opportunity, stage: Stage, contacts: list[int] | None = None) -> list[str]:
    """Required fields of ``stage`` that ``opp`` leaves empty."""
    missing = []
    for name in stage.required_fields or []:
        if name == "contacts":
            ids = contacts if contacts is not None else (_contact_ids(opp) if opp.pk else [])
            if not ids:
                missing.append(name)
            continue
        if name.startswith("custom_fields."):
            value = (opp.custom_fields or {}).get(name.split(".", 1)[1])
        else:
            value = getattr(opp, name, None)
        if name == "amount":
            if not value or Decimal(value) <= 0:
                missing.append(name)
        elif value in (None, "", [], {}):
            missing.append(name)
    return missing


def _refuse_missing(stage: Stage, missing: list[str]) -> None:
    message = _("Required before entering “%(stage)s”.") % {"stage": stage.label}
    errors: dict[str, list[str]] = {
        "stage": [
            _("Fill in %(fields)s before moving to “%(stage)s”.")
            % {"fields": ", ".join(missing), "stage": stage.label}
        ]
    }
    for name in missing:
        errors[name] = [message]
    raise ValidationError(errors)


def _resolve_pipeline_stage(data: dict[str, Any]) -> tuple[Pipeline, Stage]:
    pipeline = data.get("pipeline")
    stage = data.get("stage")
    if isinstance(pipeline, int | str) and str(pipeline).isdigit():
        pipeline = Pipeline.objects.filter(pk=int(pipeline)).first()
        if pipeline is None:
            raise ValidationError({"pipeline": [_("Unknown pipeline.")]})
    if isinstance(stage, int | str) and str(stage).isdigit():
        stage = Stage.objects.filter(pk=int(stage)).first()
        if stage is None:
            raise ValidationError({"stage": [_("Unknown stage.")]})
    if pipeline is None and stage is not None:
        pipeline = stage.pipeline
    pipeline = pipeline or default_pipeline()
    if pipeline is None:
        raise ValidationError({"pipeline": [_("Create a pipeline first.")]})
    if not pipeline.active:
        raise ValidationError({"pipeline": [_("This pipeline is inactive.")]})
    stage = stage or first_open_stage(pipeline)
    if stage is None or stage.pipeline_id != pipeline.pk:
        raise ValidationError(
            {"stage": [_("Choose a stage of the pipeline “%(p)s”.") % {"p": pipeline.label}]}
        )
    if not stage.active:
        raise ValidationError({"stage": [_("This stage is inactive.")]})
    return pipeline, stage


CLOSE_REASONS = "opportunity_close_reason"  # picklist of win/loss reasons


def _check_close_reason(data: dict[str, Any]) -> None:
    """The win/loss reason as a code of its picklist (a code, label or alias is accepted)."""
    if data.get("close_reason"):
        from huoban.platform.records.picklists import resolve_picklist

        try:
            data["close_reason"] = resolve_picklist(CLOSE_REASONS, data["close_reason"])
        except ValueError as exc:
            raise ValidationError({"close_reason": [str(exc)]})


def _clean_lists(data: dict[str, Any]) -> None:
    for key in ("products", "competitors"):
        if key in data:
            value = data[key]
            if value in (None, ""):
                data[key] = []
            elif isinstance(value, str):
                data[key] = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
            elif not isinstance(value, list):
                raise ValidationError({key: [_("Expected a list.")]})


def _clean_contacts(contacts: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    if contacts is None:
        return None
    Contact = integration.contact_model()
    out = []
    errors = []
    seen: set[int] = set()
    for item in contacts:
        try:
            cid = int(item.get("contact") if isinstance(item, dict) else item)
        except (TypeError, ValueError):
            errors.append(_("Each contact needs an id."))
            continue
        role = (item.get("role") if isinstance(item, dict) else None) or ContactRole.OTHER
        if role not in ContactRole.values:
            errors.append(_("Unknown role “%(role)s”.") % {"role": role})
            continue
        if cid in seen:
            continue
        seen.add(cid)
        out.append(
            {
                "contact": cid,
                "role": role,
                "is_primary": bool(isinstance(item, dict) and item.get("is_primary")),
            }
        )
    if Contact is not None and out:
        manager = (
            Contact.objects.unrestricted() if hasattr(Contact.objects, "unrestricted") else Contact.objects
        )
        known = set(manager.filter(pk__in=[c["contact"] for c in out]).values_list("pk", flat=True))
        unknown = [str(c["contact"]) for c in out if c["contact"] not in known]
        if unknown:
            errors.append(_("Unknown contacts: %(ids)s.") % {"ids": ", ".join(unknown)})
    if errors:
        raise ValidationError({"contacts": errors})
    if out and not any(c["is_primary"] for c in out):
        out[0]["is_primary"] = True
    return out


def _write_contacts(opp: Opportunity, contacts: list[dict[str, Any]]) -> None:
    OpportunityContact.objects.filter(opportunity=opp).delete()
    OpportunityContact.objects.bulk_create(
        [
            OpportunityContact(
                opportunity=opp, contact_id=c["contact"], role=c["role"], is_primary=c["is_primary"]
            )
            for c in contacts
        ]
    )


def _history(
    opp: Opportunity,
    stage: Stage,
    from_stage: Stage | None,
    at: dt.datetime,
    actor: Actor,
    backwards: bool = False,
) -> StageHistory:
    return StageHistory.objects.create(
        opportunity=opp,
        pipeline_id=stage.pipeline_id,
        stage=stage,
        from_stage=from_stage,
        entered_at=at,
        backwards=backwards,
        actor=actor_user(actor),
        actor_name=actor_name(actor),
        opportunity_created_at=opp.created_at,
        owner_id=opp.owner_id,
        owner_unit_id=opp.owner_unit_id,
        source=opp.source,
        live=opp.deleted_at is None,
    )


def sync_history(opportunity_ids: list[int] | None = None) -> int:
    """Copy the opportunities' owner, unit, source and liveness onto their stage history (after a
    transfer, delete, restore or an edit of the source; nightly for everything that drifted)."""
    from django.db.models import Exists, OuterRef, Subquery

    opps = Opportunity.objects.unrestricted().filter(pk=OuterRef("opportunity_id"))
    rows = StageHistory.objects.all()
    if opportunity_ids is not None:
        rows = rows.filter(opportunity_id__in=opportunity_ids)
    else:
        same = Opportunity.objects.unrestricted().filter(
            pk=OuterRef("opportunity_id"),
            owner_id=OuterRef("owner_id"),
            owner_unit_id=OuterRef("owner_unit_id"),
            source=OuterRef("source"),
        )
        rows = rows.filter(
            (Q(live=True) & ~Exists(same.filter(deleted_at__isnull=True)))
            | (Q(live=False) & ~Exists(same.filter(deleted_at__isnull=False)))
        )
    return rows.update(
        owner_id=Subquery(opps.values("owner_id")[:1]),
        owner_unit_id=Subquery(opps.values("owner_unit_id")[:1]),
        source=Subquery(opps.values("source")[:1]),
        live=Exists(opps.filter(deleted_at__isnull=True)),
    )


def _local_date(when: dt.datetime) -> dt.date:
    return timezone.localtime(when, timezone.get_default_timezone()).date()


@service
def opportunity_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    custom_fields: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    contacts: list[dict[str, Any]] | None = None,
) -> Opportunity:
    data = dict(data)
    pipeline, stage = _resolve_pipeline_stage(data)
    _clean_lists(data)
    _check_close_reason(data)
    contacts = _clean_contacts(contacts) or []
    owner = data.pop("owner", None)
    source_lead = data.pop("source_lead", None)
    fields = {k: v for k, v in data.items() if k in EDITABLE}
    fields["amount"] = _money(fields.get("amount"))
    manual = fields.get("probability") not in (None, "")
    if not manual:
        fields.pop("probability", None)
    settings = SalesSettings.load()
    with transaction.atomic():
        obj = Opportunity(**fields)
        obj.pipeline, obj.stage = pipeline, stage
        obj.currency = (obj.currency or pipeline.currency or settings.base_currency).upper()
        obj.amount_base = settings.in_base(obj.amount, obj.currency)
        obj.probability_manual = manual
        if not manual:
            obj.probability = stage.probability
        obj.status = _status_for(stage)
        obj.max_position = _reached(stage)
        obj.source_lead = source_lead
        if source_lead is not None and not obj.source:
            obj.source = source_lead.source
        if owner is not None:
            obj.owner = owner
        now = timezone.now()
        obj.stage_entered_at = now
        if obj.status != OpportunityStatus.OPEN:
            obj.closed_at = now
            obj.close_date = obj.close_date or _local_date(now)
            obj.forecast_category = ForecastCategory.CLOSED
            obj.probability = 100 if obj.status == OpportunityStatus.WON else 0
            obj.probability_manual = False
        missing = missing_fields(obj, stage, [c["contact"] for c in contacts])
        if missing:
            _refuse_missing(stage, missing)
        obj.number = next_number("opportunity")
        record_create(actor=actor, obj=obj, custom_fields=custom_fields, tags=tags)
        if contacts:
            _write_contacts(obj, contacts)
        _history(obj, stage, None, now, actor)
    return obj


@service
def opportunity_update(
    *,
    actor: Actor,
    opportunity: Opportunity,
    data: dict[str, Any],
    custom_fields: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    version: int | None = None,
    contacts: list[dict[str, Any]] | None = None,
) -> Opportunity:
    data = dict(data)
    if "stage" in data or "pipeline" in data:
        stage = data.get("stage")
        if stage is not None and getattr(stage, "pk", stage) != opportunity.stage_id:
            raise ValidationError({"stage": [_("Change the stage with the move action.")]})
        data.pop("stage", None)
        data.pop("pipeline", None)
    _clean_lists(data)
    _check_close_reason(data)
    contacts = _clean_contacts(contacts)
    if "amount" in data:
        data["amount"] = _money(data["amount"])
    if "probability" in data:
        if data["probability"] in (None, ""):
            data["probability"] = opportunity.stage.probability
            data["probability_manual"] = False
        else:
            data["probability_manual"] = True
    if "forecast_category" in data and opportunity.status != OpportunityStatus.OPEN:
        if data["forecast_category"] != opportunity.forecast_category:
            raise ValidationError(
                {"forecast_category": [_("A closed opportunity has no forecast category.")]}
            )
    if (
        data.get("forecast_category") == ForecastCategory.CLOSED
        and opportunity.status == OpportunityStatus.OPEN
    ):
        raise ValidationError(
            {"forecast_category": [_("Close the opportunity by moving it to a won or lost stage.")]}
        )
    with transaction.atomic():
        if "amount" in data or "currency" in data:
            currency = str(data.get("currency") or opportunity.currency).upper()
            amount = data.get("amount", opportunity.amount)
            data["currency"] = currency
            data["amount_base"] = SalesSettings.load().in_base(amount, currency)
        before_contacts = _contact_ids(opportunity) if contacts is not None else None
        source_before = opportunity.source
        obj = record_update(
            actor=actor,
            obj=opportunity,
            data=data,
            custom_fields=custom_fields,
            tags=tags,
            version=version,
            allowed_fields=(*EDITABLE, *INTERNAL),
        )
        if "source" in data and obj.source != source_before:
            sync_history([obj.pk])
        if contacts is not None:
            after = [c["contact"] for c in contacts]
            current = {
                (c.contact_id, c.role, c.is_primary)
                for c in OpportunityContact.objects.filter(opportunity=obj)
            }
            wanted = {(c["contact"], c["role"], c["is_primary"]) for c in contacts}
            if current != wanted:
                _write_contacts(obj, contacts)
                audit_log(
                    actor=actor,
                    action=AuditAction.UPDATE,
                    obj=obj,
                    changes={"contacts": [sorted(before_contacts or []), sorted(after)]},
                )
    return obj


@service
def opportunity_move(
    *,
    actor: Actor,
    opportunity: Opportunity,
    stage: Stage,
    version: int | None = None,
    data: dict[str, Any] | None = None,
) -> Opportunity:
    """Move to ``stage`` (any direction; another pipeline's stage moves the pipeline too).

    ``data`` may fill fields on the way (e.g. close_reason and close_note when losing). Refused with
    field errors naming the stage's required fields that are still empty.
    """
    data = dict(data or {})
    with transaction.atomic():
        current = lock_for_write(opportunity, version)
        old_stage = Stage.objects.get(pk=current.stage_id)
        if not stage.active or not Pipeline.objects.filter(pk=stage.pipeline_id, active=True).exists():
            raise ValidationError({"stage": [_("This stage is inactive.")]})
        if stage.pk == old_stage.pk and not data:
            return current
        before = snapshot(current)
        fill = {
            k: v
            for k, v in data.items()
            if k
            in (
                "amount",
                "close_date",
                "next_step",
                "competitors",
                "products",
                "close_reason",
                "close_note",
                "forecast_category",
            )
        }
        _clean_lists(fill)
        _check_close_reason(fill)
        if "amount" in fill:
            fill["amount"] = _money(fill["amount"])
        for k, v in fill.items():
            setattr(current, k, v)
        missing = missing_fields(current, stage)
        if missing:
            _refuse_missing(stage, missing)
        now = timezone.now()
        moved = stage.pk != old_stage.pk
        if moved:
            same_pipeline = stage.pipeline_id == old_stage.pipeline_id
            backwards = (
                same_pipeline and stage.position < old_stage.position and stage.type == StageType.OPEN
            ) or (old_stage.type != StageType.OPEN and stage.type == StageType.OPEN)
            open_row = (
                StageHistory.objects.filter(opportunity=current, left_at__isnull=True)
                .order_by("-entered_at", "-id")
                .first()
            )
            if open_row is not None:
                open_row.left_at = now
                open_row.duration_seconds = int((now - open_row.entered_at).total_seconds())
                open_row.save(update_fields=["left_at", "duration_seconds"])
            _history(current, stage, old_stage, now, actor, backwards=backwards)
            current.pipeline_id = stage.pipeline_id
            current.stage = stage
            current.stage_entered_at = now
            current.stuck_since = None
            current.stuck_escalated_at = None
            status = _status_for(stage)
            if status != OpportunityStatus.OPEN:
                current.closed_at = now
                current.close_date = _local_date(now)
                current.forecast_category = ForecastCategory.CLOSED
                current.probability = 100 if status == OpportunityStatus.WON else 0
                current.probability_manual = False
            else:
                if current.status != OpportunityStatus.OPEN:
                    current.closed_at = None
                    current.forecast_category = ForecastCategory.PIPELINE
                if not current.probability_manual:
                    current.probability = stage.probability
            previous_max = current.max_position if same_pipeline else 0
            current.max_position = _reached(stage, previous_max)
            current.status = status
        else:
            backwards = False
        current.amount_base = SalesSettings.load().in_base(current.amount, current.currency)
        current.version += 1
        current.updated_at = now
        current.updated_by = actor_user(actor)
        current.save()
        changes = changes_between(before, snapshot(current))
        audit_log(
            actor=actor,
            action=AuditAction.MOVE if moved else AuditAction.UPDATE,
            obj=current,
            changes=changes,
            data={"from": old_stage.pk, "to": stage.pk, "backwards": backwards} if moved else {},
        )
        if moved:
            emit(
                "opportunity.moved",
                actor=actor,
                id=current.pk,
                from_stage=old_stage.pk,
                to_stage=stage.pk,
                backwards=backwards,
            )
            if current.status == OpportunityStatus.WON:
                emit("opportunity.won", actor=actor, id=current.pk, amount=str(current.amount))
            elif current.status == OpportunityStatus.LOST:
                emit("opportunity.lost", actor=actor, id=current.pk, reason=current.close_reason)
        else:
            emit("opportunity.updated", actor=actor, id=current.pk, changes=list(changes))
    opportunity.__dict__.update({k: v for k, v in current.__dict__.items() if not k.startswith("_")})
    return current


# --- stuck alerts ------------------------------------------------------------------------------------


def _stage_name(stage: Stage, reader: Any) -> str:
    """The stage name in the language the notification's reader uses."""
    if reader is None:
        return stage.label
    with translation.override(reader.reading_language()):
        return stage.label


@service
def opportunity_check_stuck(*, now: dt.datetime | None = None, limit: int = 5000) -> dict[str, int]:
    """Flag opportunities over their stage's dwell time and tell the owner; after the second
    threshold tell the owner's manager. Each alert is sent once per stay in a stage."""
    from huoban.leads.services import manager_of

    now = now or timezone.now()
    flagged = escalated = 0
    stages = Stage.objects.filter(active=True, type=StageType.OPEN, max_dwell_days__isnull=False)
    base = Opportunity.objects.unrestricted().filter(deleted_at__isnull=True, status=OpportunityStatus.OPEN)
    for stage in stages:
        cutoff = now - dt.timedelta(days=stage.max_dwell_days)
        rows = list(
            base.filter(stage=stage, stuck_since__isnull=True, stage_entered_at__lt=cutoff)
            .select_related("owner")
            .order_by("stage_entered_at")[:limit]
        )
        for opp in rows:
            days = (now - opp.stage_entered_at).days
            notify(
                recipient=opp.owner,
                verb="opportunity.stuck",
                title=gettext_noop("Stuck for %(days)s days in %(stage)s: %(name)s"),
                title_args={"days": days, "stage": _stage_name(stage, opp.owner), "name": opp.name},
                url=f"/opportunities/{opp.pk}/",
                data={"opportunity": opp.pk, "stage": stage.pk},
            )
        if rows:
            base.filter(pk__in=[o.pk for o in rows]).update(stuck_since=now)
            flagged += len(rows)
        second = stage.escalation_days()
        if not second:
            continue
        cutoff2 = now - dt.timedelta(days=second)
        rows = list(
            base.filter(
                stage=stage,
                stuck_since__isnull=False,
                stuck_escalated_at__isnull=True,
                stage_entered_at__lt=cutoff2,
            )
            .select_related("owner__primary_unit__manager", "owner_unit__manager")
            .order_by("stage_entered_at")[:limit]
        )
        for opp in rows:
            manager = (
                manager_of(opp.owner, opp.owner_unit)
                if opp.owner
                else getattr(opp.owner_unit, "manager", None)
            )
            if manager is None:
                continue
            notify(
                recipient=manager,
                verb="opportunity.stuck_escalated",
                title=gettext_noop("Stuck for %(days)s days in %(stage)s (%(owner)s): %(name)s"),
                title_args={
                    "days": (now - opp.stage_entered_at).days,
                    "stage": _stage_name(stage, manager),
                    "owner": str(opp.owner) if opp.owner else "-",
                    "name": opp.name,
                },
                url=f"/opportunities/{opp.pk}/",
                data={"opportunity": opp.pk, "stage": stage.pk, "owner": opp.owner_id},
            )
        if rows:
            base.filter(pk__in=[o.pk for o in rows]).update(stuck_escalated_at=now)
            escalated += len(rows)
    return {"flagged": flagged, "escalated": escalated}


# --- pipelines (administrators) ---------------------------------------------------------------------

STAGE_FIELDS = (
    "code",
    "name",
    "name_zh_hans",
    "type",
    "probability",
    "required_fields",
    "max_dwell_days",
    "escalate_after_days",
    "active",
)


def _validate_stages(stages: list[dict[str, Any]]) -> None:
    errors: list[str] = []
    types = [s.get("type", StageType.OPEN) for s in stages if s.get("active", True)]
    if StageType.OPEN not in types:
        errors.append(_("A pipeline needs at least one open stage."))
    if StageType.WON not in types:
        errors.append(_("A pipeline needs a won stage."))
    if StageType.LOST not in types:
        errors.append(_("A pipeline needs a lost stage."))
    codes = [s.get("code") for s in stages]
    if len(set(codes)) != len(codes):
        errors.append(_("Stage codes must be unique within the pipeline."))
    for s in stages:
        for f in s.get("required_fields") or []:
            if f not in REQUIRABLE and not str(f).startswith("custom_fields."):
                errors.append(_("Unknown required field “%(f)s”.") % {"f": f})
        p = s.get("probability", 0)
        if p is None or not 0 <= int(p) <= 100:
            errors.append(_("Probability is between 0 and 100."))
    if errors:
        raise ValidationError({"stages": errors})


@service
def pipeline_save(
    *,
    actor: Actor,
    pipeline: Pipeline | None,
    data: dict[str, Any],
    stages: list[dict[str, Any]] | None = None,
) -> Pipeline:
    """Create or update a pipeline and (optionally) its ordered stages. A removed stage that
    opportunities still use is deactivated instead of deleted."""
    creating = pipeline is None
    if creating and not stages:
        raise ValidationError({"stages": [_("A pipeline needs stages.")]})
    pipeline = pipeline or Pipeline()
    fields = ("code", "name", "name_zh_hans", "description", "currency", "is_default", "active", "position")
    before = {k: getattr(pipeline, k) for k in fields} if not creating else {}
    for k, v in data.items():
        if k in fields:
            setattr(pipeline, k, v)
    if stages is not None:
        for i, s in enumerate(stages):
            s.setdefault("code", f"stage-{i + 1}")
        _validate_stages(stages)
    with transaction.atomic():
        if creating and Pipeline.objects.filter(code=pipeline.code).exists():
            raise ValidationError({"code": [_("This code is taken.")]})
        pipeline.version = (pipeline.version or 0) + (0 if creating else 1)
        pipeline.updated_at = timezone.now()
        pipeline.save()
        if pipeline.is_default:
            Pipeline.objects.exclude(pk=pipeline.pk).filter(is_default=True).update(is_default=False)
        stage_changes: list[Any] = []
        if stages is not None:
            existing = {s.pk: s for s in pipeline.stages.all()}
            keep: set[int] = set()
            for position, spec in enumerate(stages):
                sid = spec.get("id")
                stage = existing.get(int(sid)) if sid else None
                if sid and stage is None:
                    raise ValidationError(
                        {"stages": [_("Stage %(id)s is not part of this pipeline.") % {"id": sid}]}
                    )
                if stage is None:
                    stage = next(
                        (s for s in existing.values() if s.code == spec.get("code") and s.pk not in keep),
                        None,
                    )
                stage = stage or Stage(pipeline=pipeline)
                for k in STAGE_FIELDS:
                    if k in spec:
                        setattr(stage, k, spec[k])
                stage.position = position + 1
                stage.required_fields = list(stage.required_fields or [])
                stage.save()
                keep.add(stage.pk)
                stage_changes.append(stage.code)
            for sid, stage in existing.items():
                if sid in keep:
                    continue
                used = (
                    Opportunity.objects.unrestricted().filter(stage=stage).exists()
                    or StageHistory.objects.filter(stage=stage).exists()
                )
                if used:
                    if stage.active:
                        stage.active = False
                        stage.save(update_fields=["active"])
                else:
                    stage.delete()
        changes = changes_between(before, {k: getattr(pipeline, k) for k in fields})
        if stages is not None:
            changes["stages"] = [None, stage_changes]
        audit_log(
            actor=actor,
            action=AuditAction.CREATE if creating else AuditAction.UPDATE,
            object_type="pipeline",
            object_id=pipeline.pk,
            object_repr=pipeline.name,
            changes=changes,
        )
    return pipeline


@service
def pipeline_delete(*, actor: Actor, pipeline: Pipeline) -> None:
    """Pipelines with opportunities are deactivated; empty ones are deleted."""
    with transaction.atomic():
        if Opportunity.objects.unrestricted().filter(pipeline=pipeline).exists():
            pipeline.active = False
            pipeline.is_default = False
            pipeline.save(update_fields=["active", "is_default"])
            changes = {"active": [True, False]}
        else:
            changes = {}
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE if changes else AuditAction.DELETE,
            object_type="pipeline",
            object_id=pipeline.pk,
            object_repr=pipeline.name,
            changes=changes,
        )
        if not changes:
            pipeline.delete()


@service
def sales_settings_update(*, actor: Actor, data: dict[str, Any]) -> SalesSettings:
    """Company-wide sales settings (API and the settings page). Currency codes are three letters
    (ISO 4217), rates positive numbers of base-currency units per unit of the currency. When the
    base currency or a rate changes, open opportunities get their base-currency amount again
    (closed ones keep the rate of their time)."""
    obj = SalesSettings.load()
    data = dict(data)
    errors: dict[str, list[str]] = {}
    if "base_currency" in data:
        code = str(data["base_currency"] or "").strip().upper()
        if not CURRENCY_CODE.fullmatch(code):
            errors["base_currency"] = [_("Enter a three-letter currency code, e.g. CNY or USD.")]
        data["base_currency"] = code
    base = data.get("base_currency", obj.base_currency)
    rates = data.get("exchange_rates")
    if rates is not None:
        if not isinstance(rates, dict):
            errors["exchange_rates"] = [_("Expected an object of currency: rate.")]
        else:
            clean: dict[str, str] = {}
            problems: list[str] = []
            for k, v in rates.items():
                code = str(k or "").strip().upper()
                try:
                    rate = Decimal(str(v).strip())
                except (InvalidOperation, ValueError):
                    rate = None
                if not CURRENCY_CODE.fullmatch(code):
                    problems.append(_("“%(code)s” is not a three-letter currency code.") % {"code": k})
                elif rate is None or not rate.is_finite() or rate <= 0:
                    problems.append(_("%(code)s: the rate must be a number above 0.") % {"code": code})
                elif code != base:  # the base currency's rate is 1 by definition
                    clean[code] = str(rate.normalize())
            if problems:
                errors["exchange_rates"] = problems
            data["exchange_rates"] = clean
    if "funnel_warning_threshold" in data:
        try:
            threshold = int(data["funnel_warning_threshold"])
        except (TypeError, ValueError):
            threshold = -1
        if not 0 <= threshold <= 100:
            errors["funnel_warning_threshold"] = [_("Enter a percentage from 0 to 100.")]
        data["funnel_warning_threshold"] = threshold
    if errors:
        raise ValidationError(errors)
    before = {k: getattr(obj, k) for k in data}
    for k, v in data.items():
        setattr(obj, k, v)
    changed = {k: [str(before[k]), str(getattr(obj, k))] for k in data if before[k] != getattr(obj, k)}
    with transaction.atomic():
        obj.updated_at = timezone.now()
        obj.save()
        recomputed = 0
        if "base_currency" in changed or "exchange_rates" in changed:
            recomputed = _recompute_open_amounts(obj)
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            object_type="sales_settings",
            object_id=obj.pk,
            object_repr="sales settings",
            changes=changed,
            data={"recomputed_open_opportunities": recomputed} if recomputed else None,
        )
    return obj


CURRENCY_CODE = re.compile(r"[A-Z]{3}")


def _recompute_open_amounts(settings: SalesSettings) -> int:
    """Base-currency amounts of open opportunities after a rate change, computed like every
    other write (``SalesSettings.in_base``), written in batches; a derived column: no version
    bump, so nobody's open form turns stale."""
    rows = []
    qs = Opportunity.objects.unrestricted().filter(status=OpportunityStatus.OPEN, deleted_at__isnull=True)
    for opp in qs.only("pk", "amount", "currency", "amount_base").iterator(chunk_size=2000):
        value = settings.in_base(opp.amount, opp.currency)
        if value != opp.amount_base:
            opp.amount_base = value
            rows.append(opp)
    Opportunity.objects.unrestricted().bulk_update(rows, ["amount_base"], batch_size=1000)
    return len(rows)
