"""Data: the default pipeline 需求确认 → 方案报价 → 合同谈判 → 赢单 / 输单, and the win/loss reasons."""

from django.db import migrations

STAGES = [
    # code, English, Chinese, type, probability, required fields, max dwell days
    ("needs_confirmed", "Needs confirmed", "需求确认", "open", 10, [], 15),
    ("proposal", "Proposal / quote", "方案报价", "open", 40, ["amount"], 15),
    ("negotiation", "Negotiation", "合同谈判", "open", 70, ["amount", "close_date"], 20),
    ("won", "Won", "赢单", "won", 100, ["amount"], None),
    ("lost", "Lost", "输单", "lost", 0, ["close_reason"], None),
]

REASONS = [
    ("price", "Better price", "价格优势"),
    ("product_fit", "Product fit", "产品匹配"),
    ("relationship", "Relationship", "客户关系"),
    ("service", "Service", "服务质量"),
    ("price_too_high", "Price too high", "价格过高"),
    ("competitor", "Lost to a competitor", "竞争对手"),
    ("no_budget", "No budget", "无预算"),
    ("no_decision", "No decision / on hold", "搁置无决策"),
    ("timing", "Bad timing", "时机不对"),
    ("product_gap", "Product gap", "产品不满足"),
    ("other", "Other", "其他"),
]


def forwards(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    Picklist = apps.get_model("records", "Picklist")
    PicklistValue = apps.get_model("records", "PicklistValue")
    pipeline, created = Pipeline.objects.get_or_create(
        code="default",
        defaults={
            "name": "Sales pipeline",
            "name_zh_hans": "销售流程",
            "is_default": not Pipeline.objects.filter(is_default=True).exists(),
            "position": 0,
        },
    )
    if created:
        for i, (code, en, zh, kind, prob, required, dwell) in enumerate(STAGES, start=1):
            Stage.objects.create(
                pipeline=pipeline,
                code=code,
                name=en,
                name_zh_hans=zh,
                position=i,
                type=kind,
                probability=prob,
                required_fields=required,
                max_dwell_days=dwell,
            )
    pl, _c = Picklist.objects.get_or_create(
        key="opportunity_close_reason", defaults={"name": "Win/loss reason", "name_zh_hans": "赢单/输单原因"}
    )
    for i, (code, en, zh) in enumerate(REASONS):
        PicklistValue.objects.get_or_create(
            picklist=pl, code=code, defaults={"label": en, "label_zh_hans": zh, "order": i}
        )


class Migration(migrations.Migration):
    dependencies = [("sales", "0001_initial"), ("records", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
