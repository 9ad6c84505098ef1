"""Mapping suggestions: source column headers (English, Chinese, Salesforce, HubSpot) → fields.

Order of preference for a header: the importer's own aliases for a field, then the field's name
and labels (English and Chinese), then the common synonyms below; exact (normalised) matches
first, then a header that contains a known name ("客户联系电话" contains "联系电话"), then a close
spelling (fuzzy ratio ≥ 88 for Latin headers). Each field is suggested for at most one column.
"""

from __future__ import annotations

import re
from typing import Any

from django.utils import translation

from .registry import FieldSpec, Importer, all_fields
from .transforms import halfwidth

# Canonical field name → header names seen in the wild (Chinese Excel sheets, Salesforce and
# HubSpot exports). Only applied to fields the object type actually has.
SYNONYMS: dict[str, list[str]] = {
    "name": [
        "客户名称",
        "客户全称",
        "公司名称",
        "公司全称",
        "企业名称",
        "单位名称",
        "机构名称",
        "名称",
        "客户名",
        "客户",
        "公司",
        "企业",
        "Account Name",
        "Company",
        "Company name",
        "Name",
        "Organization",
        "Organisation",
        "Account",
        "Customer",
        "Customer name",
    ],
    "short_name": ["简称", "客户简称", "公司简称", "Short name", "Abbreviation", "Alias"],
    "phone": [
        "电话",
        "联系电话",
        "联系方式",
        "手机",
        "手机号",
        "手机号码",
        "移动电话",
        "座机",
        "固话",
        "办公电话",
        "公司电话",
        "Phone",
        "Phone Number",
        "Mobile",
        "Mobile Phone",
        "Mobile phone number",
        "Telephone",
        "Tel",
        "Business Phone",
        "Account Phone",
    ],
    "mobile": [
        "手机",
        "手机号",
        "手机号码",
        "移动电话",
        "Mobile",
        "Mobile Phone",
        "Mobile phone number",
        "Cell",
    ],
    "email": ["邮箱", "电子邮箱", "电子邮件", "邮件", "邮箱地址", "Email", "E-mail", "Email Address", "Mail"],
    "website": [
        "网址",
        "网站",
        "官网",
        "公司网址",
        "主页",
        "Website",
        "Website URL",
        "Company Domain Name",
        "URL",
        "Web",
    ],
    "industry": ["行业", "所属行业", "行业类别", "行业分类", "行业类型", "Industry", "Sector"],
    "region": [
        "地区",
        "所在地区",
        "区域",
        "所属区域",
        "省市",
        "行政区划",
        "省份",
        "所在省份",
        "城市",
        "所在城市",
        "Region",
        "State/Region",
        "Billing State/Province",
        "State",
        "Province",
        "City",
        "Billing City",
    ],
    "province": ["省份", "省", "所在省份", "State", "State/Region", "Billing State/Province", "Province"],
    "city": ["城市", "所在城市", "市", "City", "Billing City"],
    "country": ["国家", "国家/地区", "Country", "Country/Region", "Billing Country"],
    "address": [
        "地址",
        "详细地址",
        "公司地址",
        "联系地址",
        "注册地址",
        "办公地址",
        "通讯地址",
        "Address",
        "Street Address",
        "Billing Street",
        "Billing Address",
    ],
    "postal_code": [
        "邮编",
        "邮政编码",
        "Zip",
        "Postal Code",
        "Zip Code",
        "Billing Zip/Postal Code",
        "Postcode",
    ],
    "uscc": [
        "统一社会信用代码",
        "社会信用代码",
        "信用代码",
        "统一信用代码",
        "税号",
        "纳税人识别号",
        "USCC",
        "Unified Social Credit Code",
        "Credit Code",
        "Tax ID",
        "Tax Number",
    ],
    "kind": ["客户类型", "类型", "客户类别", "Type", "Account Type", "Customer type", "Kind"],
    "lifecycle_stage": [
        "客户阶段",
        "生命周期",
        "生命周期阶段",
        "客户状态",
        "阶段",
        "Lifecycle Stage",
        "Stage",
        "Status",
    ],
    "owner": [
        "负责人",
        "客户负责人",
        "销售负责人",
        "所有者",
        "归属人",
        "跟进人",
        "销售",
        "业务员",
        "客户经理",
        "Owner",
        "Account Owner",
        "Company owner",
        "Contact owner",
        "Record Owner",
        "Owner Name",
        "HubSpot Owner",
        "Lead Owner",
        "Assigned To",
    ],
    "id_number": ["身份证", "身份证号", "身份证号码", "证件号码", "ID card number", "ID Number"],
    "bank_account": ["银行账号", "银行账户", "开户账号", "账号", "Bank account", "Account Number"],
    "external_id": [
        "外部编号",
        "原系统编号",
        "原编号",
        "外部ID",
        "External ID",
        "Account ID",
        "Record ID",
        "Contact ID",
        "Company ID",
        "Id",
        "ID",
    ],
    "source": [
        "来源",
        "客户来源",
        "线索来源",
        "来源渠道",
        "获客渠道",
        "Lead Source",
        "Source",
        "Original Source",
    ],
    "level": ["客户级别", "级别", "等级", "客户等级", "Rating", "Tier", "Level"],
    "rating": ["客户级别", "级别", "等级", "评级", "Rating", "Tier"],
    "employees": [
        "员工数",
        "员工人数",
        "人员规模",
        "规模",
        "Employees",
        "Number of Employees",
        "Company size",
    ],
    "annual_revenue": ["年营业额", "年收入", "营业收入", "营收", "年销售额", "Annual Revenue", "Revenue"],
    "description": [
        "备注",
        "说明",
        "描述",
        "简介",
        "公司简介",
        "Description",
        "Notes",
        "About Us",
        "Remarks",
    ],
    "notes": ["备注", "说明", "Notes", "Remarks", "Comment", "Comments"],
    "tags": ["标签", "客户标签", "Tags", "Labels"],
    "fax": ["传真", "Fax"],
    "legal_representative": ["法人", "法定代表人", "法人代表", "Legal Representative"],
    "registered_capital": ["注册资本", "注册资金", "Registered Capital"],
    "founded_on": ["成立日期", "成立时间", "注册日期", "Founded", "Year Founded", "Founded Date"],
    # contacts
    "title": ["职务", "职位", "头衔", "岗位", "Title", "Job Title", "Position"],
    "department": ["部门", "所在部门", "Department"],
    "gender": ["性别", "Gender", "Salutation"],
    "birthday": ["生日", "出生日期", "Birthday", "Birthdate", "Date of Birth"],
    "wechat": ["微信", "微信号", "WeChat", "WeChat ID"],
    "is_primary": ["主联系人", "首要联系人", "是否主联系人", "Primary", "Primary Contact"],
    "customer": [
        "所属客户",
        "客户名称",
        "客户",
        "公司名称",
        "所属公司",
        "公司",
        "Account Name",
        "Company",
        "Associated Company",
        "Company Name",
        "Account",
    ],
    "contact": ["联系人", "联系人姓名", "Contact", "Contact Name", "Associated Contact"],
    # follow-ups
    "content": [
        "跟进内容",
        "内容",
        "跟进记录",
        "沟通内容",
        "记录",
        "详情",
        "Notes",
        "Body",
        "Description",
        "Activity notes",
    ],
    "method": ["跟进方式", "方式", "沟通方式", "联系方式类型", "Type", "Activity Type", "Channel"],
    "channel": ["跟进方式", "方式", "沟通方式", "渠道", "Channel", "Activity Type"],
    "happened_at": [
        "跟进时间",
        "时间",
        "日期",
        "沟通时间",
        "Date",
        "Activity Date",
        "Activity date",
        "Created Date",
    ],
    "next_step": ["下一步", "下一步计划", "下次跟进", "Next Step", "Next steps"],
    "next_at": ["下次跟进时间", "下次联系时间", "Next Activity Date", "Follow-up date"],
}

_DROP = re.compile(r"[\s_\-./\\:：*＊#?？!！'\"“”‘’·•、,，;；]+")
_PAREN = re.compile(r"[(（\[【].*?[)）\]】]")


def norm_header(value: Any) -> str:
    s = halfwidth(str(value or "")).strip().lower()
    return _DROP.sub("", s)


def _candidates(importer: Importer, fields: list[FieldSpec]) -> list[tuple[str, str, int]]:
    """(normalised alias, field name, priority) — lower priority wins."""
    out: list[tuple[str, str, int]] = []
    for f in fields:
        if not f.importable:
            continue
        for a in f.aliases:
            out.append((norm_header(a), f.name, 0))
        out.append((norm_header(f.name), f.name, 1))
        out.append((norm_header(f.key), f.name, 1))
        label = f.label
        for lang in ("en", "zh-hans"):
            with translation.override(lang):
                out.append((norm_header(str(label)), f.name, 1))
        for a in SYNONYMS.get(f.key, []):
            out.append((norm_header(a), f.name, 2))
    return [c for c in out if c[0]]


def suggest_mapping(
    importer: Importer, headers: list[str], fields: list[FieldSpec] | None = None
) -> dict[str, str]:
    """Return {header: field name} for the headers a field could be recognised in."""
    fields = fields if fields is not None else all_fields(importer)
    cands = _candidates(importer, fields)
    exact: dict[str, list[tuple[int, str]]] = {}
    for alias, name, prio in cands:
        exact.setdefault(alias, []).append((prio, name))
    taken: set[str] = set()
    result: dict[str, str] = {}
    normed = [norm_header(h) for h in headers]
    # pass 1: exact, then exact after dropping a parenthesised note ("电话(必填)")
    for stage in (0, 1):
        for h, n in zip(headers, normed, strict=False):
            if h in result or not n:
                continue
            key = n if stage == 0 else norm_header(_PAREN.sub("", str(h)))
            for _prio, name in sorted(exact.get(key, [])):
                if name not in taken:
                    result[h] = name
                    taken.add(name)
                    break
    # pass 2: the header contains a known name (longest first)
    by_len = sorted(cands, key=lambda c: (-len(c[0]), c[2]))
    for h, n in zip(headers, normed, strict=False):
        if h in result or not n:
            continue
        for alias, name, _prio in by_len:
            if name in taken:
                continue
            minimum = 2 if not alias.isascii() else 4
            if len(alias) >= minimum and alias in n and len(alias) * 2 >= len(n):
                result[h] = name
                taken.add(name)
                break
    # pass 3: close spellings of Latin headers
    try:
        from rapidfuzz import fuzz, process
    except ImportError:  # pragma: no cover
        return result
    latin = [(alias, name) for alias, name, _p in cands if alias.isascii()]
    choices = [a for a, _n in latin]
    for h, n in zip(headers, normed, strict=False):
        if h in result or not n or not n.isascii() or len(n) < 4:
            continue
        for _alias, score, idx in process.extract(n, choices, scorer=fuzz.ratio, limit=5):
            name = latin[idx][1]
            if score >= 88 and name not in taken:
                result[h] = name
                taken.add(name)
                break
    return result


def resolve_mapping(
    importer: Importer,
    headers: list[str],
    given: dict[str, Any] | None,
    fields: list[FieldSpec] | None = None,
    *,
    suggest: bool = True,
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """Validate a mapping {column: field}; suggestions fill columns that are absent from it.

    A column mapped to null/"" is deliberately ignored. Returns (mapping, errors).
    """
    fields = fields if fields is not None else all_fields(importer)
    by_name = {f.name: f for f in fields if f.importable}
    errors: dict[str, list[str]] = {}
    mapping: dict[str, str] = {}
    given = given or {}
    header_set = set(headers)
    from django.utils.translation import gettext as _

    for column, target in given.items():
        if column not in header_set:
            errors.setdefault("mapping", []).append(_("No column “%(c)s” in the file.") % {"c": column})
            continue
        if target in (None, "", "-"):
            continue
        target = str(target)
        if target.startswith("custom_fields."):
            target = "cf." + target.split(".", 1)[1]
        if target not in by_name:
            errors.setdefault("mapping", []).append(
                _("Unknown field “%(f)s” for column “%(c)s”.") % {"f": target, "c": column}
            )
            continue
        mapping[column] = target
    if suggest:
        taken = set(mapping.values())
        for column, target in suggest_mapping(importer, headers, fields).items():
            if column in given or target in taken:
                continue
            mapping[column] = target
            taken.add(target)
    # keep the file's column order
    ordered = {h: mapping[h] for h in headers if h in mapping}
    return ordered, errors
