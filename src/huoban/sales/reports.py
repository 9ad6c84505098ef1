"""Funnel and forecast: SQL aggregates (GROUP BY) over the caller's scoped querysets.

Python only walks the aggregated groups (stages × statuses × sources, owners × days), never rows.
Each query is shaped to read one covering, partial index in its own order (see the indexes on
Opportunity, Lead and StageHistory), so neither database sorts or reads a million wide rows:

* funnel — leads ``GROUP BY source``; opportunities ``GROUP BY max_position, status, source``
  (stages reached, won/lost, by source all follow from these groups); cycle time per stage from
  the stage history, which carries copies of the opportunity's filter fields;
* forecast — ``GROUP BY close_month, owner, owner_unit, status, forecast_category`` (the measures
  follow from status and category); win rates ``GROUP BY owner, owner_unit`` over the deals
  closed in the last year.

``created_month`` / ``close_month`` (YYYYMM, kept by ``Opportunity.save``) make the month a
leading index column, so the groups come out of the index in order.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db.models import Count, DecimalField, ExpressionWrapper, F, Q, Sum
from django.utils import timezone

from huoban.leads.models import Lead, LeadStatus
from huoban.platform.access.scoping import scope_filter, scoped
from huoban.platform.identity.models import OrgUnit, User, user_summary

from .models import (
    ForecastCategory,
    Opportunity,
    OpportunityStatus,
    Pipeline,
    SalesSettings,
    Stage,
    StageHistory,
    StageType,
    month_key,
)

ZERO = Decimal("0")
MONEY = DecimalField(max_digits=20, decimal_places=2)


def _money(value: Any) -> str:
    return str((Decimal(value) if value is not None else ZERO).quantize(Decimal("0.01")))


def _dec(value: Any) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _pct(part: int | Decimal, whole: int | Decimal) -> float | None:
    if not whole:
        return None
    return round(float(part) * 100.0 / float(whole), 1)


def _start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def unit_tree_ids(unit: OrgUnit | int | None) -> list[int] | None:
    """The unit and every unit below it (None: no unit filter; []: no such unit)."""
    if unit in (None, ""):
        return None
    if not isinstance(unit, OrgUnit):
        unit = OrgUnit.objects.filter(pk=unit).first()
        if unit is None:
            return []
    return OrgUnit.subtree_ids([unit])


def _history_scope(user: Any) -> Q | None:
    """The opportunity data scope of ``user`` expressed on StageHistory's copied columns (owner,
    owner_unit; shared records by opportunity id). None: the scope uses other fields (callers then
    fall back to a semi-join on the scoped opportunities)."""
    q = scope_filter(user, Opportunity, "view")
    if q is None:
        return Q(pk__in=[])

    def retarget(node: Q) -> Q | None:
        out = Q()
        out.connector, out.negated = node.connector, node.negated
        for child in node.children:
            if isinstance(child, Q):
                sub = retarget(child)
                if sub is None:
                    return None
                out.children.append(sub)
                continue
            lookup, value = child
            head, sep, rest = lookup.partition("__")
            if head in ("pk", "id"):
                lookup = "opportunity_id" + (sep + rest if rest else "")
            elif head not in ("owner", "owner_id", "owner_unit", "owner_unit_id"):
                return None
            out.children.append((lookup, value))
        return out

    return retarget(q)


# --- funnel ------------------------------------------------------------------------------------------


def funnel(
    user: Any,
    *,
    date_from: dt.date,
    date_to: dt.date,
    unit: Any = None,
    source: str | None = None,
    pipeline: Pipeline | None = None,
    owner: Any = None,
) -> dict[str, Any]:
    """Lead → opportunity → won, and stage-to-stage conversion with average time per stage, for
    the leads and opportunities created in [date_from, date_to] that the user may see."""
    settings = SalesSettings.load()
    pipeline = pipeline or Pipeline.objects.filter(is_default=True).first() or Pipeline.objects.first()
    start, end = _start(date_from), _start(date_to + dt.timedelta(days=1))
    units = unit_tree_ids(unit)

    leads = scoped(user, Lead).filter(created_at__gte=start, created_at__lt=end)
    opps = scoped(user, Opportunity).filter(created_at__gte=start, created_at__lt=end, pipeline=pipeline)
    history = StageHistory.objects.filter(
        live=True,
        left_at__isnull=False,
        pipeline=pipeline,
        opportunity_created_at__gte=start,
        opportunity_created_at__lt=end,
    )
    hscope = _history_scope(user)
    history = (
        history.filter(hscope) if hscope is not None else history.filter(opportunity__in=opps.values("pk"))
    )
    filters: dict[str, Any] = {}
    if units is not None:
        filters["owner_unit_id__in"] = units
    if source:
        filters["source"] = source
    if owner:
        filters["owner_id"] = owner
    leads, opps, history = leads.filter(**filters), opps.filter(**filters), history.filter(**filters)

    # leads: one pass, grouped by source (totals are the sums of the groups)
    lead_rows = list(
        leads.values("source")
        .annotate(
            total=Count("*"),
            contacted=Count("status", filter=~Q(status=LeadStatus.NEW)),
            qualified=Count("status", filter=Q(status__in=[LeadStatus.QUALIFIED, LeadStatus.CONVERTED])),
            converted=Count("status", filter=Q(status=LeadStatus.CONVERTED)),
            with_opportunity=Count("status", filter=Q(converted_opportunity__isnull=False)),
        )
        .order_by()
    )
    lead_keys = ("total", "contacted", "qualified", "converted", "with_opportunity")
    lead_stats = {k: sum(r[k] for r in lead_rows) for k in lead_keys}

    # opportunities: one pass in index order, grouped by month, furthest stage reached, status and
    # source; the months are added up here
    merged: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in (
        opps.filter(created_month__gte=month_key(date_from), created_month__lte=month_key(date_to))
        .values("created_month", "max_position", "status", "source")
        .annotate(n=Count("*"), amount=Sum("amount_base"))
        .order_by()
    ):
        key = (r["max_position"], r["status"], r["source"])
        g = merged.setdefault(
            key, {"max_position": key[0], "status": key[1], "source": key[2], "n": 0, "amount": ZERO}
        )
        g["n"] += r["n"]
        g["amount"] += _dec(r["amount"])
    groups = list(merged.values())
    total = sum(g["n"] for g in groups)
    total_amount = sum((g["amount"] for g in groups), ZERO)
    won = sum(g["n"] for g in groups if g["status"] == OpportunityStatus.WON)
    won_amount = sum((g["amount"] for g in groups if g["status"] == OpportunityStatus.WON), ZERO)
    lost = sum(g["n"] for g in groups if g["status"] == OpportunityStatus.LOST)

    # cycle time: finished stays of these opportunities per stage (one pass, no sort)
    stages = list(Stage.objects.filter(pipeline=pipeline).order_by("position", "id")) if pipeline else []
    open_stages = [s for s in stages if s.type == StageType.OPEN]
    aggs: dict[str, Any] = {}
    for s in open_stages:
        aggs[f"s{s.pk}"] = Sum("duration_seconds", filter=Q(stage_id=s.pk))
        aggs[f"n{s.pk}"] = Count("stage", filter=Q(stage_id=s.pk))
    totals = history.aggregate(**aggs) if aggs else {}
    cycle = {s.pk: {"seconds": totals.get(f"s{s.pk}"), "n": totals.get(f"n{s.pk}") or 0} for s in open_stages}

    stage_rows = []
    previous = None
    for s in open_stages:
        reached = sum(g["n"] for g in groups if g["max_position"] >= s.position)
        amount = sum((g["amount"] for g in groups if g["max_position"] >= s.position), ZERO)
        c = cycle.get(s.pk)
        avg_days = (
            round(float(c["seconds"]) / c["n"] / 86400.0, 1)
            if c and c["n"] and c["seconds"] is not None
            else None
        )
        stage_rows.append(
            {
                "stage": s.pk,
                "code": s.code,
                "name": s.label,
                "position": s.position,
                "probability": s.probability,
                "reached": reached,
                "amount": _money(amount),
                "conversion_from_previous": _pct(reached, previous) if previous is not None else None,
                "avg_days": avg_days,
                "stays": c["n"] if c else 0,
            }
        )
        previous = reached
    won_stage = next((s for s in stages if s.type == StageType.WON), None)
    if won_stage is not None:
        stage_rows.append(
            {
                "stage": won_stage.pk,
                "code": won_stage.code,
                "name": won_stage.label,
                "position": won_stage.position,
                "probability": won_stage.probability,
                "reached": won,
                "amount": _money(won_amount),
                "conversion_from_previous": _pct(won, previous) if previous is not None else None,
                "avg_days": None,
                "stays": 0,
            }
        )

    by_source_opps: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"total": 0, "won": 0, "won_amount": ZERO}
    )
    for g in groups:
        row = by_source_opps[g["source"]]
        row["total"] += g["n"]
        if g["status"] == OpportunityStatus.WON:
            row["won"] += g["n"]
            row["won_amount"] += g["amount"]
    by_source_leads = {r["source"]: r for r in lead_rows}
    by_source = []
    for key in sorted(set(by_source_leads) | set(by_source_opps), key=lambda k: k or ""):
        lrow = by_source_leads.get(key, {})
        orow = by_source_opps.get(key, {"total": 0, "won": 0, "won_amount": ZERO})
        by_source.append(
            {
                "source": key,
                "leads": lrow.get("total", 0),
                "converted": lrow.get("converted", 0),
                "lead_conversion": _pct(lrow.get("converted", 0), lrow.get("total", 0)),
                "opportunities": orow["total"],
                "won": orow["won"],
                "won_amount": _money(orow["won_amount"]),
                "win_rate": _pct(orow["won"], orow["total"]),
            }
        )

    lead_to_opp = _pct(lead_stats["with_opportunity"], lead_stats["total"])
    threshold = settings.funnel_warning_threshold
    warnings = []
    if lead_to_opp is not None and lead_to_opp < threshold:
        warnings.append({"code": "low_lead_conversion", "value": lead_to_opp, "threshold": threshold})
    return {
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "pipeline": pipeline.pk if pipeline else None,
        "currency": settings.base_currency,
        "leads": {
            **lead_stats,
            "lead_to_opportunity": lead_to_opp,
            "lead_to_customer": _pct(lead_stats["converted"], lead_stats["total"]),
        },
        "opportunities": {
            "total": total,
            "amount": _money(total_amount),
            "open": total - won - lost,
            "won": won,
            "lost": lost,
            "won_amount": _money(won_amount),
            "win_rate": _pct(won, won + lost),
            "opportunity_to_won": _pct(won, total),
        },
        "stages": stage_rows,
        "by_source": by_source,
        "warning_threshold": threshold,
        "warnings": warnings,
    }


# --- forecast ----------------------------------------------------------------------------------------


def _period_key(day: dt.date | None, period: str) -> str:
    if day is None:
        return ""
    if period == "quarter":
        return f"{day.year}-Q{(day.month - 1) // 3 + 1}"
    return f"{day.year}-{day.month:02d}"


def _add_months(day: dt.date, months: int) -> dt.date:
    m = day.year * 12 + day.month - 1 + months
    return dt.date(m // 12, m % 12 + 1, 1)


def period_range(period: str, today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """Default window around today: the last 6 and the next 6 months (by month), or the last 4
    and the next 4 quarters (by quarter) — closed-won behind, the forecast ahead."""
    today = today or timezone.localdate()
    if period == "quarter":
        q0 = dt.date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
        return _add_months(q0, -9), _add_months(q0, 15) - dt.timedelta(days=1)
    m0 = today.replace(day=1)
    return _add_months(m0, -5), _add_months(m0, 7) - dt.timedelta(days=1)


def _periods(date_from: dt.date, date_to: dt.date, period: str) -> list[str]:
    keys: list[str] = []
    y, m = date_from.year, date_from.month
    while (y, m) <= (date_to.year, date_to.month):
        key = _period_key(dt.date(y, m, 1), period)
        if key not in keys:
            keys.append(key)
        m += 1
        if m > 12:
            y, m = y + 1, 1
    return keys


MEASURES = ("pipeline", "weighted", "commit", "best_case", "closed_won")
COUNTS = ("open_count", "won_count", "lost_count")


def _by_month(qs: Any, date_from: dt.date, date_to: dt.date) -> list[dict[str, Any]]:
    """Forecast measures per (month, owner, owner_unit): one pass over the covering index in its own
    order (month, owner, unit, status, category), three plain aggregates; the measures follow from
    status and category here."""
    weighted = ExpressionWrapper(F("amount_base") * F("probability") / 100, output_field=MONEY)
    rows = (
        qs.filter(
            close_month__gte=month_key(date_from),
            close_month__lte=month_key(date_to),
            close_date__gte=date_from,
            close_date__lte=date_to,
        )
        .values("close_month", "owner", "owner_unit", "status", "forecast_category")
        .annotate(amount=Sum("amount_base"), weighted=Sum(weighted), n=Count("*"))
        .order_by()
    )
    cells: dict[tuple[Any, ...], dict[str, Any]] = {}
    for r in rows:
        key = (r["close_month"], r["owner"], r["owner_unit"])
        cell = cells.get(key)
        if cell is None:
            cell = cells[key] = {
                "month": r["close_month"],
                "owner": r["owner"],
                "owner_unit": r["owner_unit"],
                **{m: ZERO for m in MEASURES},
                **{c: 0 for c in COUNTS},
            }
        amount, n, status, category = _dec(r["amount"]), r["n"], r["status"], r["forecast_category"]
        if status == OpportunityStatus.OPEN:
            cell["open_count"] += n
            if category != ForecastCategory.OMITTED:
                cell["pipeline"] += amount
                cell["weighted"] += _dec(r["weighted"])
            if category == ForecastCategory.COMMIT:
                cell["commit"] += amount
            if category in (ForecastCategory.COMMIT, ForecastCategory.BEST_CASE):
                cell["best_case"] += amount
        elif status == OpportunityStatus.WON:
            cell["won_count"] += n
            cell["closed_won"] += amount
        elif status == OpportunityStatus.LOST:
            cell["lost_count"] += n
    return list(cells.values())


def win_rates(qs: Any, since: dt.datetime) -> list[dict[str, Any]]:
    """Closed deals since ``since`` per (owner, owner_unit): won, closed, amounts."""
    return list(
        qs.filter(status__in=[OpportunityStatus.WON, OpportunityStatus.LOST], closed_at__gte=since)
        .values("owner", "owner_unit")
        .annotate(
            won=Count("status", filter=Q(status=OpportunityStatus.WON)),
            closed=Count("*"),
            won_amount=Sum("amount_base", filter=Q(status=OpportunityStatus.WON)),
            closed_amount=Sum("amount_base"),
        )
        .order_by()
    )


def forecast(
    user: Any,
    *,
    period: str = "month",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    unit: Any = None,
    owner: Any = None,
    pipeline: Pipeline | None = None,
    group: str = "owner",
) -> dict[str, Any]:
    """Per period (month/quarter, by close date) and per owner or unit: pipeline, weighted pipeline,
    commit, best case, closed-won; with each group's historical win rate (last 12 months)."""
    period = "quarter" if period == "quarter" else "month"
    group_field = "owner_unit" if group == "unit" else "owner"
    if date_from is None or date_to is None:
        d0, d1 = period_range(period)
        date_from, date_to = date_from or d0, date_to or d1
    settings = SalesSettings.load()
    base = scoped(user, Opportunity)
    units = unit_tree_ids(unit)
    if units is not None:
        base = base.filter(owner_unit_id__in=units)
    if owner:
        base = base.filter(owner_id=owner)
    if pipeline is not None:
        base = base.filter(pipeline=pipeline)
    rows = _by_month(base, date_from, date_to)

    def empty() -> dict[str, Any]:
        return {**{m: ZERO for m in MEASURES}, **{c: 0 for c in COUNTS}}

    keys = _periods(date_from, date_to, period)
    by_period: dict[str, dict[str, Any]] = {k: empty() for k in keys}
    by_group: dict[Any, dict[str, Any]] = defaultdict(empty)
    cells: dict[Any, dict[str, dict[str, Any]]] = defaultdict(dict)
    totals = empty()
    for r in rows:
        month = r["month"]
        key = _period_key(dt.date(month // 100, month % 100, 1), period) if month else ""
        gid = r[group_field]
        cell = cells[gid].setdefault(key, empty())
        for target in (by_period.setdefault(key, empty()), by_group[gid], totals, cell):
            for m in MEASURES:
                target[m] += r[m]
            for c in COUNTS:
                target[c] += r[c]

    since = timezone.now() - dt.timedelta(days=365)
    rates: dict[Any, dict[str, int]] = defaultdict(lambda: {"won": 0, "closed": 0})
    overall = {"won": 0, "closed": 0}
    for r in win_rates(base, since):
        for target in (rates[r[group_field]], overall):
            target["won"] += r["won"]
            target["closed"] += r["closed"]

    ids = [g for g in by_group if g]
    if group_field == "owner":
        labels = {u.pk: user_summary(u) for u in User.objects.filter(pk__in=ids)}
    else:
        labels = {u.pk: {"id": u.pk, "name": u.name} for u in OrgUnit.objects.filter(pk__in=ids)}

    def fmt(values: dict[str, Any]) -> dict[str, Any]:
        return {**{m: _money(values[m]) for m in MEASURES}, **{c: values[c] for c in COUNTS}}

    groups_out = []
    for gid, values in sorted(by_group.items(), key=lambda kv: -(kv[1]["pipeline"] + kv[1]["closed_won"])):
        rate = rates.get(gid, {"won": 0, "closed": 0})
        win = _pct(rate["won"], rate["closed"])
        groups_out.append(
            {
                group_field: labels.get(gid) if gid else None,
                **fmt(values),
                "win_rate": win,
                "won_closed": [rate["won"], rate["closed"]],
                "expected_by_win_rate": _money(values["pipeline"] * Decimal(str(win)) / 100)
                if win is not None
                else None,
                "periods": [{"period": k, **fmt(v)} for k, v in sorted(cells[gid].items())],
            }
        )
    return {
        "period": period,
        "from": date_from.isoformat(),
        "to": date_to.isoformat(),
        "group": "unit" if group_field == "owner_unit" else "owner",
        "currency": settings.base_currency,
        "totals": {**fmt(totals), "win_rate": _pct(overall["won"], overall["closed"])},
        "periods": [{"period": k, **fmt(by_period[k])} for k in sorted(by_period)],
        "groups": groups_out,
    }
