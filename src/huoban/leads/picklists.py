"""The lead channels missing from the shared source list (来源渠道): web form, campaign, API.

The list itself (website, referral, trade show, partner, import, …) is the platform's
``customer_source`` picklist; customers and leads share it, so a converted lead keeps its source.
Runs after every ``migrate`` (post_migrate) and from the demo data; idempotent.
"""

from __future__ import annotations

from typing import Any

SOURCES = [
    ("web_form", "Web form", "网站表单"),
    ("campaign", "Campaign", "营销活动"),
    ("api", "API", "API 接口"),
]


def ensure_lead_sources(using: str = "default", **_: Any) -> None:
    from huoban.platform.records import picklists
    from huoban.platform.records.models import Picklist, PicklistValue

    if not PicklistValue.objects.using(using).filter(picklist__key=picklists.CUSTOMER_SOURCE).exists():
        picklists.load_picklists(using=using)
    pl = Picklist.objects.using(using).filter(key=picklists.CUSTOMER_SOURCE).first()
    if pl is None:
        return
    for i, (code, en, zh) in enumerate(SOURCES):
        PicklistValue.objects.using(using).get_or_create(
            picklist=pl, code=code, defaults={"label": en, "label_zh_hans": zh, "order": 100 + i}
        )
    picklists.clear_cache()


def on_post_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate runs for every app after any ``migrate``, also a partial one (``huoban migrate
    identity``) on a new database: wait until the platform's picklist tables exist."""
    from django.db import connections

    from huoban.platform.records.models import Picklist, PicklistValue

    tables = set(connections[using].introspection.table_names())
    if {Picklist._meta.db_table, PicklistValue._meta.db_table} <= tables:
        ensure_lead_sources(using=using)
