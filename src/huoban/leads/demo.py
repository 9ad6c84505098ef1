"""Demo data for leads: scoring and assignment rules, a web form, ~70 leads from several sources
spread over the past 12 months (some contacted, qualified, unqualified, a few converted).

Idempotent: rules and forms by name, leads by e-mail address. Runs after the customers demo.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone, translation

from huoban.platform.identity.actors import SystemActor
from huoban.platform.identity.models import OrgUnit, User
from huoban.platform.ops.demo import register

ACTOR = SystemActor("demo")

SCORING = [
    # name, field, operator, value, event, points
    ("目标行业 Target industries", "industry", "in", ["65", "64", "39", "35"], "", 20),
    ("预算 ≥ 50 万 Budget ≥ 500k", "budget", "gte", 500000, "", 30),
    ("紧急需求 Urgent", "urgency", "eq", "high", "", 15),
    ("千人以上企业 1,000+ employees", "company_size", "in", ["1000-9999", "10000+"], "", 10),
    ("官网表单 Came through a web form", "", "eq", None, "form_submitted", 10),
    ("打开邮件 Opened an email", "", "eq", None, "email_opened", 5),
    ("14 天无响应 No response in 14 days", "", "eq", 14, "inactive_days", -10),
]

PEOPLE = [
    ("王磊", "Wang Lei"),
    ("李静", "Li Jing"),
    ("张伟", "Zhang Wei"),
    ("刘洋", "Liu Yang"),
    ("陈晨", "Chen Chen"),
    ("杨帆", "Yang Fan"),
    ("赵敏", "Zhao Min"),
    ("黄鹏", "Huang Peng"),
    ("周婷", "Zhou Ting"),
    ("吴昊", "Wu Hao"),
    ("徐璐", "Xu Lu"),
    ("孙强", "Sun Qiang"),
    ("马丽", "Ma Li"),
    ("朱杰", "Zhu Jie"),
    ("胡斌", "Hu Bin"),
    ("郭颖", "Guo Ying"),
    ("何涛", "He Tao"),
    ("林峰", "Lin Feng"),
    ("罗娜", "Luo Na"),
    ("高远", "Gao Yuan"),
]
COMPANIES = [
    # company, region, industry, size
    ("杭州云栖数据科技有限公司", "杭州", "65", "100-499"),
    ("上海浦江智能制造股份有限公司", "上海", "35", "1000-9999"),
    ("南京紫金软件技术有限公司", "南京", "65", "20-99"),
    ("苏州工业园区精密机械有限公司", "苏州", "34", "500-999"),
    ("宁波港城物流有限公司", "宁波", "58", "100-499"),
    ("合肥科创新能源有限公司", "合肥", "38", "500-999"),
    ("北京中关村信息技术有限公司", "北京", "64", "1000-9999"),
    ("天津滨海化工集团有限公司", "天津", "26", "10000+"),
    ("石家庄华北医药有限公司", "石家庄", "27", "500-999"),
    ("太原晋商贸易有限公司", "太原", "51", "20-99"),
    ("Shenzhen Nanshan Electronics Co., Ltd.", "深圳", "39", "1000-9999"),
    ("Guangzhou Pearl River Foods Co., Ltd.", "广州", "14", "100-499"),
    ("厦门鹭岛教育咨询有限公司", "厦门", "83", "20-99"),
    ("成都天府云计算有限公司", "成都", "65", "100-499"),
    ("武汉光谷光电子有限公司", "武汉", "39", "500-999"),
    ("西安古城文化传媒有限公司", "西安", "87", "1-19"),
    ("青岛海风家电有限公司", "青岛", "38", "1000-9999"),
    ("无锡太湖物联网科技有限公司", "无锡", "65", "100-499"),
    ("Acme Robotics (Shanghai) Ltd.", "上海", "34", "100-499"),
    ("常州新材料研究院有限公司", "常州", "30", "20-99"),
    ("温州瓯江鞋业有限公司", "温州", "19", "500-999"),
    ("嘉兴南湖纺织有限公司", "嘉兴", "17", "100-499"),
    ("大连渤海船舶配件有限公司", "大连", "37", "500-999"),
    ("郑州中原农业科技有限公司", "郑州", "01", "20-99"),
    ("呼和浩特草原乳业有限公司", "呼和浩特", "14", "1000-9999"),
]
SOURCES = [
    "web_form",
    "web_form",
    "exhibition",
    "referral",
    "partner",
    "campaign",
    "import",
    "api",
    "website",
    "cold_call",
]
REQUIREMENTS = [
    "希望上线 CRM 系统，统一管理客户和销售过程。",
    "需要销售漏斗和业绩预测报表，管理层每周查看。",
    "现有 Excel 管理线索，想要自动分配和跟进提醒。",
    "Looking for a CRM with Chinese and English UI for our sales team of 30.",
    "需要与 ERP 对接，合同和回款数据同步。",
    "门店会员管理 + 营销活动，预计 200 个账号。",
    "",
]


def _ensure_rules() -> None:
    from huoban.leads.models import AssignmentRule, ScoringRule
    from huoban.leads.services import assignment_rule_save, scoring_rule_save

    for i, (name, field, op, value, event, points) in enumerate(SCORING):
        if not ScoringRule.objects.filter(name=name).exists():
            scoring_rule_save(
                actor=ACTOR,
                rule=None,
                data={
                    "name": name,
                    "field": field,
                    "operator": op,
                    "value": value,
                    "event": event,
                    "points": points,
                    "position": i,
                },
            )
    units = {u.code: u for u in OrgUnit.objects.all()}
    manager = User.objects.filter(username="sales_manager").first()
    specs = [
        (
            "大客户直达经理 Key accounts → manager",
            5,
            {"urgency": ["high"], "min_score": 60},
            manager,
            None,
            "round_robin",
        ),
        (
            "华东线索 East China → East sales (round robin)",
            10,
            {"region": ["310000", "320000", "330000", "340000", "350000", "360000", "370000"]},
            None,
            units.get("east-sales"),
            "round_robin",
        ),
        (
            "华北线索 North China → North sales (least loaded)",
            20,
            {"region": ["110000", "120000", "130000", "140000", "150000", "210000"]},
            None,
            units.get("north-sales"),
            "least_loaded",
        ),
    ]
    for name, priority, cond, user, unit, strategy in specs:
        if (user is None and unit is None) or AssignmentRule.objects.filter(name=name).exists():
            continue
        assignment_rule_save(
            actor=ACTOR,
            rule=None,
            data={
                "name": name,
                "priority": priority,
                "conditions": cond,
                "assign_to_user": user,
                "assign_to_unit": unit,
                "strategy": strategy,
            },
        )


def _ensure_settings() -> None:
    from huoban.leads.models import LeadSettings

    s = LeadSettings.load()
    if s.fallback_unit_id is None:
        s.fallback_unit = OrgUnit.objects.filter(code="marketing").first()
        s.work_days = s.work_days or [1, 2, 3, 4, 5]
        s.save()


def _ensure_form() -> Any:
    from huoban.leads.models import WebForm
    from huoban.leads.services import web_form_create

    form = WebForm.objects.unrestricted().filter(name="官网免费试用申请 Free trial").first()
    if form is None:
        owner = User.objects.filter(username="marketing").first() or ACTOR
        form = web_form_create(
            actor=owner,
            data={
                "name": "官网免费试用申请 Free trial",
                "title": "申请免费试用 / Request a free trial",
                "fields": [
                    "name",
                    "company",
                    "title",
                    "phone",
                    "email",
                    "region",
                    "company_size",
                    "requirement",
                ],
                "required_fields": ["name", "phone"],
                "source": "web_form",
                "thank_you_text": "感谢您的申请！我们的顾问会在一个工作日内联系您。\nThank you! We will call you within one working day.",
            },
        )
    return form


@register("leads", order=200)
def demo_leads(**_: Any) -> int:
    from huoban.leads.models import Lead, LeadActivity, LeadStatus
    from huoban.leads.picklists import ensure_lead_sources
    from huoban.leads.services import (
        lead_add_follow_up,
        lead_convert,
        lead_create,
        lead_record_activity,
        lead_update,
    )

    ensure_lead_sources()
    _ensure_settings()
    _ensure_rules()
    form = _ensure_form()
    rng = random.Random(20261122)
    now = timezone.now()
    marketing = User.objects.filter(username="marketing").first()
    created = 0
    for i in range(72):
        zh, en = PEOPLE[i % len(PEOPLE)]
        company, region, industry, size = COMPANIES[(i * 7) % len(COMPANIES)]
        email = f"{en.lower().replace(' ', '.')}.{i:02d}@demo-leads.cn"
        if Lead.objects.unrestricted().filter(email=email).exists():
            continue
        source = SOURCES[i % len(SOURCES)]
        latin = company.isascii()
        data = {
            "name": en if latin else zh,
            "company": company,
            "title": rng.choice(["采购经理", "IT 总监", "销售副总", "总经理", "运营主管", "Head of Sales"]),
            "phone": f"13{rng.randint(0, 9)}{rng.randint(10000000, 99999999)}",
            "email": email,
            "region": region,
            "industry": industry,
            "company_size": size,
            "source": source,
            "urgency": rng.choice(["low", "medium", "medium", "high"]),
            "budget": rng.choice([None, 50000, 120000, 300000, 600000, 1500000]),
            "requirement": rng.choice(REQUIREMENTS),
        }
        with transaction.atomic():
            actor = ACTOR if source in ("web_form", "api", "import") else (marketing or ACTOR)
            lead = lead_create(
                actor=actor,
                data=data,
                dedup_policy="create",
                channel=source if source in ("web_form", "api", "import") else "ui",
                web_form=form if source == "web_form" else None,
            )
            age = dt.timedelta(days=rng.randint(0, 364), hours=rng.randint(0, 23))
            born = now - age
            Lead.objects.unrestricted().filter(pk=lead.pk).update(
                created_at=born, assigned_at=born, sla_due_at=None
            )
            LeadActivity.objects.filter(lead=lead).update(at=born)
            created += 1
            roll = rng.random()
            owner = lead.owner or marketing
            if owner is None:
                continue
            lead.refresh_from_db()
            if roll < 0.15:
                lead_record_activity(
                    actor=owner, lead=lead, event="email_opened", at=born + dt.timedelta(days=1)
                )
                continue
            if roll < 0.30:
                continue  # still new
            lead_add_follow_up(
                actor=owner,
                lead=lead,
                data={
                    "type": rng.choice(["call", "visit", "wechat", "email"]),
                    "occurred_at": born + dt.timedelta(hours=rng.randint(1, 30)),
                    "content": rng.choice(
                        ["初次电话沟通，了解需求。", "发送产品资料。", "Intro call, sent the deck."]
                    ),
                    "outcome": rng.choice(["有意向", "待评估", "需要报价"]),
                },
            )
            lead.refresh_from_db()
            if roll < 0.50:
                continue  # contacted
            if roll < 0.62:
                lead_update(
                    actor=owner,
                    lead=lead,
                    data={
                        "status": LeadStatus.UNQUALIFIED,
                        "unqualified_reason": "暂无预算 / no budget this year",
                    },
                )
                continue
            lead_update(actor=owner, lead=lead, data={"status": LeadStatus.QUALIFIED})
            if roll < 0.80 or lead.owner is None:
                continue
            lead.refresh_from_db()
            try:
                # the default opportunity name in the language of the company's name (中文 → “… 商机”)
                chinese = any("\u4e00" <= ch <= "\u9fff" for ch in lead.company or "")
                with translation.override("zh-hans" if chinese else lead.owner.reading_language()):
                    result = lead_convert(
                        actor=lead.owner,
                        lead=lead,
                        create_opportunity=roll >= 0.86,
                        opportunity={"amount": data["budget"] or 100000},
                    )
            except Exception:  # a demo lead that cannot convert (e.g. a matcher conflict) stays qualified
                continue
            converted_at = min(born + dt.timedelta(days=rng.randint(3, 40)), now)
            Lead.objects.unrestricted().filter(pk=lead.pk).update(converted_at=converted_at)
            opp = result["opportunity"]
            if opp is not None:
                from huoban.sales.models import Opportunity, StageHistory, month_key

                close = (converted_at + dt.timedelta(days=rng.randint(30, 150))).date()
                Opportunity.objects.unrestricted().filter(pk=opp.pk).update(
                    created_at=converted_at,
                    stage_entered_at=converted_at,
                    close_date=close,
                    created_month=month_key(timezone.localtime(converted_at)),
                    close_month=month_key(close),
                )
                StageHistory.objects.filter(opportunity=opp).update(
                    entered_at=converted_at, opportunity_created_at=converted_at
                )
    return created
