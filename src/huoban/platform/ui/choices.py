"""Choices and cell renderers for form fields and filters backed by picklists and regions
(data, not code: see ``platform/records/picklists.py`` and ``platform/records/regions.py``).
Evaluated at render time, so labels follow the page language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.utils.translation import get_language


def _zh() -> bool:
    return (get_language() or "").lower().startswith("zh")


def picklist_choices(key: str) -> Callable[[], list[tuple[str, str]]]:
    """A callable giving the active values of picklist ``key`` as (code, label)."""

    def choices() -> list[tuple[str, str]]:
        from huoban.platform.records.models import PicklistValue

        return [
            (v.code, v.display_label())
            for v in PicklistValue.objects.filter(picklist__key=key, active=True).order_by("order", "code")
        ]

    return choices


def industry_choices() -> list[tuple[str, str]]:
    """GB/T 4754 sections (``C · Manufacturing``) and divisions (``C13 …``) in code order."""
    from huoban.platform.records.models import PicklistValue

    out = []
    for v in PicklistValue.objects.filter(picklist__key="industry", active=True).order_by("order", "code"):
        label = v.display_label()
        out.append((v.code, f"{v.code} {label}" if v.parent_id else f"{v.code} · {label}"))
    return out


def region_choices() -> list[tuple[str, str]]:
    """GB/T 2260 provinces and cities; a city is shown with its province."""
    from huoban.platform.records.regions import regions

    zh = _zh()
    regs = regions()
    out = []
    for r in sorted(regs.values(), key=lambda r: r.code):
        name = r.name_zh if zh else r.name_en
        parent = regs.get(r.parent) if r.parent else None
        out.append((r.code, f"{parent.short_zh if zh else parent.name_en} · {name}" if parent else name))
    return out


def province_choices() -> list[tuple[str, str]]:
    from huoban.platform.records.regions import provinces

    zh = _zh()
    return [(r.code, r.name_zh if zh else r.name_en) for r in sorted(provinces(), key=lambda r: r.code)]


def picklist_render(key: str, field: str) -> Callable[[Any], str]:
    """A cell renderer showing the label of the picklist code stored in ``obj.<field>``."""

    def render(obj: Any) -> str:
        from huoban.platform.records.picklists import picklist_label

        return picklist_label(key, getattr(obj, field, "") or "")

    return render
