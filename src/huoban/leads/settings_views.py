"""Settings pages of the leads app (administrators: ``lead: manage``, the permission the rule and
settings API uses): scoring rules (with a score preview on a real lead), assignment rules (with
the absences assignment skips) and the company-wide lead settings (duplicate policy, first-contact
SLA, working hours, fallback queue).

Thin like every view: parse the form, load through ``scoped()`` where business records are read,
call one service (``leads.services`` / ``identity.services``), render. The pages sit in the
settings area (``platform.ui.settings_views.register_section``: overview card + side navigation)
and use its layout, form styling and drag-and-drop list behaviour.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dates import WEEKDAYS
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from huoban.platform.access.scoping import has_perm, scoped
from huoban.platform.errors import ValidationError
from huoban.platform.identity.forms import apply_errors, flat_messages
from huoban.platform.identity.models import OrgUnit, User
from huoban.platform.ui.choices import industry_choices, picklist_choices, region_choices
from huoban.platform.ui.formatting import fdatetime, fnumber, is_zh
from huoban.platform.ui.settings_views import (
    StyledForm,
    recent_changes,
    register_section,
    render_settings_page,
    section,
)

from . import conditions, integration, scoring, services
from .models import (
    AssignmentRule,
    AssignmentStrategy,
    CompanySize,
    DedupPolicy,
    Lead,
    LeadSettings,
    LeadStatus,
    ScoringOperator,
    ScoringRule,
    Urgency,
    WebForm,
)

# --- registration in the settings area ----------------------------------------------------------------

for _entry in (
    {
        "key": "lead_scoring",
        "url": "leads-settings-scoring",
        "object_type": "lead",
        "icon": "chart-bar",
        "label": gettext_lazy("Lead scoring"),
        "help": gettext_lazy("Rules that give leads points: field conditions and activity events."),
    },
    {
        "key": "lead_assignment",
        "url": "leads-settings-assignment",
        "object_type": "lead",
        "icon": "arrows-split",
        "label": gettext_lazy("Lead assignment"),
        "help": gettext_lazy("Which user or team gets a new lead; absences the rules skip."),
    },
    {
        "key": "lead_settings",
        "url": "leads-settings-general",
        "object_type": "lead",
        "icon": "adjustments",
        "label": gettext_lazy("Lead settings"),
        "help": gettext_lazy("Duplicate policy, first-contact SLA, working hours, fallback queue."),
    },
):
    register_section(_entry)


def _wants_json(request: HttpRequest) -> bool:
    return bool(request.headers.get("HX-Request") or request.headers.get("X-Requested-With"))


def _ids(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x.strip().isdigit()]


def _neighbour_order(ids: list[int], pk: int, direction: str) -> list[int]:
    """The order after moving ``pk`` one place up or down."""
    if pk not in ids:
        return ids
    i = ids.index(pk)
    j = i - 1 if direction == "up" else i + 1
    if 0 <= j < len(ids):
        ids[i], ids[j] = ids[j], ids[i]
    return ids


def _number(text: str) -> int | float | None:
    try:
        d = Decimal(str(text).strip().replace(",", "").replace("，", ""))
    except (InvalidOperation, ValueError):
        return None
    if not d.is_finite():
        return None
    return int(d) if d == d.to_integral_value() else float(d)


SPLIT = re.compile(r"[,，、;；\n]+")


# --- field catalogue: what a scoring rule may test, and how its values are entered and shown ---------

NUMERIC_FIELDS = ("budget", "campaign")
ID_FIELDS = ("owner", "owner_unit", "web_form", "matched_customer")

# Activity events a rule may name (plus any other event name: domain events that name a lead arrive
# as "<event with . replaced by _>").
EVENTS: list[tuple[str, Any]] = [
    ("created", gettext_lazy("Lead created")),
    ("form_submitted", gettext_lazy("Web form submitted")),
    ("resubmitted", gettext_lazy("Submitted again")),
    ("follow_up", gettext_lazy("Follow-up")),
    ("call", gettext_lazy("Call")),
    ("visit", gettext_lazy("Visit")),
    ("meeting", gettext_lazy("Meeting")),
    ("wechat", gettext_lazy("WeChat")),
    ("contacted", gettext_lazy("Contacted")),
    ("email_sent", gettext_lazy("Email sent")),
    ("email_opened", gettext_lazy("Opened an email")),
    (scoring.INACTIVE_DAYS, gettext_lazy("No activity for a number of days")),
]
OTHER_EVENT = "other"


def event_label(event: str) -> str:
    return str(dict(EVENTS).get(event, event.replace("_", " ")))


def _custom_fields() -> list[Any]:
    from huoban.platform.records.models import CustomField

    return list(CustomField.objects.filter(object_type="lead", active=True).order_by("order", "id"))


def field_label(field: str, custom: dict[str, Any] | None = None) -> str:
    if field.startswith("custom_fields."):
        key = field.split(".", 1)[1]
        cf = (custom if custom is not None else {c.key: c for c in _custom_fields()}).get(key)
        return cf.display_label() if cf is not None else key
    if field == "tags":
        return _("Tags")
    try:
        return str(capfirst(Lead._meta.get_field(field).verbose_name))
    except Exception:
        return field


def field_choices() -> list[tuple[str, Any]]:
    """Grouped (lead fields, custom fields) choices for the field picker."""
    lead = [(f, field_label(f)) for f in conditions.LEAD_FIELDS]
    custom = [(f"custom_fields.{c.key}", c.display_label()) for c in _custom_fields()]
    out: list[tuple[str, Any]] = [("", "—"), (_("Lead fields"), lead)]
    if custom:
        out.append((_("Custom fields"), custom))
    return out


def _web_forms(user: Any) -> list[WebForm]:
    """Web forms a rule may name: those the user may see (``scoped``); none without a user."""
    if user is None:
        return []
    return list(scoped(user, WebForm).order_by("name")[:500])


def _units() -> list[tuple[Any, str]]:
    units = list(OrgUnit.objects.filter(active=True).order_by("path"))
    return [(u.pk, "\u2003" * max(u.path.count("/") - 2, 0) + u.name) for u in units]


def _custom_field(field: str) -> Any:
    if not field.startswith("custom_fields."):
        return None
    from huoban.platform.records.models import CustomField, localized

    cf = CustomField.objects.filter(object_type="lead", key=field.split(".", 1)[1]).first()
    if cf is not None:
        cf.choice_list = [
            (o["value"], localized(o.get("label") or o["value"], o.get("label_zh_hans") or ""))
            if isinstance(o, dict)
            else (str(o), str(o))
            for o in cf.options or []
        ]
    return cf


def value_kind(field: str, user: Any = None) -> tuple[str, list[tuple[Any, str]]]:
    """How a value of ``field`` is entered: ("choice", options) | ("user"|"customer", []) |
    ("number"|"date"|"bool"|"text", [])."""
    choices: dict[str, Any] = {
        "region": region_choices,
        "industry": industry_choices,
        "source": picklist_choices(integration.SOURCE_PICKLIST),
        "company_size": lambda: list(CompanySize.choices),
        "urgency": lambda: list(Urgency.choices),
        "status": lambda: list(LeadStatus.choices),
        "owner_unit": _units,
        "web_form": lambda: [(f.pk, f.name) for f in _web_forms(user)],
    }
    if field in choices:
        return "choice", [(str(k), str(v)) for k, v in choices[field]()]
    if field == "owner":
        return "user", []
    if field == "matched_customer":
        return "customer", []
    if field in NUMERIC_FIELDS:
        return "number", []
    cf = _custom_field(field)
    if cf is not None:
        if cf.type in ("single_select", "multi_select"):
            return "choice", cf.choice_list
        if cf.type in ("integer", "decimal"):
            return "number", []
        if cf.type in ("date", "datetime"):
            return "date", []
        if cf.type == "boolean":
            return "bool", []
        if cf.type == "user":
            return "user", []
    return "text", []


def _label_options(field: str, memo: dict[str, dict[str, str]], user: Any) -> dict[str, str]:
    """code -> label for the values of ``field`` (cheap: picklists are cached, the rest one query)."""
    if field in memo:
        return memo[field]
    opts: dict[str, str] = {}
    if field in ("company_size", "urgency", "status"):
        opts = {
            str(k): str(v)
            for k, v in {"company_size": CompanySize, "urgency": Urgency, "status": LeadStatus}[field].choices
        }
    elif field == "owner_unit":
        opts = {str(k): v.strip() for k, v in _units()}
    elif field == "owner":  # every user once, not one query per rule
        opts = {str(u.pk): str(u) for u in User.objects.filter(is_system=False)}
    elif field == "web_form":
        opts = {str(f.pk): f.name for f in _web_forms(user)}
    elif field.startswith("custom_fields."):
        cf = _custom_field(field)
        if cf is not None:
            opts = dict(cf.choice_list)
    memo[field] = opts
    return opts


def _value_label(field: str, value: Any, memo: dict[str, dict[str, str]], user: Any) -> str:
    from huoban.platform.records.picklists import picklist_label

    if value is True or value is False:
        return _("yes") if value else _("no")
    if isinstance(value, int | float) and field not in ID_FIELDS:
        return fnumber(value)
    text = str(value)
    if field == "region":
        return integration.region_label(text) or text
    if field == "industry":
        return picklist_label(integration.INDUSTRY_PICKLIST, text)
    if field == "source":
        return picklist_label(integration.SOURCE_PICKLIST, text)
    return _label_options(field, memo, user).get(text, text)


def _join(values: Any) -> str:
    """A list in words: "a, b" in English, "a、b" in Chinese."""
    return ("、" if is_zh() else ", ").join(values)


OPERATOR_WORDS = {
    "eq": gettext_lazy("is"),
    "ne": gettext_lazy("is not"),
    "in": gettext_lazy("is one of"),
    "gte": gettext_lazy("is at least"),
    "lte": gettext_lazy("is at most"),
    "contains": gettext_lazy("contains"),
}


def describe_scoring_rule(
    rule: ScoringRule,
    custom: dict[str, Any] | None = None,
    memo: dict[str, dict[str, str]] | None = None,
    user: Any = None,
) -> str:
    """The rule's condition in words, in the page language (``memo`` caches value labels)."""
    if rule.event == scoring.INACTIVE_DAYS:
        return _("No activity for %(n)s days") % {"n": rule.value}
    if rule.event:
        label = event_label(rule.event)
        if rule.operator == "gte" and rule.value not in (None, ""):
            return _("Activity “%(event)s”, at least %(n)s times") % {"event": label, "n": rule.value}
        if rule.operator == "lte" and rule.value not in (None, ""):
            return _("Activity “%(event)s”, at most %(n)s times") % {"event": label, "n": rule.value}
        return _("Activity “%(event)s”") % {"event": label}
    label = field_label(rule.field, custom)
    if rule.operator == "is_empty":
        if rule.value is None or bool(rule.value):
            return _("%(field)s is empty") % {"field": label}
        return _("%(field)s is not empty") % {"field": label}
    memo = {} if memo is None else memo
    values = rule.value if isinstance(rule.value, list) else [rule.value]
    shown = _join(_value_label(rule.field, v, memo, user) for v in values if v not in (None, ""))
    # one sentence for the translators (the word order is theirs), e.g. "Industry is one of A, B"
    words = _("%(field)s %(operator)s %(values)s") % {
        "field": label,
        "operator": OPERATOR_WORDS.get(rule.operator, rule.operator),
        "values": shown,
    }
    return words.strip()


def describe_assignment_rule(rule: AssignmentRule) -> list[str]:
    """The rule's conditions in words, one part per condition (empty list: every lead)."""
    cond = rule.conditions or {}
    parts = []
    named = {
        "region": (_("Region"), None),
        "company_size": (_("Company size"), dict(CompanySize.choices)),
        "urgency": (_("Urgency"), dict(Urgency.choices)),
        "source": (_("Source"), None),
        "industry": (_("Industry"), None),
    }
    from huoban.platform.records.picklists import picklist_label

    for key, (label, opts) in named.items():
        values = cond.get(key) or []
        if not values:
            continue
        if key == "region":
            shown = [integration.region_label(str(v)) or str(v) for v in values]
        elif key == "source":
            shown = [picklist_label(integration.SOURCE_PICKLIST, str(v)) for v in values]
        elif key == "industry":
            shown = [picklist_label(integration.INDUSTRY_PICKLIST, str(v)) for v in values]
        else:
            shown = [str((opts or {}).get(v, v)) for v in values]
        parts.append(f"{label}: {_join(shown)}")
    if cond.get("min_score") not in (None, ""):
        parts.append(_("Score at least %(n)s") % {"n": cond["min_score"]})
    return parts


def describe_target(rule: AssignmentRule) -> str:
    if rule.assign_to_user_id:
        return str(rule.assign_to_user)
    if rule.assign_to_unit_id:
        return _("%(unit)s · %(strategy)s") % {
            "unit": rule.assign_to_unit,
            "strategy": rule.get_strategy_display(),
        }
    return "—"


# --- scoring rules -------------------------------------------------------------------------------------

FORM_OPERATORS = [
    *[(v, label) for v, label in ScoringOperator.choices],
    ("not_empty", gettext_lazy("is not empty")),
]
EVENT_OPERATORS = [
    ("eq", gettext_lazy("happened (at least once)")),
    ("gte", gettext_lazy("happened at least … times")),
    ("lte", gettext_lazy("happened at most … times")),
]


class ScoringRuleForm(StyledForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    points = forms.IntegerField(
        label=gettext_lazy("Points"),
        min_value=-1000,
        max_value=1000,
        help_text=gettext_lazy("Negative points lower the score, e.g. −10."),
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False)
    kind = forms.ChoiceField(
        label=gettext_lazy("The rule tests"),
        choices=[("field", gettext_lazy("a lead field")), ("event", gettext_lazy("an activity event"))],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    field = forms.ChoiceField(label=gettext_lazy("Field"), required=False)
    operator = forms.ChoiceField(label=gettext_lazy("Condition"), required=False, choices=FORM_OPERATORS)
    value = forms.CharField(label=gettext_lazy("Value"), required=False)
    event = forms.ChoiceField(
        label=gettext_lazy("Event"),
        required=False,
        choices=[("", "—"), *EVENTS, (OTHER_EVENT, gettext_lazy("Another event…"))],
    )
    event_other = forms.CharField(
        label=gettext_lazy("Event name"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("As logged on the lead, e.g. campaign_clicked."),
    )
    event_operator = forms.ChoiceField(label=gettext_lazy("When"), required=False, choices=EVENT_OPERATORS)
    count = forms.IntegerField(label=gettext_lazy("Times"), required=False, min_value=0)
    days = forms.IntegerField(label=gettext_lazy("Days without activity"), required=False, min_value=1)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["field"].choices = field_choices()
        # a new field or condition swaps in the matching value input
        for name in ("field", "operator"):
            self.fields[name].widget.attrs.update(
                {
                    "hx-get": reverse("leads-settings-scoring-value"),
                    "hx-include": "[name=field],[name=operator]",
                    "hx-target": "#hb-rule-value",
                    "hx-swap": "outerHTML",
                    "hx-trigger": "change",
                }
            )


def _initial_from_rule(rule: ScoringRule) -> dict[str, Any]:
    if rule.event:
        known = {e for e, _l in EVENTS}
        return {
            "name": rule.name,
            "points": rule.points,
            "active": rule.active,
            "kind": "event",
            "event": rule.event if rule.event in known else OTHER_EVENT,
            "event_other": "" if rule.event in known else rule.event,
            "event_operator": rule.operator if rule.operator in ("gte", "lte") else "eq",
            "count": rule.value if rule.operator in ("gte", "lte") else None,
            "days": rule.value if rule.event == scoring.INACTIVE_DAYS else None,
            "operator": "eq",
        }
    op = rule.operator
    if op == "is_empty" and rule.value is not None and not bool(rule.value):
        op = "not_empty"
    return {
        "name": rule.name,
        "points": rule.points,
        "active": rule.active,
        "kind": "field",
        "field": rule.field,
        "operator": op,
        "event_operator": "eq",
    }


def _rule_values(rule: ScoringRule | None) -> list[str]:
    if rule is None or rule.event or rule.value is None:
        return []
    values = rule.value if isinstance(rule.value, list) else [rule.value]
    return ["true" if v is True else "false" if v is False else str(v) for v in values]


def _parse_value(field: str, operator: str, raw: list[str], user: Any = None) -> tuple[Any, str]:
    """The typed value of a field rule from the posted value(s), or an error message."""
    kind, _opts = value_kind(field, user) if field else ("text", [])
    raw = [v.strip() for v in raw if v is not None and v.strip()]
    if operator in ("is_empty", "not_empty"):
        return (None if operator == "is_empty" else False), ""
    if operator == "in":
        items = [x.strip() for v in raw for x in ([v] if kind in ("choice", "user") else SPLIT.split(v))]
        items = [x for x in items if x]
        if not items:
            return [], _("Choose or enter at least one value.")
        if kind == "number" or field in ID_FIELDS:
            nums = [_number(x) for x in items]
            if any(n is None for n in nums):
                return items, _("Enter numbers, separated by commas.")
            return nums, ""
        if kind == "bool":
            return [x == "true" for x in items], ""
        return items, ""
    if not raw:
        return None, _("This field is required.")
    text = raw[0]
    if kind == "bool":
        return text == "true", ""
    if kind == "number" or field in ID_FIELDS or (operator in ("gte", "lte") and kind != "date"):
        n = _number(text)
        if n is None:
            if operator in ("gte", "lte") and kind not in ("number",) and field not in ID_FIELDS:
                return text, ""  # dates and text compare as written
            return text, _("Enter a number.")
        return n, ""
    return text, ""


def _scoring_data(form: ScoringRuleForm, raw_values: list[str], user: Any) -> dict[str, Any] | None:
    """Service data from a valid form; None (errors added to the form) when a part is missing."""
    d = form.cleaned_data
    data: dict[str, Any] = {"name": d["name"].strip(), "points": d["points"], "active": d["active"]}
    if d["kind"] == "event":
        event = d["event"]
        if event == OTHER_EVENT:
            event = re.sub(r"[^a-z0-9_]+", "_", (d["event_other"] or "").strip().lower().replace(".", "_"))
            event = event.strip("_")
            if not event:
                form.add_error("event_other", _("This field is required."))
                return None
        if not event:
            form.add_error("event", _("Choose an event."))
            return None
        data.update(field="", event=event, operator="eq", value=None)
        if event == scoring.INACTIVE_DAYS:
            if d["days"] is None:
                form.add_error("days", _("Enter the number of days."))
                return None
            data["value"] = d["days"]
        elif d["event_operator"] in ("gte", "lte"):
            if d["count"] is None:
                form.add_error("count", _("Enter how many times (a whole number)."))
                return None
            data.update(operator=d["event_operator"], value=d["count"])
        return data
    if not d["field"]:
        form.add_error("field", _("Choose a field."))
        return None
    operator = d["operator"] or "eq"
    value, error = _parse_value(d["field"], operator, raw_values, user)
    if error:
        form.add_error("value", error)
        return None
    data.update(
        field=d["field"],
        event="",
        operator="is_empty" if operator == "not_empty" else operator,
        value=value,
    )
    return data


def _value_context(field: str, operator: str, values: list[str], user: Any) -> dict[str, Any]:
    kind, options = value_kind(field, user) if field else ("text", [])
    chosen: list[tuple[str, str]] = []
    if kind in ("user", "customer") and values:
        ids = [int(v) for v in values if str(v).isdigit()]
        if kind == "user":
            chosen = [(str(u.pk), str(u)) for u in User.objects.filter(pk__in=ids)]
        else:
            chosen = [(str(i), f"#{i}") for i in ids]
    return {
        "field": field,
        "operator": operator or "eq",
        "kind": kind,
        "options": options,
        "values": [str(v) for v in values],
        "chosen": chosen,
        "multiple": operator == "in",
        "no_value": operator in ("is_empty", "not_empty"),
        "text": ", ".join(values) if operator == "in" else (values[0] if values else ""),
    }


@section("lead_scoring")
def scoring_rules(request: HttpRequest) -> HttpResponse:
    rules = list(ScoringRule.objects.order_by("position", "id"))
    custom = {c.key: c for c in _custom_fields()}
    memo: dict[str, dict[str, str]] = {}
    rows = [{"rule": r, "words": describe_scoring_rule(r, custom, memo, request.user)} for r in rules]
    ctx: dict[str, Any] = {"rows": rows}
    ctx.update(_preview_context(request))
    return render_settings_page(request, "leads/settings/scoring.html", ctx)


def _preview_context(request: HttpRequest) -> dict[str, Any]:
    """The score the active rules give a lead the user may see (read through ``scoped``)."""
    raw = request.GET.get("lead", "")
    if not raw.isdigit():
        return {"preview": None, "preview_missing": bool(raw)}
    lead = scoped(request.user, Lead).filter(pk=int(raw)).first()
    if lead is None:
        return {"preview": None, "preview_missing": True}
    rules = scoring.active_rules()
    counts, last = scoring.activity_stats([lead.pk])
    total, breakdown = scoring.compute(lead, rules, counts.get(lead.pk), last.get(lead.pk))
    applied = {b["rule"]: b for b in breakdown}
    custom = {c.key: c for c in _custom_fields()}
    memo: dict[str, dict[str, str]] = {}
    return {
        "preview": {
            "lead": lead,
            "total": total,
            "stored": lead.score,
            "rows": [
                {
                    "rule": r,
                    "words": describe_scoring_rule(r, custom, memo, request.user),
                    "applies": r.pk in applied,
                    "points": r.points,
                }
                for r in rules
            ],
        },
        "preview_missing": False,
    }


@section("lead_scoring")
def scoring_preview(request: HttpRequest) -> HttpResponse:
    return render_settings_page(request, "leads/settings/_scoring_preview.html", _preview_context(request))


@section("lead_scoring")
def scoring_value_widget(request: HttpRequest) -> HttpResponse:
    """The value input for the chosen field and condition (HTMX swap on the rule form)."""
    field = request.GET.get("field", "")
    operator = request.GET.get("operator", "eq")
    if field and field not in conditions.LEAD_FIELDS and not field.startswith("custom_fields."):
        field = ""
    return render(
        request,
        "leads/settings/_scoring_value.html",
        {"v": _value_context(field, operator, [], request.user)},
    )


@section("lead_scoring")
def scoring_rule_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(ScoringRule, pk=pk) if pk else None
    raw_values = request.POST.getlist("value") if request.method == "POST" else _rule_values(rule)
    if request.method == "POST":
        form = ScoringRuleForm(request.POST)
        if form.is_valid():
            data = _scoring_data(form, raw_values, request.user)
            if data is not None:
                if rule is None:
                    data["position"] = _next_position()
                try:
                    saved = services.scoring_rule_save(actor=request.user, rule=rule, data=data)
                except ValidationError as exc:
                    rename: dict[str, str] = {}
                    if data.get("event") == scoring.INACTIVE_DAYS:
                        rename["value"] = "days"
                    elif data.get("event"):
                        rename.update(value="count", operator="event_operator")
                    apply_errors(form, exc.errors, rename)
                else:
                    messages.success(request, _("Scoring rule “%(name)s” saved.") % {"name": saved.name})
                    return redirect("leads-settings-scoring")
    else:
        initial = _initial_from_rule(rule) if rule else {"kind": "field", "active": True, "operator": "eq"}
        form = ScoringRuleForm(initial=initial)
    field = form.data.get("field", "") if form.is_bound else form.initial.get("field", "")
    operator = form.data.get("operator", "eq") if form.is_bound else form.initial.get("operator", "eq")
    kind = form.data.get("kind", "field") if form.is_bound else form.initial.get("kind", "field")
    value = _value_context(field, operator, raw_values, request.user)
    value["errors"] = form.errors.get("value", [])
    return render_settings_page(
        request,
        "leads/settings/scoring_form.html",
        {
            "form": form,
            "subject": rule,
            "kind": kind,
            "v": value,
            "inactive_days": scoring.INACTIVE_DAYS,
            "other_event": OTHER_EVENT,
            "history": recent_changes("lead_scoring_rule", rule.pk) if rule else [],
        },
        400 if form.errors else 200,
    )


def _next_position() -> int:
    last = ScoringRule.objects.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 10


def _rule_actions(
    *,
    section_name: str,
    model: Any,
    ordering: str,
    save: Callable[..., Any],
    delete: Callable[..., Any],
    reorder: Callable[..., Any],
    list_url: str,
    messages_of: dict[str, Any],
) -> tuple[Callable[..., HttpResponse], Callable[..., HttpResponse], Callable[..., HttpResponse]]:
    """The delete, activate/deactivate and reorder actions of an ordered rule list (scoring and
    assignment rules); ``messages_of`` holds each kind's own translatable confirmations."""

    @require_POST
    @section(section_name)
    def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(model, pk=pk)
        name = rule.name
        delete(actor=request.user, rule=rule)
        messages.success(request, messages_of["deleted"] % {"name": name})
        return redirect(list_url)

    @require_POST
    @section(section_name)
    def rule_active(request: HttpRequest, pk: int) -> HttpResponse:
        rule = get_object_or_404(model, pk=pk)
        try:
            save(actor=request.user, rule=rule, data={"active": not rule.active})
        except ValidationError as exc:
            messages.error(request, " ".join(flat_messages(list(exc.errors.values()))))
        else:
            key = "activated" if rule.active else "deactivated"
            messages.success(request, messages_of[key] % {"name": rule.name})
        return redirect(list_url)

    @require_POST
    @section(section_name)
    def rules_reorder(request: HttpRequest) -> HttpResponse:
        ids = _ids(request.POST.get("order", ""))
        if "move" in request.POST:
            current = list(model.objects.order_by(ordering, "id").values_list("pk", flat=True))
            pk = int(request.POST["move"]) if request.POST["move"].isdigit() else 0
            ids = _neighbour_order(current, pk, request.POST.get("direction", "up"))
        reorder(actor=request.user, ids=ids)
        if _wants_json(request):
            return JsonResponse({"ok": True})
        messages.success(request, _("Order saved."))
        return redirect(list_url)

    return rule_delete, rule_active, rules_reorder


scoring_rule_delete, scoring_rule_active, scoring_rules_reorder = _rule_actions(
    section_name="lead_scoring",
    model=ScoringRule,
    ordering="position",
    save=services.scoring_rule_save,
    delete=services.scoring_rule_delete,
    reorder=services.scoring_rule_reorder,
    list_url="leads-settings-scoring",
    messages_of={
        "deleted": gettext_lazy("Scoring rule “%(name)s” deleted."),
        "activated": gettext_lazy("Scoring rule “%(name)s” activated."),
        "deactivated": gettext_lazy("Scoring rule “%(name)s” deactivated."),
    },
)


# --- assignment rules ---------------------------------------------------------------------------------


class AssignmentRuleForm(StyledForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    priority = forms.IntegerField(
        label=gettext_lazy("Priority"),
        help_text=gettext_lazy("Lower numbers are tried first."),
        min_value=-100000,
        max_value=100000,
    )
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False)
    region = forms.MultipleChoiceField(
        label=gettext_lazy("Region"),
        required=False,
        help_text=gettext_lazy("A province covers its cities."),
        widget=forms.SelectMultiple(attrs={"data-hb-select": ""}),
    )
    company_size = forms.MultipleChoiceField(
        label=gettext_lazy("Company size"),
        required=False,
        choices=CompanySize.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    urgency = forms.MultipleChoiceField(
        label=gettext_lazy("Urgency"),
        required=False,
        choices=Urgency.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    source = forms.MultipleChoiceField(
        label=gettext_lazy("Source"),
        required=False,
        widget=forms.SelectMultiple(attrs={"data-hb-select": ""}),
    )
    industry = forms.MultipleChoiceField(
        label=gettext_lazy("Industry"),
        required=False,
        widget=forms.SelectMultiple(attrs={"data-hb-select": ""}),
    )
    min_score = forms.IntegerField(label=gettext_lazy("Minimum score"), required=False)
    target = forms.ChoiceField(
        label=gettext_lazy("Assign to"),
        choices=[("user", gettext_lazy("a user")), ("unit", gettext_lazy("a team (org unit)"))],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    assign_to_user = forms.IntegerField(
        label=gettext_lazy("User"),
        required=False,
        widget=forms.Select(attrs={"data-hb-lookup": "/lookup/user/"}),
    )
    assign_to_unit = forms.TypedChoiceField(
        label=gettext_lazy("Team"), required=False, coerce=int, empty_value=None
    )
    strategy = forms.ChoiceField(
        label=gettext_lazy("Within the team"),
        choices=AssignmentStrategy.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        help_text=gettext_lazy(
            "Round robin takes turns; least loaded picks whoever has the fewest open leads."
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = region_choices()
        self.fields["source"].choices = picklist_choices(integration.SOURCE_PICKLIST)()
        self.fields["industry"].choices = industry_choices()
        self.fields["assign_to_unit"].choices = [("", "—"), *_units()]
        # the chosen user is an option of its own (others come from the type-ahead)
        raw = self.data.get("assign_to_user") if self.is_bound else self.initial.get("assign_to_user")
        user = User.objects.filter(pk=raw).first() if str(raw or "").isdigit() else None
        self.fields["assign_to_user"].widget.choices = [("", "—")] + ([(user.pk, str(user))] if user else [])


CONDITION_FIELDS = ("region", "company_size", "urgency", "source", "industry", "min_score")


def _assignment_initial(rule: AssignmentRule | None) -> dict[str, Any]:
    if rule is None:
        last = AssignmentRule.objects.order_by("-priority").values_list("priority", flat=True).first()
        return {
            "active": True,
            "priority": (last or 0) + 10,
            "target": "unit",
            "strategy": AssignmentStrategy.ROUND_ROBIN,
        }
    cond = rule.conditions or {}
    return {
        "name": rule.name,
        "priority": rule.priority,
        "active": rule.active,
        **{k: cond.get(k) or [] for k in CONDITION_FIELDS if k != "min_score"},
        "min_score": cond.get("min_score"),
        "target": "user" if rule.assign_to_user_id else "unit",
        "assign_to_user": rule.assign_to_user_id,
        "assign_to_unit": rule.assign_to_unit_id,
        "strategy": rule.strategy,
    }


@section("lead_assignment")
def assignment_rules(request: HttpRequest) -> HttpResponse:
    rules = list(
        AssignmentRule.objects.select_related("assign_to_user", "assign_to_unit").order_by("priority", "id")
    )
    rows = [{"rule": r, "parts": describe_assignment_rule(r), "target": describe_target(r)} for r in rules]
    ctx: dict[str, Any] = {"rows": rows, "settings": LeadSettings.load()}
    ctx.update(_absence_context(request))
    return render_settings_page(request, "leads/settings/assignment.html", ctx)


@section("lead_assignment")
def assignment_rule_form(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(AssignmentRule, pk=pk) if pk else None
    if request.method == "POST":
        form = AssignmentRuleForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            user = unit = None
            if d["target"] == "user":
                user = User.objects.filter(pk=d["assign_to_user"], is_active=True, is_system=False).first()
                if user is None:
                    form.add_error("assign_to_user", _("Choose an active user."))
            else:
                unit = OrgUnit.objects.filter(pk=d["assign_to_unit"]).first()
                if unit is None:
                    form.add_error("assign_to_unit", _("Choose a team."))
            if not form.errors:
                data = {
                    "name": d["name"].strip(),
                    "priority": d["priority"],
                    "active": d["active"],
                    "conditions": {k: d[k] for k in CONDITION_FIELDS if d[k] not in (None, "", [])},
                    "assign_to_user": user,
                    "assign_to_unit": unit,
                    "strategy": d["strategy"],
                }
                try:
                    saved = services.assignment_rule_save(actor=request.user, rule=rule, data=data)
                except ValidationError as exc:
                    errors = dict(exc.errors)
                    nested = errors.pop("conditions", {})
                    if isinstance(nested, dict):
                        errors.update(nested)
                    else:
                        errors["region"] = nested
                    target = "assign_to_unit" if d["target"] == "unit" else "assign_to_user"
                    apply_errors(form, errors, {"assign_to_user": target})
                else:
                    messages.success(request, _("Assignment rule “%(name)s” saved.") % {"name": saved.name})
                    return redirect("leads-settings-assignment")
    else:
        form = AssignmentRuleForm(initial=_assignment_initial(rule))
    return render_settings_page(
        request,
        "leads/settings/assignment_form.html",
        {
            "form": form,
            "subject": rule,
            "history": recent_changes("lead_assignment_rule", rule.pk) if rule else [],
        },
        400 if form.errors else 200,
    )


assignment_rule_delete, assignment_rule_active, assignment_rules_reorder = _rule_actions(
    section_name="lead_assignment",
    model=AssignmentRule,
    ordering="priority",
    save=services.assignment_rule_save,
    delete=services.assignment_rule_delete,
    reorder=services.assignment_rule_reorder,
    list_url="leads-settings-assignment",
    messages_of={
        "deleted": gettext_lazy("Assignment rule “%(name)s” deleted."),
        "activated": gettext_lazy("Assignment rule “%(name)s” activated."),
        "deactivated": gettext_lazy("Assignment rule “%(name)s” deactivated."),
    },
)


# --- absences (User.absent_until: assignment skips absent users) --------------------------------------


class AbsenceForm(StyledForm):
    user = forms.IntegerField(
        label=gettext_lazy("User"), widget=forms.Select(attrs={"data-hb-lookup": "/lookup/user/"})
    )
    until = forms.DateTimeField(
        label=gettext_lazy("Absent until"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raw = self.data.get("user") if self.is_bound else None
        user = User.objects.filter(pk=raw).first() if str(raw or "").isdigit() else None
        self.fields["user"].widget.choices = [("", "—")] + ([(user.pk, str(user))] if user else [])


def _can_manage_absences(request: HttpRequest) -> bool:
    return has_perm(request.user, "user", "manage")


def _absence_context(request: HttpRequest, form: AbsenceForm | None = None) -> dict[str, Any]:
    if not _can_manage_absences(request):
        return {"absences": None}
    now = timezone.now()
    absent = list(
        User.objects.filter(is_active=True, is_system=False, absent_until__gt=now)
        .select_related("primary_unit")
        .order_by("absent_until", "pk")[:200]
    )
    return {"absences": absent, "absence_form": form or AbsenceForm()}


@require_POST
@section("lead_assignment")
def absence_set(request: HttpRequest) -> HttpResponse:
    from huoban.platform.identity.services import user_update

    if not _can_manage_absences(request):
        raise PermissionDenied
    form = AbsenceForm(request.POST)
    if form.is_valid():
        user = User.objects.filter(pk=form.cleaned_data["user"], is_active=True, is_system=False).first()
        until = form.cleaned_data["until"]
        if user is None:
            form.add_error("user", _("Choose an active user."))
        elif until <= timezone.now():
            form.add_error("until", _("Choose a time in the future."))
        else:
            try:
                user_update(actor=request.user, user=user, absent_until=until)
            except ValidationError as exc:
                apply_errors(form, exc.errors, {"absent_until": "until"})
            else:
                messages.success(
                    request,
                    _("%(user)s is absent until %(until)s; assignment skips them.")
                    % {"user": user, "until": fdatetime(until)},
                )
                return redirect(reverse("leads-settings-assignment") + "#absences")
    rules = list(
        AssignmentRule.objects.select_related("assign_to_user", "assign_to_unit").order_by("priority", "id")
    )
    rows = [{"rule": r, "parts": describe_assignment_rule(r), "target": describe_target(r)} for r in rules]
    ctx: dict[str, Any] = {"rows": rows, "settings": LeadSettings.load()}
    ctx.update(_absence_context(request, form))
    return render_settings_page(request, "leads/settings/assignment.html", ctx, 400)


@require_POST
@section("lead_assignment")
def absence_end(request: HttpRequest, pk: int) -> HttpResponse:
    from huoban.platform.identity.services import user_update

    if not _can_manage_absences(request):
        raise PermissionDenied
    user = get_object_or_404(User, pk=pk, is_system=False)
    user_update(actor=request.user, user=user, absent_until=None)
    messages.success(request, _("%(user)s is back: assignment includes them again.") % {"user": user})
    return redirect(reverse("leads-settings-assignment") + "#absences")


# --- lead settings: duplicates, first-contact SLA, working hours, fallback queue ----------------------


class LeadSettingsForm(StyledForm):
    dedup_policy = forms.ChoiceField(
        label=gettext_lazy("When a new lead looks like an existing lead, contact or customer"),
        choices=DedupPolicy.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    name_similarity = forms.IntegerField(
        label=gettext_lazy("Company names count as similar from (0–100)"),
        min_value=0,
        max_value=100,
        help_text=gettext_lazy("100 = only the same name; 85 is a good start."),
    )
    sla_hours = forms.DecimalField(
        label=gettext_lazy("First contact within (working hours)"),
        max_digits=6,
        decimal_places=2,
        help_text=gettext_lazy("Overdue leads are flagged to the owner and the owner's manager."),
    )
    work_start = forms.TimeField(
        label=gettext_lazy("Working day starts"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )
    work_end = forms.TimeField(
        label=gettext_lazy("Working day ends"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M")
    )
    work_days = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Working days"),
        choices=[(i + 1, WEEKDAYS[i]) for i in range(7)],
        coerce=int,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "form-check-input"}),
    )
    holidays = forms.CharField(
        label=gettext_lazy("Holidays"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One date per line, written YYYY-MM-DD; the SLA clock stops on these days."),
    )
    fallback_user = forms.IntegerField(
        label=gettext_lazy("Fallback user"),
        required=False,
        widget=forms.Select(attrs={"data-hb-lookup": "/lookup/user/"}),
        help_text=gettext_lazy("Gets the leads no rule assigns. Empty: they wait in the fallback queue."),
    )
    fallback_unit = forms.TypedChoiceField(
        label=gettext_lazy("Fallback queue (unit)"),
        required=False,
        coerce=int,
        empty_value=None,
        help_text=gettext_lazy("Unassigned leads belong to this unit, so its managers see them."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["fallback_unit"].choices = [("", "—"), *_units()]
        raw = self.data.get("fallback_user") if self.is_bound else self.initial.get("fallback_user")
        user = User.objects.filter(pk=raw).first() if str(raw or "").isdigit() else None
        self.fields["fallback_user"].widget.choices = [("", "—")] + ([(user.pk, str(user))] if user else [])


@section("lead_settings")
def lead_settings(request: HttpRequest) -> HttpResponse:
    obj = LeadSettings.load()
    if request.method == "POST":
        form = LeadSettingsForm(request.POST)
        if form.is_valid():
            d = form.cleaned_data
            holidays = [h.strip() for h in SPLIT.split(d["holidays"] or "") if h.strip()]
            bad = [h for h in holidays if not _is_date(h)]
            user = None
            if d["fallback_user"]:
                user = User.objects.filter(pk=d["fallback_user"], is_active=True, is_system=False).first()
                if user is None:
                    form.add_error("fallback_user", _("Choose an active user."))
            if not form.errors:
                data = {
                    "dedup_policy": d["dedup_policy"],
                    "name_similarity": d["name_similarity"],
                    "sla_hours": d["sla_hours"],
                    "work_start": d["work_start"],
                    "work_end": d["work_end"],
                    "work_days": sorted(set(d["work_days"])),
                    "holidays": sorted(set(holidays)),
                    "fallback_user": user,
                    "fallback_unit": OrgUnit.objects.filter(pk=d["fallback_unit"]).first()
                    if d["fallback_unit"]
                    else None,
                }
                try:
                    services.lead_settings_update(actor=request.user, data=data)
                except ValidationError as exc:
                    errors = dict(exc.errors)
                    if bad:  # name the dates that are wrong
                        errors["holidays"] = [
                            _("Not a date (YYYY-MM-DD): %(dates)s") % {"dates": ", ".join(bad[:5])}
                        ]
                    apply_errors(form, errors)
                else:
                    messages.success(request, _("Lead settings saved."))
                    return redirect("leads-settings-general")
    else:
        form = LeadSettingsForm(
            initial={
                "dedup_policy": obj.dedup_policy,
                "name_similarity": obj.name_similarity,
                "sla_hours": obj.sla_hours,
                "work_start": obj.work_start,
                "work_end": obj.work_end,
                "work_days": obj.working_days,
                "holidays": "\n".join(str(h) for h in obj.holidays or []),
                "fallback_user": obj.fallback_user_id,
                "fallback_unit": obj.fallback_unit_id,
            }
        )
    return render_settings_page(
        request,
        "leads/settings/general.html",
        {"form": form, "obj": obj, "history": recent_changes("lead_settings", obj.pk)},
        400 if form.errors else 200,
    )


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True
