"""Preset roles (created by migration, refreshed by `huoban demo`; administrators may edit them)."""

from __future__ import annotations

ALL_ACTIONS = [
    "view",
    "add",
    "change",
    "delete",
    "export",
    "import",
    "assign",
    "merge",
    "approve",
    "view_sensitive",
    "manage",
]
RW = ["view", "add", "change"]
SALES_OBJECTS = ["customer", "contact", "follow_up", "lead", "opportunity", "quote", "order", "visit", "task"]

PRESET_ROLES: list[dict] = [
    {
        "code": "administrator",
        "name": "Administrator",
        "name_zh_hans": "系统管理员",
        "description": "Everything, including settings, users and roles.",
        "permissions": {"*": ALL_ACTIONS},
        "scopes": {"*": "all"},
    },
    {
        "code": "sales_manager",
        "name": "Sales manager",
        "name_zh_hans": "销售经理",
        "description": "Sales records of their unit and every unit below.",
        "permissions": {
            **{
                o: [
                    "view",
                    "add",
                    "change",
                    "delete",
                    "export",
                    "import",
                    "assign",
                    "merge",
                    "approve",
                    "view_sensitive",
                ]
                for o in SALES_OBJECTS
            },
            "customer_pool": ["view", "manage"],
            "contract": ["view", "approve"],
            "report": ["view"],
        },
        "scopes": {
            **{o: "unit_tree" for o in SALES_OBJECTS},
            "contract": "unit_tree",
            "customer_pool": "unit_tree",
        },
    },
    {
        "code": "sales_rep",
        "name": "Sales rep",
        "name_zh_hans": "销售代表",
        "description": "Their own customers, leads and opportunities, and records shared with them.",
        "permissions": {
            **{o: RW for o in SALES_OBJECTS},
            "follow_up": ["view", "add", "change", "delete"],
            "task": ["view", "add", "change", "delete"],
            "customer_pool": ["view"],
            "report": ["view"],
        },
        "scopes": {**{o: "own" for o in SALES_OBJECTS}, "customer_pool": "unit"},
    },
    {
        "code": "service_agent",
        "name": "Service agent",
        "name_zh_hans": "客服专员",
        "description": "Service tickets and the knowledge base; read-only customer profiles.",
        "permissions": {
            "ticket": ["view", "add", "change", "assign"],
            "article": ["view", "add", "change"],
            "customer": ["view"],
            "contact": ["view"],
            "follow_up": ["view", "add"],
        },
        "scopes": {
            "ticket": "unit_tree",
            "article": "all",
            "customer": "all",
            "contact": "all",
            "follow_up": "own",
        },
    },
    {
        "code": "marketing",
        "name": "Marketing",
        "name_zh_hans": "市场专员",
        "description": "Campaigns, segments, leads and source data.",
        "permissions": {
            "campaign": ["view", "add", "change", "delete", "export"],
            "segment": ["view", "add", "change", "delete"],
            "lead": ["view", "add", "change", "import", "export", "assign"],
            "web_form": ["view", "add", "change", "delete"],
            "customer": ["view"],
            "contact": ["view"],
            "report": ["view"],
        },
        "scopes": {
            "campaign": "all",
            "segment": "all",
            "lead": "all",
            "web_form": "all",
            "customer": "all",
            "contact": "all",
        },
    },
    {
        "code": "finance",
        "name": "Finance",
        "name_zh_hans": "财务",
        "description": "Contracts, payment plans, receipts and invoices; reads customers.",
        "permissions": {
            **{
                o: ["view", "add", "change", "delete", "export", "approve", "view_sensitive"]
                for o in ["contract", "payment_plan", "receipt", "invoice", "bill"]
            },
            "order": ["view"],
            "customer": ["view", "view_sensitive"],
            "contact": ["view"],
            "report": ["view"],
        },
        "scopes": {
            **{o: "all" for o in ["contract", "payment_plan", "receipt", "invoice", "bill", "order"]},
            "customer": "all",
            "contact": "all",
        },
    },
]


def ensure_preset_roles(role_model) -> None:  # used by the migration and by `huoban demo`
    for spec in PRESET_ROLES:
        role, created = role_model.objects.get_or_create(
            code=spec["code"],
            defaults={**{k: v for k, v in spec.items() if k != "code"}, "is_preset": True},
        )
        if not created and not role.permissions:
            for k, v in spec.items():
                setattr(role, k, v)
            role.is_preset = True
            role.save()
