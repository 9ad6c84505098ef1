"""Every write on leads goes through here: create (UI, API, import, web form), update, dedup,
scoring, assignment, first-contact SLA, activity, conversion, web forms and rule administration."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from huoban.platform.access.scoping import has_perm, scoped, service
from huoban.platform.audit.models import AuditAction
from huoban.platform.audit.services import Entry, audit_log, audit_log_many
from huoban.platform.errors import DuplicateError, NotFoundError, PermissionDeniedError, ValidationError
from huoban.platform.events.bus import emit
from huoban.platform.identity.actors import Actor, SystemActor, actor_name, actor_user
from huoban.platform.notifications.services import notify
from huoban.platform.records.services import (
    changes_between,
    lock_for_write,
    next_numbers,
    record_create,
    record_update,
    snapshot,
)
from huoban.platform.records.uploads import check_upload, release_stored_file

from . import assignment, integration, scoring, workhours
from .dedup import find_duplicates
from .models import (
    OPEN_STATUSES,
    AssignmentRule,
    CompanySize,
    DedupPolicy,
    FollowUpResult,
    FollowUpType,
    Lead,
    LeadActivity,
    LeadAttachment,
    LeadSettings,
    LeadStatus,
    ScoringRule,
    Urgency,
    WebForm,
)

EDITABLE = (
    "name",
    "company",
    "title",
    "phone",
    "email",
    "region",
    "company_size",
    "industry",
    "source",
    "campaign",
    "urgency",
    "budget",
    "currency",
    "requirement",
    "status",
    "unqualified_reason",
    "matched_customer",
)
# Fields the services maintain themselves (allowed through record_update, never from clients).
INTERNAL = ("company_key", "first_contacted_at", "last_activity_at", "sla_overdue_at")

# Activity events that count as contacting the lead (first-contact SLA).
CONTACT_EVENTS = {"follow_up", "call", "visit", "meeting", "email_sent", "wechat", "contacted"}


# --- normalisation and validation ---------------------------------------------------------------


def normalise(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    """Canonical values (E.164 phones, e-mails, region and picklist codes) or field errors."""
    out = dict(data)
    errors: dict[str, list[str]] = {}
    for key in ("name", "company", "title", "requirement", "unqualified_reason"):
        if key in out and out[key] is not None:
            out[key] = str(out[key]).strip()
    cleaners = (
        ("phone", integration.clean_phone),
        ("email", integration.clean_email),
        ("region", integration.resolve_region),
        ("source", integration.resolve_source),
        ("industry", integration.resolve_industry),
    )
    for key, clean in cleaners:
        if key in out:
            try:
                out[key] = clean(out.get(key))
            except ValueError as exc:
                errors[key] = [str(exc)]
    if out.get("company_size") and out["company_size"] not in CompanySize.values:
        errors["company_size"] = [_("Choose one of: %(v)s.") % {"v": ", ".join(CompanySize.values)}]
    if "urgency" in out and out["urgency"] in (None, ""):
        out["urgency"] = Urgency.MEDIUM
    if "budget" in out and out["budget"] not in (None, ""):
        try:
            out["budget"] = Decimal(str(out["budget"]).replace(",", "").strip())
            if out["budget"] < 0:
                errors["budget"] = [_("Enter a positive amount.")]
        except (InvalidOperation, ValueError):
            errors["budget"] = [_("Enter a number.")]
    elif "budget" in out:
        out["budget"] = None
    if out.get("currency"):
        out["currency"] = str(out["currency"]).upper()[:3]
    if "company" in out:
        out["company_key"] = integration.company_key(out.get("company"))
    if creating and not (out.get("name") or out.get("company")):
        errors["name"] = [_("Enter the person's name or the company.")]
    if errors:
        raise ValidationError(errors)
    return out


def _settings() -> LeadSettings:
    return LeadSettings.load()


def manager_of(user: Any, unit: Any = None) -> Any:
    """The manager of the user's unit (or the next one up when the user manages it)."""
    unit = unit or getattr(user, "primary_unit", None)
    seen = 0
    while unit is not None and seen < 20:
        seen += 1
        if unit.manager_id and unit.manager_id != getattr(user, "pk", None):
            return unit.manager
        unit = unit.parent
    return None


def _notify_duplicate_owners(candidates: list[integration.Candidate], lead_repr: str, actor: Actor) -> None:
    from huoban.platform.identity.models import User

    me = getattr(actor_user(actor), "pk", None)
    owners = User.objects.in_bulk({c.owner_id for c in candidates if c.owner_id and c.owner_id != me})
    seen: set[int] = set()
    for c in candidates:
        if c.owner_id not in owners or c.owner_id in seen:
            continue
        seen.add(c.owner_id)
        notify(
            recipient=owners[c.owner_id],
            verb="lead.duplicate",
            title=gettext_noop("A new lead matches your record %(name)s"),
            title_args={"name": c.name},
            body=lead_repr,
            url=f"/{'customers' if c.object_type == 'customer' else c.object_type + 's'}/{c.id}/",
            data={"object_type": c.object_type, "id": c.id},
        )


# --- create ---------------------------------------------------------------------------------------


def _sla_due(start: dt.datetime, settings: LeadSettings) -> dt.datetime:
    return workhours.add_working_hours(start, settings.sla_hours, settings)


def _apply_decision(
    lead: Lead, decision: assignment.Decision, now: dt.datetime, settings: LeadSettings
) -> None:
    lead.owner = decision.user
    lead.owner_unit = (
        decision.unit if decision.unit is not None else getattr(decision.user, "primary_unit", None)
    )
    lead.assignment_rule = decision.rule
    if decision.user is not None:
        lead.assigned_at = now
        lead.sla_due_at = _sla_due(now, settings) if lead.first_contacted_at is None else None
    else:
        lead.assigned_at = None
        lead.sla_due_at = None
    lead.sla_overdue_at = None


def _assignment_notice(lead: Lead, actor: Actor) -> None:
    if lead.owner is None or lead.owner_id == getattr(actor_user(actor), "pk", None):
        return
    notify(
        recipient=lead.owner,
        verb="lead.assigned",
        title=gettext_noop("New lead assigned to you: %(name)s"),
        title_args={"name": str(lead)},
        url=f"/leads/{lead.pk}/",
        data={"lead": lead.pk},
    )


def _check_owner(actor: Actor, owner: Any) -> None:
    user = actor_user(actor)
    if owner is None or user is None:
        return
    if owner.pk != user.pk and not has_perm(user, "lead", "assign"):
        raise ValidationError({"owner": [_("You may not assign leads to other users.")]})
    if not owner.is_active:
        raise ValidationError({"owner": [_("Choose an active user.")]})


def _matched_customer_id(candidates: list[integration.Candidate]) -> int | None:
    for c in candidates:
        if c.object_type == "customer" and (c.score >= 95 or {"phone", "email", "uscc"} & set(c.reasons)):
            return c.id
    for c in candidates:
        if c.object_type == "contact":
            cid = integration.contact_customer_id(c.id)
            if cid:
                return cid
    return None


@service
def lead_create(
    *,
    actor: Actor,
    data: dict[str, Any],
    custom_fields: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    confirm_duplicate: bool = False,
    dedup_policy: str | None = None,
    channel: str = "ui",
    web_form: WebForm | None = None,
    auto_assign: bool | None = None,
) -> Lead:
    """Create a lead from any channel (ui, api, import, web_form).

    Duplicates (leads, contacts, customers) follow the policy: ``warn`` raises DuplicateError (409)
    unless ``confirm_duplicate``; ``attach`` adds the submission to the existing open lead (the
    returned lead is that one, ``lead.dedup_outcome == "attached"``) or links the matched customer;
    ``create`` saves anyway. Owners of the matched records are told. Assignment rules run unless
    the caller names an ``owner``.
    """
    settings = _settings()
    data = {k: v for k, v in data.items() if k in (*EDITABLE, "owner")}
    explicit_owner = data.pop("owner", None)
    _check_owner(actor, explicit_owner)
    data = normalise(data, creating=True)
    if data.get("status") == LeadStatus.CONVERTED:
        raise ValidationError({"status": [_("Convert a lead with the convert action.")]})
    policy = dedup_policy or settings.dedup_policy
    candidates = find_duplicates(data, threshold=settings.name_similarity)
    lead_repr = data.get("name") or data.get("company") or ""
    if candidates:
        if policy == DedupPolicy.WARN and not confirm_duplicate and channel != "web_form":
            raise DuplicateError([c.as_dict() for c in candidates])
        if policy == DedupPolicy.ATTACH:
            existing = next(
                (
                    c
                    for c in candidates
                    if c.object_type == "lead"
                    and Lead.objects.unrestricted().filter(pk=c.id, status__in=OPEN_STATUSES).exists()
                ),
                None,
            )
            if existing is not None:
                lead = Lead.objects.unrestricted().get(pk=existing.id)
                lead = lead_attach_submission(
                    actor=actor, lead=lead, data=data, channel=channel, web_form=web_form
                )
                _notify_duplicate_owners(candidates, lead_repr, actor)
                lead.dedup_outcome = "attached"
                lead.dedup_candidates = [c.as_dict() for c in candidates]
                return lead
            if not data.get("matched_customer"):
                data["matched_customer_id"] = _matched_customer_id(candidates)
    now = timezone.now()
    with transaction.atomic():
        obj = Lead(**{k: v for k, v in data.items() if k in (*EDITABLE, *INTERNAL, "matched_customer_id")})
        if not obj.source:
            obj.source = {"web_form": "web_form", "import": "import", "api": "api"}.get(channel, "other")
        obj.number = next_numbers("lead", 1)[0]
        obj.web_form = web_form
        first_lead = next((c for c in candidates if c.object_type == "lead"), None)
        obj.duplicate_of_id = first_lead.id if first_lead else None
        obj._pending_tags = list(tags or [])
        rules = scoring.active_rules()
        obj.created_at = now
        obj.score, obj.score_breakdown = scoring.compute(obj, rules, {}, None, now)
        if explicit_owner is not None:
            decision = assignment.Decision(
                user=explicit_owner, unit=explicit_owner.primary_unit, reason="explicit"
            )
        else:
            obj.owner = actor_user(actor)
            if obj.owner is not None:
                obj.owner_unit_id = obj.owner.primary_unit_id
            decision = (
                assignment.decide(obj, now=now)
                if auto_assign is not False
                else assignment.Decision(user=obj.owner, unit=obj.owner_unit, reason="kept")
            )
        _apply_decision(obj, decision, now, settings)
        record_create(
            actor=actor,
            obj=obj,
            custom_fields=custom_fields,
            tags=tags,
            audit_data={"channel": channel, "assignment": decision.reason},
        )
        if obj.custom_fields or tags:
            obj.score, obj.score_breakdown = scoring.compute(obj, rules, {}, None, now)
            Lead.objects.filter(pk=obj.pk).update(score=obj.score, score_breakdown=obj.score_breakdown)
        LeadActivity.objects.create(
            lead=obj,
            event="form_submitted" if channel == "web_form" else "created",
            at=now,
            actor_name=actor_name(actor),
            data={"channel": channel, "web_form": getattr(web_form, "pk", None)},
        )
        if decision.reason in ("rule", "fallback_user", "queue") and (decision.user or decision.unit):
            audit_log(
                actor=actor,
                action=AuditAction.ASSIGN,
                obj=obj,
                changes={"owner": [None, obj.owner_id], "owner_unit": [None, obj.owner_unit_id]},
                data={"rule": getattr(decision.rule, "pk", None), "reason": decision.reason},
            )
        if obj.owner_id:
            emit(
                "lead.assigned",
                actor=actor,
                id=obj.pk,
                owner=obj.owner_id,
                rule=getattr(decision.rule, "pk", None),
            )
        if web_form is not None:
            WebForm.objects.filter(pk=web_form.pk).update(
                submission_count=F("submission_count") + 1, last_submission_at=now
            )
    _assignment_notice(obj, actor)
    if candidates:
        _notify_duplicate_owners(candidates, str(obj), actor)
    obj.dedup_outcome = "duplicate_created" if candidates else "created"
    obj.dedup_candidates = [c.as_dict() for c in candidates]
    return obj


@service
def lead_attach_submission(
    *, actor: Actor, lead: Lead, data: dict[str, Any], channel: str = "ui", web_form: WebForm | None = None
) -> Lead:
    """Add a repeated submission to an existing lead: fill its empty fields, append the requirement."""
    with transaction.atomic():
        current = lock_for_write(lead, None)
        updates: dict[str, Any] = {}
        for key in (
            "name",
            "company",
            "title",
            "phone",
            "email",
            "region",
            "company_size",
            "industry",
            "budget",
        ):
            value = data.get(key)
            if value not in (None, "") and getattr(current, key) in (None, ""):
                updates[key] = value
        if updates.get("company"):
            updates["company_key"] = integration.company_key(updates["company"])
        text = (data.get("requirement") or "").strip()
        if text and text not in (current.requirement or ""):
            updates["requirement"] = ((current.requirement or "") + "\n---\n" + text).strip()
        if updates:
            current = record_update(
                actor=actor, obj=current, data=updates, allowed_fields=(*EDITABLE, *INTERNAL)
            )
        lead_record_activity(
            actor=actor,
            lead=current,
            event="form_submitted" if channel == "web_form" else "resubmitted",
            data={"channel": channel, "web_form": getattr(web_form, "pk", None)},
        )
        if web_form is not None:
            WebForm.objects.filter(pk=web_form.pk).update(
                submission_count=F("submission_count") + 1, last_submission_at=timezone.now()
            )
    return current


@service
def lead_bulk_create(
    *,
    actor: Actor,
    rows: Iterable[dict[str, Any]],
    dedup_policy: str | None = None,
    channel: str = "import",
    default_source: str = "import",
    auto_assign: bool = True,
    batch_size: int = 500,
) -> dict[str, Any]:
    """Create many leads (the importer's entry point). Each row is a dict of lead fields, plus
    optional ``custom_fields``, ``tags`` and ``confirm_duplicate``. Rows go through the same
    validation, dedup policy, scoring and assignment as single creates; valid rows are inserted in
    batches (bulk_create, numbering reserved per batch, one audit batch). Returns
    ``{"created", "attached", "duplicates", "errors": [{"row", "errors"}], "ids"}``; under the
    ``warn`` policy a duplicate row is reported in ``duplicates`` and skipped."""
    from huoban.platform.records.custom_fields import definitions, validate_custom_fields
    from huoban.platform.records.services import set_tags

    settings = _settings()
    policy = dedup_policy or settings.dedup_policy
    result: dict[str, Any] = {"created": 0, "attached": 0, "duplicates": [], "errors": [], "ids": []}
    defs = definitions("lead")
    rules = scoring.active_rules()
    user = actor_user(actor)
    pending: list[tuple[Lead, list[str]]] = []
    seen: dict[str, int] = {}  # in-file duplicates: phone/email/company key -> row

    def flush() -> None:
        if not pending:
            return
        now = timezone.now()
        with transaction.atomic():
            numbers = next_numbers("lead", len(pending))
            arules = list(
                AssignmentRule.objects.select_for_update(of=("self",))
                .filter(active=True)
                .select_related("assign_to_user", "assign_to_unit")
                .order_by("priority", "id")
            )
            entries = []
            for (obj, _tags), number in zip(pending, numbers, strict=True):
                obj.number = number
                obj.created_at = obj.updated_at = now
                obj.created_by = obj.updated_by = user
                obj.score, obj.score_breakdown = scoring.compute(obj, rules, {}, None, now)
                if auto_assign:
                    decision = assignment.decide(obj, rules=arules, now=now)
                    _apply_decision(obj, decision, now, settings)
                    obj._decision = decision
            Lead.objects.bulk_create([o for o, _t in pending], batch_size=batch_size)
            acts = []
            for obj, tag_names in pending:
                if tag_names:
                    set_tags(obj, tag_names)
                after = snapshot(obj)
                entries.append(
                    Entry(
                        AuditAction.CREATE,
                        "lead",
                        obj.pk,
                        str(obj),
                        {k: [None, v] for k, v in after.items() if v not in (None, "", [], {})},
                        {"channel": channel},
                    )
                )
                decision = getattr(obj, "_decision", None)
                if decision is not None and decision.reason in ("rule", "fallback_user", "queue"):
                    entries.append(
                        Entry(
                            AuditAction.ASSIGN,
                            "lead",
                            obj.pk,
                            str(obj),
                            {"owner": [None, obj.owner_id]},
                            {"rule": getattr(decision.rule, "pk", None), "reason": decision.reason},
                        )
                    )
                acts.append(LeadActivity(lead=obj, event="created", at=now, actor_name=actor_name(actor)))
                emit("lead.created", actor=actor, id=obj.pk)
            LeadActivity.objects.bulk_create(acts)
            audit_log_many(actor=actor, entries=entries)
        for obj, _t in pending:
            _assignment_notice(obj, actor)
            result["ids"].append(obj.pk)
        result["created"] += len(pending)
        pending.clear()

    for index, raw in enumerate(rows, start=1):
        row = dict(raw)
        cf = row.pop("custom_fields", None)
        tags = list(row.pop("tags", None) or [])
        confirm = bool(row.pop("confirm_duplicate", False))
        try:
            data = normalise({k: v for k, v in row.items() if k in EDITABLE}, creating=True)
            data.setdefault("source", default_source)
            if not data.get("source"):
                data["source"] = default_source
            if data.get("status") == LeadStatus.CONVERTED:
                raise ValidationError({"status": [_("Convert a lead with the convert action.")]})
            cf_values = validate_custom_fields("lead", cf, creating=True, defs=defs)
            obj = Lead(**{k: v for k, v in data.items() if k in (*EDITABLE, *INTERNAL)})
            obj.custom_fields = cf_values
            obj.owner = user
            obj.owner_unit_id = getattr(user, "primary_unit_id", None)
            obj.full_clean(exclude=["owner", "owner_unit", "custom_fields", "number"], validate_unique=False)
        except ValidationError as exc:
            result["errors"].append({"row": index, "errors": exc.errors})
            continue
        except DjangoValidationError as exc:
            result["errors"].append({"row": index, "errors": exc.message_dict})
            continue
        keys = [
            f"p:{data['phone']}" if data.get("phone") else "",
            f"e:{data['email']}" if data.get("email") else "",
        ]
        keys += [f"c:{data['company_key']}"] if data.get("company_key") else []
        in_file = next((seen[k] for k in keys if k and k in seen), None)
        candidates = find_duplicates(data, threshold=settings.name_similarity)
        if candidates or in_file:
            if policy == DedupPolicy.WARN and not confirm:
                result["duplicates"].append(
                    {"row": index, "duplicates": [c.as_dict() for c in candidates], "same_as_row": in_file}
                )
                continue
            if policy == DedupPolicy.ATTACH:
                existing = next((c for c in candidates if c.object_type == "lead"), None)
                if existing is not None:
                    lead = Lead.objects.unrestricted().get(pk=existing.id)
                    if lead.status in OPEN_STATUSES:
                        lead_attach_submission(actor=actor, lead=lead, data=data, channel=channel)
                        result["attached"] += 1
                        continue
                obj.matched_customer_id = _matched_customer_id(candidates)
            first_lead = next((c for c in candidates if c.object_type == "lead"), None)
            obj.duplicate_of_id = first_lead.id if first_lead else None
        for k in keys:
            if k:
                seen.setdefault(k, index)
        obj._pending_tags = tags
        pending.append((obj, tags))
        if len(pending) >= batch_size:
            flush()
    flush()
    return result


# --- update ----------------------------------------------------------------------------------------

TRANSITIONS = {
    LeadStatus.NEW: {LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.UNQUALIFIED},
    LeadStatus.CONTACTED: {LeadStatus.NEW, LeadStatus.QUALIFIED, LeadStatus.UNQUALIFIED},
    LeadStatus.QUALIFIED: {LeadStatus.CONTACTED, LeadStatus.UNQUALIFIED},
    LeadStatus.UNQUALIFIED: {LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED},
    LeadStatus.CONVERTED: set(),
}


@service
def lead_update(
    *,
    actor: Actor,
    lead: Lead,
    data: dict[str, Any],
    custom_fields: dict[str, Any] | None = None,
    tags: list[str] | None = None,
    version: int | None = None,
) -> Lead:
    data = normalise(dict(data), creating=False)
    if lead.status == LeadStatus.CONVERTED and any(k in EDITABLE for k in data):
        changed = [k for k in data if k in EDITABLE and getattr(lead, k, None) != data[k]]
        if changed:
            raise ValidationError({changed[0]: [_("A converted lead cannot be changed.")]})
    status = data.get("status")
    if status and status != lead.status:
        if status == LeadStatus.CONVERTED:
            raise ValidationError({"status": [_("Convert a lead with the convert action.")]})
        if status not in TRANSITIONS.get(lead.status, set()):
            raise ValidationError(
                {"status": [_("A lead cannot go from “%(a)s” to “%(b)s”.") % {"a": lead.status, "b": status}]}
            )
        if status == LeadStatus.UNQUALIFIED and not (
            data.get("unqualified_reason") or lead.unqualified_reason
        ):
            raise ValidationError({"unqualified_reason": [_("Say why the lead is unqualified.")]})
        if status in (LeadStatus.CONTACTED, LeadStatus.QUALIFIED) and lead.first_contacted_at is None:
            data["first_contacted_at"] = timezone.now()
    if data.get("company") == "" and not data.get("name", lead.name):
        raise ValidationError({"name": [_("Enter the person's name or the company.")]})
    return record_update(
        actor=actor,
        obj=lead,
        data=data,
        custom_fields=custom_fields,
        tags=tags,
        version=version,
        allowed_fields=(*EDITABLE, *INTERNAL),
    )


# --- activity and scoring ---------------------------------------------------------------------------


@service
def lead_record_activity(
    *,
    actor: Actor,
    lead: Lead,
    event: str,
    at: dt.datetime | None = None,
    data: dict[str, Any] | None = None,
) -> LeadActivity:
    """Log an activity event on a lead (scoring input); contact events mark the first contact."""
    event = (event or "").strip()[:60]
    if not event:
        raise ValidationError({"event": [_("This field is required.")]})
    at = at or timezone.now()
    with transaction.atomic():
        act = LeadActivity.objects.create(
            lead=lead, event=event, at=at, actor_name=actor_name(actor), data=data or {}
        )
        Lead.objects.filter(pk=lead.pk).update(last_activity_at=at)
        lead.last_activity_at = at
        if event in CONTACT_EVENTS and lead.first_contacted_at is None:
            current = Lead.objects.unrestricted().get(pk=lead.pk)
            changes: dict[str, Any] = {"first_contacted_at": at}
            if current.status == LeadStatus.NEW:
                changes["status"] = LeadStatus.CONTACTED
            record_update(actor=actor, obj=current, data=changes, allowed_fields=(*EDITABLE, *INTERNAL))
            lead.first_contacted_at = at
        emit("lead.activity", actor=actor, id=lead.pk, event=event)
    return act


@service
def lead_add_follow_up(*, actor: Actor, lead: Lead, data: dict[str, Any]) -> LeadActivity:
    """A follow-up on a lead (call, visit, …). Result "won" (成交) converts the lead to a customer
    and contact; "invalid" disqualifies it. Follow-ups move to the customer on conversion."""
    kind = data.get("type") or FollowUpType.CALL
    result = data.get("result") or FollowUpResult.FOLLOWING
    content = str(data.get("content") or "").strip()[:20000]
    outcome = str(data.get("outcome") or "").strip()[:300]
    errors: dict[str, list[str]] = {}
    if kind not in FollowUpType.values:
        errors["type"] = [_("Choose one of: %(v)s.") % {"v": ", ".join(FollowUpType.values)}]
    if result not in FollowUpResult.values:
        errors["result"] = [_("Choose one of: %(v)s.") % {"v": ", ".join(FollowUpResult.values)}]
    if not content and not outcome:
        errors["content"] = [_("Write what happened (content or outcome).")]
    if integration.is_won(outcome) and result == FollowUpResult.FOLLOWING:
        result = FollowUpResult.WON
    if errors:
        raise ValidationError(errors)
    at = data.get("occurred_at") or timezone.now()
    nxt = data.get("next_follow_up_at")
    with transaction.atomic():
        act = lead_record_activity(
            actor=actor,
            lead=lead,
            event="follow_up",
            at=at,
            data={
                "type": kind,
                "content": content,
                "outcome": outcome,
                "result": result,
                "next_follow_up_at": nxt.isoformat() if hasattr(nxt, "isoformat") else nxt,
            },
        )
        current = Lead.objects.unrestricted().get(pk=lead.pk)
        if result == FollowUpResult.WON and current.status in OPEN_STATUSES:
            lead_convert(actor=actor, lead=current)
        elif result == FollowUpResult.INVALID and current.status in OPEN_STATUSES:
            lead_update(
                actor=actor,
                lead=current,
                data={"status": LeadStatus.UNQUALIFIED, "unqualified_reason": (outcome or content)[:300]},
            )
    return act


MAX_ATTACHMENT_BYTES = 20 * 1024 * 1024


@service
def lead_add_attachment(*, actor: Actor, lead: Lead, file: Any, name: str = "") -> LeadAttachment:
    """Attach a file to a lead, checked like every upload (``check_upload``: at most
    ``MAX_ATTACHMENT_BYTES``, not empty, no programs, scripts or web pages; the stored type comes
    from the name, never from the browser's claim)."""
    upload = check_upload(file, name=name, max_bytes=MAX_ATTACHMENT_BYTES)
    with transaction.atomic():
        att = LeadAttachment(
            lead=lead,
            name=upload.name,
            size=upload.size,
            content_type=upload.content_type,
            uploaded_by=actor_user(actor),
        )
        att.file.save(upload.name, file, save=False)
        att.save()
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=lead,
            data={"attachment": upload.name, "size": upload.size},
        )
    return att


@service
def lead_attachment_delete(*, actor: Actor, attachment: LeadAttachment) -> None:
    """Delete a file of a lead. The acting user must be allowed to change the lead (no ``change``
    permission → 403; outside the data scope or shared read-only → 404, as the Files tab);
    audited on the lead. The stored bytes go after commit unless another row still points at
    the same file — a lead row, or a customer's attachment linked on conversion
    (``customers.services.attachment_link``), which keeps the file."""
    lead = Lead.objects.unrestricted().get(pk=attachment.lead_id)
    user = actor_user(actor)
    if user is not None:
        if not has_perm(user, "lead", "change"):
            raise PermissionDeniedError()
        if not scoped(user, Lead, "change").filter(pk=lead.pk).exists():
            raise NotFoundError(_("Not found."))
    with transaction.atomic():
        row = LeadAttachment.objects.select_for_update().filter(pk=attachment.pk, lead=lead).first()
        if row is None:
            raise NotFoundError(_("Not found."))
        file = row.file
        row.delete()
        release_stored_file(file)
        audit_log(
            actor=actor,
            action=AuditAction.UPDATE,
            obj=lead,
            changes={"attachments": [row.name, None]},
            data={"attachment_id": attachment.pk, "size": row.size},
        )


@service
def lead_rescore(*, ids: Iterable[int]) -> int:
    return scoring.rescore(ids)


# --- assignment ---------------------------------------------------------------------------------------


@service
def lead_assign(*, actor: Actor, leads: Iterable[Lead], user: Any = None) -> list[dict[str, Any]]:
    """Assign leads to ``user`` (manual) or re-run the assignment rules; audited and notified."""
    if user is not None and (not user.is_active or getattr(user, "is_system", False)):
        raise ValidationError({"user": [_("Choose an active user.")]})
    settings = _settings()
    out: list[dict[str, Any]] = []
    changed: list[Lead] = []
    now = timezone.now()
    with transaction.atomic():
        rules = list(
            AssignmentRule.objects.select_for_update(of=("self",))
            .filter(active=True)
            .select_related("assign_to_user", "assign_to_unit")
            .order_by("priority", "id")
        )
        entries = []
        for lead in sorted(leads, key=lambda x: x.pk):
            current = (
                Lead.objects.unrestricted()
                .select_for_update(of=("self",))
                .select_related("owner")
                .get(pk=lead.pk)
            )
            if current.status not in OPEN_STATUSES:
                out.append(
                    {"id": current.pk, "owner": current.owner_id, "changed": False, "reason": "closed"}
                )
                continue
            if user is not None:
                decision = assignment.Decision(user=user, unit=user.primary_unit, reason="manual")
            else:
                decision = assignment.decide(current, rules=rules, now=now)
            before = (current.owner_id, current.owner_unit_id)
            new_unit = (
                decision.unit.pk
                if decision.unit is not None
                else getattr(decision.user, "primary_unit_id", None)
            )
            if before == (getattr(decision.user, "pk", None), new_unit):
                out.append(
                    {"id": current.pk, "owner": current.owner_id, "changed": False, "reason": decision.reason}
                )
                continue
            _apply_decision(current, decision, now, settings)
            current.version += 1
            current.updated_at = now
            current.updated_by = actor_user(actor)
            current.save(
                update_fields=[
                    "owner",
                    "owner_unit",
                    "assignment_rule",
                    "assigned_at",
                    "sla_due_at",
                    "sla_overdue_at",
                    "version",
                    "updated_at",
                    "updated_by",
                ]
            )
            entries.append(
                Entry(
                    AuditAction.ASSIGN,
                    "lead",
                    current.pk,
                    str(current),
                    {
                        "owner": [before[0], current.owner_id],
                        "owner_unit": [before[1], current.owner_unit_id],
                    },
                    {"rule": getattr(decision.rule, "pk", None), "reason": decision.reason},
                )
            )
            emit(
                "lead.assigned",
                actor=actor,
                id=current.pk,
                owner=current.owner_id,
                previous=before[0],
                rule=getattr(decision.rule, "pk", None),
            )
            changed.append(current)
            out.append(
                {"id": current.pk, "owner": current.owner_id, "changed": True, "reason": decision.reason}
            )
        audit_log_many(actor=actor, entries=entries)
    for lead in changed:
        _assignment_notice(lead, actor)
    return out


@service
def lead_check_sla(*, now: dt.datetime | None = None, limit: int = 2000) -> int:
    """Flag leads whose first contact is overdue; tell the owner and the owner's manager (once)."""
    now = now or timezone.now()
    qs = (
        Lead.objects.unrestricted()
        .filter(
            deleted_at__isnull=True,
            status=LeadStatus.NEW,
            first_contacted_at__isnull=True,
            sla_overdue_at__isnull=True,
            sla_due_at__lt=now,
        )
        .select_related("owner", "owner_unit__manager", "owner__primary_unit__manager")
        .order_by("sla_due_at")
    )
    leads = list(qs[:limit])
    for lead in leads:
        args = {"name": str(lead)}
        notify(
            recipient=lead.owner,
            verb="lead.sla_overdue",
            title=gettext_noop("First contact overdue: %(name)s"),
            title_args=args,
            url=f"/leads/{lead.pk}/",
            data={"lead": lead.pk},
        )
        manager = (
            manager_of(lead.owner, lead.owner_unit)
            if lead.owner
            else getattr(lead.owner_unit, "manager", None)
        )
        if manager is not None and manager != lead.owner:
            notify(
                recipient=manager,
                verb="lead.sla_overdue",
                title=gettext_noop("First contact overdue in your team: %(name)s"),
                title_args=args,
                url=f"/leads/{lead.pk}/",
                data={"lead": lead.pk, "owner": lead.owner_id},
            )
    if leads:
        Lead.objects.unrestricted().filter(pk__in=[lead.pk for lead in leads]).update(sla_overdue_at=now)
    return len(leads)


# --- conversion -------------------------------------------------------------------------------------


@service
def lead_convert(
    *,
    actor: Actor,
    lead: Lead,
    customer: Any = None,
    create_opportunity: bool = False,
    opportunity: dict[str, Any] | None = None,
    link_existing: bool = True,
    version: int | None = None,
) -> dict[str, Any]:
    """Turn a lead into a customer (or link an existing one), a contact and optionally an opportunity.

    Fields, custom fields (where the customer has the same key), follow-ups and attachments carry
    over; the lead keeps links to what it became. Returns {"customer", "contact", "opportunity",
    "customer_created"}.
    """
    with transaction.atomic():
        current = lock_for_write(lead, version)
        if current.status == LeadStatus.CONVERTED:
            raise ValidationError({"status": [_("This lead is already converted.")]})
        if current.status == LeadStatus.UNQUALIFIED:
            raise ValidationError({"status": [_("An unqualified lead cannot be converted.")]})
        owner = current.owner or actor_user(actor)
        Customer = integration.customer_model()
        created = False
        if customer is None and current.matched_customer_id:
            customer = (
                Customer.objects.unrestricted()
                .filter(pk=current.matched_customer_id, deleted_at__isnull=True)
                .first()
            )
        if customer is None and link_existing:
            probe = {
                "company": current.company or current.name,
                "phone": current.phone,
                "email": current.email,
            }
            for c in integration.customer_candidates(probe, threshold=95, limit=3):
                if c.score >= 95:
                    customer = (
                        Customer.objects.unrestricted().filter(pk=c.id, deleted_at__isnull=True).first()
                    )
                    if customer is not None:
                        break
        if customer is None:
            customer = integration.create_customer(
                actor=actor,
                owner=owner,
                data={
                    "name": current.company or current.name,
                    "kind": "company" if current.company else "individual",
                    "industry": current.industry,
                    "region": current.region,
                    "phone": current.phone,
                    "email": current.email,
                    "source": current.source,
                    "size": current.company_size,
                },
                custom_fields=integration.carry_custom_fields(current.custom_fields, "customer"),
            )
            created = True
        contact = None
        if current.name and not created:
            Contact = integration.contact_model()
            for c in integration.contact_candidates({"phone": current.phone, "email": current.email}):
                contact = Contact.objects.unrestricted().filter(pk=c.id, customer=customer).first()
                if contact is not None:
                    break
        if current.name and contact is None:
            contact = integration.create_contact(
                actor=actor,
                customer=customer,
                owner=owner,
                data={
                    "name": current.name,
                    "title": current.title,
                    "phone": current.phone,
                    "email": current.email,
                },
            )
        opp = None
        if create_opportunity:
            from huoban.sales.services import opportunity_create  # sales builds on leads

            spec = dict(opportunity or {})
            odata = {
                "name": spec.get("name") or _("%(company)s opportunity") % {"company": customer.name},
                "customer": customer,
                "amount": spec.get("amount")
                if spec.get("amount") not in (None, "")
                else (current.budget or 0),
                "currency": spec.get("currency") or current.currency,
                "source": current.source,
                "campaign": current.campaign,
                "source_lead": current,
                "owner": owner,
            }
            for key in ("pipeline", "stage", "close_date", "next_step", "products"):
                if spec.get(key) not in (None, ""):
                    odata[key] = spec[key]
            contacts = (
                [{"contact": contact.pk, "role": "decision_maker", "is_primary": True}] if contact else []
            )
            opp = opportunity_create(actor=actor, data=odata, contacts=contacts)
        moved = 0
        for act in LeadActivity.objects.filter(lead=current, event="follow_up").order_by("at", "id"):
            integration.copy_follow_up(
                actor=actor, customer=customer, contact=contact, entry={**(act.data or {}), "at": act.at}
            )
            moved += 1
        copied = 0
        for att in LeadAttachment.objects.filter(lead=current):
            integration.copy_attachment(actor=actor, customer=customer, att=att)
            copied += 1
        before = snapshot(current)
        now = timezone.now()
        current.status = LeadStatus.CONVERTED
        current.converted_customer = customer
        current.converted_contact = contact
        current.converted_opportunity = opp
        current.converted_at = now
        if current.first_contacted_at is None:
            current.first_contacted_at = now
        current.version += 1
        current.updated_at = now
        current.updated_by = actor_user(actor)
        current.save()
        after = snapshot(current)
        audit_log(
            actor=actor,
            action=AuditAction.CONVERT,
            obj=current,
            changes=changes_between(before, after),
            data={
                "customer": customer.pk,
                "customer_created": created,
                "contact": getattr(contact, "pk", None),
                "opportunity": getattr(opp, "pk", None),
                "follow_ups": moved,
                "attachments": copied,
            },
        )
        emit(
            "lead.converted",
            actor=actor,
            id=current.pk,
            customer=customer.pk,
            contact=getattr(contact, "pk", None),
            opportunity=getattr(opp, "pk", None),
        )
    lead.__dict__.update({k: v for k, v in current.__dict__.items() if not k.startswith("_")})
    return {"customer": customer, "contact": contact, "opportunity": opp, "customer_created": created}


# --- web forms ---------------------------------------------------------------------------------------

FORM_FIELDS = (
    "name",
    "company",
    "title",
    "phone",
    "email",
    "region",
    "company_size",
    "industry",
    "urgency",
    "budget",
    "requirement",
)
HONEYPOT = "homepage"


def _clean_form_spec(data: dict[str, Any]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    fields = data.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or not fields:
            errors["fields"] = [_("Choose at least one field.")]
        else:
            bad = [f for f in fields if f not in FORM_FIELDS]
            if bad:
                errors["fields"] = [_("Unknown fields: %(f)s.") % {"f": ", ".join(map(str, bad))}]
            elif not ({"phone", "email"} & set(fields)):
                errors["fields"] = [_("A form needs a phone or an email field.")]
    required = data.get("required_fields")
    if required is not None:
        chosen = fields if isinstance(fields, list) else data.get("_current_fields", [])
        if not isinstance(required, list) or any(f not in chosen for f in required):
            errors["required_fields"] = [_("Required fields must be among the form's fields.")]
    if data.get("source"):
        try:
            data["source"] = integration.resolve_source(data["source"])
        except ValueError as exc:
            errors["source"] = [str(exc)]
    if errors:
        raise ValidationError(errors)
    return data


WEB_FORM_EDITABLE = (
    "name",
    "fields",
    "required_fields",
    "source",
    "campaign",
    "title",
    "thank_you_text",
    "redirect_url",
    "active",
)


@service
def web_form_create(
    *, actor: Actor, data: dict[str, Any], custom_fields: dict | None = None, tags: list | None = None
) -> WebForm:
    data = {k: v for k, v in data.items() if k in WEB_FORM_EDITABLE}
    data.setdefault("fields", ["name", "company", "phone", "email", "requirement"])
    _clean_form_spec(data)
    obj = WebForm(**data)
    return record_create(actor=actor, obj=obj, custom_fields=custom_fields, tags=tags)


@service
def web_form_update(
    *,
    actor: Actor,
    form: WebForm,
    data: dict[str, Any],
    custom_fields: dict | None = None,
    tags: list | None = None,
    version: int | None = None,
) -> WebForm:
    data = {k: v for k, v in data.items() if k in WEB_FORM_EDITABLE}
    _clean_form_spec({**data, "_current_fields": form.fields})
    return record_update(
        actor=actor,
        obj=form,
        data=data,
        custom_fields=custom_fields,
        tags=tags,
        version=version,
        allowed_fields=WEB_FORM_EDITABLE,
    )


@service
def web_form_submit(*, form: WebForm, data: dict[str, Any]) -> Lead | None:
    """A public submission: honeypot → silently dropped (None); otherwise a lead with the form's source."""
    if str(data.get(HONEYPOT) or "").strip():
        return None
    if not form.active or form.deleted_at is not None:
        raise ValidationError({"non_field_errors": [_("This form is closed.")]})
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key in form.fields or []:
        raw = data.get(key)
        if isinstance(raw, list):
            raw = raw[0] if raw else ""
        value = "" if raw is None else str(raw).strip()[:5000]
        if key in (form.required_fields or []) and not value:
            errors[key] = [_("This field is required.")]
        if value:
            values[key] = value
    if not (values.get("phone") or values.get("email")):
        for key in ("phone", "email"):
            if key in (form.fields or []):
                errors.setdefault(key, [_("Enter a phone number or an email address.")])
    if errors:
        raise ValidationError(errors)
    values["source"] = form.source or "web_form"
    if form.campaign:
        values["campaign"] = form.campaign
    return lead_create(
        actor=SystemActor("web_form"),
        data=values,
        channel="web_form",
        web_form=form,
        confirm_duplicate=True,
    )


# --- rules and settings (administrators) ----------------------------------------------------------------


def _config_values(obj: Any, keys: Iterable[str]) -> dict[str, Any]:
    """Field values of a rule or settings object for its audit trail (related objects as ids)."""
    return {k: getattr(v, "pk", v) for k, v in ((k, getattr(obj, k)) for k in keys)}


def _config_audit(
    actor: Actor, obj: Any, object_type: str, changes: dict[str, Any], action: str = AuditAction.UPDATE
) -> None:
    audit_log(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=obj.pk,
        object_repr=str(obj),
        changes=changes,
    )


@service
def scoring_rule_save(*, actor: Actor, rule: ScoringRule | None, data: dict[str, Any]) -> ScoringRule:
    from . import conditions

    creating = rule is None
    rule = rule or ScoringRule()
    before = _config_values(rule, data) if not creating else {}
    for k, v in data.items():
        setattr(rule, k, v)
    errors: dict[str, list[str]] = _name_errors(rule.name)
    if rule.points is None:
        errors["points"] = [_("This field is required.")]
    elif not isinstance(rule.points, int) or isinstance(rule.points, bool):
        errors["points"] = [_("Enter a whole number.")]
    if bool(rule.field) == bool(rule.event):
        errors["field"] = [_("Name either a field or an event.")]
    elif rule.field:
        rule.value, cond_errors = conditions.clean_condition(rule.field, rule.operator, rule.value)
        errors.update(cond_errors)
    elif rule.event == scoring.INACTIVE_DAYS:
        try:
            if int(rule.value) <= 0:
                raise ValueError
        except (TypeError, ValueError):
            errors["value"] = [_("Enter the number of days.")]
    elif rule.operator not in ("eq", "gte", "lte"):
        errors["operator"] = [
            _("An event rule counts how often the event happened: equals, at least or at most.")
        ]
    elif rule.operator in ("gte", "lte"):
        try:
            if int(rule.value) < 0 or str(int(rule.value)) != str(rule.value).strip():
                raise ValueError
        except (TypeError, ValueError):
            errors["value"] = [_("Enter how many times (a whole number).")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rule.updated_at = timezone.now()
        rule.save()
        changes = changes_between(before, _config_values(rule, data))
        _config_audit(
            actor, rule, "lead_scoring_rule", changes, AuditAction.CREATE if creating else AuditAction.UPDATE
        )
        _enqueue_rescore(actor)
    return rule


@service
def scoring_rule_delete(*, actor: Actor, rule: ScoringRule) -> None:
    with transaction.atomic():
        _config_audit(actor, rule, "lead_scoring_rule", {}, AuditAction.DELETE)
        rule.delete()
        _enqueue_rescore(actor)


@service
def scoring_rule_reorder(*, actor: Actor, ids: Iterable[int]) -> list[ScoringRule]:
    """Put the rules in the order of ``ids`` (positions 10, 20, 30 …; rules not named keep their
    relative order after them). One audit entry per moved rule; one rescoring job."""
    with transaction.atomic():
        rules = list(ScoringRule.objects.select_for_update().order_by("position", "id"))
        ordered = _in_order(rules, ids)
        moved = _renumber(ordered, "position")
        if moved:
            ScoringRule.objects.bulk_update([r for r, _old in moved], ["position", "updated_at"])
            _audit_moves(actor, moved, "lead_scoring_rule", "position")
            _enqueue_rescore(actor)
    return ordered


def _in_order(rules: list[Any], ids: Iterable[int]) -> list[Any]:
    by_id = {r.pk: r for r in rules}
    wanted = [by_id[i] for i in dict.fromkeys(int(x) for x in ids) if i in by_id]
    seen = {r.pk for r in wanted}
    return wanted + [r for r in rules if r.pk not in seen]


def _renumber(rules: list[Any], attr: str) -> list[tuple[Any, int]]:
    now = timezone.now()
    moved = []
    for i, rule in enumerate(rules, start=1):
        old = getattr(rule, attr)
        if old != i * 10:
            setattr(rule, attr, i * 10)
            rule.updated_at = now
            moved.append((rule, old))
    return moved


def _audit_moves(actor: Actor, moved: list[tuple[Any, int]], object_type: str, attr: str) -> None:
    audit_log_many(
        actor=actor,
        entries=[
            Entry(AuditAction.UPDATE, object_type, r.pk, str(r), {attr: [old, getattr(r, attr)]})
            for r, old in moved
        ],
    )


def _name_errors(name: Any) -> dict[str, list[str]]:
    name = str(name or "").strip()
    if not name:
        return {"name": [_("This field is required.")]}
    if len(name) > 120:
        return {"name": [_("At most %(n)d characters.") % {"n": 120}]}
    return {}


def _enqueue_rescore(actor: Actor) -> None:
    from huoban.platform.jobs.services import job_enqueue

    job_enqueue(
        kind="leads.rescore_all", actor=actor, title=gettext_noop("Recalculate lead scores"), notify=False
    )


def _clean_conditions(raw: Any) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    if not isinstance(raw, dict):
        raise ValidationError({"conditions": [_("Expected an object.")]})
    out: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in raw.items():
        if key not in assignment.CONDITION_KEYS:
            errors[key] = [_("Unknown condition “%(key)s”.") % {"key": key}]
            continue
        if key == "min_score":
            if value in (None, ""):
                continue
            try:
                out[key] = int(value)
            except (TypeError, ValueError):
                errors[key] = [_("Enter a whole number.")]
            continue
        values = value if isinstance(value, list) else [value]
        values = [str(v) for v in values if v not in (None, "")]
        if key == "region":
            try:
                values = [integration.resolve_region(v) for v in values]
            except ValueError as exc:
                errors[key] = [_("Unknown region “%(value)s”.") % {"value": exc}]
                continue
        if key == "company_size" and any(v not in CompanySize.values for v in values):
            errors[key] = [_("Choose among: %(v)s.") % {"v": ", ".join(CompanySize.values)}]
            continue
        if key == "urgency" and any(v not in Urgency.values for v in values):
            errors[key] = [_("Choose among: %(v)s.") % {"v": ", ".join(Urgency.values)}]
            continue
        if values:
            out[key] = values
    if errors:
        raise ValidationError({"conditions": errors})
    return out


@service
def assignment_rule_save(
    *, actor: Actor, rule: AssignmentRule | None, data: dict[str, Any]
) -> AssignmentRule:
    creating = rule is None
    rule = rule or AssignmentRule()
    if "conditions" in data:
        data["conditions"] = _clean_conditions(data["conditions"])
    before = _config_values(rule, data) if not creating else {}
    for k, v in data.items():
        setattr(rule, k, v)
    errors = _name_errors(rule.name)
    if bool(rule.assign_to_user_id) == bool(rule.assign_to_unit_id):
        errors["assign_to_user"] = [_("Assign to a user or to a unit (one of them).")]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        rule.updated_at = timezone.now()
        rule.save()
        _config_audit(
            actor,
            rule,
            "lead_assignment_rule",
            changes_between(before, _config_values(rule, data)),
            AuditAction.CREATE if creating else AuditAction.UPDATE,
        )
    return rule


@service
def assignment_rule_delete(*, actor: Actor, rule: AssignmentRule) -> None:
    with transaction.atomic():
        _config_audit(actor, rule, "lead_assignment_rule", {}, AuditAction.DELETE)
        rule.delete()


@service
def assignment_rule_reorder(*, actor: Actor, ids: Iterable[int]) -> list[AssignmentRule]:
    """Put the rules in the order of ``ids``: priorities become 10, 20, 30 … (the others follow)."""
    with transaction.atomic():
        rules = list(AssignmentRule.objects.select_for_update().order_by("priority", "id"))
        ordered = _in_order(rules, ids)
        moved = _renumber(ordered, "priority")
        if moved:
            AssignmentRule.objects.bulk_update([r for r, _old in moved], ["priority", "updated_at"])
            _audit_moves(actor, moved, "lead_assignment_rule", "priority")
    return ordered


@service
def lead_settings_update(*, actor: Actor, data: dict[str, Any]) -> LeadSettings:
    obj = LeadSettings.load()
    before = _config_values(obj, data)
    for k, v in data.items():
        setattr(obj, k, v)
    errors: dict[str, list[str]] = {}
    if obj.dedup_policy not in DedupPolicy.values:
        errors["dedup_policy"] = [_("Choose among: %(v)s.") % {"v": ", ".join(DedupPolicy.values)}]
    if obj.name_similarity is None or not 0 <= int(obj.name_similarity) <= 100:
        errors["name_similarity"] = [_("Enter a number from 0 to 100.")]
    if obj.sla_hours is None or Decimal(str(obj.sla_hours)) <= 0:
        errors["sla_hours"] = [_("Enter a number of hours greater than 0.")]
    elif Decimal(str(obj.sla_hours)) >= Decimal("10000"):
        errors["sla_hours"] = [_("Enter fewer than 10,000 hours.")]
    if workhours._as_time(obj.work_end, "18:00") <= workhours._as_time(obj.work_start, "09:00"):
        errors["work_end"] = [_("The working day must end after it starts.")]
    if obj.work_days and any(d not in range(1, 8) for d in obj.work_days):
        errors["work_days"] = [_("Days are numbered 1 (Monday) to 7 (Sunday).")]
    for d in obj.holidays or []:
        try:
            dt.date.fromisoformat(str(d))
        except ValueError:
            errors["holidays"] = [_("Dates are written YYYY-MM-DD.")]
            break
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        obj.updated_at = timezone.now()
        obj.save()
        _config_audit(actor, obj, "lead_settings", changes_between(before, _config_values(obj, data)))
    return obj
