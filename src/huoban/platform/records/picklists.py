"""Standard picklists as data: industries (GB/T 4754-2017), regions (GB/T 2260), source channels.

``load_picklists()`` is idempotent: it creates missing picklists and values and leaves values an
administrator edited alone (``refresh=True`` rewrites labels from the data files). It runs after
``migrate`` (post_migrate handler of the customers app), from ``huoban loadpicklists`` and from
``huoban demo``.

``resolve_picklist(key, value)`` and ``picklist_label(key, code)`` are the fast lookups validation,
imports and list columns use (cached per process for a short time, so an administrator's edit in
another process shows up quickly; saves in this process clear the cache at once).
"""

from __future__ import annotations

import csv
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from .models import Picklist, PicklistValue, localized

DATA_DIR = Path(__file__).resolve().parent / "data"

INDUSTRY = "industry"
REGION = "region"
CUSTOMER_SOURCE = "customer_source"

# code, English, Chinese
SOURCES: list[tuple[str, str, str]] = [
    ("website", "Website", "官网"),
    ("referral", "Referral", "客户推荐"),
    ("exhibition", "Trade show", "展会"),
    ("cold_call", "Cold call", "电话陌拜"),
    ("advertising", "Advertising", "广告投放"),
    ("search", "Search engine", "搜索引擎"),
    ("social_media", "Social media", "社交媒体"),
    ("wechat", "WeChat", "微信"),
    ("partner", "Partner / channel", "渠道伙伴"),
    ("event", "Event / seminar", "活动会议"),
    ("tender", "Public tender", "招投标"),
    ("import", "Data import", "数据导入"),
    ("other", "Other", "其他"),
]

PICKLISTS: list[dict[str, Any]] = [
    {
        "key": INDUSTRY,
        "name": "Industry (GB/T 4754-2017)",
        "name_zh_hans": "行业(GB/T 4754-2017)",
        "hierarchical": True,
    },
    {"key": REGION, "name": "Region (GB/T 2260)", "name_zh_hans": "地区(GB/T 2260)", "hierarchical": True},
    {"key": CUSTOMER_SOURCE, "name": "Source channel", "name_zh_hans": "来源渠道", "hierarchical": False},
]


def _industry_rows() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    with (DATA_DIR / "gbt4754_2017_industries.csv").open(encoding="utf-8") as fh:
        for i, row in enumerate(csv.DictReader(fh)):
            rows.append(
                {
                    "code": row["code"],
                    "parent": row["parent"] or None,
                    "label": row["name_en"],
                    "label_zh_hans": row["name_zh"],
                    "aliases": [],
                    "order": i,
                }
            )
    return rows


def _region_rows() -> list[dict[str, Any]]:
    from .regions import regions

    rows = []
    for i, r in enumerate(sorted(regions().values(), key=lambda r: r.code)):
        aliases = [a for a in (r.short_zh, *r.aliases) if a and a != r.name_zh]
        rows.append(
            {
                "code": r.code,
                "parent": r.parent or None,
                "label": r.name_en,
                "label_zh_hans": r.name_zh,
                "aliases": aliases,
                "order": i,
            }
        )
    return rows


def _source_rows() -> list[dict[str, Any]]:
    return [
        {"code": c, "parent": None, "label": en, "label_zh_hans": zh, "aliases": [], "order": i}
        for i, (c, en, zh) in enumerate(SOURCES)
    ]


ROWS = {INDUSTRY: _industry_rows, REGION: _region_rows, CUSTOMER_SOURCE: _source_rows}


def load_picklists(*, refresh: bool = False, using: str = "default") -> dict[str, int]:
    """Create the standard picklists and their values; returns {key: values created or updated}."""
    counts: dict[str, int] = {}
    with transaction.atomic(using=using):
        for spec in PICKLISTS:
            pl, _created = Picklist.objects.using(using).get_or_create(
                key=spec["key"], defaults={k: v for k, v in spec.items() if k != "key"}
            )
            if refresh:
                Picklist.objects.using(using).filter(pk=pl.pk).update(
                    **{k: v for k, v in spec.items() if k != "key"}
                )
            rows = ROWS[spec["key"]]()
            existing = {v.code: v for v in PicklistValue.objects.using(using).filter(picklist=pl)}
            changed = 0
            # parents first (rows are ordered so that parents precede their children)
            for row in sorted(rows, key=lambda r: r["parent"] is not None):
                parent = existing.get(row["parent"]) if row["parent"] else None
                value = existing.get(row["code"])
                if value is None:
                    value = PicklistValue.objects.using(using).create(
                        picklist=pl,
                        code=row["code"],
                        label=row["label"],
                        label_zh_hans=row["label_zh_hans"],
                        parent=parent,
                        aliases=row["aliases"],
                        order=row["order"],
                    )
                    existing[row["code"]] = value
                    changed += 1
                elif refresh:
                    value.label = row["label"]
                    value.label_zh_hans = row["label_zh_hans"]
                    value.parent = parent
                    value.aliases = row["aliases"]
                    value.order = row["order"]
                    value.save()
                    changed += 1
            counts[spec["key"]] = changed
    _CACHE.clear()
    return counts


# --- fast lookups ------------------------------------------------------------------------------

_TTL = 30.0


@dataclass
class _Loaded:
    at: float
    lookup: dict[str, str]  # normalised code / label / alias -> code (active values)
    codes: set[str]  # active codes
    labels: dict[str, tuple[str, str]]  # code -> (label, label_zh_hans), inactive values too


_CACHE: dict[str, _Loaded] = {}


def _norm(value: str) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value)).lower().split())


def _load(key: str) -> _Loaded:
    hit = _CACHE.get(key)
    now = time.monotonic()
    if hit and now - hit.at < _TTL:
        return hit
    loaded = _Loaded(now, {}, set(), {})
    rows = PicklistValue.objects.filter(picklist__key=key).values_list(
        "code", "label", "label_zh_hans", "aliases", "active"
    )
    for code, label, label_zh, aliases, active in rows:
        loaded.labels[code] = (label, label_zh)
        if not active:
            continue
        loaded.codes.add(code)
        for name in (label, label_zh, *(aliases or [])):
            if name:
                loaded.lookup.setdefault(_norm(name), code)
    for code in loaded.codes:  # codes win over labels
        loaded.lookup[_norm(code)] = code
    _CACHE[key] = loaded
    return loaded


def resolve_picklist(key: str, value: Any) -> str:
    """The code for a code, English or Chinese label or alias; ValueError when unknown."""
    text = str(value if value is not None else "").strip()
    if not text:
        return ""
    loaded = _load(key)
    if not loaded.codes:  # picklist not loaded (fresh database): accept the value as given
        return text
    code = loaded.lookup.get(_norm(text))
    if code is None:
        raise ValueError(_("“%(value)s” is not in the list.") % {"value": text})
    return code


def picklist_label(key: str, code: str) -> str:
    """Display label of a code in the current language (the code itself when unknown)."""
    if not code:
        return ""
    labels = _load(key).labels.get(code)
    if labels is None:
        return code
    return localized(*labels)


def clear_cache(**_: Any) -> None:
    """Forget the cached lookups (also connected to saves and deletes of picklist values)."""
    _CACHE.clear()
