"""Leads in the import/export framework (platform/transfer): every imported row goes through
``lead_create`` / ``lead_update`` — the same validation, scoring and assignment rules as any
other channel (source ``import`` when the file has none). Duplicates inside the import are the
framework's business (match keys), so the lead-level dedup policy is "create" here."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from huoban.platform.transfer.registry import FieldSpec, MatchKey, register_importer

from .models import Urgency


def lead_import_create(*, actor: Any, data: dict[str, Any], custom_fields: Any, tags: Any) -> Any:
    """``data`` as a form gives it (the engine hands ``owner`` over as a user)."""
    from .services import lead_create

    values = dict(data)
    if values.get("owner") is None:
        values.pop("owner", None)  # no owner column, or a user deactivated meanwhile: the rules decide
    if not values.get("source"):
        values["source"] = "import"
    return lead_create(
        actor=actor,
        data=values,
        custom_fields=custom_fields,
        tags=tags,
        confirm_duplicate=True,
        dedup_policy="create",
        channel="import",
    )


def lead_import_update(
    *, actor: Any, pk: int, data: dict[str, Any], custom_fields: Any, tags: Any, version: int
) -> Any:
    from .models import Lead
    from .services import lead_update

    lead = Lead.objects.unrestricted().get(pk=pk)
    values = {k: v for k, v in data.items() if k not in ("owner", "owner_unit")}
    return lead_update(
        actor=actor, lead=lead, data=values, custom_fields=custom_fields, tags=tags, version=version
    )


register_importer(
    "lead",
    overrides=[
        FieldSpec("name", aliases=("姓名", "联系人", "联系人姓名", "Full Name", "Contact Name")),
        FieldSpec("company", aliases=("公司", "公司名称", "单位", "客户名称", "Company", "Account Name")),
        FieldSpec("title", aliases=("职务", "职位", "Title", "Job Title")),
        FieldSpec("phone", type="phone", aliases=("电话", "手机", "手机号", "联系电话", "Phone", "Mobile")),
        FieldSpec("email", type="email", aliases=("邮箱", "电子邮件", "邮件", "Email")),
        FieldSpec("region", aliases=("地区", "省份", "城市", "所在地区", "Region", "Province")),
        FieldSpec("industry", type="picklist", picklist="industry", aliases=("行业", "所属行业", "Industry")),
        FieldSpec(
            "source", type="picklist", picklist="customer_source", aliases=("来源", "线索来源", "Source")
        ),
        FieldSpec("budget", type="decimal", decimal_places=2, aliases=("预算", "Budget")),
        FieldSpec("requirement", type="long_text", aliases=("需求", "需求描述", "备注", "Requirement")),
        FieldSpec(
            "urgency",
            type="choice",
            choices=list(Urgency.choices),
            aliases=("紧急程度", "Urgency"),
            value_aliases={"低": "low", "中": "medium", "高": "high", "紧急": "high"},
        ),
        FieldSpec("number", label=_("number"), importable=False, updatable=False),
        FieldSpec("score", label=_("score"), type="integer", importable=False, updatable=False),
    ],
    exclude=("matched_customer", "campaign"),
    match_keys=[
        MatchKey("phone", _("Phone"), ("phone",)),
        MatchKey("email", _("Email"), ("email",)),
        MatchKey("number", _("Number"), ("number",)),
    ],
    default_match_keys=["phone"],
    create_service=lead_import_create,
    update_service=lead_import_update,
    created_event="lead.imported",
    export_columns=[
        "number",
        "name",
        "company",
        "title",
        "phone",
        "email",
        "region",
        "industry",
        "source",
        "urgency",
        "budget",
        "status",
        "score",
        "owner",
        "created_at",
        "tags",
    ],
)
