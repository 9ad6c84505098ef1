"""Demo data: ~200 customers (Chinese and English names, valid USCCs, mainland phone numbers),
contacts, follow-ups with reminders, a few planted duplicates and public pools with customers.

Idempotent: customers are found again by name; running it twice adds nothing.
"""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

from django.db import transaction
from django.utils import timezone

from huoban.platform.identity.actors import SystemActor
from huoban.platform.identity.models import OrgUnit, User
from huoban.platform.ops.demo import register

ACTOR = SystemActor("demo")

EAST_REGIONS = ["310000", "330100", "330200", "320500", "320100", "330300", "340100"]
NORTH_REGIONS = ["110000", "120000", "130100", "370200", "210200", "140100"]
REGION_NAMES = {
    "310000": "上海",
    "330100": "杭州",
    "330200": "宁波",
    "320500": "苏州",
    "320100": "南京",
    "330300": "温州",
    "340100": "合肥",
    "110000": "北京",
    "120000": "天津",
    "130100": "石家庄",
    "370200": "青岛",
    "210200": "大连",
    "140100": "太原",
}
REGION_EN = {
    "310000": "Shanghai",
    "330100": "Hangzhou",
    "320500": "Suzhou",
    "110000": "Beijing",
    "120000": "Tianjin",
    "370200": "Qingdao",
}
BRANDS = [
    "恒信",
    "华通",
    "鑫源",
    "博远",
    "天成",
    "瑞达",
    "嘉禾",
    "中科创达",
    "万里",
    "金桥",
    "新元",
    "卓越",
    "宏图",
    "凯旋",
    "东升",
    "海纳",
    "德润",
    "明辉",
    "正泰祥",
    "启明",
    "锦程",
    "盛世",
    "安康",
    "云帆",
    "星河",
    "智联",
    "数聚",
    "聚源",
    "远景",
    "晨光",
    "同创",
    "汇丰达",
    "永泰",
    "丰华",
    "隆盛",
    "长青",
    "佳禾",
    "青松",
    "银河",
    "百川",
    "众诚",
    "和信",
    "立邦达",
    "博雅",
    "思源",
    "天域",
    "华睿",
    "万象",
    "方圆",
    "九州通达",
    "泰和",
    "晶科",
    "鼎盛",
    "昊天",
    "腾达",
    "美达",
    "兴业达",
    "嘉信",
    "浩瀚",
    "致远",
]
INDUSTRIES = [
    ("网络科技", "64"),
    ("信息技术", "65"),
    ("软件", "65"),
    ("贸易", "51"),
    ("商贸", "52"),
    ("电子", "39"),
    ("机械设备", "34"),
    ("汽车零部件", "36"),
    ("生物医药", "27"),
    ("物流", "59"),
    ("建筑工程", "48"),
    ("文化传媒", "87"),
    ("餐饮管理", "62"),
    ("企业管理咨询", "72"),
    ("新材料", "26"),
    ("环保科技", "77"),
    ("医疗器械", "35"),
    ("食品", "14"),
    ("服饰", "18"),
    ("智能装备", "35"),
]
LEGAL = ["有限公司", "有限公司", "有限责任公司", "股份有限公司"]
EN_BRANDS = [
    ("Northwind", "Trading", "51"),
    ("Bluepeak", "Software", "65"),
    ("Silverline", "Logistics", "59"),
    ("Evergreen", "Foods", "14"),
    ("Brightstar", "Electronics", "39"),
    ("Harborview", "Consulting", "72"),
    ("Summit", "Medical", "35"),
    ("Oakridge", "Materials", "26"),
    ("Clearwater", "Technology", "65"),
    ("Redwood", "Machinery", "34"),
    ("Lakeside", "Media", "87"),
    ("Goldcrest", "Capital", "69"),
    ("Ironbridge", "Engineering", "48"),
    ("Suncoast", "Retail", "52"),
    ("Greenfield", "Energy", "44"),
    ("Maplewood", "Design", "74"),
    ("Stonegate", "Systems", "65"),
    ("Westbrook", "Pharma", "27"),
    ("Crescent", "Automation", "35"),
    ("Pinecrest", "Networks", "64"),
]
EN_LEGAL = ["Co., Ltd.", "Limited", "(China) Co., Ltd.", "Inc."]
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = [
    "伟",
    "芳",
    "娜",
    "秀英",
    "敏",
    "静",
    "丽",
    "强",
    "磊",
    "军",
    "洋",
    "勇",
    "艳",
    "杰",
    "娟",
    "涛",
    "明",
    "超",
    "秀兰",
    "霞",
    "平",
    "刚",
    "桂英",
    "建华",
    "晓东",
    "海燕",
    "志强",
    "文博",
    "雨婷",
    "子涵",
]
TITLES = [
    ("总经理", "decision_maker"),
    ("采购经理", "decision_maker"),
    ("技术总监", "influencer"),
    ("IT 主管", "influencer"),
    ("财务经理", "gatekeeper"),
    ("项目经理", "user"),
    ("行政主管", "user"),
    ("销售副总", "champion"),
    ("运营经理", "user"),
    ("董事长助理", "gatekeeper"),
]
DEPARTMENTS = ["采购部", "技术部", "财务部", "总经办", "信息中心", "运营部", "行政部"]
TOPICS = [
    "产品报价",
    "系统演示",
    "合同条款",
    "付款方式",
    "实施计划",
    "续约事宜",
    "售后服务",
    "年度采购计划",
    "新品介绍",
    "技术对接",
]
REACTIONS = [
    "很感兴趣，希望尽快看到方案",
    "需要内部讨论后再答复",
    "对价格比较敏感",
    "认可我们的服务",
    "提出了几处修改意见",
    "预算下个季度才能批下来",
    "希望安排一次现场拜访",
    "暂时没有需求",
]
OUTCOMES = ["有意向", "待报价", "待内部审批", "需再次跟进", "已发送资料", "约定下次拜访", "暂无需求"]

_USCC_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]


def demo_uscc(n: int, region: str) -> str:
    """A well-formed USCC: organisation code with its check character, then the final check."""
    base = f"{(n * 2654435761 + 12345) % 10**8:08d}"
    s = sum(int(c) * w for c, w in zip(base, [3, 7, 9, 10, 5, 8, 4, 2], strict=True))
    c = 11 - s % 11
    org = base + ("X" if c == 10 else "0" if c == 11 else str(c))
    county = region[:4] + ("06" if region.endswith("00") else region[4:])
    body = "91" + county + org
    total = sum(_USCC_CHARS.index(ch) * w for ch, w in zip(body, _USCC_WEIGHTS, strict=True))
    return body + _USCC_CHARS[(31 - total % 31) % 31]


def demo_mobile(rng: random.Random) -> str:
    prefix = rng.choice(["138", "139", "136", "137", "150", "151", "158", "186", "188", "189", "177", "199"])
    return f"+86{prefix}{rng.randrange(10**8):08d}"


def _customer_specs(rng: random.Random) -> list[dict[str, Any]]:
    specs = []
    seen: set[str] = set()
    reps = ["sales_rep1", "sales_rep2", "sales_rep3"]
    n = 0
    while len(specs) < 200:
        n += 1
        rep = reps[n % 3]
        regions = NORTH_REGIONS if rep == "sales_rep3" else EAST_REGIONS
        region = rng.choice(regions)
        if n % 10 == 0:
            brand, ind, code = EN_BRANDS[(n // 10) % len(EN_BRANDS)]
            city = REGION_EN.get(region, "Shanghai")
            name = (
                f"{brand} {ind} ({city}) {rng.choice(EN_LEGAL)}"
                if rng.random() < 0.5
                else f"{brand} {ind} {rng.choice(EN_LEGAL)}"
            )
            short = brand
            email = f"contact@{brand.lower()}.com"
        else:
            brand = BRANDS[n % len(BRANDS)]
            ind, code = INDUSTRIES[(n * 7) % len(INDUSTRIES)]
            name = f"{REGION_NAMES[region]}{brand}{ind}{rng.choice(LEGAL)}"
            short = brand
            email = f"info@{_ascii(brand, n)}.cn"
        if name in seen:
            continue
        seen.add(name)
        kind = "company"
        specs.append(
            {
                "owner": rep,
                "data": {
                    "name": name,
                    "short_name": short,
                    "kind": kind,
                    "uscc": demo_uscc(n, region),
                    "industry": code,
                    "size": rng.choice(["1-19", "20-99", "100-499", "500-999", "1000-9999"]),
                    "revenue_band": rng.choice(["1m_10m", "10m_50m", "50m_200m", "200m_1b"]),
                    "region": region,
                    "address": f"{REGION_NAMES[region]}市{rng.choice(['高新', '经开', '滨江', '朝阳', '浦东', '工业园'])}区"
                    f"{rng.choice(['科技', '创业', '文一', '人民', '建设', '解放'])}路 {rng.randrange(1, 999)} 号",
                    "phone": demo_mobile(rng),
                    "email": email,
                    "website": f"https://www.{email.split('@')[1]}",
                    "source": rng.choice(
                        ["website", "referral", "exhibition", "cold_call", "partner", "search"]
                    ),
                    "lifecycle_stage": rng.choices(
                        ["prospect", "customer", "loyal", "dormant", "churned"], weights=[40, 35, 12, 8, 5]
                    )[0],
                    "tier": rng.choice(["A", "B", "B", "C", "C", "C"]),
                    "rating": rng.choice([None, 2, 3, 3, 4, 4, 5]),
                },
                "tags": rng.sample(
                    ["重点客户", "老客户", "展会获客", "高潜力", "需回访", "招投标"],
                    k=rng.choice([0, 1, 1, 2]),
                ),
                "age_days": rng.randrange(5, 400),
            }
        )
    # a few individual customers (with ID card numbers; masked for reps)
    for i, (person, idn) in enumerate([("陈晓明", "11010519491231002X"), ("林婉清", "33010619850615512X")]):
        specs[i * 7]["data"].update(
            {
                "name": person,
                "kind": "individual",
                "uscc": "",
                "id_number": idn,
                "short_name": "",
                "bank_account": "6222 0212 3456 78" + f"{i:02d}",
            }
        )
    return specs


def _ascii(brand: str, n: int) -> str:
    return f"c{n:03d}"


def _variant(name: str, kind: int) -> str:
    """The same company as another rep would type it (planted duplicates for the review screen)."""
    if name.isascii():
        if kind % 2:
            return name.upper().replace("CO., LTD.", "LIMITED")
        return "The " + name.replace(" Co., Ltd.", " Co Ltd").replace(" Limited", " Ltd")
    if kind == 0:
        return (
            name.replace("股份有限公司", "有限公司")
            if "股份" in name
            else name.replace("有限公司", "有限责任公司")
        )
    if kind == 1:
        city = next((c for c in REGION_NAMES.values() if name.startswith(c)), "")
        return name[len(city) :].replace("有限", f"（{city}）有限", 1) if city else name
    if kind == 2:
        from opencc import OpenCC

        return OpenCC("s2t").convert(name)
    if kind == 3:
        return name.replace("科技", "科 技").replace("信息", "信 息").replace("贸易", "贸 易")
    return name.replace("有限公司", "").replace("有限责任公司", "").replace("股份", "")


PLANTED = [(3, 0, False), (11, 1, True), (25, 2, False), (40, 3, True), (58, 4, True), (30, 1, False)]


@register("customers", order=20)
def demo_customers(**_: Any) -> dict[str, int]:
    from huoban.customers.models import Contact, Customer, CustomerPool, FollowUp
    from huoban.customers.services import contact_create, customer_create, follow_up_create
    from huoban.platform.records.picklists import load_picklists

    load_picklists()
    rng = random.Random(20261122)
    users = {
        u.username: u for u in User.objects.filter(username__in=["sales_rep1", "sales_rep2", "sales_rep3"])
    }
    if len(users) < 3:
        return {"customers": 0}
    units = {u.code: u for u in OrgUnit.objects.filter(code__in=["east", "north"])}
    pools = {}
    for code, name, days in (("east", "华东公海", 60), ("north", "华北公海", 45)):
        pools[code], _c = CustomerPool.objects.get_or_create(
            name=name,
            defaults={
                "unit": units.get(code),
                "release_after_days": days,
                "max_owned_per_rep": 120,
                "claim_cooldown_days": 7,
            },
        )
    specs = _customer_specs(rng)
    existing = set(
        Customer.objects.unrestricted()
        .filter(name__in=[s["data"]["name"] for s in specs])
        .values_list("name", flat=True)
    )
    created: list[tuple[Customer, dict[str, Any]]] = []
    now = timezone.now()
    with transaction.atomic():
        for spec in specs:
            if spec["data"]["name"] in existing:
                continue
            owner = users[spec["owner"]]
            c = customer_create(
                actor=owner, data=dict(spec["data"]), tags=spec["tags"], check_duplicates=False
            )
            Customer.objects.filter(pk=c.pk).update(created_at=now - dt.timedelta(days=spec["age_days"]))
            c.created_at = now - dt.timedelta(days=spec["age_days"])
            created.append((c, spec))
        for c, spec in created:
            owner = users[spec["owner"]]
            for k in range(rng.choice([1, 1, 2, 2, 3])):
                name = rng.choice(SURNAMES) + rng.choice(GIVEN)
                title, role = rng.choice(TITLES)
                consent_at = (now - dt.timedelta(days=rng.randrange(1, 300))).isoformat()
                contact_create(
                    actor=owner,
                    data={
                        "name": name,
                        "customer": c.pk,
                        "title": title,
                        "department": rng.choice(DEPARTMENTS),
                        "mobile": demo_mobile(rng),
                        "email": f"{'abcdefghjkmnpqrstwxyz'[k]}{c.pk}@{c.email.split('@')[1]}"
                        if c.email
                        else "",
                        "wechat": f"wx_{c.pk}_{k}",
                        "decision_role": role,
                        "preferred_channel": rng.choice(["phone", "wechat", "email"]),
                        "consents": {
                            "email": {
                                "granted": rng.random() < 0.7,
                                "at": consent_at,
                                "source": "展会登记表",
                            },
                            "sms": {"granted": rng.random() < 0.4, "at": consent_at, "source": "官网表单"},
                        },
                        "left_company": rng.random() < 0.04,
                    },
                    check_duplicates=False,
                )
            contacts = list(Contact.objects.unrestricted().filter(customer=c))
            for _f in range(rng.choice([0, 1, 2, 2, 3, 4])):
                when = now - dt.timedelta(
                    days=rng.randrange(1, max(2, spec["age_days"])), hours=rng.randrange(0, 9)
                )
                topic, reaction = rng.choice(TOPICS), rng.choice(REACTIONS)
                follow_up_create(
                    actor=owner,
                    customer=c,
                    contact=rng.choice(contacts) if contacts and rng.random() < 0.8 else None,
                    data={
                        "type": rng.choice(["call", "call", "visit", "meeting", "wechat", "email", "note"]),
                        "occurred_at": when,
                        "content": f"<p>与客户沟通了<b>{topic}</b>，客户{reaction}。</p>",
                        "outcome": rng.choice(OUTCOMES),
                    },
                )
            if rng.random() < 0.3:
                follow_up_create(
                    actor=owner,
                    customer=c,
                    data={
                        "type": "call",
                        "occurred_at": now - dt.timedelta(hours=rng.randrange(1, 48)),
                        "content": f"<p>电话确认{rng.choice(TOPICS)}。</p>",
                        "outcome": "需再次跟进",
                        "next_follow_up_at": now
                        + dt.timedelta(days=rng.randrange(1, 14), hours=rng.randrange(0, 8)),
                    },
                )
        # planted duplicates: a second record of a few customers, as a rep would type it
        for index, kind, keep_phone in PLANTED:
            if index >= len(specs):
                continue
            original = specs[index]
            name = _variant(original["data"]["name"], kind)
            if name == original["data"]["name"] or Customer.objects.unrestricted().filter(name=name).exists():
                continue
            owner = users["sales_rep2" if original["owner"] == "sales_rep1" else original["owner"]]
            data = {
                "name": name,
                "region": original["data"]["region"],
                "industry": original["data"]["industry"],
            }
            if keep_phone:
                data["phone"] = original["data"]["phone"]
            customer_create(actor=owner, data=data, check_duplicates=False)
        # public pools: some old prospects without recent follow-up were released
        if created:
            from huoban.customers.pools import customer_release

            quiet = [
                c
                for c, spec in created
                if c.lifecycle_stage in ("prospect", "dormant")
                and not FollowUp.objects.unrestricted().filter(customer=c).exists()
            ][:16]
            for c in quiet:
                c.refresh_from_db()
                unit_code = "north" if c.owner and c.owner.username == "sales_rep3" else "east"
                customer_release(
                    actor=ACTOR,
                    customers=[c],
                    pool=pools[unit_code],
                    reason="演示：长期未跟进",
                    automatic=True,
                )
    if created:
        from huoban.customers.duplicates import duplicate_scan_contacts, duplicate_scan_customers

        duplicate_scan_customers()
        duplicate_scan_contacts()
    return {"customers": len(created)}
