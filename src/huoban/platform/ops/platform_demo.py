"""Platform demo data: the org tree and the demo users (see README for the logins)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import transaction

from huoban.platform.identity.actors import SystemActor
from huoban.platform.identity.models import OrgUnit, Role, User
from huoban.platform.identity.presets import ensure_preset_roles
from huoban.platform.identity.services import _refresh_paths

from .demo import register

ACTOR = SystemActor("demo")

UNITS = [
    # code, name, name shown in zh, kind, parent
    ("hq", "HQ", "company", None),
    ("east", "East China", "region", "hq"),
    ("east-sales", "East China Sales", "team", "east"),
    ("north", "North China", "region", "hq"),
    ("north-sales", "North China Sales", "team", "north"),
    ("service", "Service", "department", "hq"),
    ("marketing", "Marketing", "department", "hq"),
    ("finance", "Finance", "department", "hq"),
]

USERS = [
    # username, display name, unit, roles, manages
    ("admin", "管理员 Admin", "hq", ["administrator"], ["hq"]),
    ("sales_manager", "王经理 Wang Wei", "east", ["sales_manager"], ["east", "east-sales"]),
    ("sales_rep1", "李娜 Li Na", "east-sales", ["sales_rep"], []),
    ("sales_rep2", "张伟 Zhang Wei", "east-sales", ["sales_rep"], []),
    ("sales_manager_north", "赵经理 Zhao Min", "north", ["sales_manager"], ["north", "north-sales"]),
    ("sales_rep3", "刘洋 Liu Yang", "north-sales", ["sales_rep"], []),
    ("service_agent", "陈静 Chen Jing", "service", ["service_agent"], ["service"]),
    ("marketing", "杨帆 Yang Fan", "marketing", ["marketing"], ["marketing"]),
    ("finance", "周敏 Zhou Min", "finance", ["finance"], ["finance"]),
]


@register("platform.org", order=0)
def demo_org(**_: Any) -> list[str]:
    ensure_preset_roles(Role)
    with transaction.atomic():
        units: dict[str, OrgUnit] = {}
        for code, name, kind, parent in UNITS:
            unit, _created = OrgUnit.objects.get_or_create(
                code=code,
                defaults={"name": name, "kind": kind, "parent": units.get(parent) if parent else None},
            )
            units[code] = unit
            _refresh_paths(unit)
        logins = []
        roles = {r.code: r for r in Role.objects.all()}
        for username, display, unit_code, role_codes, manages in USERS:
            user = User.objects.filter(username=username).first()
            if user is None:
                user = User(
                    username=username,
                    display_name=display,
                    email=f"{username}@demo.huoban.local",
                    primary_unit=units[unit_code],
                    language="",
                    time_zone="",
                )
                user.set_password(settings.DEMO_PASSWORD)
                user.save()
                user.roles.set([roles[c] for c in role_codes])
            if username == "admin" and not user.is_superuser:
                user.is_superuser = True
                user.is_staff = True
                user.save(update_fields=["is_superuser", "is_staff"])
            for m in manages:
                OrgUnit.objects.filter(code=m, manager__isnull=True).update(manager=user)
            logins.append(username)
    return logins
