"""Importable and exportable customer types: customers, contacts, follow-ups.

Discovered by ``huoban.platform.transfer`` (it imports ``<app>.importers`` of every app). The
engine converts cells (dates, numbers, phones, picklists, owners …), then the customers app's own
validation runs on every row (``clean_customer_data`` / ``clean_contact_data``), so an import
accepts exactly what the form and the API accept.

Customers take the bulk path (one multi-row INSERT per batch; ``after_write`` keeps the
identifier and address tables in step, the derived name key is computed in ``clean_row``).
Contacts and follow-ups go through ``contact_create`` / ``follow_up_create`` row by row: their
side effects (customer links, reminders, last-contacted times) matter more than speed there.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from huoban.platform.transfer.registry import FieldSpec, MatchKey, register_importer

# --- customers ----------------------------------------------------------------------------------


# Choice and picklist fields the engine has already turned into a valid code (from the same
# choices and the same picklist data): validating them a second time would only cost time.
PRE_TYPED = ("industry", "source", "kind", "lifecycle_stage", "size", "revenue_band")


def clean_customer_row(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The customers app's validation (partial: only the columns the file has), plus the derived
    columns (normalised name key, blocking keys, blind indexes) the create service would set."""
    from .services import derived_values
    from .validation import clean_customer_data

    probe = {k: v for k, v in data.items() if k not in PRE_TYPED}
    if "id_number" in data and "kind" in data:
        probe["kind"] = data["kind"]  # an ID card number is only for individuals
    cleaned, errors = clean_customer_data(probe, partial=True)
    out = {**data, **cleaned}
    if errors:
        return out, errors
    if "name" in out or "id_number" in out or "bank_account" in out:
        derived = derived_values(out.get("name", ""), out.get("id_number", ""), out.get("bank_account", ""))
        if "name" in out:
            for k in ("name_key", "dedup_prefix", "dedup_suffix"):
                out[k] = derived[k]
        if out.get("id_number"):
            out["id_number_index"] = derived["id_number_index"]
        if out.get("bank_account"):
            out["bank_account_index"] = derived["bank_account_index"]
    return out, {}


def customer_side_rows(values: dict[str, Any]) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """What a new customer's related rows need from its values: its identifiers (every phone and
    e-mail) and its primary address. Computed with the row, in the import's reader process."""
    from .services import identifier_values

    identifiers = identifier_values(
        values.get("phone", ""),
        values.get("phones") or [],
        values.get("email", ""),
        values.get("emails") or [],
    )
    address = values.get("address", "")
    return identifiers, ((address, values.get("region", "")) if address else None)


def customer_after_write(
    *, actor: Any, created_ids: list[int], updated_ids: list[int], created_side: list[Any] | None = None
) -> None:
    """Identifier rows (every phone and e-mail) and the primary address of imported customers.

    ``created_side`` holds ``customer_side_rows`` of each new customer (so the new rows are not
    read back); updated customers are read from the database."""
    from huoban.platform.transfer.bulk import insert_tuples

    from .models import Customer, CustomerAddress, CustomerIdentifier

    fields = ("phone", "phones", "email", "emails", "address", "region")
    sides: list[tuple[int, Any]] = []
    read = [*created_ids, *updated_ids]
    if created_side is not None:
        sides = list(zip(created_ids, created_side, strict=True))
        read = list(updated_ids)
    if read:  # customers written without side rows: updated ones, or the row-by-row fallback
        for values in Customer.objects.unrestricted().filter(pk__in=read).values("pk", *fields):
            sides.append((values["pk"], customer_side_rows(values)))
    if updated_ids:
        CustomerIdentifier.objects.filter(customer_id__in=updated_ids).delete()
    # no conflicts possible: new customers, identifiers of updated ones deleted above, values de-duplicated
    insert_tuples(
        CustomerIdentifier,
        ("customer_id", "kind", "value"),
        [(pk, kind, value) for pk, (identifiers, _a) in sides for kind, value in identifiers],
    )
    created = set(created_ids)
    primary = {}
    if updated_ids:
        primary = {
            a.customer_id: a
            for a in CustomerAddress.objects.filter(customer_id__in=updated_ids, is_primary=True)
        }
    new_addresses = []
    changed = []
    for pk, (_i, address) in sides:
        if address is None:
            continue
        line, region = address
        if pk in created or pk not in primary:
            new_addresses.append((pk, line, region))
        elif primary[pk].line != line:
            primary[pk].line, primary[pk].region = line, region
            changed.append(primary[pk])
    insert_tuples(
        CustomerAddress,
        ("customer_id", "line", "region"),
        new_addresses,
        defaults={"is_primary": True, "kind": "office"},
    )
    CustomerAddress.objects.bulk_update(changed, ["line", "region"], batch_size=500)


def _customer_overrides() -> list[FieldSpec]:
    return [
        FieldSpec("industry", type="picklist", picklist="industry"),
        FieldSpec("source", type="picklist", picklist="customer_source"),
        # GB/T 2260 names ("浙江省杭州市", "杭州") resolve to codes in clean_customer_data
        FieldSpec("region", type="text", max_length=60),
        FieldSpec("uscc", type="text", max_length=40, aliases=("统一社会信用代码", "信用代码", "税号")),
        FieldSpec("id_number", type="text", max_length=40),
        FieldSpec("bank_account", type="text", max_length=60),
        FieldSpec("website", type="url", max_length=200),
        FieldSpec(
            "phones",
            label=_("other phones"),
            type="long_text",
            aliases=("其他电话", "备用电话", "其它电话", "Other Phone", "Other phones"),
        ),
        FieldSpec(
            "emails",
            label=_("other emails"),
            type="long_text",
            aliases=("其他邮箱", "备用邮箱", "Other Email", "Other emails"),
        ),
        FieldSpec(
            "name", aliases=("客户名称", "客户全称", "公司名称", "公司全称", "企业名称", "Account Name")
        ),
        FieldSpec(
            "kind",
            value_aliases={
                "个人": "individual",
                "个人客户": "individual",
                "自然人": "individual",
                "企业": "company",
                "公司": "company",
                "单位": "company",
                "企业客户": "company",
            },
        ),
        FieldSpec(
            "lifecycle_stage",
            value_aliases={
                "潜在客户": "prospect",
                "意向客户": "prospect",
                "成交客户": "customer",
                "签约客户": "customer",
                "忠诚客户": "loyal",
                "老客户": "loyal",
                "沉睡客户": "dormant",
                "休眠客户": "dormant",
                "流失客户": "churned",
            },
        ),
        FieldSpec("phone", aliases=("联系电话", "联系方式", "电话", "手机", "Phone")),
        FieldSpec("address", aliases=("地址", "详细地址", "公司地址", "Billing Street")),
    ]


register_importer(
    "customer",
    overrides=_customer_overrides(),
    exclude=("last_contacted_at", "next_follow_up_at"),
    match_keys=[
        MatchKey("uscc", _("Unified Social Credit Code"), ("uscc",)),
        MatchKey("name_phone", _("Name + phone"), ("name_key", "phone")),
        MatchKey("email", _("Email"), ("email",)),
        MatchKey("name", _("Name"), ("name_key",)),
    ],
    default_match_keys=["name_phone"],
    clean_row=clean_customer_row,
    after_write=customer_after_write,
    side_rows=customer_side_rows,
    created_event="customer.bulk_created",
    export_columns=[
        "number",
        "name",
        "short_name",
        "kind",
        "uscc",
        "industry",
        "size",
        "revenue_band",
        "region",
        "address",
        "phone",
        "email",
        "website",
        "source",
        "lifecycle_stage",
        "tier",
        "rating",
        "owner",
        "owner_unit",
        "created_at",
        "tags",
    ],
)


# --- contacts -----------------------------------------------------------------------------------


def clean_contact_row(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from .matching import person_key
    from .validation import clean_contact_data

    probe = {k: v for k, v in data.items() if k not in ("customer", "owner")}
    cleaned, errors = clean_contact_data(probe, partial=True)
    out = {**data, **cleaned}
    if not errors and out.get("name"):
        out["name_key"] = person_key(out["name"])[:120]
    return out, errors


def contact_import_create(*, actor: Any, data: dict[str, Any], custom_fields: Any, tags: Any) -> Any:
    """``data`` as a form gives it (the engine hands ``owner`` over as a user)."""
    from .services import contact_create

    values = {k: v for k, v in data.items() if k != "name_key"}
    return contact_create(
        actor=actor, data=values, custom_fields=custom_fields, tags=tags, confirm_duplicate=True
    )


def contact_import_update(
    *, actor: Any, pk: int, data: dict[str, Any], custom_fields: Any, tags: Any, version: int
) -> Any:
    from .models import Contact
    from .services import contact_update

    contact = Contact.objects.unrestricted().get(pk=pk)
    values = {k: v for k, v in data.items() if k not in ("name_key", "owner_unit")}
    return contact_update(
        actor=actor, contact=contact, data=values, custom_fields=custom_fields, tags=tags, version=version
    )


register_importer(
    "contact",
    overrides=[
        FieldSpec("name", aliases=("姓名", "联系人", "联系人姓名", "Full Name", "Contact Name")),
        FieldSpec(
            "customer",
            aliases=(
                "所属客户",
                "客户名称",
                "客户",
                "公司名称",
                "公司",
                "Account Name",
                "Company",
                "Associated Company",
            ),
        ),
        FieldSpec("mobile", aliases=("手机", "手机号", "手机号码", "Mobile", "Mobile Phone")),
        FieldSpec("phone", aliases=("电话", "座机", "办公电话", "Phone", "Business Phone")),
        FieldSpec("phones", label=_("other phones"), type="long_text", aliases=("其他电话", "Other Phone")),
        FieldSpec("emails", label=_("other emails"), type="long_text", aliases=("其他邮箱", "Other Email")),
        FieldSpec("wechat", aliases=("微信", "微信号", "WeChat")),
        FieldSpec(
            "decision_role",
            aliases=("决策角色", "角色", "Role"),
            value_aliases={
                "决策者": "decision_maker",
                "决策人": "decision_maker",
                "影响者": "influencer",
                "支持者": "champion",
                "使用者": "user",
                "用户": "user",
                "把关者": "gatekeeper",
                "其他": "other",
            },
        ),
        FieldSpec(
            "preferred_channel",
            aliases=("首选联系方式", "偏好渠道", "Preferred channel"),
            value_aliases={
                "电话": "phone",
                "短信": "sms",
                "邮件": "email",
                "微信": "wechat",
                "拜访": "visit",
                "邮寄": "post",
            },
        ),
    ],
    match_keys=[
        MatchKey("name_mobile", _("Name + mobile"), ("name_key", "mobile")),
        MatchKey("email", _("Email"), ("email",)),
        MatchKey("mobile", _("Mobile"), ("mobile",)),
        MatchKey("name_customer", _("Name + customer"), ("name_key", "customer")),
    ],
    default_match_keys=["name_mobile", "email"],
    clean_row=clean_contact_row,
    create_service=contact_import_create,
    update_service=contact_import_update,
)


# --- follow-ups ---------------------------------------------------------------------------------


def clean_follow_up_row(data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    from .services import _clean_follow_up

    probe = {
        k: v
        for k, v in data.items()
        if k in ("type", "occurred_at", "content", "outcome", "next_follow_up_at")
    }
    cleaned, errors = _clean_follow_up(probe, partial=True)
    out = {**data, **cleaned}
    if not errors and not out.get("content") and not out.get("outcome"):
        errors = {"content": [str(_("Write what happened (content or outcome)."))]}
    return out, errors


def follow_up_import_create(*, actor: Any, data: dict[str, Any], custom_fields: Any, tags: Any) -> Any:
    from huoban.platform.errors import ValidationError

    from .models import Contact, Customer
    from .services import follow_up_create

    values = dict(data)
    customer = Customer.objects.unrestricted().filter(pk=values.pop("customer", None)).first()
    if customer is None:
        raise ValidationError({"customer": [str(_("This field is required."))]})
    contact_id = values.pop("contact", None)
    contact = Contact.objects.unrestricted().filter(pk=contact_id).first() if contact_id else None
    return follow_up_create(
        actor=actor, customer=customer, data=values, contact=contact, custom_fields=custom_fields, tags=tags
    )


def follow_up_import_update(
    *, actor: Any, pk: int, data: dict[str, Any], custom_fields: Any, tags: Any, version: int
) -> Any:
    from .models import FollowUp
    from .services import follow_up_update

    follow_up = FollowUp.objects.unrestricted().get(pk=pk)
    values = {k: v for k, v in data.items() if k not in ("customer", "owner", "owner_unit")}
    return follow_up_update(
        actor=actor, follow_up=follow_up, data=values, custom_fields=custom_fields, tags=tags, version=version
    )


register_importer(
    "follow_up",
    overrides=[
        FieldSpec(
            "customer",
            aliases=(
                "客户",
                "客户名称",
                "所属客户",
                "公司名称",
                "Account Name",
                "Company",
                "Associated Company",
            ),
        ),
        FieldSpec("contact", aliases=("联系人", "联系人姓名", "Contact", "Contact Name")),
        FieldSpec(
            "type",
            aliases=("跟进方式", "方式", "沟通方式", "Activity Type", "Type"),
            value_aliases={
                "电话": "call",
                "打电话": "call",
                "电话沟通": "call",
                "拜访": "visit",
                "上门拜访": "visit",
                "面访": "visit",
                "会议": "meeting",
                "开会": "meeting",
                "邮件": "email",
                "电子邮件": "email",
                "微信": "wechat",
                "备注": "note",
                "笔记": "note",
                "记录": "note",
            },
        ),
        FieldSpec("occurred_at", aliases=("跟进时间", "时间", "日期", "沟通时间", "Activity Date", "Date")),
        FieldSpec("content", aliases=("跟进内容", "内容", "跟进记录", "沟通内容", "Notes", "Body")),
        FieldSpec("outcome", aliases=("结果", "跟进结果", "Outcome", "Result")),
        FieldSpec("next_follow_up_at", aliases=("下次跟进时间", "下次联系时间", "Next Activity Date")),
    ],
    exclude=("owner",),
    match_keys=[
        MatchKey(
            "customer_time_content", _("Customer + time + content"), ("customer", "occurred_at", "content")
        ),
    ],
    default_match_keys=["customer_time_content"],
    clean_row=clean_follow_up_row,
    create_service=follow_up_import_create,
    update_service=follow_up_import_update,
)
