"""Demo data for sales: a second pipeline (project sales) and ~150 opportunities spread over the
stages and the past 12 months, with stage history, won/lost outcomes and a few stuck deals, so the
board, funnel and forecast show meaningful pictures; then the stuck check and the sales reports.

Idempotent: the pipeline by code, opportunities by name. Runs after the customers and leads demos
(it creates a few customers of its own only when the customers demo has not run).
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from huoban.platform.identity.actors import SystemActor
from huoban.platform.identity.models import User
from huoban.platform.ops.demo import register

ACTOR = SystemActor("demo")

PROJECT_STAGES = [
    {
        "code": "qualification",
        "name": "Qualification",
        "name_zh_hans": "线索确认",
        "type": "open",
        "probability": 10,
    },
    {
        "code": "technical",
        "name": "Technical exchange",
        "name_zh_hans": "技术交流",
        "type": "open",
        "probability": 25,
        "max_dwell_days": 20,
    },
    {
        "code": "tender",
        "name": "Tender",
        "name_zh_hans": "投标",
        "type": "open",
        "probability": 50,
        "required_fields": ["amount", "competitors"],
        "max_dwell_days": 30,
    },
    {
        "code": "negotiation",
        "name": "Negotiation",
        "name_zh_hans": "商务谈判",
        "type": "open",
        "probability": 75,
        "required_fields": ["amount", "close_date"],
        "max_dwell_days": 20,
    },
    {
        "code": "won",
        "name": "Won",
        "name_zh_hans": "赢单",
        "type": "won",
        "probability": 100,
        "required_fields": ["amount"],
    },
    {
        "code": "lost",
        "name": "Lost",
        "name_zh_hans": "输单",
        "type": "lost",
        "probability": 0,
        "required_fields": ["close_reason"],
    },
]

FALLBACK_CUSTOMERS = [
    "杭州西湖电子科技有限公司",
    "上海外滩金融信息服务有限公司",
    "南京秦淮智能装备有限公司",
    "苏州吴中精密模具有限公司",
    "宁波北仑港口机械有限公司",
    "北京海淀云端软件有限公司",
    "天津港湾物流集团有限公司",
    "济南泉城医疗器械有限公司",
    "合肥包河新能源汽车零部件有限公司",
    "福州闽江茶业有限公司",
    "Shanghai Bund Consulting Co., Ltd.",
    "Hangzhou Lakeside Trading Co., Ltd.",
    "青岛崂山啤酒销售有限公司",
    "无锡滨湖环保科技有限公司",
    "石家庄冀中建材有限公司",
    "沈阳盛京重工机械有限公司",
    "常州武进光伏科技有限公司",
    "绍兴柯桥纺织印染有限公司",
    "徐州淮海工程机械有限公司",
    "北京朝阳传媒广告有限公司",
    "重庆两江汽车电子有限公司",
    "长沙岳麓工程咨询有限公司",
    "昆明滇池生物科技有限公司",
    "南昌赣江光电有限公司",
    "Suzhou Harbour Semiconductor Co., Ltd.",
    "烟台蓬莱葡萄酒业有限公司",
    "泉州晋江运动用品有限公司",
    "贵阳大数据交易服务有限公司",
    "哈尔滨冰城食品有限公司",
    "Dongguan Precision Plastics Co., Ltd.",
]
PRODUCTS = [
    "CRM 专业版",
    "CRM 企业版",
    "销售自动化",
    "客服工单系统",
    "营销云",
    "数据分析平台",
    "ERP 集成",
    "移动外勤",
]
COMPETITORS = ["Salesforce", "纷享销客", "销售易", "用友", "金蝶", "HubSpot", "Zoho"]
WIN_REASONS = ["price", "product_fit", "relationship", "service"]
LOSS_REASONS = ["price_too_high", "competitor", "no_budget", "no_decision", "timing", "product_gap"]
NEXT_STEPS = [
    "安排产品演示",
    "提交方案与报价",
    "约见 IT 负责人",
    "发送合同草稿",
    "Follow up on the security review",
    "",
]


def _ensure_projects_pipeline() -> Any:
    from huoban.sales.models import Pipeline
    from huoban.sales.services import pipeline_save

    pipeline = Pipeline.objects.filter(code="projects").first()
    if pipeline is None:
        pipeline = pipeline_save(
            actor=ACTOR,
            pipeline=None,
            data={
                "code": "projects",
                "name": "Project sales",
                "name_zh_hans": "项目型销售",
                "description": "Tenders and larger projects / 招投标与大项目",
                "position": 1,
            },
            stages=[dict(s) for s in PROJECT_STAGES],
        )
    return pipeline


def _customers(rng: random.Random) -> list[Any]:
    from huoban.customers.models import Customer
    from huoban.customers.services import customer_create

    qs = Customer.objects.unrestricted().filter(deleted_at__isnull=True, merged_into__isnull=True)
    if qs.count() < 40:
        reps = list(
            User.objects.filter(username__in=["sales_rep1", "sales_rep2", "sales_rep3"]).order_by("username")
        )
        for i, name in enumerate(FALLBACK_CUSTOMERS):
            if not Customer.objects.unrestricted().filter(name=name).exists():
                owner = reps[i % len(reps)] if reps else ACTOR
                customer_create(actor=owner, data={"name": name}, confirm_duplicate=True)
    return list(qs.select_related("owner").order_by("pk")[:300])


def _money(rng: random.Random) -> Decimal:
    base = rng.choice(
        [30_000, 60_000, 90_000, 150_000, 240_000, 380_000, 520_000, 800_000, 1_200_000, 2_000_000]
    )
    return Decimal(int(base * rng.uniform(0.7, 1.3) / 1000) * 1000)


@register("sales", order=210)
def demo_sales(**_: Any) -> int:
    from django.contrib.contenttypes.models import ContentType

    from huoban.platform.records.models import TaggedItem
    from huoban.sales.models import Opportunity, Pipeline, Stage, StageHistory, month_key
    from huoban.sales.periodic import generate_sales_reports
    from huoban.sales.services import opportunity_check_stuck, opportunity_create

    projects = _ensure_projects_pipeline()
    default = (
        Pipeline.objects.filter(code="default").first() or Pipeline.objects.filter(is_default=True).first()
    )
    rng = random.Random(20261122)
    customers = _customers(rng)
    if not customers or default is None:
        return 0
    reps = {
        u.username: u
        for u in User.objects.filter(username__in=["sales_rep1", "sales_rep2", "sales_rep3", "sales_manager"])
    }
    sales_users = set(reps.values())
    now = timezone.now()
    created = 0
    ct = ContentType.objects.get_for_model(Opportunity)
    existing = TaggedItem.objects.filter(content_type=ct, tag__name="demo").count()
    for i in range(max(0, 150 - existing)):
        customer = customers[(i * 37) % len(customers)]
        pipeline = projects if i % 3 == 2 else default
        round_ = i // len(customers)
        product = PRODUCTS[(i + 3 * round_) % len(PRODUCTS)]
        short = (
            customer.name.replace("有限公司", "").replace("股份", "").replace("Co., Ltd.", "").strip()[:14]
        )
        name = f"{short} · {product}" + (f" ({round_ + 1})" if round_ else "")
        if Opportunity.objects.unrestricted().filter(name=name, customer=customer).exists():
            continue
        owner = (
            customer.owner
            if customer.owner in sales_users
            else reps.get(rng.choice(["sales_rep1", "sales_rep2", "sales_rep3"]))
        )
        if owner is None:
            continue
        stages = list(Stage.objects.filter(pipeline=pipeline, active=True).order_by("position"))
        open_stages = [s for s in stages if s.type == "open"]
        won = next(s for s in stages if s.type == "won")
        lost = next(s for s in stages if s.type == "lost")
        born = now - dt.timedelta(days=rng.randint(0, 364), hours=rng.randint(0, 12))
        age = (now - born).days
        # how far it got, and how it ended (older deals are more often closed)
        reach = 1 + min(len(open_stages) - 1, int(rng.triangular(0, len(open_stages), 0.8)))
        closed_p = min(0.85, 0.2 + age / 300)
        outcome = "open"
        if rng.random() < closed_p:
            outcome = "won" if rng.random() < 0.55 * (reach / len(open_stages)) + 0.15 else "lost"
        amount = _money(rng)
        with transaction.atomic():
            opp = opportunity_create(
                actor=owner,
                data={
                    "name": name,
                    "customer": customer,
                    "pipeline": pipeline,
                    "amount": amount,
                    "close_date": (born + dt.timedelta(days=rng.randint(30, 120))).date(),
                    "competitors": rng.sample(COMPETITORS, rng.randint(1, 2)),
                    "products": [{"name": product, "quantity": rng.choice([10, 20, 50, 100, 200])}],
                    "next_step": rng.choice(NEXT_STEPS),
                    "source": rng.choice(
                        ["referral", "exhibition", "website", "partner", "web_form", "cold_call"]
                    ),
                },
                tags=["demo"],
            )
            # stage history with realistic stays; cut at "now" (then it is still open there)
            StageHistory.objects.filter(opportunity=opp).delete()
            t = born
            rows = []
            path = open_stages[:reach] + ([won] if outcome == "won" else [lost] if outcome == "lost" else [])
            if outcome == "lost" and rng.random() < 0.15 and reach > 1:  # a backwards move on the way
                path = [*open_stages[:reach], open_stages[reach - 2], lost]
            previous = None
            final = path[0]
            for k, stage in enumerate(path):
                if t > now:
                    break
                final = stage
                rows.append(
                    StageHistory(
                        opportunity=opp,
                        pipeline=pipeline,
                        stage=stage,
                        from_stage=previous,
                        entered_at=t,
                        backwards=previous is not None
                        and stage.type == "open"
                        and stage.position < previous.position,
                        actor=owner,
                        actor_name=owner.username,
                        opportunity_created_at=born,
                        owner_id=opp.owner_id,
                        owner_unit_id=opp.owner_unit_id,
                        source=opp.source,
                    )
                )
                previous = stage
                if stage.type != "open" or k == len(path) - 1:
                    break
                stay = dt.timedelta(days=rng.randint(2, 28), hours=rng.randint(0, 20))
                if t + stay > now:
                    break
                rows[-1].left_at = t + stay
                rows[-1].duration_seconds = int(stay.total_seconds())
                t = t + stay
            StageHistory.objects.bulk_create(rows)
            entered = rows[-1].entered_at
            status = {"won": "won", "lost": "lost"}.get(final.type, "open")
            reached = max((s.position for s in path[: len(rows)] if s.type == "open"), default=1)
            if status == "won":
                reached = max(s.position for s in stages)
            updates: dict[str, Any] = {
                "created_at": born,
                "updated_at": entered,
                "stage": final,
                "status": status,
                "stage_entered_at": entered,
                "max_position": reached,
            }
            if status == "open":
                updates.update(
                    probability=final.probability,
                    close_date=(now + dt.timedelta(days=rng.randint(-10, 170))).date(),
                    forecast_category=rng.choice(
                        ["pipeline", "pipeline", "best_case", "commit"]
                        if final.probability >= 40
                        else ["pipeline"]
                    ),
                )
            else:
                updates.update(
                    probability=100 if status == "won" else 0,
                    closed_at=entered,
                    close_date=timezone.localtime(entered).date(),
                    forecast_category="closed",
                    close_reason=rng.choice(WIN_REASONS if status == "won" else LOSS_REASONS),
                )
            updates["created_month"] = month_key(timezone.localtime(born))
            updates["close_month"] = month_key(updates["close_date"])
            Opportunity.objects.unrestricted().filter(pk=opp.pk).update(**updates)
            created += 1
    opportunity_check_stuck()
    generate_sales_reports(kind="weekly", deliver=False)
    generate_sales_reports(kind="monthly", deliver=False)
    return created
